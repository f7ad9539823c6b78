"""Export of real-sized instance data and of folders with a bad image, for every format.

* an image with hundreds of instances (real nuclei, any Otsu run) keeps every instance in VOC
  (16-bit object PNG + labelme's ``SegmentationObjectNpy``) and comes back on import;
* one bad image (unreadable file, a JSON that does not load, a shape that cannot be drawn) is
  left out and named in the report, the others are exported, the split files list them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from segstudio.core.formats.base import ExportItem, ExportOptions, ImportOptions
from segstudio.core.formats.export_driver import export_dataset, items_from_project
from segstudio.core.formats.voc import import_dataset as voc_import
from segstudio.core.io.labelme import write_labelme
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.project_io import load_all, open_project
from segstudio.core.rasterize import class_value_map, shape_mask, shapes_to_label
from tests.support.builders import write_labels

W, H = 210, 170
CLASSES = ["nucleus", "debris"]


def many_instances(n_rows: int = 17, n_cols: int = 21) -> list[Shape]:
    """n_rows × n_cols small blobs (357 instances), some of them overlapping the next one, two
    classes, a pair of shapes forming one instance (group id) and an ``__ignore__`` patch."""
    rng = np.random.default_rng(4)
    shapes: list[Shape] = []
    for r in range(n_rows):
        for c in range(n_cols):
            x, y = 10 * c + 1, 10 * r + 1
            size = int(rng.integers(5, 11))   # 10 overlaps the neighbour: later paints over
            label = CLASSES[(r + c) % 7 == 0]
            if (r, c) == (3, 3):
                shapes.append(Shape(label, [[x, y], [x + 3, y + 3]], "rectangle", group_id=9000))
                shapes.append(Shape(label, [[x + 5, y + 5], [x + 7, y + 7]], "rectangle", group_id=9000))
                continue
            pts = [[x, y], [x + size, y], [x + size, y + size // 2], [x, y + size]]
            shapes.append(Shape(label, pts, "polygon"))
    shapes.append(Shape("__ignore__", [[100, 100], [115, 112]], "rectangle"))
    return shapes


def write_image(root: Path, name: str, shapes: list[Shape]) -> None:
    Image.fromarray(np.full((H, W, 3), 100, np.uint8)).save(root / f"{name}.png")
    write_labelme(root / f"{name}.json", ImageAnnotation(f"{name}.png", W, H, shapes, state="labelled"))


def labels_txt(root: Path) -> None:
    write_labels(root, CLASSES)


def test_voc_keeps_hundreds_of_instances_and_imports_them_back(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    shapes = many_instances()
    write_image(root, "cells", shapes)
    labels_txt(root)
    project = open_project(root)
    assert not load_all(project)
    out = tmp_path / "voc"
    report = run_to_end(export_dataset("voc", items_from_project(project), out,
                                       project.class_names(), options=ExportOptions()))
    assert report.images == 1 and not report.problems
    values = class_value_map(CLASSES)
    cls, ins = shapes_to_label(shapes, H, W, values)
    ins[cls == 255] = 0
    assert ins.max() > 300                                   # really more than a palette holds
    obj_png = Image.open(out / "SegmentationObject" / "cells.png")
    assert obj_png.mode.startswith("I")                      # 16-bit grey, not a palette
    np.testing.assert_array_equal(np.asarray(obj_png), ins)  # every instance, pixel-exact
    npy = np.load(out / "SegmentationObjectNpy" / "cells.npy")
    assert npy.dtype == np.int32
    np.testing.assert_array_equal(npy, ins)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "SegmentationClass" / "cells.png")), cls)
    assert "16-bit" in (out / "README.txt").read_text()

    for source in ("npy", "png"):   # import reads either kind of object map
        if source == "png":
            (out / "SegmentationObjectNpy" / "cells.npy").unlink()
        images = run_to_end(voc_import(out, ImportOptions()))
        back = images[0].annotation.shapes
        cls_back, _ = shapes_to_label(back, H, W, values)
        np.testing.assert_array_equal(cls_back, cls)
        ins_back = np.zeros_like(ins)   # each imported shape's group id is its exported object id
        for s in back:
            if s.label != "__ignore__":
                ins_back[shape_mask(s, H, W)] = s.group_id
        np.testing.assert_array_equal(ins_back, ins)          # same ids, same pixels


def test_voc_keeps_a_palette_png_up_to_255_instances(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    write_image(root, "few", many_instances(n_rows=3, n_cols=4))
    labels_txt(root)
    project = open_project(root)
    run_to_end(export_dataset("voc", items_from_project(project), tmp_path / "voc",
                              project.class_names(), options=ExportOptions()))
    png = Image.open(tmp_path / "voc" / "SegmentationObject" / "few.png")
    assert png.mode == "P"                                   # VOC tools read it as before
    np.testing.assert_array_equal(np.asarray(png), np.load(tmp_path / "voc" / "SegmentationObjectNpy" / "few.npy"))


def broken_project(root: Path) -> Path:
    """good1, good2; bad_pixels.png is not an image; bad_json.json does not load."""
    root.mkdir()
    box = [Shape("nucleus", [[2, 2], [20, 20]], "rectangle")]
    write_image(root, "good1", box)
    write_image(root, "good2", box)
    write_image(root, "bad_pixels", box)
    (root / "bad_pixels.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    write_image(root, "bad_json", box)
    data = json.loads((root / "bad_json.json").read_text())
    data["shapes"][0]["points"] = [[2, "two"], [20, 20]]
    (root / "bad_json.json").write_text(json.dumps(data))
    labels_txt(root)
    return root


def exported_names(fmt: str, out: Path) -> dict[str, list[str]]:
    """What each format's own index/split files say was exported, per split."""
    if fmt == "voc":
        sets = out / "ImageSets" / "Segmentation"
        return {s: (sets / f"{s}.txt").read_text().split() for s in ("train", "val")}
    if fmt == "coco":
        data = json.loads((out / "annotations.json").read_text())
        return {s: [Path(im["file_name"]).stem for im in data["images"] if im["split"] == s]
                for s in ("train", "val")}
    if fmt == "yolo":
        assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "nucleus", 1: "debris"}
        return {s: sorted(p.stem for p in (out / "labels" / s).glob("*.txt")) for s in ("train", "val")}
    if fmt == "masks":
        return json.loads((out / "classes.json").read_text())["splits"]
    assert (out / "labels.txt").exists()
    return {"train": sorted(p.stem for p in out.glob("*.json")), "val": []}


