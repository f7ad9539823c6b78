"""YOLO-seg label files and plain class-mask PNGs: file contents a training tool reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from segstudio.core.formats.base import ExportItem, ExportOptions, ImportOptions
from segstudio.core.formats.export_driver import export_dataset
from segstudio.core.formats.import_driver import import_dataset
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape

H, W = 40, 80


def items(tmp_path: Path, n: int, shapes: list[Shape]) -> list[ExportItem]:
    img = tmp_path / "src.png"
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(img)
    return [ExportItem(f"im{i}", img, ImageAnnotation("src.png", W, H, shapes)) for i in range(n)]


def test_yolo_lines_are_normalised_polygons(tmp_path) -> None:
    shapes = [Shape("b", [[8, 4], [40, 4], [40, 20]], "polygon"),
              Shape("a", [[80, 40], [40, 20]], "rectangle"),
              Shape("__ignore__", [[0, 0], [5, 0], [5, 5]], "polygon")]
    out = tmp_path / "yolo"
    run_to_end(export_dataset("yolo", items(tmp_path, 4, shapes), out, ["a", "b"],
                              options=ExportOptions(split=(0.5, 0.5, 0.0))))
    data = yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))
    assert data["names"] == {0: "a", 1: "b"} and data["train"] == "images/train"
    train = sorted((out / "labels" / "train").glob("*.txt"))
    assert len(train) == 2 and len(list((out / "labels" / "val").glob("*.txt"))) == 2
    assert len(list((out / "images" / "train").glob("*.png"))) == 2
    lines = train[0].read_text().splitlines()
    assert lines[0].split() == ["1", "0.1", "0.1", "0.5", "0.1", "0.5", "0.5"]
    rect = [float(v) for v in lines[1].split()[1:]]
    assert lines[1].split()[0] == "0" and sorted(set(rect)) == [0.5, 1.0]
    assert len(lines) == 2                                  # no ignore line


def test_yolo_import_errors_name_the_file(tmp_path) -> None:
    out = tmp_path / "yolo"
    run_to_end(export_dataset("yolo", items(tmp_path, 1, []), out, ["a"], options=ExportOptions()))
    (out / "labels" / "train" / "im0.txt").write_text("3 0.1 0.1 0.2 0.2 0.3 0.1\n")
    with pytest.raises(ValueError, match=r"im0.txt:1: class 3"):
        run_to_end(import_dataset("yolo", out))


def test_masks_are_16_bit_beyond_254_classes(tmp_path) -> None:
    classes = [f"c{i}" for i in range(300)]
    shapes = [Shape("c299", [[0, 0], [9, 9]], "rectangle"),
              Shape("__ignore__", [[20, 0], [29, 9]], "rectangle")]
    out = tmp_path / "masks"
    run_to_end(export_dataset("masks", items(tmp_path, 1, shapes), out, classes, options=ExportOptions()))
    arr = np.asarray(Image.open(out / "masks" / "im0.png"))
    assert arr.dtype == np.uint16
    assert (arr == 300).sum() == 100 and (arr == 65535).sum() == 100
    back = run_to_end(import_dataset("masks", out, ImportOptions()))
    assert {s.label for s in back[0].annotation.shapes} == {"c299", "__ignore__"}


def test_masks_8_bit_and_classes_json(tmp_path) -> None:
    import json

    shapes = [Shape("b", [[0, 0], [3, 3]], "rectangle")]
    out = tmp_path / "masks"
    run_to_end(export_dataset("masks", items(tmp_path, 1, shapes), out, ["a", "b"],
                              options=ExportOptions(colors={"b": (1, 2, 3)})))
    arr = np.asarray(Image.open(out / "masks" / "im0.png"))
    assert arr.dtype == np.uint8 and (arr == 2).sum() == 16 and arr.sum() == 32
    meta = json.loads((out / "classes.json").read_text(encoding="utf-8"))
    assert [(c["value"], c["name"]) for c in meta["classes"]] == [(0, "_background_"), (1, "a"), (2, "b")]
    assert meta["classes"][2]["color"] == [1, 2, 3] and meta["ignore_value"] == 255


def test_yolo_without_val_split_validates_on_train(tmp_path) -> None:
    out = tmp_path / "yolo"
    run_to_end(export_dataset("yolo", items(tmp_path, 2, []), out, ["a"], options=ExportOptions(split=(1, 0, 0))))
    data = yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))
    assert data["val"] == "images/train" and "path" not in data and "test" not in data
