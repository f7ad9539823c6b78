"""Application shell without a window: preferences, resources, sample project, shape commands,
controller bookkeeping (state, undo across images, class rename over unopened images)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.edits import AddShapes
from segstudio.core.model import Shape
from segstudio.core.settings import Preferences, load_preferences, preferences_path, save_preferences
from segstudio.resources import sample_project_dir
from segstudio.ui import shape_commands
from segstudio.ui.app import choose_folder, user_sample_project
from segstudio.ui.controller import DocumentController


def test_preferences_round_trip_and_bad_file_falls_back(caplog):
    prefs = Preferences(brush_radius=3.5, recent_classes=["a"])
    prefs.remember_class("b")
    save_preferences(prefs)
    assert load_preferences() == prefs
    assert load_preferences().recent_classes == ["b", "a"]
    preferences_path().write_text('{"brush_radius": "huge", "autosave_idle_s": 4}', encoding="utf-8")
    loaded = load_preferences()
    assert loaded.brush_radius == Preferences().brush_radius and loaded.autosave_idle_s == 4.0
    assert "brush_radius" in caplog.text
    preferences_path().write_text("{not json", encoding="utf-8")
    assert load_preferences() == Preferences()
    assert str(preferences_path()) in caplog.text


def test_sample_project_is_bundled_small_and_copied_to_user_dir():
    src = sample_project_dir()
    images = sorted(p for p in src.iterdir() if p.suffix in (".jpg", ".png"))
    assert 4 <= len(images) <= 6
    assert sum(p.stat().st_size for p in src.iterdir()) < 2 * 1024 * 1024
    assert (src / "labels.txt").read_text().splitlines()[:2] == ["__ignore__", "_background_"]
    copy = user_sample_project()
    assert copy != src and not copy.is_relative_to(src.parent)
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in src.iterdir())
    (copy / "labels.txt").write_text("mine\n")
    assert user_sample_project() == copy and (copy / "labels.txt").read_text() == "mine\n"  # never recopied
    assert choose_folder(None, "") == copy
    assert choose_folder(None, str(src)) == src
    assert choose_folder("/some/where", str(src)) == Path("/some/where")


def _ann_shape(label="a", pts=((10, 10), (50, 10), (50, 40))):
    return Shape(label, np.array(pts, float), "polygon")


def test_shape_commands_convert_and_keep_order():
    from segstudio.core.model import ImageAnnotation, Project

    project = Project()
    ann = ImageAnnotation("x.png", 80, 60)
    project.annotations["k"] = ann
    from segstudio.core.model import ImageEntry
    project.entries.append(ImageEntry(Path("x.png"), Path("k")))
    # make the entry key "k"
    project.entries[0] = ImageEntry(Path("x.png"), Path("k"))
    key = project.entries[0].key
    project.annotations = {key: ann}
    a, b, c = _ann_shape("a"), _ann_shape("b", ((0, 0), (20, 0), (20, 20), (0, 20))), _ann_shape("c")
    ann.insert_shapes([a, b, c])
    edit = shape_commands.to_mask(key, ann, [b])
    edit.apply(project)
    assert [s.label for s in ann.shapes] == ["a", "b", "c"] and ann.shapes[1].shape_type == "mask"
    assert ann.shapes[1].mask[:21, :21].all() and ann.shapes[1].mask.sum() == 21 * 21
    back = shape_commands.to_polygons(key, ann, [ann.shapes[1]], tolerance=0.5)
    back.apply(project)
    assert [s.shape_type for s in ann.shapes] == ["polygon", "polygon", "polygon"]
    assert [s.label for s in ann.shapes] == ["a", "b", "c"]
    back.revert(project)
    edit.revert(project)
    assert ann.shapes == [a, b, c]
    clipped = shape_commands.clip_shape(Shape("m", np.zeros((0, 2)), "mask", mask=np.ones((100, 100), bool)), 30, 20)
    assert clipped.mask.shape == (20, 30) and clipped.mask.all()
    moved = shape_commands.clip_shape(_ann_shape(pts=((-5, 5), (500, 5), (10, 70))), 80, 60)
    np.testing.assert_allclose(moved.points, [[0, 5], [80, 5], [10, 60]])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(3):
        Image.new("RGB", (40, 30), (i * 40, 90, 90)).save(tmp_path / f"im{i}.png")
    doc = {"version": "5.5.0", "flags": {}, "imagePath": "im2.png", "imageData": None, "imageHeight": 30,
           "imageWidth": 40, "segstudio": {"state": "pre-annotated"},
           "shapes": [{"label": "old", "points": [[1, 1], [9, 1], [9, 9]], "group_id": None,
                       "description": "", "shape_type": "polygon", "flags": {}, "mask": None}]}
    (tmp_path / "im2.json").write_text(json.dumps(doc), encoding="utf-8")
    return tmp_path


def test_controller_state_undo_jumps_and_rename_reaches_unopened_images(qtbot, folder: Path):
    c = DocumentController(Preferences(autosave_idle_s=0))
    assert c.open_folder(folder)
    k0, k1, k2 = c.keys()
    assert c.current_key == k0 and c.project.entry(k2).state == "pre-annotated"
    c.push(AddShapes(k0, [_ann_shape("old")]))
    assert c.project.entry(k0).state == "labelled"
    c.go_to(k1)                       # autosaves k0
    assert (folder / "im0.json").exists() and not c.has_unsaved()
    c.undo()                          # the edit belongs to im0: undo shows it first
    assert c.current_key == k0 and c.current_annotation().shapes == []
    assert c.project.entry(k0).state == "unlabelled"
    c.redo()
    # rename a class everywhere, including im2 which was never opened
    from segstudio.core import project_io
    from segstudio.core.class_edits import ChangeClass
    project_io.load_all(c.project)
    c.push(ChangeClass("old", {"name": "new"}))
    assert c.has_unsaved()
    assert c.save_all()
    assert json.loads((folder / "im2.json").read_text())["shapes"][0]["label"] == "new"
    assert json.loads((folder / "im2.json").read_text())["segstudio"]["state"] == "pre-annotated"
    assert "new" in (folder / "labels.txt").read_text().split()
    c.go_to(k2)
    assert c.accept_pre_annotation() and c.save_all()
    assert json.loads((folder / "im2.json").read_text())["segstudio"]["state"] == "labelled"


def test_autosave_after_idle_writes_the_json(qtbot, folder: Path):
    c = DocumentController(Preferences(autosave_idle_s=0.05))
    assert c.open_folder(folder)
    key = c.current_key
    c.push(AddShapes(key, [_ann_shape("late")]))
    assert not (folder / "im0.json").exists()
    qtbot.waitUntil(lambda: (folder / "im0.json").exists(), timeout=5000)
    assert json.loads((folder / "im0.json").read_text())["shapes"][0]["label"] == "late"
    assert not c.has_unsaved()