@pytest.mark.parametrize("fmt", ["voc", "coco", "yolo", "masks", "labelme"])
def test_one_bad_image_never_aborts_an_export(tmp_path: Path, fmt: str) -> None:
    project = open_project(broken_project(tmp_path / "proj"))
    load_all(project)
    items = items_from_project(project, with_errors=True)
    # a snapshot from the window with a shape that cannot be drawn (NaN points)
    nan_shape = Shape("nucleus", [[1.0, 1.0], [float("nan"), 5.0], [9.0, 9.0]], "polygon")
    items.append(ExportItem("bad_shape", tmp_path / "proj" / "good1.png",
                            ImageAnnotation("good1.png", W, H, [nan_shape], state="labelled")))
    out = tmp_path / fmt
    opts = ExportOptions(split=(0.5, 0.5, 0.0), seed=1)
    report = run_to_end(export_dataset(fmt, items, out, project.class_names(), options=opts))
    assert report.images == 2
    assert len(report.problems) == 3
    text = "\n".join(report.problems)
    assert "bad_pixels.png" in text and "bad_json.json" in text and "bad_shape" not in text
    assert any("good1.png" in p for p in report.problems)    # the NaN item names its image
    names = exported_names(fmt, out)
    assert sorted(names["train"] + names["val"]) == ["good1", "good2"]
    if fmt != "labelme":   # a labelme folder is flat: no split on disk
        assert {k: v for k, v in report.splits.items() if v} == {k: v for k, v in names.items() if v}
    leftovers = [p for p in out.rglob("*") if p.is_file() and p.stem.startswith("bad")]
    assert leftovers == []                                   # nothing half-written for the bad ones


def test_coco_rle_of_hundreds_of_instances_equals_the_full_mask_encoding(tmp_path: Path) -> None:
    from pycocotools import mask as mask_utils

    root = tmp_path / "proj"
    root.mkdir()
    shapes = many_instances()
    write_image(root, "cells", shapes)
    labels_txt(root)
    project = open_project(root)
    report = run_to_end(export_dataset("coco", items_from_project(project), tmp_path / "coco",
                                       project.class_names(), options=ExportOptions(coco_masks="rle")))
    assert report.images == 1
    anns = json.loads((tmp_path / "coco" / "annotations.json").read_text())["annotations"]
    values = class_value_map(CLASSES)
    groups: dict[object, list[Shape]] = {}
    for s in shapes:
        if s.label != "__ignore__":
            groups.setdefault(s.group_id if s.group_id is not None else s.uid, []).append(s)
    assert len(anns) == len(groups) > 300
    for a, members in zip(anns, groups.values()):
        full = np.zeros((H, W), bool)
        for s in members:
            full |= shape_mask(s, H, W)
        expected = mask_utils.encode(np.asfortranarray(full.astype(np.uint8)))
        assert a["segmentation"]["counts"] == expected["counts"].decode("ascii")
        assert a["area"] == full.sum() and a["category_id"] == values[members[0].label]
        assert a["bbox"] == [float(v) for v in mask_utils.toBbox(expected)]
