"""labelme JSON reading/writing: round trips, old/new versions, masks, validation messages."""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.io import atomic
from segstudio.core.io.atomic import atomic_write_text
from segstudio.core.io.images import encode_image_data
from segstudio.core.io.labelme import (
    AnnotationError,
    annotation_from_dict,
    annotation_to_dict,
    read_labelme,
    write_labelme,
)
from segstudio.core.model import LABELLED, PRE_ANNOTATED, ImageAnnotation, Shape


def _png_b64(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _sample_annotation() -> ImageAnnotation:
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:12, 20:31] = True
    mask[8, 25] = False   # a hole pixel must survive
    mask[20:22, 3:5] = True   # a second blob far away: the crop spans both
    shapes = [
        Shape("cat", [[1.5, 2.25], [10, 2], [10, 9.75]], "polygon", group_id=3,
              description="fluffy", flags={"occluded": True}, extra={"score": 0.9}),
        Shape("dog", [[12, 14], [2, 20]], "rectangle", group_id=3),
        Shape("ball", [[5, 5], [8, 5]], "circle"),
        Shape("tip", [[7, 7]], "point"),
        Shape("cable", [[0, 0], [5, 5], [9, 2]], "linestrip"),
        Shape("edge", [[1, 1], [3, 3]], "line"),
        Shape("grass", np.zeros((0, 2)), "mask", mask=mask),
    ]
    return ImageAnnotation("img.png", 40, 30, shapes, flags={"night": False, "blurry": True},
                           extra={"customTop": {"a": [1, 2]}}, version="5.4.1", state=PRE_ANNOTATED)


def test_round_trip_keeps_everything(tmp_path):
    ann = _sample_annotation()
    write_labelme(tmp_path / "img.json", ann)
    back = read_labelme(tmp_path / "img.json")
    assert back.same_as(ann)
    assert back.version == "5.4.1"
    assert back.image_path == "img.png"
    assert back.image_data is None
    assert back.state == PRE_ANNOTATED
    assert back.extra == {"customTop": {"a": [1, 2]}}
    assert back.shapes[0].extra == {"score": 0.9}
    assert back.shapes[0].group_id == 3 and back.shapes[0].description == "fluffy"
    assert back.shapes[0].flags == {"occluded": True}
    np.testing.assert_array_equal(back.shapes[6].mask, ann.shapes[6].mask)
    raw = json.loads((tmp_path / "img.json").read_text())
    assert raw["imageData"] is None
    assert raw["segstudio"] == {"state": "pre-annotated"}
    assert raw["customTop"] == {"a": [1, 2]}
    assert raw["shapes"][0]["score"] == 0.9
    # the mask is stored as labelme does: tight box + crop
    assert raw["shapes"][6]["points"] == [[3.0, 5.0], [30.0, 21.0]]
    # writing what was read gives the identical file
    write_labelme(tmp_path / "again.json", back)
    assert (tmp_path / "again.json").read_text() == (tmp_path / "img.json").read_text()


def test_mask_crop_matches_labelme_convention():
    crop = np.zeros((3, 4), dtype=np.uint8)
    crop[1, 1:3] = 1
    d = {"shapes": [{"label": "m", "points": [[10, 20], [13, 22]], "shape_type": "mask",
                     "mask": _png_b64(crop)}], "imagePath": "x.png", "imageHeight": 30, "imageWidth": 40}
    ann = annotation_from_dict(d, "x.json")
    expected = np.zeros((30, 40), dtype=bool)
    expected[21, 11:13] = True
    np.testing.assert_array_equal(ann.shapes[0].mask, expected)
    out = annotation_to_dict(ann)["shapes"][0]
    assert out["points"] == [[11.0, 21.0], [12.0, 21.0]]   # rewritten as the tight box


