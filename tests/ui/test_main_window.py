"""End-to-end: the real MainWindow driven with mouse and keys; results checked ON DISK."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.support.builders import H, W, make_project
from tests.support.gestures import answer_label_dialog, click, decode_mask, drag, json_of, key
from tests.support.windows import open_window


# -- helpers ---------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


# -- tests -----------------------------------------------------------------------------------------
def test_line_and_linestrip_drawn_with_the_mouse_are_saved_as_labelme_shapes(qtbot, project: Path):
    window = open_window(qtbot, project)
    c = window.controller
    key(qtbot, window, Qt.Key.Key_L)
    assert window.canvas.tool_name == "line"
    answered = answer_label_dialog("dog")
    drag(qtbot, window, [(20, 20), (60, 40), (100, 60)])
    assert answered == [True]
    key(qtbot, window, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.tool_name == "linestrip"
    for x, y in [(10, 80), (40, 70), (70, 85)]:
        click(qtbot, window, x, y)
    answered = answer_label_dialog("dog")
    key(qtbot, window, Qt.Key.Key_Return)
    assert answered == [True]
    line, strip = c.current_annotation().shapes
    assert (line.shape_type, strip.shape_type) == ("line", "linestrip")
    np.testing.assert_allclose(line.points, [(20, 20), (100, 60)], atol=1.0)
    np.testing.assert_allclose(strip.points, [(10, 80), (40, 70), (70, 85)], atol=1.0)
    assert c.save_current()
    name = Path(c.project.entry(c.current_key).image_path).name
    saved = json_of(project, name)["shapes"]
    assert [s["shape_type"] for s in saved] == ["line", "linestrip"] and len(saved[1]["points"]) == 3


def test_draw_polygon_undo_redo_edit_paint_and_find_it_on_disk(qtbot, project: Path):
    window = open_window(qtbot, project)
    c = window.controller
    first = c.current_key
    assert first is not None and window.canvas.item_count() == 0

    # draw a polygon: P, three clicks, Enter, answer the label dialog
    key(qtbot, window, Qt.Key.Key_P)
    assert window.canvas.tool_name == "polygon"
    verts = [(20.0, 20.0), (100.0, 25.0), (60.0, 90.0)]
    for x, y in verts:
        click(qtbot, window, x, y)
    answered = answer_label_dialog("dog")
    key(qtbot, window, Qt.Key.Key_Return)
    assert answered == [True]
    ann = c.current_annotation()
    assert [s.label for s in ann.shapes] == ["dog"]
    np.testing.assert_allclose(ann.shapes[0].points, verts, atol=1.0)
    assert c.project.entry(first).state == "labelled"
    assert window.canvas.item_count() == 1

    # undo / redo with the keys
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ann.shapes == [] and c.project.entry(first).state == "unlabelled"
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(ann.shapes) == 1
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(ann.shapes) == 1
    poly = ann.shapes[0]

    # move a vertex with the edit tool: select the shape, drag its second vertex
    key(qtbot, window, Qt.Key.Key_V)
    assert window.canvas.tool_name == "edit"
    click(qtbot, window, 60, 45)
    assert window.canvas.selected_shapes() == [poly]
    assert window.shape_dock.selected_shapes() == [poly]   # the list follows the canvas
    drag(qtbot, window, [(100, 25), (110, 30), (120, 40)])
    np.testing.assert_allclose(poly.points[1], (120, 40), atol=1.0)
    np.testing.assert_allclose(poly.points[0], verts[0], atol=1.0)

    # paint a brush stroke in the selected class
    window.controller.set_selected_class("cat")
    key(qtbot, window, Qt.Key.Key_B)
    assert window.canvas.tool_name == "brush"
    radius = window.canvas.tool("brush").radius
    drag(qtbot, window, [(30, 100), (60, 100), (90, 100)])
    mask_shape = ann.mask_shape("cat")
    assert mask_shape is not None
    assert mask_shape.mask[100, 30:91].all()
    assert not mask_shape.mask[100 - int(radius) - 3, 60]
    expected_mask = mask_shape.mask.copy()
    expected_poly = poly.points.copy()

    # next image with D: the first one is saved on the way
    key(qtbot, window, Qt.Key.Key_D)
    assert c.current_key != first and c.current_key is not None
    name = Path(first).with_suffix(".png").name
    doc = json_of(project, name)
    shapes = {s["shape_type"]: s for s in doc["shapes"]}
    assert shapes["polygon"]["label"] == "dog"
    np.testing.assert_allclose(shapes["polygon"]["points"], expected_poly, atol=1e-6)
    assert shapes["mask"]["label"] == "cat"
    np.testing.assert_array_equal(decode_mask(shapes["mask"], H, W), expected_mask)
    assert doc["imageWidth"] == W and doc["imageHeight"] == H
    assert doc["segstudio"]["state"] == "labelled"

    # reopen the folder in a new window: the same annotations come back from disk
    window.close()
    again = open_window(qtbot, project)
    again.controller.go_to(first)
    shapes2 = again.controller.current_annotation().shapes
    assert [s.shape_type for s in shapes2] == ["polygon", "mask"]
    np.testing.assert_allclose(shapes2[0].points, expected_poly, atol=1e-6)
    np.testing.assert_array_equal(shapes2[1].mask, expected_mask)
    assert again.canvas.item_count() == 2
    again.close()


def test_close_with_unsaved_work_asks(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    key(qtbot, window, Qt.Key.Key_R)
    answer_label_dialog("cat")
    drag(qtbot, window, [(10, 10), (40, 30), (70, 50)])
    assert len(window.controller.current_annotation().shapes) == 1
    assert window.controller.has_unsaved()
    json_path = Path(window.controller.current_key)

    asked = []

    def fake_question(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        return answers.pop(0)

    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(fake_question))
    assert not window.close()          # Cancel: the window stays, nothing written
    assert window.isVisible() and not json_path.exists()
    assert window.close()              # Save: written, then closed
    assert len(asked) == 2
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    rect = doc["shapes"][0]
    assert rect["shape_type"] == "rectangle" and rect["label"] == "cat"
    np.testing.assert_allclose(rect["points"], [(10, 10), (70, 50)], atol=1.0)


def test_discard_on_close_writes_nothing(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    key(qtbot, window, Qt.Key.Key_O)   # point tool
    answer_label_dialog("dog")
    click(qtbot, window, 50, 50)
    assert len(window.controller.current_annotation().shapes) == 1
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    assert window.close()
    assert not list(project.glob("*.json"))


def test_bad_files_are_named_and_the_rest_opens(qtbot, tmp_path: Path):
    folder = make_project(tmp_path / "bad", n=2)
    Image.new("RGB", (W, H), (10, 20, 30)).save(folder / "corrupt.png")
    (folder / "corrupt.json").write_text('{"shapes": [ this is not json', encoding="utf-8")
    (folder / "unreadable.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    window = open_window(qtbot, folder)
    c = window.controller
    keys = {Path(k).stem: k for k in c.keys()}
    assert set(keys) == {"img_0", "img_1", "corrupt", "unreadable"}
    assert window.last_error is not None and "corrupt.json" in window.last_error[1]
    assert c.current_key is not None and Path(c.current_key).stem != "corrupt"
    assert window.canvas.image is not None

    # the unreadable image: a message naming it, and we stay where we were
    window.last_error = None
    before = c.current_key
    assert not c.go_to(keys["unreadable"])
    assert window.last_error is not None and "unreadable.png" in window.last_error[1]
    assert c.current_key == before
    assert "cannot be read" in window.file_dock.tooltip_for(keys["unreadable"])

    # the rest keeps working: D skips the bad files, drawing and saving still work
    c.go_to(keys["img_0"])
    key(qtbot, window, Qt.Key.Key_D)
    assert Path(c.current_key).stem == "img_1"
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 30, 30)
    assert c.save_all()
    assert json_of(folder, "img_1.png")["shapes"][0]["label"] == "cat"
    assert (folder / "corrupt.json").read_text(encoding="utf-8").startswith('{"shapes": [ this')
    window.close()


def test_copy_paste_between_images_and_accept_pre_annotation(qtbot, project: Path):
    # a pre-annotated JSON on the second image
    doc = {"version": "5.5.0", "flags": {}, "imagePath": "img_1.png", "imageData": None,
           "imageHeight": H, "imageWidth": W, "segstudio": {"state": "pre-annotated"},
           "shapes": [{"label": "cat", "points": [[5, 5], [150, 5], [150, 110]], "group_id": None,
                       "description": "", "shape_type": "polygon", "flags": {}, "mask": None}]}
    (project / "img_1.json").write_text(json.dumps(doc), encoding="utf-8")
    window = open_window(qtbot, project)
    c = window.controller
    keys = c.keys()
    c.go_to(keys[1])
    assert c.project.entry(keys[1]).state == "pre-annotated"
    assert window.actions["accept"].isEnabled()
    click(qtbot, window, 140, 30)        # select the polygon (edit tool)
    assert len(window.canvas.selected_shapes()) == 1
    key(qtbot, window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    window.actions["accept"].trigger()
    assert c.project.entry(keys[1]).state == "labelled"
    key(qtbot, window, Qt.Key.Key_A)     # previous image
    assert c.current_key == keys[0]
    key(qtbot, window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = c.current_annotation().shapes
    assert len(pasted) == 1 and pasted[0].label == "cat"
    np.testing.assert_allclose(pasted[0].points, [[5, 5], [150, 5], [150, 110]])
    assert c.save_all()
    assert json_of(project, "img_0.png")["shapes"][0]["points"] == [[5.0, 5.0], [150.0, 5.0], [150.0, 110.0]]
    assert json_of(project, "img_1.png")["segstudio"]["state"] == "labelled"
    window.close()


def test_selection_commands_convert_hide_and_reorder(qtbot, project: Path):
    window = open_window(qtbot, project)
    c = window.controller
    key_ = c.current_key
    key(qtbot, window, Qt.Key.Key_R)
    answer_label_dialog("cat")
    drag(qtbot, window, [(20, 20), (50, 40), (80, 60)])
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("dog")
    click(qtbot, window, 120, 100)
    ann = c.current_annotation()
    rect, point = ann.shapes
    key(qtbot, window, Qt.Key.Key_V)
    click(qtbot, window, 50, 40)
    assert window.canvas.selected_shapes() == [rect]

    key(qtbot, window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)        # rectangle → mask
    mask = ann.shapes[0]
    assert mask.shape_type == "mask" and mask.label == "cat"
    assert mask.mask[20:61, 20:81].all() and mask.mask.sum() == 41 * 61
    window.canvas.select_shapes([mask])
    key(qtbot, window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    poly = ann.shapes[0]
    assert poly.shape_type == "polygon" and ann.shapes[1] is point
    xs, ys = poly.points[:, 0], poly.points[:, 1]
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == pytest.approx((20, 80, 20, 60), abs=1.0)

    window.canvas.select_shapes([poly])
    key(qtbot, window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert ann.shapes == [point, poly]
    key(qtbot, window, Qt.Key.Key_H)
    assert poly.visible is False and point.visible is True
    for _ in range(4):   # hide, front, to polygons, to mask: four undo steps back to the rectangle
        key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ann.shapes == [rect, point] and rect.visible and c.current_key == key_
    window.close()
