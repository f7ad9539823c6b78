"""The import driver: a format's importer (:func:`import_dataset`), masks and label maps to
editable shapes, and writing imported images + labelme sidecars as a project
(:func:`write_project`) without touching a person's labels.

Pure: stdlib, numpy, PIL and segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from collections.abc import Generator, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.formats.base import DatasetError, ImportedImage, ImportOptions, format_module
from segstudio.core.jobs import Progress
from segstudio.core.label_shapes import LabelShapeOptions, crop_to_shapes, label_map_to_shapes, mask_to_shapes
from segstudio.core.labelled_guard import SKIPPED_NOTE, file_is_labelled
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, Shape


def import_dataset(fmt: str, src: str | Path, options: ImportOptions = ImportOptions(),
                   **kwargs: Any) -> Generator[Progress, None, list[ImportedImage]]:
    mod = format_module(fmt)
    if not hasattr(mod, "import_dataset"):
        raise ValueError(f"format {fmt!r} cannot be imported")
    return mod.import_dataset(Path(src), options, **kwargs)


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
                         *, ins_map: np.ndarray | None = None, ignore_value: int = 255) -> list[Shape]:
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
                                             (sl[1].start, sl[0].start), full_size=cls_map.shape)
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
                  *, mode: str = "copy", include_labelled: bool = False) -> Generator[Progress, None, Path]:
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
    out = yield from write_project(images, out_dir, classes_of(images), mode=options.images,
                                   include_labelled=options.include_labelled)
    return out, images
