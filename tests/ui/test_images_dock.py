"""The Images dock driven like a user: columns (name, state, shapes), click a row to open, A/D
moves the selection, sort by a header click, type to search, a state change repaints its row —
and a 10,000-image project where one change is one row's ``dataChanged``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from segstudio.core.edits import AddShapes
from segstudio.core.model import LABELLED, PRE_ANNOTATED, ImageEntry, Project, Shape
from segstudio.core.settings import Preferences
from segstudio.ui.controller import DocumentController
from segstudio.ui.docks.file_list import FileListDock
from segstudio.ui.docks.image_columns import STATE_COLORS, ImageColumn
from tests.support.windows import make_window

NAMES = ("alpha", "kilo", "mike", "zulu")


def _tri(x: int = 2) -> dict:
    return {"label": "tree", "points": [[x, 2], [x + 9, 2], [x + 9, 9]], "group_id": None, "description": "",
            "shape_type": "polygon", "flags": {}, "mask": None}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i, name in enumerate(NAMES):
        Image.new("RGB", (40, 30), (50 * i, 90, 90)).save(tmp_path / f"{name}.png")
    for name, state, shapes in (("kilo", "labelled", [_tri(), _tri(12)]), ("mike", "pre-annotated", [_tri()])):
        doc = {"version": "5.5.0", "flags": {}, "imagePath": f"{name}.png", "imageData": None,
               "imageHeight": 30, "imageWidth": 40, "shapes": shapes, "segstudio": {"state": state}}
        (tmp_path / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "zulu.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return tmp_path


def _window(qtbot, folder: Path):
    w = make_window(qtbot, folder)
    w.activateWindow()   # A/D are window shortcuts
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    return w


def _cells(dock: FileListDock, column: int) -> list[str]:
    model = dock.model
    return [model.index(r, column).data() or "" for r in range(model.rowCount())]


def _click_row(qtbot, dock: FileListDock, key: str) -> None:
    qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=dock.row_rect(key).center())


def _click_header(qtbot, dock: FileListDock, column: int) -> None:
    header = dock.view.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def _selected(dock: FileListDock) -> list[str]:
    return [dock.model.key_at(i.row()) for i in dock.view.selectionModel().selectedRows()]


def test_columns_click_opens_and_selection_follows_a_and_d(qtbot, folder: Path):
    w = _window(qtbot, folder)
    dock, c = w.file_dock, w.controller
    keys = c.keys()
    assert [dock.model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == ["Name", "State", "Shapes"]
    assert _cells(dock, 0) == [f"{n}.png" for n in NAMES]
    assert _cells(dock, 1) == ["unlabelled", "labelled", "pre-annotated", "unlabelled"]
    assert _cells(dock, 2) == ["0", "2", "1", "0"]
    # colours of the states (grey / green / orange) on the state cells
    brushes = [dock.model.index(r, 1).data(Qt.ItemDataRole.ForegroundRole) for r in range(3)]
    assert [b.color() for b in brushes] == [QColor(*STATE_COLORS[s]) for s in ("unlabelled", "labelled", "pre-annotated")]

    _click_row(qtbot, dock, keys[2])
    assert c.current_key == keys[2] and w.canvas.image is not None and _selected(dock) == [keys[2]]
    qtbot.keyClick(w.canvas, Qt.Key.Key_A)
    assert c.current_key == keys[1] and _selected(dock) == [keys[1]]
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)
    assert c.current_key == keys[2] and _selected(dock) == [keys[2]]

    # the unreadable image: clicking its row keeps the current one; its row turns red with the error
    _click_row(qtbot, dock, keys[3])
    assert c.current_key == keys[2] and _selected(dock) == [keys[2]]
    assert _cells(dock, 1)[3] == "error" and _cells(dock, 2)[3] == ""
    assert dock.model.index(3, 0).data(Qt.ItemDataRole.ForegroundRole).color() == QColor(*STATE_COLORS["error"])
    assert "zulu.png" in dock.tooltip_for(keys[3]) and "cannot be read" in dock.tooltip_for(keys[3])


def test_sort_by_a_header_click_keeps_the_current_row_and_filter(qtbot, folder: Path):
    w = _window(qtbot, folder)
    dock, c = w.file_dock, w.controller
    keys = c.keys()
    c.go_to(keys[1])
    _click_header(qtbot, dock, 1)                       # State, ascending: to-do first
    assert _cells(dock, 1) == ["unlabelled", "unlabelled", "pre-annotated", "labelled"]
    assert _selected(dock) == [keys[1]]                 # the selection moved with its row
    _click_header(qtbot, dock, 1)                       # descending
    assert _cells(dock, 1)[0] == "labelled" and _selected(dock) == [keys[1]]
    _click_header(qtbot, dock, 2)                       # Shapes
    assert [int(v) for v in _cells(dock, 2)] == [0, 0, 1, 2]
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)              # A/D keep the folder's order
    assert c.current_key == keys[2] and _selected(dock) == [keys[2]]
    dock.filter.setText("I")                            # kilo, mike: case-insensitive
    assert dock.visible_keys() == [keys[2], keys[1]] and _selected(dock) == [keys[2]]
    dock.filter.setText("")
    _click_header(qtbot, dock, 2)
    _click_header(qtbot, dock, 2)                       # a third click: folder order again
    assert dock.visible_keys() == keys


def test_type_to_search_and_an_edit_repaints_only_its_row(qtbot, folder: Path):
    w = _window(qtbot, folder)
    dock, c = w.file_dock, w.controller
    keys = c.keys()
    dock.view.setFocus()
    qtbot.keyClicks(dock.view, "mi")
    assert dock.view.currentIndex().row() == 2
    dock.view.setCurrentIndex(dock.model.index(0, 1))   # even from the State column
    qtbot.wait(500)                                     # past the type-ahead pause
    qtbot.keyClicks(dock.view, "ki")
    assert dock.model.key_at(dock.view.currentIndex().row()) == keys[1]

    changed: list[tuple[int, int, int, int]] = []
    dock.model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row(), a.column(), b.column())))
    c.go_to(keys[0])
    c.push(AddShapes(keys[0], [Shape("tree", np.array([[2, 2], [9, 2], [9, 9]]))]))
    assert changed and set(changed) == {(0, 0, 0, 2)}   # that row only, every column
    assert _cells(dock, 1)[0] == "labelled" and _cells(dock, 2)[0] == "1"
    assert "2/4 labelled" in dock.windowTitle()
    c.undo()
    assert _cells(dock, 1)[0] == "unlabelled" and "1/4 labelled" in dock.windowTitle()


def test_ten_thousand_entries_one_change_is_one_row(qtbot):
    """Entries only (no image files): the dock is a view over the project, no widget per image."""
    controller = DocumentController(Preferences(autosave_idle_s=0))
    dock = FileListDock(controller)
    qtbot.addWidget(dock)
    project = Project("/data")
    project.entries = [ImageEntry(Path(f"/data/img_{i:05d}.png"), Path(f"/data/img_{i:05d}.json"))
                       for i in range(10_000)]
    controller.project = project
    controller.project_changed.emit()
    dock.show()
    assert dock.model.rowCount() == 10_000 and "0/10000 labelled" in dock.windowTitle()

    changed: list[tuple[int, int, int, int]] = []
    dock.model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row(), a.column(), b.column())))
    key = project.entries[7_321].key
    project.set_state(key, LABELLED)
    assert changed == [(7_321, 7_321, 0, 2)] and "1/10000 labelled" in dock.windowTitle()
    assert _cells(dock, 1)[7_321] == "labelled"

    dock.model.sort(1, Qt.SortOrder.DescendingOrder)    # labelled first
    assert dock.model.key_at(0) == key
    changed.clear()
    other = project.entries[5].key
    row = dock.model.row_of(other)
    project.set_state(other, PRE_ANNOTATED)
    assert changed == [(row, row, 0, 2)] and dock.model.row_of(other) == row   # it stays put …
    dock.model.sort(1, Qt.SortOrder.DescendingOrder)
    assert dock.model.row_of(other) == 1                # … until the next sort
    dock.filter.setText("img_0732")
    assert dock.visible_keys() == [key] + [project.entries[i].key for i in range(7_320, 7_330) if i != 7_321]


def test_a_column_is_one_definition(qtbot, folder: Path):
    w = _window(qtbot, folder)
    dock, c = w.file_dock, w.controller
    dock.add_column(ImageColumn("Name length", lambda e, name: len(name), numeric=True, width=40))
    assert dock.model.headerData(3, Qt.Orientation.Horizontal) == "Name length"
    assert _cells(dock, 3) == [str(len(f"{n}.png")) for n in NAMES]
    dock.model.sort(3, Qt.SortOrder.DescendingOrder)
    assert _cells(dock, 0)[:1] == ["alpha.png"] and c.keys()[0] == dock.visible_keys()[0]
