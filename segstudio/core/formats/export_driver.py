"""The export driver: export items from a project, the deterministic split, copying/linking
images into a dataset, and running a format's exporter (:func:`export_dataset`).

Pure: stdlib, numpy, PIL and segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path

import numpy as np

from segstudio.core.formats.base import (
    DatasetError,
    ExportItem,
    ExportOptions,
    ExportReport,
    format_module,
)
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, UNLABELLED, ImageAnnotation, Project, Shape
from segstudio.core.rasterize import class_value_map

log = logging.getLogger(__name__)


def export_dataset(fmt: str, items: Sequence[ExportItem], out_dir: str | Path,
                   class_names: Sequence[str], *, options: ExportOptions = ExportOptions()
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
                           [s.copy(new_uid=False) for s in ann.shapes], flags=dict(ann.flags),
                           image_data=ann.image_data, extra=dict(ann.extra), version=ann.version, state=ann.state)


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
                *, jpeg: bool = False) -> Path | None:
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
