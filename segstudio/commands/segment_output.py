"""Where ``segstudio segment`` (classical methods and ``--method sam``) finds its images and
how it writes what it found: shared by :mod:`.segment` and :mod:`.sam_segment`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from segstudio.core.io.atomic import atomic_write_bytes
from segstudio.core.io.images import IMAGE_EXTENSIONS, load_image, to_rgb8
from segstudio.core.io.labelme import read_labelme, write_labelme
from segstudio.core.labelled_guard import SKIPPED_NOTE, file_is_labelled, skipped_message
from segstudio.core.model import PRE_ANNOTATED, ImageAnnotation


def find_images(src: Path) -> list[Path]:
    """The image files under ``src`` (or ``src`` itself), hidden ones skipped, in walk order."""
    if src.is_file():
        return [src]
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames)
                if Path(f).suffix.lower() in IMAGE_EXTENSIONS and not f.startswith(".")]
    return out


def load_rgb8(path: Path) -> np.ndarray:
    return to_rgb8(load_image(path))


class ShapeWriter:
    """Writes one output per image under ``out`` (labelme JSON or class-index PNG), never over
    a person's labels unless ``include_labelled`` (then their shapes are kept and ours added)."""

    def __init__(self, src: Path, out: Path, fmt: str, label: str, *, overwrite: bool,
                 include_labelled: bool = False) -> None:
        self.src, self.out, self.fmt, self.label, self.overwrite = src, out, fmt, label, overwrite
        self.include_labelled = include_labelled
        self.written: list[Path] = []
        self.sources: set[Path] = set()   # source images: never a target, even with --overwrite

    def clashes(self, images: list[Path]) -> list[Path]:
        """The images whose output would land on a source image (``--format masks`` into the
        images' own folder: ``x.png`` → ``x.png``), remembered so no write can ever replace one."""
        self.sources = {p.resolve() for p in images}
        return [p for p in images if self.target(p).resolve() in self.sources]

    def _refuse_source(self, target: Path) -> None:
        if target.resolve() in self.sources:
            raise FileExistsError(f"{target}: is a source image; choose another OUT (it is never overwritten)")

    def target(self, image: Path) -> Path:
        rel = Path(image.name) if self.src.is_file() else image.relative_to(self.src)
        return self.out / rel.with_suffix(".json" if self.fmt == "labelme" else ".png")

    def is_labelled(self, image: Path) -> bool:
        """True when the image's output is a labelme JSON a person labelled."""
        return self.fmt == "labelme" and file_is_labelled(self.target(image))

    def write_mask(self, image: Path, mask: np.ndarray) -> None:
        """``--format masks``: the method's label map as a class-index PNG, not through shapes."""
        target = self.target(image)
        self._refuse_source(target)
        if target.exists() and not self.overwrite:
            raise FileExistsError(f"{target}: exists already (use --overwrite to replace it)")
        ok, buf = cv2.imencode(".png", mask)
        if not ok:
            raise OSError(f"{target}: PNG encoding failed")
        atomic_write_bytes(target, buf.tobytes())
        self.written.append(target)

    def write(self, image: Path, shapes: list, size: tuple[int, int]) -> None:
        target = self.target(image)
        self._refuse_source(target)
        if self.is_labelled(image):
            if not self.include_labelled:   # labelled while we ran
                raise FileExistsError(f"{target}: {SKIPPED_NOTE}, left as it is (see --include-labelled)")
            # keep the person's shapes, add ours, and the file stays "labelled" (an unreadable
            # file raises and is never overwritten)
            ann = read_labelme(target, image_size=(size[1], size[0]))
            ann.shapes += shapes
            write_labelme(target, ann)
            self.written.append(target)
            return
        if target.exists() and not self.overwrite:
            raise FileExistsError(f"{target}: exists already (use --overwrite to replace it)")
        h, w = size
        if self.fmt == "labelme":
            rel = os.path.relpath(image.resolve(), target.parent.resolve())
            ann = ImageAnnotation(Path(rel).as_posix(), w, h, shapes, state=PRE_ANNOTATED)
            write_labelme(target, ann)
        else:
            from segstudio.core.rasterize import shapes_to_label

            cls, _ = shapes_to_label(shapes, h, w, {self.label: 1}, unknown="skip", dtype=np.uint8)
            ok, buf = cv2.imencode(".png", cls)
            if not ok:
                raise OSError(f"{target}: PNG encoding failed")
            atomic_write_bytes(target, buf.tobytes())
        self.written.append(target)


def plan_writes(args, images: list[Path]) -> tuple[ShapeWriter, list[Path], str] | None:
    """The writer for ``segment``'s outputs, the images to process (a person's labelled ones left
    out unless ``--include-labelled``) and the "N skipped" note for the summary line. None, after
    saying why on stderr, when an output would land on a source image."""
    writer = ShapeWriter(args.src, args.out, args.format, args.label, overwrite=args.overwrite,
                         include_labelled=args.include_labelled)
    clash = writer.clashes(images)
    if clash:
        print(f"segstudio segment: {writer.target(clash[0])}: the output would overwrite this source image; "
              f"choose another OUT", file=sys.stderr)
        return None
    todo = images if args.include_labelled else [p for p in images if not writer.is_labelled(p)]
    skipped = f", {skipped_message(len(images) - len(todo))}" if len(todo) < len(images) else ""
    return writer, todo, skipped
