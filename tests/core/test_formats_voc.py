"""VOC export: the files labelme's ``labelme2voc`` writes, with the same pixels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from segstudio.core.formats.base import ExportItem, ExportOptions
from segstudio.core.formats.export_driver import export_dataset
from segstudio.core.formats.voc import read_index_png, voc_colormap
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape

H, W = 48, 64


def labelme_shape_to_mask(points, shape_type) -> np.ndarray:
    """labelme's ``utils.shape_to_mask`` (full-image PIL drawing), reproduced as a reference."""
    im = Image.fromarray(np.zeros((H, W), np.uint8))
    draw = ImageDraw.Draw(im)
    xy = [tuple(p) for p in points]
    if shape_type == "circle":
        (cx, cy), (px, py) = xy
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif shape_type == "rectangle":
        (x0, y0), (x1, y1) = xy
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    else:
        draw.polygon(xy=xy, outline=1, fill=1)
    return np.array(im, dtype=bool)


SHAPES = [
    Shape("road", [[1.4, 2.6], [40.5, 3.5], [38.2, 30.7], [2.5, 29.5]], "polygon"),
    Shape("car", [[30.3, 20.8], [12.6, 10.4]], "rectangle"),                # right-to-left
    Shape("car", [[50.5, 30.5], [50.5, 41.2]], "circle"),
    Shape("__ignore__", [[20, 25], [30, 25], [25, 33]], "polygon"),
    Shape("road", [[45, 2], [62, 2], [62, 12]], "polygon", group_id=1),
    Shape("road", [[45, 14], [62, 14], [62, 20]], "polygon", group_id=1),  # same instance
]


def labelme_reference() -> tuple[np.ndarray, np.ndarray]:
    """labelme2voc's class and object maps for SHAPES (values: road 1, car 2, ignore 255)."""
    values = {"road": 1, "car": 2, "__ignore__": 255}
    cls = np.zeros((H, W), np.int32)
    ins = np.zeros((H, W), np.int32)
    instances: list = []
    for k, s in enumerate(SHAPES):
        key = (s.label, s.group_id if s.group_id is not None else f"u{k}")
        if key not in instances:
            instances.append(key)
        m = labelme_shape_to_mask(s.points.tolist(), s.shape_type)
        cls[m] = values[s.label]
        ins[m] = instances.index(key) + 1
    ins[cls == 255] = 0
    return cls, ins


@pytest.fixture()
def exported(tmp_path: Path) -> Path:
    img = tmp_path / "img ü.png"
    Image.fromarray(np.full((H, W, 3), 200, np.uint8)).save(img)
    items = [ExportItem("img ü", img, ImageAnnotation(img.name, W, H, SHAPES)),
             ExportItem("empty", img, ImageAnnotation(img.name, W, H, []))]
    out = tmp_path / "voc"
    report = run_to_end(export_dataset("voc", items, out, ["road", "car"],
                                       options=ExportOptions(split=(0.5, 0.5, 0.0), seed=1)))
    assert report.images == 2
    return out


def test_masks_match_labelme2voc(exported: Path) -> None:
    want_cls, want_ins = labelme_reference()
    cls_png = Image.open(exported / "SegmentationClass" / "img ü.png")
    assert cls_png.mode == "P"
    assert np.array_equal(np.array(cls_png.getpalette()[:9]), voc_colormap(3).ravel())
    np.testing.assert_array_equal(np.asarray(cls_png), want_cls)
    np.testing.assert_array_equal(read_index_png(exported / "SegmentationObject" / "img ü.png"), want_ins)
    assert set(np.unique(want_ins)) == {0, 1, 2, 3, 5}   # road, car, car, (ignore), grouped road
    empty = read_index_png(exported / "SegmentationClass" / "empty.png")
    assert empty.shape == (H, W) and not empty.any()


def test_layout_and_lists(exported: Path) -> None:
    assert (exported / "class_names.txt").read_text().split() == ["_background_", "road", "car"]
    assert (exported / "JPEGImages" / "img ü.jpg").exists()          # PNG re-encoded as JPEG
    assert Image.open(exported / "JPEGImages" / "img ü.jpg").format == "JPEG"
    assert (exported / "SegmentationClassVisualization" / "img ü.jpg").exists()
    sets = exported / "ImageSets" / "Segmentation"
    train = sets.joinpath("train.txt").read_text(encoding="utf-8").split("\n")[:-1]
    val = sets.joinpath("val.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert sorted(train + val) == ["empty", "img ü"] and len(train) == len(val) == 1
    assert sets.joinpath("test.txt").read_text() == ""
    assert sorted(sets.joinpath("trainval.txt").read_text(encoding="utf-8").split("\n")[:-1]) == ["empty", "img ü"]


def test_rgb_colour_pngs_are_read_through_the_palette(tmp_path: Path) -> None:
    idx = np.array([[0, 1], [2, 255]], np.uint8)
    Image.fromarray(voc_colormap()[idx]).save(tmp_path / "c.png")
    np.testing.assert_array_equal(read_index_png(tmp_path / "c.png"), idx)
    Image.fromarray(np.array([[[1, 2, 3]]], np.uint8)).save(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="bad.png"):
        read_index_png(tmp_path / "bad.png")
