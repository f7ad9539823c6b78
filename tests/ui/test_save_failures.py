"""Saving when things go wrong, and edits that span images: the real MainWindow, results checked
on disk. A failed save keeps the work in memory, names the file, and the app keeps working."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

import segstudio.core.io.atomic as atomic
from tests.support.builders import H, W, make_project
from tests.support.gestures import answer_label_dialog, click, drag, json_of, key
from tests.support.windows import open_window

REAL_REPLACE = os.replace   # atomic.os is the os module: patching it patches os.replace


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def _refuse_replace(monkeypatch) -> None:
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(atomic.os, "replace", refuse)


def test_failed_save_keeps_the_edits_names_the_file_and_retry_works(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    c = window.controller
    first = c.current_key
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 30, 30)
    _refuse_replace(monkeypatch)
    window.last_error = None
    assert not c.save_all()
    assert window.last_error is not None and "img_0.json" in window.last_error[1]
    assert "Permission denied" in window.last_error[1] and window.last_error[1].count("img_0.json") == 1
    assert c.has_unsaved() and len(c.current_annotation().shapes) == 1
    assert sorted(p.name for p in project.iterdir()) == ["img_0.png", "img_1.png", "img_2.png", "labels.txt"]

    # the app keeps working: D moves on (its autosave fails too, reported again), drawing works
    key(qtbot, window, Qt.Key.Key_D)
    assert c.current_key != first
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("dog")
    click(qtbot, window, 50, 50)

    # the user fixes the permissions: everything still in memory reaches the disk
    monkeypatch.setattr(atomic.os, "replace", REAL_REPLACE)
    assert c.save_all() and not c.has_unsaved()
    assert json_of(project, "img_0.png")["shapes"][0]["label"] == "cat"
    assert json_of(project, "img_1.png")["shapes"][0]["label"] == "dog"
    window.close()


def test_close_when_save_fails_keeps_the_window_open(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 30, 30)
    _refuse_replace(monkeypatch)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Save))
    assert not window.close()
    assert window.isVisible() and window.controller.has_unsaved()
    monkeypatch.setattr(atomic.os, "replace", REAL_REPLACE)
    assert window.close()
    assert json_of(project, "img_0.png")["shapes"][0]["label"] == "cat"


def test_brush_on_an_image_resized_since_its_json(qtbot, tmp_path: Path):
    """The JSON says 80x60, the image is now 160x120: the mask used to keep the JSON's size and
    painting on it crashed the whole application (segfault)."""
    project = make_project(tmp_path / "proj", n=2)
    ok, png = cv2.imencode(".png", np.ones((10, 10), np.uint8))
    doc = {"shapes": [{"label": "cat", "points": [[5, 5], [14, 14]], "shape_type": "mask",
                       "mask": base64.b64encode(png.tobytes()).decode()}],
           "imagePath": "img_0.png", "imageHeight": 60, "imageWidth": 80, "custom": 1}
    (project / "img_0.json").write_text(json.dumps(doc))
    window = open_window(qtbot, project)
    c = window.controller
    ann = c.current_annotation()
    assert (ann.width, ann.height) == (W, H) and ann.shapes[0].mask.shape == (H, W)
    key(qtbot, window, Qt.Key.Key_B)
    c.set_selected_class("cat")
    drag(qtbot, window, [(100, 100), (120, 100), (140, 100)])
    assert c.save_all()
    saved = json_of(project, "img_0.png")
    assert (saved["imageWidth"], saved["imageHeight"], saved["custom"]) == (W, H, 1)
    (x1, y1), (x2, y2) = saved["shapes"][0]["points"]
    assert (x1, y1) == (5, 5) and x2 > 120 and y2 > 95    # old pixels kept, the stroke added
    window.close()


def test_rename_class_with_unsaved_edits_elsewhere_undo_switch_save(qtbot, project: Path, monkeypatch):
    """Disk matches memory after a rename across images, its undo, and image switches."""
    for i in (1, 2):   # img_1 has a saved 'cat'; img_2 gets an unsaved one below
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(project / f"img_{i}.png")
    (project / "img_1.json").write_text(json.dumps({
        "shapes": [{"label": "cat", "points": [[1, 1], [20, 1], [20, 20]], "shape_type": "polygon"}],
        "imagePath": "img_1.png", "imageHeight": H, "imageWidth": W}))
    window = open_window(qtbot, project)
    c = window.controller
    keys = c.keys()
    c.go_to(keys[2])
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 40, 40)                           # unsaved (autosave off in tests)
    c.go_to(keys[0])                                       # switching saves img_2
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 60, 60)                           # unsaved on img_0

    window.class_dock.list.setCurrentRow(c.project.class_names().index("cat"))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("lion", True)))
    window.class_dock.rename_selected()
    labels = {k: [s.label for s in c.annotation_for(k).shapes] for k in keys}
    assert labels == {keys[0]: ["lion"], keys[1]: ["lion"], keys[2]: ["lion"]}

    c.go_to(keys[1])
    assert c.save_all()
    for name in ("img_0.png", "img_1.png", "img_2.png"):
        assert [s["label"] for s in json_of(project, name)["shapes"]] == ["lion"]
    assert "lion" in (project / "labels.txt").read_text().split()

    assert c.undo()                                        # the rename comes back everywhere
    assert c.project.get_class("cat") is not None and c.project.get_class("lion") is None
    c.go_to(keys[2])
    assert c.save_all() and not c.has_unsaved()
    for name in ("img_0.png", "img_1.png", "img_2.png"):
        assert [s["label"] for s in json_of(project, name)["shapes"]] == ["cat"]
    assert "lion" not in (project / "labels.txt").read_text().split()
    for k in keys:   # memory and disk agree
        on_disk = json_of(project, Path(k).with_suffix(".png").name)["shapes"]
        assert [s["label"] for s in on_disk] == [s.label for s in c.annotation_for(k).shapes]
    window.close()


def test_rename_then_an_unreadable_image_does_not_block_saving(qtbot, project: Path, monkeypatch):
    """A class rename reaches a JSON whose image is unreadable; saving it used to fail forever
    ('the file failed to load') because the image's error was taken for the JSON's."""
    (project / "img_2.png").write_bytes(b"\x89PNG\r\n\x1a\n-- truncated --")
    (project / "img_2.json").write_text(json.dumps({
        "shapes": [{"label": "cat", "points": [[1, 1], [20, 1], [20, 20]], "shape_type": "polygon"}],
        "imagePath": "img_2.png", "imageHeight": H, "imageWidth": W}))
    window = open_window(qtbot, project)
    c = window.controller
    window.class_dock.list.setCurrentRow(c.project.class_names().index("cat"))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("lion", True)))
    window.class_dock.rename_selected()
    window.last_error = None
    assert not c.go_to(c.keys()[2])                        # the image cannot be shown: named
    assert window.last_error is not None and "img_2.png" in window.last_error[1]
    window.last_error = None
    assert c.save_all(), window.last_error
    assert json_of(project, "img_2.png")["shapes"][0]["label"] == "lion"
    assert not c.has_unsaved()
    window.close()


def test_a_save_failing_again_shows_one_message_not_a_pile(qtbot, project: Path, monkeypatch):
    window = open_window(qtbot, project)
    c = window.controller
    key(qtbot, window, Qt.Key.Key_O)
    answer_label_dialog("cat")
    click(qtbot, window, 30, 30)
    _refuse_replace(monkeypatch)

    def boxes() -> list[QMessageBox]:
        return [w for w in window.findChildren(QMessageBox) if w.isVisible() and "img_0.json" in w.text()]

    for _ in range(3):   # e.g. autosave retrying every few seconds
        assert not c.save_all()
    assert len(boxes()) == 1
    boxes()[0].accept()
    qtbot.waitUntil(lambda: not boxes())
    assert not c.save_all()                                # dismissed: the next failure is shown again
    assert len(boxes()) == 1
    monkeypatch.setattr(atomic.os, "replace", REAL_REPLACE)
    assert c.save_all()
    window.close()