def test_empty_mask_written_validly(tmp_path):
    ann = ImageAnnotation("a.png", 8, 6, [Shape("m", np.zeros((0, 2)), "mask", mask=np.zeros((6, 8), bool))])
    write_labelme(tmp_path / "a.json", ann)
    back = read_labelme(tmp_path / "a.json")
    assert back.shapes[0].mask.shape == (6, 8) and not back.shapes[0].mask.any()


def test_labelme_3x_file_with_embedded_image(tmp_path):
    img = np.full((12, 16, 3), 80, dtype=np.uint8)
    d = {
        "flags": {},
        "shapes": [{"label": "car", "line_color": None, "fill_color": [255, 0, 0, 128],
                    "points": [[1, 1], [9, 1], [9, 7], [1, 7]]}],
        "lineColor": [0, 255, 0, 128],
        "fillColor": [255, 0, 0, 128],
        "imagePath": "gone.jpg",
        "imageData": encode_image_data(img),
    }
    (tmp_path / "old.json").write_text(json.dumps(d))
    ann = read_labelme(tmp_path / "old.json")
    assert (ann.width, ann.height) == (16, 12)   # from imageData: the 3.x file has no size keys
    s = ann.shapes[0]
    assert s.shape_type == "polygon" and s.group_id is None and s.label == "car"
    assert s.extra == {"line_color": None, "fill_color": [255, 0, 0, 128]}
    assert ann.state == LABELLED   # a labelme file from elsewhere counts as labelled
    write_labelme(tmp_path / "old.json", ann)
    raw = json.loads((tmp_path / "old.json").read_text())
    assert raw["lineColor"] == [0, 255, 0, 128] and raw["fillColor"] == [255, 0, 0, 128]
    assert raw["imageData"] == d["imageData"]
    assert raw["shapes"][0]["fill_color"] == [255, 0, 0, 128]
    assert raw["imageHeight"] == 12 and raw["imageWidth"] == 16


def test_labelme_5x_file():
    d = {
        "version": "5.5.0", "flags": {"ok": True},
        "shapes": [
            {"label": "person", "points": [[1, 2], [3, 4], [5, 1]], "group_id": 7, "description": "left",
             "shape_type": "polygon", "flags": {"truncated": False}, "mask": None},
            {"label": "person", "points": [[0, 0], [4, 6]], "group_id": 7, "description": None,
             "shape_type": "rectangle", "flags": None},
        ],
        "imagePath": "p.jpg", "imageData": None, "imageHeight": 10, "imageWidth": 20,
    }
    ann = annotation_from_dict(d, "p.json")
    assert [s.group_id for s in ann.shapes] == [7, 7]
    assert ann.shapes[0].description == "left" and ann.shapes[1].description == ""
    assert ann.shapes[0].flags == {"truncated": False} and ann.shapes[1].flags == {}
    assert ann.flags == {"ok": True} and ann.version == "5.5.0"
    assert ann.shapes[0].extra == {} and ann.extra == {}
    np.testing.assert_array_equal(ann.shapes[0].points, [[1, 2], [3, 4], [5, 1]])


