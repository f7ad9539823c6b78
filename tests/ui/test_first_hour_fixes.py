"""What a new annotator hits in the first hour (issue 11, items 2, 3, 7, 8, 9), driven as a user:
keys typed into the label dialog and the Classes list, the window resized, rows selected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QColorDialog, QInputDialog

from segstudio.core import project_io
from segstudio.core.class_colors import IGNORE_COLOR, voc_color
from segstudio.ui.dialogs.label_dialog import LabelDialog
from segstudio.ui.docks.classes import LabelClassDock
from segstudio.ui.main_window import MainWindow
from tests.support.builders import noise_images, write_labels
from tests.support.windows import open_window as support_open_window

VOC = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
       "diningtable", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train",
       "tv/monitor"]


def voc_folder(root: Path, n: int = 2) -> Path:
    noise_images(root, [f"img_{i}.png" for i in range(n)], size=(160, 90), seed=1)
    write_labels(root, VOC)
    return root


def open_window(qtbot, folder: Path, size=(900, 600)) -> MainWindow:
    return support_open_window(qtbot, folder, size=size, fit=False)


# -- 2. label dialog ---------------------------------------------------------------------------------
def typed_dialog(qtbot, text: str, **kw) -> LabelDialog:
    dlg = LabelDialog(VOC, **kw)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.edit.selectAll()
    qtbot.keyClicks(dlg.edit, text)
    return dlg


def test_enter_after_typing_part_of_a_name_picks_the_highlighted_class(qtbot):
    dlg = typed_dialog(qtbot, "pot")
    visible = [dlg.list.item(i).text() for i in range(dlg.list.count()) if not dlg.list.item(i).isHidden()]
    assert visible == ["potted plant"]
    assert "potted plant" in dlg.hint.text() and "Ctrl+Enter" in dlg.hint.text()
    qtbot.keyClick(dlg.edit, Qt.Key.Key_Return)
    assert dlg.result() == LabelDialog.DialogCode.Accepted
    assert dlg.label() == "potted plant"


def test_a_new_class_is_created_only_explicitly(qtbot):
    # Ctrl+Enter: exactly the typed name, although "pot" is part of "potted plant"
    dlg = typed_dialog(qtbot, "pot")
    qtbot.keyClick(dlg.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dlg.result() == LabelDialog.DialogCode.Accepted and dlg.label() == "pot"
    # a name that matches nothing: Enter creates it, and the dialog said so before
    dlg2 = typed_dialog(qtbot, "kettle")
    assert "new class" in dlg2.hint.text() and "kettle" in dlg2.hint.text()
    qtbot.keyClick(dlg2.edit, Qt.Key.Key_Return)
    assert dlg2.label() == "kettle"
    # the button does the same as Ctrl+Enter
    dlg3 = typed_dialog(qtbot, "bot")
    assert dlg3.new_button.isVisible()
    qtbot.mouseClick(dlg3.new_button, Qt.MouseButton.LeftButton)
    assert dlg3.result() == LabelDialog.DialogCode.Accepted and dlg3.label() == "bot"
    # other case of an existing class: that class, no near-duplicate
    dlg4 = typed_dialog(qtbot, "Person")
    qtbot.keyClick(dlg4.edit, Qt.Key.Key_Return)
    assert dlg4.label() == "person"


def draw_rectangle(qtbot, window: MainWindow, answer: str, seen_prefill: list[str]) -> None:
    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, LabelDialog):
            seen_prefill.append(dlg.edit.text())
            dlg.edit.selectAll()
            qtbot.keyClicks(dlg.edit, answer)
            qtbot.keyClick(dlg.edit, Qt.Key.Key_Return)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    window.canvas.set_tool("rectangle")
    view = window.canvas.viewport()
    a = window.canvas.mapFromScene(QPointF(20, 20))
    b = window.canvas.mapFromScene(QPointF(60, 50))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(view, b)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
    qtbot.waitUntil(lambda: len(seen_prefill) > 0)


def test_label_dialog_prefills_the_last_used_label(qtbot, tmp_path):
    window = open_window(qtbot, voc_folder(tmp_path / "p"))
    window.controller.prefs.recent_classes = []
    assert window.controller.selected_class() == "aeroplane"
    seen: list[str] = []
    draw_rectangle(qtbot, window, "pers", seen)
    labels = [s.label for s in window.controller.current_annotation().shapes]
    assert labels == ["person"]
    seen.clear()
    draw_rectangle(qtbot, window, "", seen)   # the user only presses Enter
    assert seen == ["person"]
    assert [s.label for s in window.controller.current_annotation().shapes] == ["person", "person"]


# -- 3. class colours --------------------------------------------------------------------------------
def test_class_colours_are_the_voc_colormap_by_class_index_and_ignore_is_grey(qtbot, tmp_path, monkeypatch):
    window = open_window(qtbot, voc_folder(tmp_path / "p"))
    project = window.controller.project
    # what labelme's VOC export paints: aeroplane (128, 0, 0), person (192, 128, 128), …
    assert [tuple(project.get_class(n).color) for n in VOC] == [voc_color(i + 1) for i in range(len(VOC))]
    assert project.get_class("aeroplane").color == (128, 0, 0)
    assert project.get_class("person").color == (192, 128, 128)
    first_256 = [voc_color(i) for i in range(1, 257)]
    assert len(set(first_256)) == 256 and IGNORE_COLOR not in first_256 and (0, 0, 0) not in first_256
    r, g, b = IGNORE_COLOR
    assert r == g == b   # neutral grey
    # a class added later continues the palette; __ignore__ (used by a shape) does not shift it
    project.ensure_class("__ignore__")
    assert project.get_class("__ignore__").color == IGNORE_COLOR
    dock = window.findChild(LabelClassDock)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("kettle", True)))
    dock.add_class()   # the "+" button, answered "kettle"
    assert project.get_class("kettle").color == voc_color(len(VOC) + 1)
    assert project.get_class("kettle").color not in [project.get_class(n).color for n in VOC]


def test_same_class_list_same_colours_in_two_projects_and_user_colour_persists(qtbot, tmp_path, monkeypatch):
    a = voc_folder(tmp_path / "a")
    b = voc_folder(tmp_path / "b", n=1)
    # project b discovered __ignore__ first in a labelme file: colours must not shift
    doc = {"version": "5.5.0", "flags": {}, "imagePath": "img_0.png", "imageData": None, "imageHeight": 90,
           "imageWidth": 160, "shapes": [{"label": "__ignore__", "points": [[1, 1], [9, 1], [9, 9]],
                                          "group_id": None, "shape_type": "polygon", "flags": {}}]}
    (b / "img_0.json").write_text(json.dumps(doc), encoding="utf-8")
    pa, pb = project_io.open_project(a), project_io.open_project(b)
    assert {n: pa.get_class(n).color for n in VOC} == {n: pb.get_class(n).color for n in VOC}
    # a colour the user picked survives save + reopen
    window = open_window(qtbot, a)
    dock = window.findChild(LabelClassDock)
    dock.list.setCurrentRow(VOC.index("dog"))
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(12, 34, 56)))
    dock.recolour_selected()
    assert window.controller.save_all()
    window.close()
    assert project_io.open_project(a).get_class("dog").color == (12, 34, 56)


# -- 8. typing in a list does not switch tools ----------------------------------------------------------
def test_typing_in_the_classes_list_searches_it_and_does_not_switch_tools(qtbot, tmp_path):
    window = open_window(qtbot, voc_folder(tmp_path / "p"))
    assert window.canvas.tool_name == "edit"
    dock = window.findChild(LabelClassDock)
    first = dock.list.visualItemRect(dock.list.item(0)).center()
    qtbot.mouseClick(dock.list.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.waitUntil(lambda: dock.list.hasFocus())
    qtbot.keyClicks(dock.list, "pers")
    assert window.canvas.tool_name == "edit"            # P, E, R, S did not switch tools
    assert dock.list.currentItem().text() == "person"    # Qt's type-to-search found it
    assert window.controller.selected_class() == "person"
    # the one-key tool shortcuts still work on the canvas
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: window.canvas.hasFocus())
    qtbot.keyClick(window.canvas, Qt.Key.Key_R)
    assert window.canvas.tool_name == "rectangle"


# -- 9. refit on resize, a selected row keeps its colour swatch -----------------------------------------
def test_image_follows_the_window_size_until_the_user_zooms(qtbot, tmp_path):
    window = open_window(qtbot, voc_folder(tmp_path / "p"), size=(800, 500))
    canvas = window.canvas
    small = canvas.zoom()
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: canvas.zoom() > small * 1.3)
    # the whole image is visible and fills the canvas along one side
    shown = canvas.mapFromScene(canvas.scene_rect_of_image()).boundingRect()
    vp = canvas.viewport().rect()
    assert vp.contains(shown.adjusted(1, 1, -1, -1))
    assert shown.width() >= vp.width() - 3 or shown.height() >= vp.height() - 3
    # after a manual zoom the window size no longer changes the zoom
    qtbot.keyClick(canvas, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    zoomed = canvas.zoom()
    assert zoomed != pytest.approx(small) and not canvas.fit_mode
    window.resize(900, 600)
    qtbot.wait(50)
    assert canvas.zoom() == pytest.approx(zoomed)


def test_a_selected_class_row_shows_its_true_colour_and_a_visible_highlight(qtbot, tmp_path):
    window = open_window(qtbot, voc_folder(tmp_path / "p"))
    dock = window.findChild(LabelClassDock)
    row = VOC.index("boat")
    dock.list.setCurrentRow(row)
    window.canvas.setFocus()    # the list no longer has the focus: the selection must still show
    qtbot.wait(20)
    image = dock.list.viewport().grab().toImage()
    rect = dock.list.visualItemRect(dock.list.item(row))
    # the swatch: the first pixel of the row, left of the text, whose colour is the class colour
    want = tuple(window.controller.project.get_class("boat").color)
    y = rect.center().y()
    colours = [image.pixelColor(x, y) for x in range(rect.left(), rect.left() + 60)]
    assert want in [(c.red(), c.green(), c.blue()) for c in colours]
    other = dock.list.visualItemRect(dock.list.item(row + 2))
    sel_bg = image.pixelColor(rect.right() - 3, y)
    plain_bg = image.pixelColor(other.right() - 3, other.center().y())
    assert abs(sel_bg.value() - plain_bg.value()) + abs(sel_bg.hue() - plain_bg.hue()) > 40
