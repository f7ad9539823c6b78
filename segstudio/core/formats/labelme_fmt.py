"""labelme folders, export and import.

Export re-writes each annotation as a labelme JSON beside a copy (or link) of its image —
e.g. to hand the work back to labelme users — plus ``labels.txt`` in labelme's convention.
Only shapes of the exported classes (and ``__ignore__``) are kept. Import reads a labelme
folder of any labelme version (old 3.x files included, see :mod:`segstudio.core.io.labelme`),
images embedded as ``imageData`` included.

Pure: stdlib, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import base64
import logging
import math
import os
from collections.abc import Generator, Sequence
from pathlib import Path

from segstudio.core.formats.base import (
    SPLITS,
    DatasetError,
    ExportItem,
    ExportOptions,
    ExportReport,
    ImportedImage,
    ImportOptions,
)
from segstudio.core.formats.export_driver import (
    assign_splits,
    count_skipped,
    place_image,
    snapshot,
    value_map,
)
from segstudio.core.formats.export_run import export_each
from segstudio.core.io.atomic import atomic_write_text
from segstudio.core.io.labelme import write_labelme
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL

log = logging.getLogger(__name__)


def export(items: Sequence[ExportItem], out: Path, classes: list[str],
           options: ExportOptions) -> Generator[Progress, None, ExportReport]:
    values = value_map(classes)
    report = ExportReport(out, "labelme", classes=list(classes))
    out.mkdir(parents=True, exist_ok=True)
    split = assign_splits([it.name for it in items], options.split, options.seed)
    report.splits = {s: [] for s in SPLITS}

    def export_one(it: ExportItem, written: list[Path]) -> None:
        ann = snapshot(it.load())
        skipped = ann.shapes
        ann.shapes = [s for s in ann.shapes if s.label in values]
        for s in ann.shapes:   # labelme cannot read back a NaN (not valid JSON)
            if not all(math.isfinite(float(v)) for p in s.points for v in p):
                raise DatasetError(f"shape {s.label!r} has points that are not finite numbers")
        dest = place_image(it, ann, out / it.name, options.images) if it.image_path.exists() \
            or not ann.image_data else None
        if dest is not None:
            written.append(dest)
        json_path = out / f"{it.name}.json"
        if dest is not None:
            ann.image_path = os.path.relpath(dest, out)
        elif it.image_path.exists():
            ann.image_path = os.path.relpath(it.image_path.resolve(), out)
        written.append(json_path)
        write_labelme(json_path, ann)   # imageData kept when the image was only embedded
        count_skipped(report, skipped, values)

    try:
        yield from export_each(items, report, split, export_one, desc="exporting labelme")
    finally:   # also after a cancel
        _write_labels(out, classes)
    return report


def _write_labels(out: Path, classes: list[str]) -> None:
    atomic_write_text(out / "labels.txt", "\n".join([IGNORE_LABEL, BACKGROUND_LABEL, *classes]) + "\n")


def import_dataset(src: Path, options: ImportOptions) -> Generator[Progress, None, list[ImportedImage]]:
    """labelme shapes are kept as they are (``options`` has nothing to convert here)."""
    from segstudio.core.project_io import load_annotation, open_project

    if not src.is_dir():
        raise DatasetError(f"{src}: not a folder")
    project = open_project(src)
    out: list[ImportedImage] = []
    used: set[str] = set()
    entries = [e for e in project.entries if e.annotation_path.exists()]
    for k, e in enumerate(entries):
        if e.error:
            raise DatasetError(e.error)
        ann = load_annotation(project, e.key, cache=False)
        name = Path(os.path.relpath(e.image_path, src)).with_suffix("").as_posix()
        if name.lower() in used:
            name = f"{name}_{k}"
        used.add(name.lower())
        if e.image_path.exists():
            out.append(ImportedImage(name, ann, e.image_path))
        elif ann.image_data:
            data = base64.b64decode(ann.image_data)
            suffix = ".jpg" if data[:3] == b"\xff\xd8\xff" else ".png"
            out.append(ImportedImage(name, ann, None, data, suffix))
        else:
            raise DatasetError(f"{e.annotation_path}: image not found and no imageData")
        yield Progress(k + 1, len(entries), name)
    return out
