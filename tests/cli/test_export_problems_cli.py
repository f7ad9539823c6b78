"""``segstudio export`` on a folder with a bad image, and on an image with hundreds of instances."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme, write_labelme
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.rasterize import class_value_map, shape_mask, shapes_to_label

W, H = 120, 100


def write_image(root: Path, name: str, shapes: list[Shape]) -> None:
    Image.fromarray(np.full((H, W, 3), 80, np.uint8)).save(root / f"{name}.png")
    write_labelme(root / f"{name}.json", ImageAnnotation(f"{name}.png", W, H, shapes, state="labelled"))


def test_cli_exports_the_rest_lists_the_bad_images_and_exits_1(tmp_path: Path, capsys) -> None:
    src = tmp_path / "src"
    src.mkdir()
    box = [Shape("cell", [[5, 5], [30, 30]], "rectangle")]
    for name in ("a", "b", "broken_image", "broken_json"):
        write_image(src, name, box)
    (src / "broken_image.png").write_bytes(b"GIF89a truncated")
    (src / "broken_json.json").write_text('{"shapes": [{"label": "cell", "points": 7}]')
    out = tmp_path / "voc"
    assert main(["export", "-f", "voc", str(src), str(out), "-q"]) == 1
    captured = capsys.readouterr()
    assert "exported 2 image(s)" in captured.out
    assert "2 image(s) not exported" in captured.err
    assert "broken_image.png" in captured.err and "broken_json.json" in captured.err
    assert "Traceback" not in captured.err
    sets = out / "ImageSets" / "Segmentation"
    assert (sets / "train.txt").read_text().split() == ["a", "b"]
    assert (sets / "trainval.txt").read_text().split() == ["a", "b"]
    assert sorted(p.name for p in (out / "SegmentationClass").iterdir()) == ["a.png", "b.png"]


def test_cli_voc_round_trip_keeps_every_one_of_400_instances(tmp_path: Path, capsys) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shapes = [Shape("cell", [[6 * c, 5 * r], [6 * c + 4, 5 * r + 3]], "rectangle")
              for r in range(20) for c in range(20)]
    write_image(src, "nuclei", shapes)
    assert main(["export", "-f", "voc", str(src), str(tmp_path / "voc"), "-q"]) == 0
    ids = np.load(tmp_path / "voc" / "SegmentationObjectNpy" / "nuclei.npy")
    _, expected = shapes_to_label(shapes, H, W, class_value_map(["cell"]))
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "voc" / "SegmentationObject" / "nuclei.png")),
                                  expected)
    assert main(["import", "-f", "voc", str(tmp_path / "voc"), str(tmp_path / "back"), "-q"]) == 0
    back = read_labelme(tmp_path / "back" / "nuclei.json").shapes
    assert len({s.group_id for s in back}) == 400
    got = np.zeros_like(expected)
    for s in back:
        got[shape_mask(s, H, W)] = s.group_id
    np.testing.assert_array_equal(got, expected)
    assert json.loads((tmp_path / "back" / "nuclei.json").read_text())["imagePath"] == "nuclei.jpg"
    capsys.readouterr()
