"""COCO instance segmentation (``annotations.json``), export and import.

Export follows labelme's ``labelme2coco``: shapes are grouped into instances by
``(label, group_id)`` (a shape without group id is its own instance), each instance is one
annotation with ``bbox`` and ``area`` measured on its mask (rasterised in its bounding box, as
core.rasterize does),
categories come from the class list (ids = class values, 1..N). Segmentation is written as
polygons for polygons and rectangles (labelme-compatible) and as compressed RLE for mask
shapes, circles, lines and points (pixel-exact, holes included); ``coco_masks="rle"`` writes
every instance as RLE so ``annToMask`` reproduces each object exactly. Instances may overlap;
their order is the drawing order, so re-importing and painting later over earlier gives the
same class map. ``__ignore__`` regions are not exported (COCO has no ignore class).
An ``iscrowd`` flag on a shape (``flags: {"iscrowd": true}``) marks its instance as a crowd.

Pure: numpy, pycocotools (mask RLE), segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

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
from segstudio.core.formats.export_driver import assign_splits, count_skipped, place_image, value_map
from segstudio.core.formats.export_run import export_each
from segstudio.core.formats.import_driver import shapes_from_mask
from segstudio.core.io.atomic import atomic_write_text
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, LABELLED, ImageAnnotation, Shape

log = logging.getLogger(__name__)

def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def _polygon_of(shape: Shape) -> list[float]:
    outline = shape.kind.outline(shape.points)
    return [] if outline is None else [float(v) for v in outline.reshape(-1)]


def instances_of(shapes: Sequence[Shape], values: dict[str, int]) -> list[tuple[str, list[Shape]]]:
    """Shapes grouped as labelme does: by (label, group_id), in order of first appearance."""
    groups: dict[tuple, list[Shape]] = {}
    labels: dict[tuple, str] = {}
    for s in shapes:
        if s.label not in values or s.label in (IGNORE_LABEL, BACKGROUND_LABEL):
            continue
        key = (s.label, s.group_id if s.group_id is not None else ("uid", s.uid))
        groups.setdefault(key, []).append(s)
        labels[key] = s.label
    return [(labels[k], v) for k, v in groups.items()]


def instance_patch(shapes: Sequence[Shape], h: int, w: int
                   ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The union of the shapes' pixels in its bounding box: ``((y0, y1, x0, x1), bool patch)``.

    Each shape is rasterised only in its own box (same pixels as core.rasterize.shape_mask), so
    an instance costs its size, not the image's: 20k nuclei on a 3-Mpixel image stay cheap.
    """
    parts = [fp for s in shapes
             if (fp := s.kind.footprint(s.points, h, w, s.mask)) is not None]
    if not parts:
        return None
    y0, x0 = min(b[0] for b, _ in parts), min(b[2] for b, _ in parts)
    y1, x1 = max(b[1] for b, _ in parts), max(b[3] for b, _ in parts)
    patch = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for (py0, py1, px0, px1), m in parts:
        patch[py0 - y0:py1 - y0, px0 - x0:px1 - x0] |= m
    return (y0, y1, x0, x1), patch


def patch_rle(box: tuple[int, int, int, int], patch: np.ndarray, h: int, w: int) -> dict[str, Any]:
    """COCO's compressed RLE of a full ``h``×``w`` mask that is ``patch`` at ``box`` and 0 elsewhere,
    computed from the patch's columns only (the full mask is never built)."""
    y0, y1, x0, x1 = box
    strip = np.zeros((x1 - x0, h), dtype=np.int8)   # the box's columns, full height, column-major
    strip[:, y0:y1] = patch.T
    flat = strip.ravel()
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], change, [flat.size]))).tolist()
    if flat[0]:
        runs.insert(0, 0)          # COCO counts start with a run of zeros
    runs[0] += x0 * h               # the columns left of the box
    tail = (w - x1) * h             # the columns right of it
    if tail:
        if len(runs) % 2:          # ends on zeros: extend that run
            runs[-1] += tail
        else:
            runs.append(tail)
    return mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w)


def annotation_records(ann: ImageAnnotation, values: dict[str, int], image_id: int, first_id: int,
                       *, rle_only: bool) -> list[dict[str, Any]]:
    h, w = ann.height, ann.width
    out: list[dict[str, Any]] = []
    for label, shapes in instances_of(ann.shapes, values):
        found = instance_patch(shapes, h, w)
        if found is None or not found[1].any():
            continue
        box, patch = found
        rle = patch_rle(box, patch, h, w)
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        crowd = int(any(bool(s.flags.get("iscrowd")) for s in shapes))
        # COCO convention: crowd regions are RLE; so are masks, holes, circles, lines, points
        polygonal = not rle_only and not crowd and all(s.kind.coco_polygon for s in shapes)
        if polygonal:
            segmentation: Any = [_polygon_of(s) for s in shapes]
        else:
            segmentation = {"size": [h, w], "counts": rle["counts"].decode("ascii")}
        out.append({
            "id": first_id + len(out),
            "image_id": image_id,
            "category_id": values[label],
            "segmentation": segmentation,
            "area": float(patch.sum()),
            "bbox": bbox,
            "iscrowd": crowd,
        })
    return out


