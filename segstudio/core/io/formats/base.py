"""The shared driver for dataset export and import: options, the list of images to export,
the deterministic split, image copying/linking, and the format registry.

Exporters are generator jobs (:mod:`segstudio.core.jobs`) over a list of :class:`ExportItem`
taken from the in-memory project (unsaved edits included), so the GUI (worker thread) and the
CLI (tqdm) run the same code. Every exporter walks its images with
:func:`segstudio.core.io.formats.export_run.export_each`: one bad image (unreadable file, broken
annotation, a shape that cannot be drawn) is left out and listed in :attr:`ExportReport.problems`,
the others are exported, and the split/index files are written even then (and after a cancel),
listing exactly the images that were exported. Importers are generator jobs returning
:class:`ImportedImage` records that :func:`write_project` turns into a segstudio project
(images + labelme sidecars).

Pure: stdlib, numpy, PIL and segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import base64
import filecmp
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.jobs import Progress
from segstudio.core.label_shapes import LabelShapeOptions, crop_to_shapes, label_map_to_shapes, mask_to_shapes
from segstudio.core.labelled_guard import SKIPPED_NOTE, file_is_labelled
from segstudio.core.model import (
    BACKGROUND_LABEL,
    IGNORE_LABEL,
    UNLABELLED,
    ImageAnnotation,
    Project,
    Shape,
)
from segstudio.core.rasterize import class_value_map

log = logging.getLogger(__name__)

#: format name → module under segstudio.core.io.formats
FORMATS: dict[str, str] = {"voc": "voc", "coco": "coco", "yolo": "yolo", "masks": "masks",
                           "labelme": "labelme_fmt"}
OVERLAP_RULE = "later shapes paint over earlier ones (labelme)"
SPLITS = ("train", "val", "test")
IMAGE_MODES = ("copy", "link", "none")


class DatasetError(ValueError):
    """A dataset cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how (frozen: handed to a worker thread as-is)."""

    classes: tuple[str, ...] | None = None   # None = every class of the project (in order)
    split: tuple[float, float, float] = (1.0, 0.0, 0.0)   # train / val / test fractions
    seed: int = 0
    images: str = "copy"                     # copy | link | none
    include_unlabelled: bool = False         # images without any annotation file
    overlap_rule: str = OVERLAP_RULE         # stated in the output; the only rule implemented
    coco_masks: str = "polygon"              # COCO: polygon (labelme-like) | rle (pixel-exact)
    colors: dict[str, tuple[int, int, int]] | None = None   # class colours (masks' classes.json)

    def __post_init__(self) -> None:
        if self.images not in IMAGE_MODES:
            raise ValueError(f"images must be one of {IMAGE_MODES}, got {self.images!r}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ValueError(f"split needs three non-negative fractions, got {self.split}")


@dataclass(frozen=True)
class ImportOptions:
    mask_mode: str = "polygon"    # masks become polygons (holes kept as masks) or mask shapes
    tolerance: float = 0.0        # polygon simplification in pixels; 0 = pixel-exact
    images: str = "copy"          # how write_project brings images into the project: copy | link
    include_labelled: bool = False   # into an existing project: also add to files a person labelled


@dataclass
class ExportItem:
    """One image to export. ``annotation`` is a snapshot (copied on the GUI thread) or None,
    in which case the worker reads ``annotation_path`` itself."""

    name: str                    # unique output stem (unicode kept, '/' flattened)
    image_path: Path
    annotation: ImageAnnotation | None = None
    annotation_path: Path | None = None
    error: str | None = None     # why the project could not load it: exported as a problem

    def load(self) -> ImageAnnotation:
        if self.error is not None:
            raise DatasetError(self.error)
        if self.annotation is not None:
            return self.annotation
        if self.annotation_path is not None and self.annotation_path.exists():
            from segstudio.core.io.labelme import read_labelme_for_image

            return read_labelme_for_image(self.annotation_path, self.image_path)
        from segstudio.core.io.images import image_size

        w, h = image_size(self.image_path)
        return ImageAnnotation(self.image_path.name, w, h)


@dataclass
class ImportedImage:
    """One image read from a dataset: where its pixels are and its annotation."""

    name: str                    # relative output path without extension (may contain '/')
    annotation: ImageAnnotation
    image_path: Path | None = None
    image_bytes: bytes | None = None   # when the dataset embeds the image (labelme imageData)
    suffix: str = ".png"
    skipped: str | None = None   # why write_project left it out (its JSON a person labelled)


@dataclass
class ExportReport:
    out_dir: Path
    format: str
    images: int = 0
    splits: dict[str, list[str]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    skipped_labels: dict[str, int] = field(default_factory=dict)   # label → shapes not exported
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # "<image>: <why>" for each image left out

    @property
    def ok(self) -> bool:
        """True when every image was exported (the CLI exits non-zero otherwise)."""
        return not self.problems


# -- registry -----------------------------------------------------------------------------------
def format_module(name: str) -> Any:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(f"segstudio.core.io.formats.{FORMATS[name]}")


def export_dataset(fmt: str, items: Sequence[ExportItem], out_dir: str | Path,
                   class_names: Sequence[str], options: ExportOptions = ExportOptions()
                   ) -> Generator[Progress, None, ExportReport]:
    """Runs the exporter of ``fmt`` (a job). ``class_names`` is the project's class list."""
    mod = format_module(fmt)
    out = Path(out_dir)
    guard_output(items, out)
    return mod.export(items, out, export_classes(class_names, options), options)


