"""Docks and the label dialog, driven like a user: list clicks, the class editor, history jumps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from segstudio.core.edits import AddShapes
from segstudio.core.model import Shape
from segstudio.ui.app import run_gui
from segstudio.ui.dialogs.label_dialog import LabelDialog
from segstudio.ui.main_window import MainWindow
from tests.support.builders import write_labels
from tests.support.windows import make_window


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(3):
        Image.new("RGB", (64, 48), (40 * i, 100, 100)).save(tmp_path / f"pic{i}.png")
    doc = {"version": "5.5.0", "flags": {}, "imagePath": "pic2.png", "imageData": None,
           "imageHeight": 48, "imageWidth": 64, "custom_key": {"kept": True},
           "shapes": [{"label": "tree", "points": [[1, 1], [30, 1], [30, 30]], "group_id": None,
                       "description": "", "shape_type": "polygon", "flags": {}, "mask": None}]}
    (tmp_path / "pic2.json").write_text(json.dumps(doc), encoding="utf-8")
    write_labels(tmp_path, ["tree", "rock"])
    return tmp_path


def click_item(qtbot, lst, item) -> None:
    rect = lst.visualItemRect(item)
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_file_list_shows_states_filters_and_opens_on_click(qtbot, folder: Path):
    w = make_window(qtbot, folder)
    dock, c = w.file_dock, w.controller
    keys = c.keys()
    assert dock.model.rowCount() == 3 and "1/3 labelled" in dock.windowTitle()
    qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=dock.row_rect(keys[1]).center())
    assert c.current_key == keys[1]
    dock.filter.setText("pic2")
    assert dock.visible_keys() == [keys[2]]
    c.push(AddShapes(keys[1], [Shape("rock", np.array([[2, 2], [9, 2], [9, 9]]))]))
    assert "2/3 labelled" in dock.windowTitle()


def test_class_rename_reaches_every_image_and_delete_asks(qtbot, folder: Path, monkeypatch):
    w = make_window(qtbot, folder)
    dock, c = w.class_dock, w.controller
    assert [dock.list.item(i).text() for i in range(dock.list.count())] == ["tree", "rock"]
    dock.list.setCurrentRow(0)
    assert c.selected_class() == "tree"
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("oak", True)))
    dock.rename_selected()                     # pic2.json was never opened: it is renamed too
    assert c.selected_class() == "oak"
    assert c.save_all()
    doc = json.loads((folder / "pic2.json").read_text(encoding="utf-8"))
    assert doc["shapes"][0]["label"] == "oak" and doc["custom_key"] == {"kept": True}
    assert (folder / "labels.txt").read_text().split() == ["__ignore__", "_background_", "oak", "rock"]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    dock.delete_selected()
    assert c.project.get_class("oak") is not None
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    dock.delete_selected()
    assert c.project.get_class("oak") is None
    assert c.annotation_for(c.keys()[2]).shapes == []
    c.undo()                                   # one step brings class and shapes back
    assert c.project.get_class("oak") is not None and len(c.annotation_for(c.keys()[2]).shapes) == 1

    item = dock.list.item(1)                   # visibility checkbox
    item.setCheckState(Qt.CheckState.Unchecked)
    assert c.project.get_class("rock").visible is False


def test_history_dock_jumps_and_shape_list_visibility(qtbot, folder: Path):
    w = make_window(qtbot, folder)
    c = w.controller
    key = c.current_key
    shapes = [Shape("rock", np.array([[i, i], [i + 9, i], [i + 9, i + 9]], float)) for i in range(3)]
    for s in shapes:
        c.push(AddShapes(key, [s]))
    hist = w.history_dock.list
    assert hist.count() == 4 and hist.currentRow() == 3
    click_item(qtbot, hist, hist.item(1))
    assert c.current_annotation().shapes == shapes[:1] and c.history.index == 1
    click_item(qtbot, hist, hist.item(3))
    assert c.current_annotation().shapes == shapes
    lst = w.shape_dock.list
    assert lst.count() == 3
    lst.item(0).setCheckState(Qt.CheckState.Unchecked)   # topmost first
    assert shapes[2].visible is False
    c.undo()
    assert shapes[2].visible is True
    click_item(qtbot, lst, lst.item(1))
    assert w.canvas.selected_shapes() == [shapes[1]]


def test_label_dialog_recent_first_enter_accepts_escape_cancels(qtbot):
    dlg = LabelDialog(["a", "b", "c"], recent=["c"], default=None)
    qtbot.addWidget(dlg)
    assert [dlg.list.item(i).text() for i in range(3)] == ["c", "a", "b"]
    assert dlg.edit.text() == "c"
    dlg.show()
    qtbot.keyClick(dlg.edit, Qt.Key.Key_Down)
    assert dlg.edit.text() == "a"
    dlg.edit.setText("new class")
    dlg.group.setText("7")
    qtbot.keyClick(dlg.edit, Qt.Key.Key_Return)
    assert dlg.result() == LabelDialog.DialogCode.Accepted
    assert (dlg.label(), dlg.group_id()) == ("new class", 7)
    dlg2 = LabelDialog(["a"])
    qtbot.addWidget(dlg2)
    dlg2.show()
    qtbot.keyClick(dlg2.edit, Qt.Key.Key_Escape)
    assert dlg2.result() == LabelDialog.DialogCode.Rejected

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_run_gui_opens_the_sample_copy_first_time(qtbot):
    seen = []

    def look():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not wins:
            QTimer.singleShot(20, look)
            return
        win = wins[0]
        seen.append((win.controller.project.root, win.canvas.image is not None, len(win.controller.keys())))
        win.close()
        QApplication.instance().quit()

    QTimer.singleShot(0, look)
    assert run_gui([]) == 0
    root, shown, n = seen[0]
    assert root.name == "sample_project" and "segstudio" in str(root) and shown and n >= 4
