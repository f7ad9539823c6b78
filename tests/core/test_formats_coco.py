"""COCO export is valid for pycocotools: COCO(path) loads it and annToMask reproduces objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats.base import ExportItem, ExportOptions, ImportOptions
from segstudio.core.formats.export_driver import export_dataset
from segstudio.core.formats.import_driver import import_dataset
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.rasterize import shape_mask

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # pycocotools on numpy 2

H, W = 50, 70


def ring() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[5:25, 40:65] = True
    m[10:20, 48:58] = False
    return m


SHAPES = [
    Shape("cell", [[2, 2], [20, 2], [20, 20], [2, 20]], "polygon"),
    Shape("cell", np.zeros((0, 2)), "mask", mask=ring()),                       # hole → RLE
    Shape("nucleus", [[10, 30], [30, 30], [20, 45]], "polygon", group_id=3),
    Shape("nucleus", [[35, 35], [45, 35], [40, 45]], "polygon", group_id=3),   # same instance
    Shape("cell", [[12, 40], [12, 47]], "circle", flags={"iscrowd": True}),
    Shape("__ignore__", [[60, 40], [69, 49]], "rectangle"),
]


def export(tmp_path: Path, coco_masks: str) -> Path:
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(img)
    items = [ExportItem("a", img, ImageAnnotation("a.png", W, H, SHAPES)),
             ExportItem("blank", img, ImageAnnotation("a.png", W, H, []))]
    out = tmp_path / f"coco_{coco_masks}"
    run_to_end(export_dataset("coco", items, out, ["cell", "nucleus"], options=ExportOptions(coco_masks=coco_masks)))
    return out


@pytest.mark.parametrize("coco_masks", ["polygon", "rle"])
def test_pycocotools_loads_and_reproduces_objects(tmp_path, coco_masks) -> None:
    from pycocotools.coco import COCO

    out = export(tmp_path, coco_masks)
    coco = COCO(str(out / "annotations.json"))
    assert {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())} == {"cell": 1, "nucleus": 2}
    assert len(coco.getImgIds()) == 2
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert len(anns) == 4                                   # grouped nucleus = 1, ignore skipped
    expected = [shape_mask(SHAPES[0], H, W), ring(),
                shape_mask(SHAPES[2], H, W) | shape_mask(SHAPES[3], H, W), shape_mask(SHAPES[4], H, W)]
    for a, want in zip(anns, expected):
        got = coco.annToMask(a).astype(bool)
        assert a["area"] == want.sum()
        ys, xs = np.nonzero(want)
        assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        if coco_masks == "rle" or isinstance(a["segmentation"], dict):
            np.testing.assert_array_equal(got, want)       # RLE: exact
        else:   # pycocotools rasterises polygons its own way: nearly the same object
            assert (got & want).sum() / (got | want).sum() > 0.8
    assert isinstance(anns[1]["segmentation"], dict)        # the ring keeps its hole as RLE
    assert [a["iscrowd"] for a in anns] == [0, 0, 0, 1]
    if coco_masks == "polygon":
        assert len(anns[2]["segmentation"]) == 2            # two polygons, one instance


def test_import_keeps_instances_and_polygons(tmp_path) -> None:
    out = export(tmp_path, "polygon")
    back = run_to_end(import_dataset("coco", out / "annotations.json", ImportOptions(mask_mode="mask")))
    shapes = back[0].annotation.shapes
    assert [s.shape_type for s in shapes] == ["polygon", "mask", "polygon", "polygon", "mask"]
    assert shapes[2].group_id == shapes[3].group_id != shapes[0].group_id
    np.testing.assert_array_equal(shapes[1].mask, ring())
    assert shapes[4].flags == {"iscrowd": True}
    assert back[1].annotation.shapes == []


def test_bad_file_is_named(tmp_path) -> None:
    bad = tmp_path / "annotations.json"
    bad.write_text(json.dumps({"images": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="annotations.json"):
        run_to_end(import_dataset("coco", tmp_path))
