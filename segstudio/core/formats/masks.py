"""Plain class-index mask PNGs with a ``classes.json``, export and import.

``masks/<name>.png``: class value per pixel (``_background_`` = 0, classes 1..N in class-list
order, ``__ignore__`` = 255), 8-bit, or 16-bit when there are more than 254 classes (then
``__ignore__`` = 65535). ``classes.json`` lists ``{"value", "name", "color"}`` for each class,
the ignore value and the overlap rule. Images go to ``images/``. Import reads such a folder, or
any folder of mask PNGs with a class map given as classes.json or a text file (one name per
line, line i = value i).

Pure: numpy, PIL, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.core.formats.base import (
    OVERLAP_RULE,
    SPLITS,
    DatasetError,
    ExportItem,
    ExportOptions,
    ExportReport,
    ImportedImage,
    ImportOptions,
)
from segstudio.core.formats.export_driver import assign_splits, count_skipped, place_image
from segstudio.core.formats.export_run import export_each
from segstudio.core.formats.import_driver import find_image, label_maps_to_shapes
from segstudio.core.io.atomic import atomic_write_bytes, atomic_write_text
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, LABELLED, ImageAnnotation, default_color
from segstudio.core.rasterize import class_value_map, shapes_to_label

log = logging.getLogger(__name__)


def export(items: Sequence[ExportItem], out: Path, classes: list[str],
           options: ExportOptions) -> Generator[Progress, None, ExportReport]:
    wide = len(classes) > 254
    ignore = 65535 if wide else 255
    dtype = np.uint16 if wide else np.uint8
    values = class_value_map(classes, ignore_value=ignore)
    report = ExportReport(out, "masks", classes=[BACKGROUND_LABEL, *classes])
    (out / "masks").mkdir(parents=True, exist_ok=True)
    split = assign_splits([it.name for it in items], options.split, options.seed)
    report.splits = {s: [] for s in SPLITS}

    def export_one(it: ExportItem, written: list[Path]) -> None:
        ann = it.load()
        cls, _ = shapes_to_label(ann.shapes, ann.height, ann.width, values, unknown="skip")
        dest = place_image(it, ann, out / "images" / it.name, options.images)
        if dest is not None:
            written.append(dest)
        written.append(out / "masks" / f"{it.name}.png")
        ok, png = cv2.imencode(".png", cls.astype(dtype))
        if not ok:
            raise DatasetError(f"{written[-1]}: cannot encode the mask PNG")
        atomic_write_bytes(written[-1], png.tobytes())
        count_skipped(report, ann.shapes, values)

    try:
        yield from export_each(items, report, split, export_one, desc="exporting masks")
    finally:   # also after a cancel: classes.json lists the splits of the images exported
        _write_classes(out, report, classes, values, options=options, ignore=ignore, wide=wide)
    return report


def _write_classes(out: Path, report: ExportReport, classes: list[str], values: dict[str, int],
                   *, options: ExportOptions, ignore: int, wide: bool) -> None:
    colors = options.colors or {}
    meta = {
        "classes": [{"value": 0, "name": BACKGROUND_LABEL, "color": [0, 0, 0]}]
        + [{"value": values[c], "name": c, "color": list(colors.get(c, default_color(i)))}
           for i, c in enumerate(classes)],
        "ignore_value": ignore,
        "bit_depth": 16 if wide else 8,
        "overlap_rule": OVERLAP_RULE,
        "splits": report.splits,
    }
    atomic_write_text(out / "classes.json", json.dumps(meta, indent=2, ensure_ascii=False))


def read_class_map(path: Path) -> tuple[list[str], int]:
    """(names indexed by value, ignore value) from classes.json or a names text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the class map ({exc})") from exc
    if path.suffix.lower() == ".json":
        try:
            meta = json.loads(text)
            entries = meta["classes"] if isinstance(meta, dict) else meta
            by_value = {int(e["value"]): str(e["name"]) for e in entries}
            ignore = int(meta.get("ignore_value", 255)) if isinstance(meta, dict) else 255
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}: not a class map ({exc})") from exc
        top = max(by_value, default=0)
        names = [by_value.get(v, f"class_{v}") for v in range(top + 1)]
        if not by_value or 0 not in by_value:
            names[0] = BACKGROUND_LABEL
        return names, ignore
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() != "__ignore__"]
    if not names or names[0] != BACKGROUND_LABEL:
        names = [BACKGROUND_LABEL, *names]
    return names, 255


def import_dataset(src: Path, options: ImportOptions, class_map: Path | None = None,
                   images_dir: Path | None = None) -> Generator[Progress, None, list[ImportedImage]]:
    mask_dir = src / "masks" if (src / "masks").is_dir() else src
    cmap = class_map or (src / "classes.json")
    if not cmap.exists():
        raise DatasetError(f"{src}: no classes.json; give the class map (--labels)")
    names, ignore = read_class_map(cmap)
    img_dir = images_dir or (src / "images")
    pngs = sorted(mask_dir.glob("*.png"))
    out: list[ImportedImage] = []
    for k, p in enumerate(pngs):
        try:
            with Image.open(p) as im:
                cls = np.asarray(im).astype(np.int64)
        except OSError as exc:
            raise DatasetError(f"{p}: cannot read the mask ({exc})") from exc
        if cls.ndim != 2:
            raise DatasetError(f"{p}: a class mask must have one channel, got shape {cls.shape}")
        shapes = label_maps_to_shapes(cls, names, options, ignore_value=ignore)
        img = find_image(img_dir, p.stem) if img_dir.is_dir() else None
        h, w = cls.shape
        ann = ImageAnnotation(img.name if img else f"{p.stem}.png", w, h, shapes, state=LABELLED)
        out.append(ImportedImage(p.stem, ann, img))
        yield Progress(k + 1, len(pngs), p.stem)
    return out