def export(items: Sequence[ExportItem], out: Path, classes: list[str],
           options: ExportOptions) -> Generator[Progress, None, ExportReport]:
    values = value_map(classes)
    report = ExportReport(out, "coco", classes=list(classes))
    out.mkdir(parents=True, exist_ok=True)
    split = assign_splits([it.name for it in items], options.split, options.seed)
    report.splits = {s: [] for s in SPLITS}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []

    def export_one(it: ExportItem, written: list[Path]) -> None:
        ann = it.load()
        image_id = len(images) + 1
        records = annotation_records(ann, values, image_id, len(annotations) + 1,
                                     rle_only=options.coco_masks == "rle")
        dest = place_image(it, ann, out / "images" / it.name, options.images)
        if dest is not None:
            written.append(dest)
        file_name = os.path.relpath(dest if dest is not None else it.image_path.resolve(), out)
        count_skipped(report, ann.shapes, values)
        images.append({"id": image_id, "file_name": Path(file_name).as_posix(), "width": ann.width,
                       "height": ann.height, "split": split[it.name]})
        annotations.extend(records)

    try:
        yield from export_each(items, report, split, export_one, desc="exporting COCO")
    finally:   # also after a cancel: the index lists exactly the images exported
        _write_index(out, report, classes, values, images=images, annotations=annotations)
    return report


def _write_index(out: Path, report: ExportReport, classes: list[str], values: dict[str, int],
                 *, images: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> None:
    data = {
        "info": {"description": "exported by segstudio", "overlap_rule": OVERLAP_RULE},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": values[c], "name": c, "supercategory": c} for c in classes],
    }
    atomic_write_text(out / "annotations.json", json.dumps(data, ensure_ascii=False))
    if sum(1 for s in SPLITS if report.splits[s]) > 1:   # per-split files, as COCO tools expect
        for s in SPLITS:
            ids = {im["id"] for im in images if im["split"] == s}
            if not ids:
                continue
            part = dict(data, images=[im for im in images if im["id"] in ids],
                        annotations=[a for a in annotations if a["image_id"] in ids])
            atomic_write_text(out / f"annotations_{s}.json", json.dumps(part, ensure_ascii=False))


def _decode_segmentation(seg: Any, h: int, w: int) -> np.ndarray:
    if isinstance(seg, list):
        rles = mask_utils.frPyObjects(seg, h, w)
        rle = mask_utils.merge(rles)
    elif isinstance(seg.get("counts"), list):
        rle = mask_utils.frPyObjects(seg, h, w)
    else:
        rle = dict(seg, counts=seg["counts"].encode("ascii") if isinstance(seg["counts"], str)
                   else seg["counts"])
    return mask_utils.decode(rle).astype(bool)


def import_dataset(src: Path, options: ImportOptions, annotations: Path | None = None,
                   images_dir: Path | None = None) -> Generator[Progress, None, list[ImportedImage]]:
    """Reads ``annotations.json`` (``src`` may be the file or its folder). Polygons come back as
    polygon shapes (exactly as drawn); RLE masks as mask shapes or polygons (``mask_mode``)."""
    path = annotations or (src if src.is_file() else src / "annotations.json")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        cats = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        images = data["images"]
        anns = data.get("annotations", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a readable COCO annotation file ({exc})") from exc
    root = images_dir or Path(path).parent
    by_image: dict[int, list[dict[str, Any]]] = {}
    for a in anns:
        by_image.setdefault(int(a["image_id"]), []).append(a)
    out: list[ImportedImage] = []
    used: set[str] = set()
    for k, im in enumerate(images):
        h, w = int(im["height"]), int(im["width"])
        shapes: list[Shape] = []
        for n, a in enumerate(by_image.get(int(im["id"]), []), start=1):
            label = cats.get(int(a["category_id"]))
            if label is None:
                raise DatasetError(f"{path}: annotation {a.get('id')} has unknown category "
                                   f"{a['category_id']}")
            seg = a.get("segmentation")
            flags = {"iscrowd": True} if a.get("iscrowd") else {}
            if isinstance(seg, list) and seg and not a.get("iscrowd"):
                for poly in seg:
                    pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
                    if len(pts) >= 3:
                        shapes.append(Shape(label, pts, "polygon", group_id=n, flags=dict(flags)))
            elif seg:
                mask = _decode_segmentation(seg, h, w)
                new = shapes_from_mask(mask, label, options, group_id=n)
                for s in new:
                    s.flags.update(flags)
                shapes += new
        file_name = str(im["file_name"])
        img_path = Path(file_name) if Path(file_name).is_absolute() else root / file_name
        stem = Path(file_name).with_suffix("").as_posix().split("/")[-1]
        name = stem
        i = 2
        while name.lower() in used:
            name, i = f"{stem}_{i}", i + 1
        used.add(name.lower())
        ann = ImageAnnotation(Path(file_name).name, w, h, shapes, state=LABELLED)
        out.append(ImportedImage(name, ann, img_path if img_path.exists() else None,
                                 suffix=Path(file_name).suffix or ".jpg"))
        if not img_path.exists():
            log.warning("%s: image %s not found", path, img_path)
        yield Progress(k + 1, len(images), name)
    return out