def guard_output(items: Sequence[ExportItem], out: Path) -> None:
    """Refuses an output folder holding the project's own images or annotations: an export
    must never overwrite the user's work."""
    root = out.resolve()
    for it in items:
        for p in (it.image_path, it.annotation_path):
            if p is not None and root in p.resolve().parents:
                raise DatasetError(f"{out}: the output folder holds the project's files ({p}); "
                                   "choose another folder")


def import_dataset(fmt: str, src: str | Path, options: ImportOptions = ImportOptions(),
                   **kwargs: Any) -> Generator[Progress, None, list[ImportedImage]]:
    mod = format_module(fmt)
    if not hasattr(mod, "import_dataset"):
        raise ValueError(f"format {fmt!r} cannot be imported")
    return mod.import_dataset(Path(src), options, **kwargs)


# -- items from a project -------------------------------------------------------------------------
def safe_name(rel: str) -> str:
    """Output stem for an image's relative path: folders flattened with '__', unicode kept."""
    stem = str(Path(rel).with_suffix("")).replace("\\", "/")
    stem = stem.replace("/", "__")
    return re.sub(r'[<>:"|?*\x00-\x1f]', "_", stem) or "image"


def items_from_project(project: Project, include_unlabelled: bool = False,
                       with_errors: bool = False) -> list[ExportItem]:
    """Export items for every image of ``project``; call on the GUI thread.

    Loaded annotations (possibly with unsaved edits) are snapshotted with deep copies; the rest
    are read from disk by the worker. Entries that failed to load are skipped with a warning,
    or, with ``with_errors``, kept as items carrying their error (the exporter then lists them
    as problems).
    """
    items: list[ExportItem] = []
    used: set[str] = set()
    for e in project.entries:
        if e.error and not (with_errors and (include_unlabelled or e.annotation_path.exists())):
            log.warning("skipping %s: %s", e.image_path, e.error)
            continue
        if e.error:
            root = project.root or e.image_path.parent
            name = unique_name(safe_name(_relative(e.image_path, root)), used)
            items.append(ExportItem(name, e.image_path, None, e.annotation_path, error=e.error))
            continue
        ann = project.annotations.get(e.key)
        has_json = e.annotation_path.exists()
        if ann is None and not has_json and not include_unlabelled:
            continue
        if ann is not None and not has_json and not ann.shapes and e.state == UNLABELLED \
                and not include_unlabelled:
            continue
        root = project.root or e.image_path.parent
        name = unique_name(safe_name(_relative(e.image_path, root)), used)
        items.append(ExportItem(name, e.image_path, snapshot(ann) if ann is not None else None,
                                e.annotation_path))
    return items