def _err(d, tmp_path) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(AnnotationError) as info:
        read_labelme(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ")
    return msg


def _one(shape: dict) -> dict:
    return {"shapes": [shape], "imagePath": "a.png", "imageHeight": 10, "imageWidth": 10}


@pytest.mark.parametrize("shape_type,n,needed", [
    ("polygon", 2, "at least 3 points"), ("rectangle", 3, "exactly 2 points"),
    ("circle", 1, "exactly 2 points"), ("line", 3, "exactly 2 points"), ("point", 2, "exactly 1 point"),
])
def test_wrong_point_count(tmp_path, shape_type, n, needed):
    msg = _err(_one({"label": "x", "points": [[i, i] for i in range(n)], "shape_type": shape_type}), tmp_path)
    assert f"shapes[0] ('x'): a {shape_type} needs {needed}, got {n}" in msg


@pytest.mark.parametrize("d,expected", [
    ([1, 2], "top level must be a JSON object, got a list"),
    ({"shapes": {"a": 1}}, "'shapes' must be a list, got an object"),
    ({"shapes": [], "imagePath": 5}, "'imagePath' must be a string, got a number"),
    ({"shapes": [], "imageHeight": "10"}, "'imageHeight' must be a positive integer"),
    ({"shapes": [], "flags": []}, "'flags' must be an object, got a list"),
    ({"shapes": [], "segstudio": {"state": "done"}}, "segstudio.state must be one of"),
    ({"shapes": [], "imageData": "bm90IGFuIGltYWdl"}, "imageData"),
    (_one("oops"), "shapes[0]: expected an object, got str"),
    (_one({"points": [[1, 1]]}), "shapes[0]: 'label' must be a string, got null"),
    (_one({"label": "x", "points": [[0, 0], [1, 1], [2, 0]], "shape_type": "blob"}),
     "shapes[0] ('x'): unknown shape type 'blob'"),
    (_one({"label": "x", "points": [[0, 0], ["a", 1], [2, 0]]}),
     "shapes[0] ('x'): point 1 is [\"a\", 1], not a pair of numbers"),
    (_one({"label": "x", "points": [[0, 0], [1], [2, 0]]}), "point 1 is [1], not a pair of numbers"),
    (_one({"label": "x", "points": "0,0"}), "'points' must be a list of [x, y], got a string"),
    (_one({"label": "x", "points": [[0, 0], [1, 1], [2, 0]], "group_id": "g"}),
     "'group_id' must be an integer or null, got a string"),
    (_one({"label": "x", "points": [[0, 0], [1, 1], [2, 0]], "description": 3}),
     "'description' must be a string, got a number"),
    (_one({"label": "x", "points": [[0, 0], [1, 1], [2, 0]], "flags": [1]}),
     "'flags' must be an object, got a list"),
    (_one({"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask", "mask": "bm90IGFuIGltYWdl"}),
     "shapes[0] ('m'): mask is not a decodable PNG image"),
    (_one({"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask", "mask": "abcde"}),
     "shapes[0] ('m'): mask is not valid base64"),
    (_one({"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask"}),
     "shapes[0] ('m'): mask shape has no 'mask' data"),
    (_one({"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask",
           "mask": _png_b64(np.ones((3, 3), np.uint8))}),
     "mask is 3x3 pixels but its box [[0, 0], [1, 1]] is 2x2"),
])
def test_validation_messages(tmp_path, d, expected):
    assert expected in _err(d, tmp_path)


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "shapes": [\n    {"label": "a",}\n  ]\n}\n')
    with pytest.raises(AnnotationError, match=r"broken\.json: invalid JSON at line 3, column 19"):
        read_labelme(path)


def test_missing_file(tmp_path):
    with pytest.raises(AnnotationError, match="nothing.json: file not found"):
        read_labelme(tmp_path / "nothing.json")


def test_mask_without_image_size(tmp_path):
    d = {"shapes": [{"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask",
                     "mask": _png_b64(np.ones((2, 2), np.uint8))}], "imagePath": "a.png"}
    assert "image size is unknown" in _err(d, tmp_path)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    write_labelme(path, _sample_annotation())
    before = path.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.json"]

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    ann = _sample_annotation()
    ann.shapes.clear()
    with pytest.raises(OSError, match="disk full"):
        write_labelme(path, ann)
    assert path.read_bytes() == before            # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["a.json"]   # and no temp file is left


def test_atomic_write_text_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "sub" / "t.txt"
    atomic_write_text(path, "one\n")
    os.chmod(path, 0o640)
    atomic_write_text(path, "two\n")
    assert path.read_text() == "two\n"
    assert (path.stat().st_mode & 0o777) == 0o640
    assert os.listdir(path.parent) == ["t.txt"]


def test_atomic_write_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "new.txt"
    atomic_write_text(path, "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)   # not mkstemp's 0600
