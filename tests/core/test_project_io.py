"""Opening project folders, loading/saving annotations, labels.txt and class colours."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.class_list import save_labels
from segstudio.core.edits import AddShapes
from segstudio.core.io.images import encode_image_data
from segstudio.core.io.labelme import AnnotationError, read_labelme, write_labelme
from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED, ImageAnnotation, Shape
from segstudio.core.project_io import (
    iter_labelled,
    load_all,
    load_annotation,
    load_entry_image,
    open_project,
    save_annotation,
)


def _img(path, w=20, h=10, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, dtype=np.uint8)).save(path)


def _labelme(path, image_path, shapes, state=None, w=20, h=10, **extra):
    d = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
         "imageData": None, "imageHeight": h, "imageWidth": w, **extra}
    if state:
        d["segstudio"] = {"state": state}
    path.write_text(json.dumps(d))


def _tri(label, gid=None):
    return {"label": label, "points": [[1, 1], [8, 1], [8, 6]], "group_id": gid, "shape_type": "polygon",
            "flags": {}, "description": ""}


def _names(project):
    return [os.path.relpath(e.image_path, project.root) for e in project.entries]


def test_open_sorts_naturally_skips_hidden_and_finds_subfolders(tmp_path):
    for name in ["img10.png", "img2.png", "img1.jpg", "sub/a.png", ".hidden/x.png", "notes.txt"]:
        if name.endswith("txt"):
            (tmp_path / name).write_text("hi")
        else:
            _img(tmp_path / name)
    project = open_project(tmp_path)
    assert _names(project) == ["img1.jpg", "img2.png", "img10.png", os.path.join("sub", "a.png")]
    assert all(e.state == UNLABELLED and e.error is None for e in project.entries)
    assert project.entries[0].annotation_path == tmp_path / "img1.json"


def test_bad_json_beside_good_ones(tmp_path):
    for n in ["a", "b", "c"]:
        _img(tmp_path / f"{n}.png")
    _labelme(tmp_path / "a.json", "a.png", [_tri("cat")])
    (tmp_path / "b.json").write_text('{"shapes": [')
    _labelme(tmp_path / "c.json", "c.png", [{"label": "dog", "points": [[0, 0], [1, 1]]}])  # 2-pt polygon
    project = open_project(tmp_path)
    a, b, c = project.entries
    assert a.error is None and a.state == LABELLED
    assert b.error.startswith(f"{tmp_path / 'b.json'}: invalid JSON at line 1")
    # structural problems are found when the file loads; the entry then carries the message
    with pytest.raises(AnnotationError, match="a polygon needs at least 3 points"):
        load_annotation(project, c.key)
    assert c.error is not None and "c.json" in c.error
    errors = load_all(project)
    assert len(errors) == 2
    assert project.annotation(a.key).shapes[0].label == "cat"
    assert "cat" in project.class_names() and "dog" in project.class_names()


def test_save_never_touches_a_file_that_failed_to_load(tmp_path):
    _img(tmp_path / "a.png")
    bad = '{"shapes": [{"label": "x", "points": [[0, 0]]}]}'
    (tmp_path / "a.json").write_text(bad)
    project = open_project(tmp_path)
    key = project.entries[0].key
    with pytest.raises(AnnotationError):
        load_annotation(project, key)
    # even if some code puts an annotation in the cache, saving must refuse
    ann = ImageAnnotation("a.png", 20, 10)
    project.annotations[key] = ann
    AddShapes(key, [Shape("y", [[1, 1], [5, 1], [5, 5]])]).apply(project)
    with pytest.raises(AnnotationError, match="not saved"):
        save_annotation(project, key)
    assert (tmp_path / "a.json").read_text() == bad


def test_load_save_round_trip_and_dirty_flag(tmp_path):
    _img(tmp_path / "imgs" / "a.png", w=30, h=16)
    project = open_project(tmp_path)
    key = project.entries[0].key
    ann = load_annotation(project, key)
    assert (ann.width, ann.height, ann.state) == (30, 16, UNLABELLED)
    assert load_annotation(project, key) is ann   # cached
    assert save_annotation(project, key) is False  # not dirty: nothing written
    assert not (tmp_path / "imgs" / "a.json").exists()
    AddShapes(key, [Shape("cat", [[1, 1], [9, 1], [9, 9]], group_id=2)]).apply(project)
    assert ann.dirty
    assert save_annotation(project, key) is True
    assert not ann.dirty
    raw = json.loads((tmp_path / "imgs" / "a.json").read_text())
    assert raw["imagePath"] == "a.png"   # relative to the JSON's folder
    assert raw["segstudio"]["state"] == LABELLED   # saving work marks it labelled
    assert project.entries[0].state == LABELLED
    again = open_project(tmp_path)
    assert again.entries[0].state == LABELLED
    assert load_annotation(again, key).same_as(ann)


def test_output_dir_holds_jsons_and_labels(tmp_path):
    _img(tmp_path / "imgs" / "sub" / "a.png")
    out = tmp_path / "out"
    project = open_project(tmp_path / "imgs", output_dir=out)
    key = project.entries[0].key
    assert project.entries[0].annotation_path == out / "sub" / "a.json"
    load_annotation(project, key)
    AddShapes(key, [Shape("cat", [[1, 1], [9, 1], [9, 9]])]).apply(project)
    save_annotation(project, key)
    save_labels(project)
    raw = json.loads((out / "sub" / "a.json").read_text())
    assert raw["imagePath"] == "../../imgs/sub/a.png"
    assert (out / "labels.txt").read_text() == "__ignore__\n_background_\ncat\n"
    assert not (tmp_path / "imgs" / "sub" / "a.json").exists()
    again = open_project(tmp_path / "imgs", output_dir=out)
    assert again.entries[0].state == LABELLED and again.class_names() == ["cat"]


def test_labels_txt_and_class_colours(tmp_path):
    _img(tmp_path / "a.png")
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\nroad\ncar\n\n")
    _labelme(tmp_path / "a.json", "a.png", [_tri("tree"), _tri("car")])
    project = open_project(tmp_path)
    assert project.has_ignore_class
    assert project.class_names() == ["road", "car", "tree"]   # labels.txt order, then discovered
    project.get_class("car").color = (1, 2, 3)
    project.get_class("road").visible = False
    save_labels(project)
    assert (tmp_path / "labels.txt").read_text() == "__ignore__\n_background_\nroad\ncar\ntree\n"
    again = open_project(tmp_path)
    assert again.get_class("car").color == (1, 2, 3)
    assert again.get_class("road").visible is False
    assert again.class_names() == ["road", "car", "tree"]


def test_json_with_embedded_image_and_no_image_file(tmp_path):
    arr = np.zeros((12, 18, 3), dtype=np.uint8)
    arr[:, :9] = 200
    d = {"shapes": [_tri("cat")], "imagePath": "elsewhere/gone.jpg", "imageData": encode_image_data(arr)}
    (tmp_path / "only.json").write_text(json.dumps(d))
    (tmp_path / "coco.json").write_text(json.dumps({"images": [], "annotations": []}))  # not labelme
    project = open_project(tmp_path)
    assert len(project.entries) == 1
    entry = project.entries[0]
    assert entry.annotation_path == tmp_path / "only.json" and entry.state == LABELLED
    ann = load_annotation(project, entry.key)
    assert (ann.width, ann.height) == (18, 12)
    np.testing.assert_array_equal(load_entry_image(project, entry.key), arr)


def test_json_pointing_to_image_with_other_name(tmp_path):
    _img(tmp_path / "images" / "p.png")
    (tmp_path / "ann").mkdir()
    _labelme(tmp_path / "ann" / "p_labels.json", "../images/p.png", [_tri("cat")])
    project = open_project(tmp_path)
    assert len(project.entries) == 1
    assert project.entries[0].annotation_path == tmp_path / "ann" / "p_labels.json"
    assert project.entries[0].state == LABELLED


def test_iter_labelled_and_states(tmp_path):
    for n in ["a", "b", "c"]:
        _img(tmp_path / f"{n}.png", value=50)
    _labelme(tmp_path / "a.json", "a.png", [_tri("cat")])                      # no key → labelled
    _labelme(tmp_path / "b.json", "b.png", [_tri("dog")], state=PRE_ANNOTATED)
    project = open_project(tmp_path)
    assert [e.state for e in project.entries] == [LABELLED, PRE_ANNOTATED, UNLABELLED]
    assert [e.image_path.name for e, _ in iter_labelled(project)] == ["a.png"]
    both = [(e.image_path.name, a.shapes[0].label) for e, a in iter_labelled(project, include_pre_annotated=True)]
    assert both == [("a.png", "cat"), ("b.png", "dog")]
    assert project.annotations == {}   # iterating does not keep everything in memory
    img = load_entry_image(project, project.entries[2].key)
    assert img.shape == (10, 20, 3) and int(img[0, 0, 0]) == 50


def test_save_keeps_unknown_keys_of_existing_file(tmp_path):
    _img(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", [dict(_tri("cat"), other_tool={"id": 5})], lineColor=[1, 2, 3, 4])
    project = open_project(tmp_path)
    key = project.entries[0].key
    load_annotation(project, key)
    AddShapes(key, [Shape("dog", [[2, 2], [6, 2], [6, 6]])]).apply(project)
    save_annotation(project, key)
    back = read_labelme(tmp_path / "a.json")
    assert back.extra == {"lineColor": [1, 2, 3, 4]}
    assert back.shapes[0].extra == {"other_tool": {"id": 5}}
    assert [s.label for s in back.shapes] == ["cat", "dog"]
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a.png"]   # no temp files left behind
    write_labelme(tmp_path / "copy.json", back)   # and the API writes the same content
    assert json.loads((tmp_path / "copy.json").read_text()) == json.loads((tmp_path / "a.json").read_text())
