"""YOLO segmentation (Ultralytics layout), export and import.

``images/{train,val,test}/``, ``labels/{train,val,test}/<name>.txt`` with one object per line
(``class x1 y1 x2 y2 …``, coordinates normalised to 0..1, class ids 0-based without
``_background_``) and ``data.yaml`` with the class names. Polygons are written as drawn
(rectangles as 4 corners, circles as 64-gons); mask shapes become the outer contours of their
components — YOLO cannot hold holes, and ``__ignore__`` regions are not exported. Lines keep the
drawing order, so overlaps come back the same on import (later paints over earlier).

Pure: numpy, PyYAML, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np
import yaml

from segstudio.core.formats.base import (
    SPLITS,
    DatasetError,
    ExportItem,
    ExportOptions,
    ExportReport,
    ImportedImage,
    ImportOptions,
)
from segstudio.core.formats.export_driver import assign_splits, count_skipped, place_image, value_map
from segstudio.core.formats.export_run import export_each
from segstudio.core.formats.import_driver import find_image
from segstudio.core.io.atomic import atomic_write_text
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, LABELLED, ImageAnnotation, Shape

log = logging.getLogger(__name__)


def shape_polygons(s: Shape) -> list[np.ndarray]:
    """The polygon(s) a shape is written as: its kind's area rings (empty for lines and points)."""
    return s.kind.polygons(s.points, s.mask)


def label_lines(ann: ImageAnnotation, values: dict[str, int]) -> list[str]:
    lines = []
    for s in ann.shapes:
        if s.label not in values or s.label in (IGNORE_LABEL, BACKGROUND_LABEL):
            continue
        for poly in shape_polygons(s):
            if len(poly) < 3:
                continue
            if not np.isfinite(poly).all():   # "nan" in a label file breaks training later
                raise DatasetError(f"shape {s.label!r} has points that are not finite numbers")
            norm = np.clip(poly / np.array([ann.width, ann.height], dtype=np.float64), 0.0, 1.0)
            coords = " ".join(f"{v:.7g}" for v in norm.reshape(-1))
            lines.append(f"{values[s.label] - 1} {coords}")
    return lines


def export(items: Sequence[ExportItem], out: Path, classes: list[str],
           options: ExportOptions) -> Generator[Progress, None, ExportReport]:
    values = value_map(classes)
    report = ExportReport(out, "yolo", classes=list(classes))
    split = assign_splits([it.name for it in items], options.split, options.seed)
    report.splits = {s: [] for s in SPLITS}

    def export_one(it: ExportItem, written: list[Path]) -> None:
        ann = it.load()
        lines = label_lines(ann, values)
        sp = split[it.name]
        dest = place_image(it, ann, out / "images" / sp / it.name, options.images)
        if dest is not None:
            written.append(dest)
        lbl = out / "labels" / sp / f"{it.name}.txt"
        lbl.parent.mkdir(parents=True, exist_ok=True)
        written.append(lbl)
        atomic_write_text(lbl, "".join(f"{ln}\n" for ln in lines))
        count_skipped(report, ann.shapes, values)

    try:
        yield from export_each(items, report, split, export_one, desc="exporting YOLO")
    finally:   # also after a cancel: data.yaml describes the images exported
        _write_data_yaml(out, report, classes)
    return report


def _write_data_yaml(out: Path, report: ExportReport, classes: list[str]) -> None:
    # no "path" key: Ultralytics then resolves the folders next to data.yaml, so the dataset
    # can be moved; it needs a val set, so an empty one falls back to the training images
    data = {"train": "images/train", "val": "images/val" if report.splits["val"] else "images/train",
            "names": {i: n for i, n in enumerate(classes)}}
    if report.splits["test"]:
        data["test"] = "images/test"
    atomic_write_text(out / "data.yaml", yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def read_names(src: Path, data_yaml: Path | None = None) -> list[str]:
    path = data_yaml or src / "data.yaml"
    if not path.exists():
        raise DatasetError(f"{src}: no data.yaml with the class names")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = data["names"]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: cannot read class names ({exc})") from exc
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names, key=int)]
    return [str(n) for n in names]


def _image_size(img: Path | None, lbl: Path) -> tuple[int, int]:
    if img is None:
        raise DatasetError(f"{lbl}: no image beside it, so the normalised coordinates cannot be scaled")
    from segstudio.core.io.images import image_size

    return image_size(img)


def import_dataset(src: Path, options: ImportOptions, data_yaml: Path | None = None
                   ) -> Generator[Progress, None, list[ImportedImage]]:
    names = read_names(src, data_yaml)
    labels = sorted((src / "labels").rglob("*.txt"))
    out: list[ImportedImage] = []
    used: set[str] = set()
    for k, lbl in enumerate(labels):
        rel = lbl.parent.relative_to(src / "labels")
        img = find_image(src / "images" / rel, lbl.stem)
        w, h = _image_size(img, lbl)
        shapes: list[Shape] = []
        for n, line in enumerate(lbl.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                cid = int(parts[0])
                coords = np.array([float(v) for v in parts[1:]], dtype=np.float64)
            except ValueError as exc:
                raise DatasetError(f"{lbl}:{n}: not a YOLO line ({exc})") from exc
            if cid < 0 or cid >= len(names):
                raise DatasetError(f"{lbl}:{n}: class {cid} is not in data.yaml ({len(names)} names)")
            if len(coords) == 4:   # a detection box (cx cy w h): keep it as a rectangle
                cx, cy, bw, bh = coords * [w, h, w, h]
                pts = np.array([[cx - bw / 2, cy - bh / 2], [cx + bw / 2, cy + bh / 2]])
                shapes.append(Shape(names[cid], np.round(pts, 4), "rectangle"))
                continue
            if len(coords) < 6 or len(coords) % 2:
                raise DatasetError(f"{lbl}:{n}: a polygon needs an even number (≥ 6) of coordinates")
            # rounding undoes the float noise of normalising (integer vertices come back exact)
            pts = np.round(coords.reshape(-1, 2) * [w, h], 3)
            shapes.append(Shape(names[cid], pts, "polygon"))
        name = lbl.stem if lbl.stem.lower() not in used else f"{rel.as_posix()}__{lbl.stem}"
        used.add(name.lower())
        ann = ImageAnnotation(img.name if img else f"{lbl.stem}.jpg", w, h, shapes, state=LABELLED)
        out.append(ImportedImage(name, ann, img))
        yield Progress(k + 1, len(labels), name)
    return out
