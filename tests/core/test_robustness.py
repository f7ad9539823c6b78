"""Bad or surprising input on disk: the user's files are never lost, and messages name the file.

Each test guards a defect found in review: an image replaced by one of another size after its
JSON was written, a JSON refused for saving because its *image* failed, preferences losing
keys, class colours that the canvas cannot paint.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.core.class_edits import ChangeClass
from segstudio.core.history import History
from segstudio.core.io.formats.base import ExportItem
from segstudio.core.io.labelme import AnnotationError, annotation_from_dict, read_labelme, write_labelme
from segstudio.core.project_io import (
    load_all,
    load_annotation,
    open_project,
    save_annotation,
)
from segstudio.core.settings import Preferences, load_preferences, save_preferences


def _img(path, w, h, value=90):
    Image.fromarray(np.full((h, w, 3), value, dtype=np.uint8)).save(path)


def _mask_b64(crop: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", crop.astype(np.uint8))
    assert ok
    return base64.b64encode(png.tobytes()).decode("ascii")


def _doc(image_path, w, h, shapes, **extra):
    return {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
            "imageData": None, "imageHeight": h, "imageWidth": w, **extra}


MASK_SHAPE = {"label": "cat", "points": [[5, 4], [14, 11]], "shape_type": "mask",
              "mask": _mask_b64(np.ones((8, 10)))}
TRIANGLE = {"label": "dog", "points": [[1, 1], [30, 1], [30, 20]], "shape_type": "polygon"}


# -- an image that changed size since its JSON was written --------------------------------------
def test_image_resized_after_json_masks_follow_the_image(tmp_path, caplog):
    _img(tmp_path / "a.png", 64, 48)                     # the JSON below was written for 40x30
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE, TRIANGLE], custom=7)))
    project = open_project(tmp_path)
    key = project.entries[0].key
    with caplog.at_level(logging.WARNING):
        ann = load_annotation(project, key)
    assert (ann.width, ann.height) == (64, 48)
    mask = ann.shapes[0].mask
    assert mask.shape == (48, 64)                         # painting on it cannot run off the array
    assert mask.sum() == 80 and mask[4:12, 5:15].all()    # the pixels stay where they were
    np.testing.assert_array_equal(ann.shapes[1].points, [[1, 1], [30, 1], [30, 20]])
    assert any("a.json" in r.getMessage() and "40x30" in r.getMessage() and "64x48" in r.getMessage()
               for r in caplog.records)
    assert not ann.dirty                                  # nothing is written behind the user's back
    ann.set_dirty(True)
    assert save_annotation(project, key)
    doc = json.loads((tmp_path / "a.json").read_text())
    assert (doc["imageWidth"], doc["imageHeight"], doc["custom"]) == (64, 48, 7)
    assert doc["shapes"][0]["points"] == [[5.0, 4.0], [14.0, 11.0]]


def test_image_resized_export_item_uses_the_image_size(tmp_path):
    _img(tmp_path / "a.png", 64, 48)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE])))
    ann = ExportItem("a", tmp_path / "a.png", None, tmp_path / "a.json").load()
    assert (ann.width, ann.height) == (64, 48) and ann.shapes[0].mask.shape == (48, 64)


def test_image_shrunk_after_json_mask_is_clipped_not_an_error(tmp_path):
    _img(tmp_path / "a.png", 12, 10)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE])))
    project = open_project(tmp_path)
    ann = load_annotation(project, project.entries[0].key)
    assert ann.shapes[0].mask.shape == (10, 12)
    assert ann.shapes[0].mask.sum() == (10 - 4) * (12 - 5)


def test_huge_image_size_in_a_json_is_a_named_error_not_a_crash():
    d = _doc("x.png", 10**9, 10**9, [MASK_SHAPE])
    with pytest.raises(AnnotationError, match=r"x\.json: shapes\[0\] \('cat'\).*too large"):
        annotation_from_dict(d, "x.json")


# -- saving --------------------------------------------------------------------------------------
def test_rename_saves_a_json_whose_image_is_unreadable(tmp_path):
    """entry.error about the *image* must not block saving a JSON that loaded fine."""
    _img(tmp_path / "a.png", 40, 30)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n-- truncated --")
    for n in "ab":
        (tmp_path / f"{n}.json").write_text(json.dumps(_doc(f"{n}.png", 40, 30, [TRIANGLE])))
    project = open_project(tmp_path)
    assert load_all(project) == []
    kb = str(tmp_path / "b.json")
    project.entry(kb).error = f"{tmp_path / 'b.png'}: corrupt or truncated image"   # as the GUI does
    History(project, 10**8).push(ChangeClass("dog", {"name": "wolf"}))
    for e in project.entries:
        assert save_annotation(project, e.key)
    for n in "ab":
        assert json.loads((tmp_path / f"{n}.json").read_text())["shapes"][0]["label"] == "wolf"


def test_a_json_that_does_not_load_is_still_never_overwritten(tmp_path):
    _img(tmp_path / "a.png", 40, 30)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    project = open_project(tmp_path)
    key = project.entries[0].key
    ann = load_annotation(project, key)
    (tmp_path / "a.json").write_text("{broken")          # changed on disk by another program
    project.entry(key).error = "a.json: invalid JSON"
    ann.set_dirty(True)
    with pytest.raises(AnnotationError, match="a.json: not saved"):
        save_annotation(project, key)
    assert (tmp_path / "a.json").read_text() == "{broken"


def test_failed_replace_leaves_the_old_file_and_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    before = path.read_bytes()
    ann = read_labelme(path)
    ann.shapes[0].label = "changed"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_labelme(path, ann)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


# -- class list ----------------------------------------------------------------------------------
def test_labels_txt_with_bom_duplicates_and_blank_lines(tmp_path):
    _img(tmp_path / "a.png", 8, 8)
    (tmp_path / "labels.txt").write_bytes(
        "\ufeff__ignore__\r\n_background_\r\n\r\ncat\r\n  dog  \r\ncat\r\n\r\n".encode())
    project = open_project(tmp_path)
    assert project.class_names() == ["cat", "dog"]
    assert project.has_ignore_class


def test_class_colours_the_canvas_cannot_paint_fall_back_to_defaults(tmp_path, caplog):
    _img(tmp_path / "a.png", 8, 8)
    (tmp_path / ".segstudio").mkdir()
    (tmp_path / ".segstudio" / "classes.json").write_text(json.dumps({"classes": [
        {"name": "short", "color": [1, 2]},
        {"name": "big", "color": [300, 0, 0], "visible": "no"},
        {"name": "good", "color": [10, 20, 30], "visible": False},
    ]}))
    with caplog.at_level(logging.WARNING):
        project = open_project(tmp_path)
    colors = {c.name: tuple(c.color) for c in project.classes}
    assert colors["good"] == (10, 20, 30) and not project.get_class("good").visible
    for name in ("short", "big"):
        assert len(colors[name]) == 3 and all(0 <= v <= 255 for v in colors[name])
    assert colors["big"] != (300, 0, 0) and project.get_class("big").visible
    assert any("classes.json" in r.getMessage() and "short" in r.getMessage() for r in caplog.records)


# -- preferences ---------------------------------------------------------------------------------
def test_preferences_keep_unknown_keys(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text(json.dumps({"brush_radius": 3, "plugin_option": {"a": 1}}))
    prefs = load_preferences(path)
    assert prefs.brush_radius == 3.0
    prefs.brush_radius = 5.0
    save_preferences(prefs, path)
    data = json.loads(path.read_text())
    assert data["plugin_option"] == {"a": 1} and data["brush_radius"] == 5.0


def test_broken_preferences_are_kept_aside_before_being_replaced(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text('{"brush_radius": 3,}')              # a hand edit with a trailing comma
    prefs = load_preferences(path)
    assert prefs == Preferences()
    save_preferences(prefs, path)
    assert (tmp_path / "preferences.json.broken").read_text() == '{"brush_radius": 3,}'
    assert json.loads(path.read_text())["brush_radius"] == Preferences().brush_radius


def test_non_finite_preferences_fall_back_to_defaults(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text('{"brush_radius": NaN, "autosave_idle_s": Infinity, "fill_opacity": 0.5}')
    prefs = load_preferences(path)
    assert prefs.brush_radius == Preferences().brush_radius
    assert prefs.autosave_idle_s == Preferences().autosave_idle_s
    assert prefs.fill_opacity == 0.5


# -- folders -------------------------------------------------------------------------------------
def test_folder_with_only_jsons_names_each_missing_image(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    (tmp_path / "notes.json").write_text(json.dumps({"not": "labelme"}))
    project = open_project(tmp_path)
    assert len(project.entries) == 1
    err = project.entries[0].error
    assert err is not None and "a.json" in err and "a.png" in err and "not found" in err


def test_empty_folder_opens_with_no_entries(tmp_path):
    project = open_project(tmp_path)
    assert project.entries == [] and project.classes == []


# -- importing into a folder that already holds files ---------------------------------------------
def _imported(tmp_path, name, value):
    from segstudio.core.io.formats.base import ImportedImage
    from segstudio.core.model import ImageAnnotation

    src = tmp_path / "src" / f"{name}.png"
    src.parent.mkdir(exist_ok=True)
    _img(src, 8, 6, value)
    return ImportedImage(name, ImageAnnotation(src.name, 8, 6), image_path=src)


def test_import_never_overwrites_an_image_already_in_the_output_folder(tmp_path):
    from segstudio.core.io.formats.base import DatasetError, write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    _img(out / "b.png", 8, 6, 200)                        # the user's own photo, no JSON yet
    mine = (out / "b.png").read_bytes()
    images = [_imported(tmp_path, "a", 10), _imported(tmp_path, "b", 20)]
    with pytest.raises(DatasetError, match=r"b\.png: a different image already exists"):
        run_to_end(write_project(images, out, []))
    assert (out / "b.png").read_bytes() == mine
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]   # checked before writing anything


def test_import_refuses_an_existing_json_before_writing_anything(tmp_path):
    from segstudio.core.io.formats.base import DatasetError, write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    (out / "b.json").write_text("{}")
    images = [_imported(tmp_path, "a", 10), _imported(tmp_path, "b", 20)]
    with pytest.raises(DatasetError, match=r"b\.json: already exists"):
        run_to_end(write_project(images, out, []))
    assert sorted(p.name for p in out.iterdir()) == ["b.json"]


def test_import_with_the_same_image_already_there_writes_its_json(tmp_path):
    from segstudio.core.io.formats.base import write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    im = _imported(tmp_path, "a", 10)
    (out / "a.png").write_bytes(im.image_path.read_bytes())   # e.g. a re-run after an interrupted import
    run_to_end(write_project([im], out, ["x"]))
    assert json.loads((out / "a.json").read_text())["imagePath"] == "a.png"
