"""What an annotator does, with real mouse and key events on the real MainWindow; results checked
in the model and on disk. Each test guards a flow that was broken or unguarded before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

from segstudio.ui.main_window import MainWindow
from tests.support.builders import make_project
from tests.support.gestures import answer_label_dialog, click, drag, json_of, key, vp
from tests.support.windows import open_window as support_open_window

W, H = 160, 120


def open_window(qtbot, folder: Path, **kw) -> MainWindow:
    return support_open_window(qtbot, folder, settle=True, **kw)   # first image loaded


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def test_polygon_backspace_then_close_on_first_vertex_with_group_id(qtbot, project: Path):
    window = open_window(qtbot, project)
    ann = window.controller.current_annotation()
    key(qtbot, window, Qt.Key.Key_P)
    for x, y in [(20, 20), (100, 20), (140, 100), (60, 110)]:
        click(qtbot, window, x, y)
    key(qtbot, window, Qt.Key.Key_Backspace)          # the misplaced 4th vertex goes away
    answered = answer_label_dialog("cat", group="7")
    click(qtbot, window, 20.5, 20.5)                  # a click on the first vertex closes
    assert answered == [True]
    assert len(ann.shapes) == 1
    shape = ann.shapes[0]
    assert (shape.label, shape.group_id, shape.shape_type) == ("cat", 7, "polygon")
    np.testing.assert_allclose(shape.points, [(20, 20), (100, 20), (140, 100)], atol=1.0)
    # Escape abandons a polygon in progress: nothing is added
    click(qtbot, window, 30, 60)
    click(qtbot, window, 50, 60)
    key(qtbot, window, Qt.Key.Key_Escape)
    assert len(ann.shapes) == 1 and not window.canvas.tool().busy
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    doc = json_of(project, "img_0.png")
    assert doc["shapes"][0]["group_id"] == 7 and doc["shapes"][0]["label"] == "cat"
    window.close()


def test_cancelled_label_dialog_keeps_the_polygon_and_d_waits_for_it(qtbot, project: Path):
    from PySide6.QtCore import QTimer

    from segstudio.ui.dialogs.label_dialog import LabelDialog

    window = open_window(qtbot, project)
    c = window.controller
    first = c.current_key
    key(qtbot, window, Qt.Key.Key_P)
    for x, y in [(20, 20), (100, 20), (100, 90)]:
        click(qtbot, window, x, y)

    def escape_dialog() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, LabelDialog):
            assert dlg.windowTitle() == "Class of the new shape"
            dlg.reject()
        else:
            QTimer.singleShot(20, escape_dialog)

    QTimer.singleShot(0, escape_dialog)
    key(qtbot, window, Qt.Key.Key_Return)
    tool = window.canvas.tool()
    assert c.current_annotation().shapes == [] and len(tool.points) == 3   # still being drawn
    key(qtbot, window, Qt.Key.Key_D)                 # would drop the polygon: refused
    assert c.current_key == first and "Finish the shape" in window.statusBar().currentMessage()
    click(qtbot, window, 20, 90)                     # go on drawing, then close it
    answer_label_dialog("dog")
    key(qtbot, window, Qt.Key.Key_Return)
    shapes = c.current_annotation().shapes
    assert len(shapes) == 1 and len(shapes[0].points) == 4 and shapes[0].label == "dog"
    assert window.isWindowModified()
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.isWindowModified() and window.statusBar().currentMessage() == "Saved"
    assert json_of(project, "img_0.png")["shapes"][0]["label"] == "dog"
    key(qtbot, window, Qt.Key.Key_D)
    assert c.current_key != first
    window.close()


def test_rubber_band_ctrl_click_alt_click_insert_and_delete(qtbot, project: Path):
    window = open_window(qtbot, project)
    c = window.controller
    key(qtbot, window, Qt.Key.Key_R)
    answer_label_dialog("cat")
    drag(qtbot, window, [(10, 10), (30, 30), (40, 40)])
    answer_label_dialog("dog")
    drag(qtbot, window, [(60, 10), (80, 30), (90, 40)])
    answer_label_dialog("dog")
    drag(qtbot, window, [(110, 70), (130, 90), (150, 110)])
    a, b, far = c.current_annotation().shapes
    key(qtbot, window, Qt.Key.Key_V)
    drag(qtbot, window, [(5, 5), (50, 30), (100, 50)])           # rubber band around a and b
    assert set(map(id, window.canvas.selected_shapes())) == {id(a), id(b)}
    view = window.canvas.viewport()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, vp(window, 130, 90))
    assert set(map(id, window.canvas.selected_shapes())) == {id(a), id(b), id(far)}
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, vp(window, 25, 25))
    assert set(map(id, window.canvas.selected_shapes())) == {id(b), id(far)}
    key(qtbot, window, Qt.Key.Key_Delete)
    assert c.current_annotation().shapes == [a]
    # a polygon: Alt+click on an edge inserts a vertex there, Shift+click on a vertex removes it
    key(qtbot, window, Qt.Key.Key_P)
    for x, y in [(60, 20), (140, 20), (140, 100)]:
        click(qtbot, window, x, y)
    answer_label_dialog("dog")
    key(qtbot, window, Qt.Key.Key_Return)
    poly = c.current_annotation().shapes[-1]
    key(qtbot, window, Qt.Key.Key_V)
    click(qtbot, window, 125, 40)
    assert window.canvas.selected_shapes() == [poly]
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, vp(window, 100, 20))
    assert len(poly.points) == 4
    np.testing.assert_allclose(poly.points[1], (100, 20), atol=1.0)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, vp(window, 140, 100))
    np.testing.assert_allclose(poly.points, [(60, 20), (100, 20), (140, 20)], atol=1.0)
    window.close()


def test_space_drag_pans_and_zoom_shortcuts(qtbot, project: Path):
    window = open_window(qtbot, project)
    canvas = window.canvas
    key(qtbot, window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)     # 100 %
    assert canvas.zoom() == pytest.approx(1.0)
    for _ in range(8):   # bigger than the viewport, so there is room to pan
        key(qtbot, window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert canvas.zoom() == pytest.approx(1.25 ** 8)
    z = canvas.zoom()
    before = canvas.mapToScene(canvas.viewport().rect().center())
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    view = canvas.viewport()
    start = vp(window, 80, 60)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)   # Space held: a pan, not a rubber band
    for i in (1, 2):
        qtbot.mouseMove(view, start - QPoint(round(2 * z) * i, round(z) * i))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start - QPoint(round(2 * z) * 2, round(z) * 2))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    after = canvas.mapToScene(canvas.viewport().rect().center())
    # the view moved with the pointer: 4 x 2 image pixels, give or take a screen pixel
    assert after.x() - before.x() == pytest.approx(4, abs=2 / z)
    assert after.y() - before.y() == pytest.approx(2, abs=2 / z)
    assert window.controller.current_annotation().shapes == []
    key(qtbot, window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)     # fit
    vr = canvas.viewport().rect()
    assert canvas.zoom() == pytest.approx(min(vr.width() / W, vr.height() / H), rel=0.02)
    window.close()


def test_brush_size_keys_and_eraser(qtbot, project: Path):
    window = open_window(qtbot, project)
    c = window.controller
    c.set_selected_class("dog")
    key(qtbot, window, Qt.Key.Key_B)
    brush = window.canvas.tool("brush")
    r0 = brush.radius
    key(qtbot, window, Qt.Key.Key_BracketRight)
    key(qtbot, window, Qt.Key.Key_BracketRight)
    assert brush.radius > r0
    key(qtbot, window, Qt.Key.Key_BracketLeft)
    assert r0 < brush.radius
    drag(qtbot, window, [(20, 60), (80, 60), (140, 60)])
    layer = c.current_annotation().mask_shape("dog")
    assert layer is not None and layer.mask[60, 20:141].all()
    key(qtbot, window, Qt.Key.Key_E)
    drag(qtbot, window, [(80, 40), (80, 60), (80, 80)])
    assert not layer.mask[60, 80] and layer.mask[60, 20]
    window.close()


def test_close_calls_feature_shutdown_before_cancelling_jobs(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    calls: list[str] = []

    class Feature:
        def shutdown(self) -> None:
            calls.append("shutdown")

    class Broken:
        def shutdown(self) -> None:
            raise RuntimeError("boom")

    import segstudio.ui.window_closing as closing
    monkeypatch.setattr(closing, "cancel_all", lambda wait_ms=0: calls.append("cancel_all") or True)
    window.features["broken"] = Broken()
    window.features["training"] = Feature()
    assert window.close()
    assert calls == ["shutdown", "cancel_all"]


# -- large images: decoded off the GUI thread -----------------------------------------------------
@pytest.fixture
def big_project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "big", n=4)
    return root


def _force_background(window: MainWindow) -> None:
    window.controller.loader.sync_load_pixels = 0   # every image counts as "large"
    window.controller.loader.reset(window.controller.project)


def test_large_images_load_in_the_background_and_stale_loads_are_dropped(qtbot, big_project: Path):
    window = open_window(qtbot, big_project)
    _force_background(window)
    c = window.controller
    keys = c.keys()
    key(qtbot, window, Qt.Key.Key_D)
    # the switch has not happened yet: the canvas shows the loading state and ignores tools
    assert c.pending_key == keys[1] and c.current_key == keys[0]
    assert window.canvas.loading
    key(qtbot, window, Qt.Key.Key_D)                 # pressed again before the load finished
    assert c.pending_key == keys[2]
    shown: list[str] = []
    c.current_changed.connect(shown.append)
    qtbot.waitUntil(lambda: c.pending_key is None and not c.loader._jobs)
    assert c.current_key == keys[2] and shown == [keys[2]]   # the stale load never showed
    assert not window.canvas.loading and window.canvas.image is not None
    assert window.canvas.image.shape == (H, W, 3)
    # the next one was prefetched: D now switches at once
    qtbot.waitUntil(lambda: keys[3] in c.loader.cached_keys())
    key(qtbot, window, Qt.Key.Key_D)
    assert c.current_key == keys[3] and c.pending_key is None
    # going back to a cached image is immediate, too
    key(qtbot, window, Qt.Key.Key_A)
    assert c.current_key == keys[2]
    window.close()


def test_edits_are_saved_when_a_background_load_switches_images(qtbot, big_project: Path):
    window = open_window(qtbot, big_project)
    window.canvas.zoom_100()   # one screen pixel = one image pixel: the click lands on (40, 40)
    _force_background(window)
    c = window.controller
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 40, 40)
    key(qtbot, window, Qt.Key.Key_D)
    click(qtbot, window, 80, 80)            # while loading: ignored, not a second point
    qtbot.waitUntil(lambda: c.pending_key is None)
    doc = json_of(big_project, "img_0.png")
    assert len(doc["shapes"]) == 1 and doc["shapes"][0]["points"] == [[40.0, 40.0]]
    window.close()


def test_unreadable_large_image_reports_the_file_and_stays(qtbot, big_project: Path):
    (big_project / "img_1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    window = open_window(qtbot, big_project)
    c = window.controller
    c.loader.sync_load_pixels = -1    # even a header-less file goes to the worker
    c.loader.is_large = lambda _k: True
    first = c.current_key
    key(qtbot, window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: c.pending_key is None and not c.loader._jobs)
    assert c.current_key == first and not window.canvas.loading
    assert window.last_error is not None and "img_1.png" in window.last_error[1]
    key(qtbot, window, Qt.Key.Key_D)                 # the bad one is skipped from now on
    qtbot.waitUntil(lambda: c.pending_key is None and not c.loader._jobs)
    assert Path(c.current_key).stem == "img_2"
    window.close()


def test_status_bar_shows_raw_values_of_16bit_and_multichannel(qtbot, tmp_path: Path):
    folder = tmp_path / "raw"
    folder.mkdir()
    a16 = np.zeros((40, 60), np.uint16)
    a16[10, 20] = 40000
    Image.fromarray(a16).save(folder / "a.png")
    multi = np.zeros((40, 60, 5), np.uint16)
    multi[5, 7] = [1, 2, 3, 4000, 5]
    tifffile.imwrite(folder / "b.tif", multi, photometric="minisblack", planarconfig="contig")
    window = open_window(qtbot, folder)
    view = window.canvas.viewport()
    qtbot.mouseMove(view, window.canvas.mapFromScene(QPointF(20.5, 10.5)))
    assert window.cursor_label.text().endswith("40000")
    key(qtbot, window, Qt.Key.Key_D)
    qtbot.mouseMove(view, window.canvas.mapFromScene(QPointF(7.5, 5.5)))
    assert window.cursor_label.text().endswith("1, 2, 3, 4000, 5")
    qtbot.mouseMove(view, QPoint(1, 1))   # outside the image: no value
    assert "4000" not in window.cursor_label.text()
    window.close()


def test_json_on_disk_is_untouched_by_viewing(qtbot, project: Path):
    """Browsing labelled images without editing writes nothing (mtime and bytes unchanged)."""
    doc = {"version": "5.5.0", "flags": {}, "imagePath": "img_1.png", "imageData": None,
           "imageHeight": H, "imageWidth": W, "custom": {"keep": 1},
           "shapes": [{"label": "cat", "points": [[5, 5], [50, 5], [50, 50]], "group_id": None,
                       "description": "", "shape_type": "polygon", "flags": {}, "mask": None}]}
    path = project / "img_1.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = path.read_bytes()
    window = open_window(qtbot, project)
    for _ in range(3):
        key(qtbot, window, Qt.Key.Key_D)
    key(qtbot, window, Qt.Key.Key_A)
    window.close()
    assert path.read_bytes() == before


def test_class_dock_add_recolour_hide_persist(qtbot, project: Path, monkeypatch):
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog, QInputDialog

    window = open_window(qtbot, project)
    c = window.controller
    dock = window.class_dock
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("bird", True)))
    dock.add_class()
    assert c.project.class_names()[-1] == "bird" and c.selected_class() == "bird"
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(1, 2, 3)))
    dock.recolour_selected()
    assert tuple(c.project.get_class("bird").color) == (1, 2, 3)
    # a rectangle of the new class, then hide the class: the item disappears, clicks go through
    key(qtbot, window, Qt.Key.Key_R)
    answer_label_dialog("bird")
    drag(qtbot, window, [(20, 20), (60, 50), (100, 80)])
    shape = c.current_annotation().shapes[0]
    item = dock.list.item(c.project.class_names().index("bird"))
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not window.canvas.canvas_scene.item_for(shape).isVisible()
    key(qtbot, window, Qt.Key.Key_V)
    click(qtbot, window, 60, 50)
    assert window.canvas.selected_shapes() == []
    assert dock.list.item(c.project.class_names().index("bird")) is item   # updated in place
    item.setCheckState(Qt.CheckState.Checked)
    click(qtbot, window, 60, 50)
    assert window.canvas.selected_shapes() == [shape]
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert (project / "labels.txt").read_text(encoding="utf-8").split()[-1] == "bird"
    window.close()
    again = open_window(qtbot, project)
    assert tuple(again.controller.project.get_class("bird").color) == (1, 2, 3)
    again.close()
