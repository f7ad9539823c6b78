"""``segstudio export`` / ``import`` / ``evaluate`` end to end on a tiny project."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme, write_labelme
from segstudio.core.model import Shape
from segstudio.core.rasterize import class_value_map, shapes_to_label
from tests.support.builders import labelled_project

H, W = 40, 50


def make_project(root: Path, shapes_by_name: dict[str, list[Shape]]) -> Path:
    return labelled_project(root, shapes_by_name, size=(W, H), classes=["leaf", "bug"], fill=90)


def gt_shapes() -> dict[str, list[Shape]]:
    return {
        "p1": [Shape("leaf", [[0, 0], [19, 0], [19, 19], [0, 19]], "polygon")],      # 400 px
        "p2": [Shape("bug", [[30, 10], [39, 19]], "rectangle"),                      # 100 px
               Shape("__ignore__", [[0, 30], [9, 39]], "rectangle")],
    }


@pytest.mark.parametrize("fmt", ["voc", "coco", "masks", "yolo", "labelme"])
def test_export_then_import_gives_a_project(tmp_path, capsys, fmt) -> None:
    src = make_project(tmp_path / "src", gt_shapes())
    assert main(["export", "--format", fmt, str(src), str(tmp_path / "ds"), "-q",
                 "--split", "0.5,0.5", "--seed", "3"]) == 0
    assert "exported 2 image(s)" in capsys.readouterr().out
    assert main(["import", "--format", fmt, str(tmp_path / "ds"), str(tmp_path / "back"), "-q"]) == 0
    assert "imported 2 image(s)" in capsys.readouterr().out
    values = class_value_map(["leaf", "bug"])
    for name, shapes in gt_shapes().items():
        back = read_labelme(next((tmp_path / "back").rglob(f"{name}.json")))
        got = shapes_to_label(back.shapes, H, W, values)[0]
        if fmt in ("coco", "yolo"):   # no ignore class in these formats
            shapes = [s for s in shapes if s.label != "__ignore__"]
        np.testing.assert_array_equal(got, shapes_to_label(shapes, H, W, values)[0])


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_into_a_project_skips_what_a_person_labelled(tmp_path, capsys) -> None:
    """p1 labelled by a person, p2 pre-annotated by a model, p3 not annotated yet: importing a
    dataset of all three leaves p1 byte for byte, replaces p2's pre-annotation, fills p3; with
    --include-labelled p1 gets the imported shapes added and stays labelled."""
    ds_src = make_project(tmp_path / "ds_src", {**gt_shapes(), "p3": [Shape("bug", [[1, 1], [9, 9]], "rectangle")]})
    assert main(["export", "-f", "labelme", str(ds_src), str(tmp_path / "ds"), "-q"]) == 0
    proj = make_project(tmp_path / "proj", {"p1": [Shape("leaf", [[2, 2], [12, 2], [12, 12]], "polygon")],
                                            "p2": [Shape("bug", [[20, 20], [25, 25]], "rectangle")]})
    pre = read_labelme(proj / "p2.json")
    pre.state = "pre-annotated"
    write_labelme(proj / "p2.json", pre)
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(proj / "p3.png")
    mine = _sha(proj / "p1.json")
    capsys.readouterr()
    assert main(["import", "-f", "labelme", str(tmp_path / "ds"), str(proj), "-q"]) == 0
    assert "imported 2 image(s)" in capsys.readouterr().out and _sha(proj / "p1.json") == mine
    p2, p3 = read_labelme(proj / "p2.json"), read_labelme(proj / "p3.json")
    assert [s.label for s in p2.shapes] == ["bug", "__ignore__"] and p2.state == "labelled"
    assert [s.label for s in p3.shapes] == ["bug"] and p3.state == "labelled"

    assert main(["import", "-f", "labelme", str(tmp_path / "ds"), str(proj), "-q", "--include-labelled"]) == 0
    p1 = read_labelme(proj / "p1.json")
    assert [s.label for s in p1.shapes] == ["leaf", "leaf"] and p1.state == "labelled"
    np.testing.assert_allclose(p1.shapes[0].points, [[2, 2], [12, 2], [12, 12]])   # the person's shape first


def test_import_never_overwrites_an_unreadable_json(tmp_path, capsys) -> None:
    src = make_project(tmp_path / "src", gt_shapes())
    assert main(["export", "-f", "masks", str(src), str(tmp_path / "ds"), "-q"]) == 0
    (src / "p2.json").write_text("{ broken")
    assert main(["import", "-f", "masks", str(tmp_path / "ds"), str(src), "-q", "--include-labelled"]) == 1
    assert "p2.json" in capsys.readouterr().err
    assert (src / "p2.json").read_text() == "{ broken"
    assert read_labelme(src / "p1.json").shapes[0].shape_type == "polygon"   # nothing written


def test_evaluate_prints_table_and_writes_json(tmp_path, capsys) -> None:
    gt = make_project(tmp_path / "gt", gt_shapes())
    pred = make_project(tmp_path / "pred", {
        "p1": [Shape("leaf", [[0, 0], [19, 0], [19, 9], [0, 9]], "polygon")],        # top half: 200 px
        "p2": [Shape("bug", [[30, 10], [39, 19]], "rectangle"),
               Shape("leaf", [[0, 30], [9, 39]], "rectangle")],                      # inside ignore
    })
    out_json = tmp_path / "report.json"
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(out_json), "-q"]) == 0
    text = capsys.readouterr().out
    assert "mean IoU" in text and "excluded from the means" in text
    report = json.loads(out_json.read_text(encoding="utf-8"))
    sem = report["semantic"]
    assert sem["per_class_iou"]["leaf"] == pytest.approx(200 / 400)
    assert sem["per_class_iou"]["bug"] == pytest.approx(1.0)
    bg_gt = 2 * H * W - 400 - 100 - 100
    assert sem["per_class_iou"]["_background_"] == pytest.approx((bg_gt) / (bg_gt + 200))
    assert sem["pixel_accuracy"] == pytest.approx((2 * H * W - 100 - 200) / (2 * H * W - 100))
    ins = report["instances"]
    assert ins["per_class"]["leaf"]["tp"] == 0 and ins["per_class"]["leaf"]["fn"] == 1
    assert ins["per_class"]["leaf"]["fp"] == 1            # the half-size leaf (IoU 0.5, no match)
    assert ins["per_class"]["bug"]["pq"] == pytest.approx(1.0)
    assert ins["pq"] == pytest.approx(0.5)


def test_evaluate_reports_missing_folder(tmp_path, capsys) -> None:
    gt = make_project(tmp_path / "gt", gt_shapes())
    assert main(["evaluate", "--pred", str(tmp_path / "nope"), "--gt", str(gt), "-q"]) == 1
    assert "nope" in capsys.readouterr().err