def _relative(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:   # another drive on Windows
        return path.name


def unique_name(name: str, used: set[str]) -> str:
    cand, i = name, 2
    while cand.lower() in used:
        cand, i = f"{name}_{i}", i + 1
    used.add(cand.lower())
    return cand


def snapshot(ann: ImageAnnotation) -> ImageAnnotation:
    """A frozen copy for a worker (shapes deep-copied, uids kept so instances group the same)."""
    return ImageAnnotation(ann.image_path, ann.width, ann.height,
                           [s.copy(new_uid=False) for s in ann.shapes], dict(ann.flags),
                           ann.image_data, dict(ann.extra), ann.version, ann.state)


def export_classes(class_names: Sequence[str], options: ExportOptions) -> list[str]:
    """The classes to export, without ``__ignore__``/``_background_`` (they are implicit)."""
    names = [n for n in class_names if n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    if options.classes is not None:
        wanted = [n for n in options.classes if n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
        missing = [n for n in wanted if n not in names]
        names = [n for n in wanted if n in names] + missing
    return names


def value_map(classes: Sequence[str]) -> dict[str, int]:
    return class_value_map(list(classes))


def count_skipped(report: ExportReport, shapes: Iterable[Shape], values: dict[str, int]) -> None:
    for s in shapes:
        if s.label not in values:
            report.skipped_labels[s.label] = report.skipped_labels.get(s.label, 0) + 1


# -- split --------------------------------------------------------------------------------------
def assign_splits(names: Sequence[str], fractions: Sequence[float], seed: int) -> dict[str, str]:
    """Deterministic train/val/test assignment: names are ordered by a seeded hash and cut at
    the requested fractions (so the same names and seed always give the same split, and a
    name's hash does not depend on the other names)."""
    total = float(sum(fractions))
    fr = [f / total for f in fractions]
    order = sorted(names, key=lambda n: hashlib.sha256(f"{seed}\0{n}".encode()).hexdigest())
    n = len(order)
    n_train = round(n * fr[0])
    n_val = round(n * (fr[0] + fr[1])) - n_train
    out: dict[str, str] = {}
    for i, name in enumerate(order):
        out[name] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return out


# -- images -------------------------------------------------------------------------------------
def place_image(item: ExportItem, ann: ImageAnnotation, dest_no_suffix: Path, mode: str,
                jpeg: bool = False) -> Path | None:
    """Copies or links the image of ``item`` to ``dest_no_suffix`` + its suffix; returns the path.

    ``jpeg=True`` (VOC's JPEGImages) re-encodes other formats as JPEG when copying. Images
    only embedded in the JSON (imageData) are decoded. ``mode="none"`` places nothing. An image
    file whose header does not read raises (a dataset must not hand a trainer a broken file).
    """
    src = item.image_path
    if src.exists():
        from segstudio.core.io.images import image_size

        image_size(src)   # the header only: cheap; raises ImageReadError naming the file
    if mode == "none":
        return None
    suffix = src.suffix.lower() or ".png"
    dest_no_suffix.parent.mkdir(parents=True, exist_ok=True)
    if not src.exists():
        if not ann.image_data:
            raise DatasetError(f"{src}: image file not found and no imageData in the annotation")
        data = base64.b64decode(ann.image_data)
        from segstudio.core.io.images import decode_image_bytes

        arr = decode_image_bytes(data, str(src))
        dest = dest_no_suffix.with_suffix(".jpg" if jpeg else ".png")
        _save_array(arr, dest)
        return dest
    if jpeg and suffix not in (".jpg", ".jpeg"):
        if mode == "copy":
            from segstudio.core.io.images import load_image, to_rgb8

            dest = dest_no_suffix.with_suffix(".jpg")
            _save_array(to_rgb8(load_image(src)), dest)
            return dest
    dest = dest_no_suffix.with_suffix(".jpg" if suffix == ".jpeg" else suffix)
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    if mode == "link":
        try:
            os.link(src, dest)          # a hard link: no copy, survives moving the dataset
        except OSError:
            try:
                os.symlink(os.path.abspath(src), dest)
            except OSError:
                log.warning("cannot link %s, copying it", src)
                shutil.copyfile(src, dest)
    else:
        shutil.copyfile(src, dest)
    return dest


def _save_array(arr: np.ndarray, dest: Path) -> None:
    from PIL import Image

    im = Image.fromarray(arr)
    if dest.suffix.lower() in (".jpg", ".jpeg"):
        im.convert("RGB").save(dest, quality=95)
    else:
        im.save(dest)


# -- import helpers -----------------------------------------------------------------------------
def drop_collinear(points: np.ndarray) -> np.ndarray:
    """Removes vertices lying on the straight line through their neighbours (an exact reduction:
    the filled polygon keeps the same pixels)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 4:
        return p
    prev, nxt = np.roll(p, 1, axis=0), np.roll(p, -1, axis=0)
    cross = (p[:, 0] - prev[:, 0]) * (nxt[:, 1] - p[:, 1]) - (p[:, 1] - prev[:, 1]) * (nxt[:, 0] - p[:, 0])
    dot = (p[:, 0] - prev[:, 0]) * (nxt[:, 0] - p[:, 0]) + (p[:, 1] - prev[:, 1]) * (nxt[:, 1] - p[:, 1])
    keep = ~((np.abs(cross) < 1e-9) & (dot > 0))
    return p[keep] if keep.sum() >= 3 else p


def _import_options(options: ImportOptions, **kw: Any) -> LabelShapeOptions:
    # an import keeps every pixel: no minimum area, holes of any size survive
    return LabelShapeOptions(options.mask_mode, options.tolerance, 0.0, **kw)


def _exact(shapes: list[Shape], options: ImportOptions) -> list[Shape]:
    if options.tolerance <= 0:
        for s in shapes:
            if s.shape_type == "polygon":
                s.points = drop_collinear(s.points)
    return shapes


def shapes_from_mask(mask: np.ndarray, label: str, options: ImportOptions,
                     group_id: int | None = None) -> list[Shape]:
    """Editable shapes for one class/instance mask (see :mod:`segstudio.core.label_shapes`)."""
    return _exact(mask_to_shapes(mask, label, _import_options(options, group_id=group_id)), options)


def label_maps_to_shapes(cls_map: np.ndarray, names: Sequence[str], options: ImportOptions,
                         ins_map: np.ndarray | None = None, ignore_value: int = 255) -> list[Shape]:
    """Shapes for a class map (value v → ``names[v]``; ``ignore_value`` → ``__ignore__``), one
    group per instance when an instance map is given. Ignore shapes come last.

    Each instance is converted inside its bounding box, so hundreds of instances cost no
    full-size array each."""
    present = [int(v) for v in np.unique(cls_map) if v not in (0, ignore_value)]
    for v in present:
        if v >= len(names):
            raise DatasetError(f"class value {v} has no name (only {len(names)} classes known)")
    by_class = _import_options(options, class_names=tuple(names[1:]), skip_values=(ignore_value,))
    valid = (cls_map != 0) & (cls_map != ignore_value)
    if ins_map is None:
        shapes = label_map_to_shapes(cls_map, by_class)
    else:
        from scipy import ndimage

        ins = np.where(valid, ins_map, 0).astype(np.int32)
        shapes = []
        for i, sl in enumerate(ndimage.find_objects(ins), start=1):
            if sl is None:
                continue
            crop = np.where(ins[sl] == i, cls_map[sl], 0)
            for v in np.unique(crop):   # an instance id spanning classes: split per class
                if v:
                    shapes += crop_to_shapes(crop == v, names[int(v)], replace(by_class, group_id=i),
                                             (sl[1].start, sl[0].start), cls_map.shape)
        del ins
        # class pixels without an instance id
        shapes += label_map_to_shapes(np.where(valid & (ins_map == 0), cls_map, 0), by_class)
    ignore = cls_map == ignore_value
    if ignore.any():
        shapes += mask_to_shapes(ignore, IGNORE_LABEL, _import_options(options))
    return _exact(shapes, options)


def find_image(folder: Path, stem: str) -> Path | None:
    """The image ``stem``.* in ``folder`` (any supported extension), or None."""
    from segstudio.core.io.images import IMAGE_EXTENSIONS

    for ext in IMAGE_EXTENSIONS + tuple(e.upper() for e in IMAGE_EXTENSIONS):
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return None


def write_project(images: Sequence[ImportedImage], out_dir: str | Path, class_names: Sequence[str],
                  mode: str = "copy", include_labelled: bool = False) -> Generator[Progress, None, Path]:
    """Writes images + labelme sidecars + labels.txt into ``out_dir`` (a job).

    Into an existing project: an image whose JSON a person labelled is left alone and marked
    ``skipped`` unless ``include_labelled`` (the imported shapes are then added to the person's
    and the file stays "labelled"); a JSON that is not a person's work (pre-annotated,
    unlabelled) is replaced by the imported labels; one that cannot be read stops the import
    before anything is written (it is never overwritten).
    """
    from segstudio.core.io.atomic import atomic_write_text
    from segstudio.core.io.labelme import write_labelme

    out = Path(out_dir)
    # check everything before writing anything: a project of JSONs without images cannot open
    lost = [im.name for im in images if im.image_bytes is None
            and (im.image_path is None or not im.image_path.exists())]
    if lost:
        raise DatasetError(f"no image found for {len(lost)} annotation(s): {', '.join(lost[:5])}"
                           f"{' …' if len(lost) > 5 else ''} (images must sit in the dataset's image folder)")
    plan = _plan_destinations(images, out, include_labelled)
    out.mkdir(parents=True, exist_ok=True)
    for k, (im, (dest_img, dest_json)) in enumerate(zip(images, plan)):
        if im.skipped:
            yield Progress(k + 1, len(images), f"{im.name}: {im.skipped}")
            continue
        dest_img.parent.mkdir(parents=True, exist_ok=True)
        if im.image_path is not None:
            if dest_img.resolve() != im.image_path.resolve() and not dest_img.exists():
                if mode == "link":
                    try:
                        os.link(im.image_path, dest_img)
                    except OSError:
                        shutil.copyfile(im.image_path, dest_img)
                else:
                    shutil.copyfile(im.image_path, dest_img)
        elif im.image_bytes is not None and not dest_img.exists():
            dest_img.write_bytes(im.image_bytes)
        im.annotation.image_path = os.path.relpath(dest_img, dest_json.parent)
        if dest_json.exists() and file_is_labelled(dest_json):   # included: add, stay labelled
            from segstudio.core.io.labelme import read_labelme

            mine = read_labelme(dest_json)
            mine.shapes += im.annotation.shapes
            write_labelme(dest_json, mine)
        else:
            write_labelme(dest_json, im.annotation)
        yield Progress(k + 1, len(images), im.name)
    names = [n for n in class_names if n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    labels = out / "labels.txt"
    if not labels.exists():
        atomic_write_text(labels, "\n".join([IGNORE_LABEL, BACKGROUND_LABEL, *names]) + "\n")
    return out


def _plan_destinations(images: Sequence[ImportedImage], out: Path,
                       include_labelled: bool = False) -> list[tuple[Path, Path]]:
    """(image, JSON) destinations of every image, checked before anything is written: an
    existing annotation that does not read, an existing *different* image, or two images with
    one destination would overwrite the user's files or leave a half-written import. Marks the
    images whose JSON a person labelled ``skipped`` (unless ``include_labelled``)."""
    from segstudio.core.io.labelme import AnnotationError, read_labelme

    plan: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for im in images:
        dest_img = out / f"{im.name}{im.image_path.suffix if im.image_path is not None else im.suffix}"
        dest_json = dest_img.with_suffix(".json")
        im.skipped = None
        if dest_json.exists():
            if file_is_labelled(dest_json) and not include_labelled:
                im.skipped = SKIPPED_NOTE   # a person's labels are never changed unless asked
                plan.append((dest_img, dest_json))
                continue
            try:
                if "shapes" not in json.loads(dest_json.read_bytes().decode("utf-8-sig")):
                    raise AnnotationError(f"{dest_json}: already exists and is not a labelme file")
                read_labelme(dest_json)
            except (AnnotationError, OSError, ValueError, TypeError) as exc:
                msg = str(exc) if str(dest_json) in str(exc) else f"{dest_json}: {exc}"
                raise DatasetError(f"{msg} (the import would overwrite it; nothing was written)") from None
        if dest_json in seen:
            raise DatasetError(f"{dest_json}: two images of the dataset would be written here "
                               f"(one is {im.image_path or im.name})")
        seen.add(dest_json)
        if dest_img.exists() and not _same_image(dest_img, im):
            raise DatasetError(f"{dest_img}: a different image already exists; import into an empty folder")
        plan.append((dest_img, dest_json))
    return plan


def _same_image(dest: Path, im: ImportedImage) -> bool:
    if im.image_path is not None:
        if dest.resolve() == im.image_path.resolve():
            return True
        try:
            return filecmp.cmp(dest, im.image_path, shallow=False)
        except OSError:
            return False
    try:
        return im.image_bytes is not None and dest.read_bytes() == im.image_bytes
    except OSError:
        return False


def classes_of(images: Iterable[ImportedImage]) -> list[str]:
    """Labels used by imported annotations, in order of first appearance."""
    seen: dict[str, None] = {}
    for im in images:
        for s in im.annotation.shapes:
            if s.label not in (IGNORE_LABEL, BACKGROUND_LABEL):
                seen.setdefault(s.label, None)
    return list(seen)


def import_to_project(fmt: str, src: str | Path, out_dir: str | Path,
                      options: ImportOptions = ImportOptions(), **kwargs: Any
                      ) -> Generator[Progress, None, tuple[Path, list[ImportedImage]]]:
    """Reads a dataset and writes it as a segstudio project (a job): (project folder, images)."""
    images = yield from import_dataset(fmt, src, options, **kwargs)
    out = yield from write_project(images, out_dir, classes_of(images), options.images,
                                   options.include_labelled)
    return out, images
