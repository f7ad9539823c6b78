"""Issue 11.6: opening a folder with broken files gives ONE non-modal summary above the canvas
(a banner with a close button), the first readable image, the right count, and never a second
message for a file already reported — driven as a user (open, D/A, clicks in the Images list)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from tests.support.builders import noise_images
from tests.support.windows import open_window


@pytest.fixture
def broken_folder(tmp_path: Path) -> Path:
    """4 images: the first undecodable, one with a JSON that does not parse, two good ones."""
    root = tmp_path / "broken"
    root.mkdir()
    (root / "a_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    noise_images(root, [f"{name}.png" for name in ("b_ok", "c_badjson", "d_ok")], size=(60, 40))
    (root / "c_badjson.json").write_text('{"shapes": [ this is not json', encoding="utf-8")
    return root


def message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_broken_files_give_one_banner_and_the_first_readable_image(qtbot, broken_folder):
    window = open_window(qtbot, broken_folder, size=(900, 600), fit=False)
    qtbot.wait(50)
    c = window.controller

    assert message_boxes() == []                                  # no modal, no popup at all
    assert c.current_key is not None and Path(c.current_key).stem == "b_ok"   # the first readable image
    assert window.canvas.image is not None
    assert "2 / 4" in [w.text() for w in window.statusBar().findChildren(QLabel)]
    banner = window.problem_banner
    red = [Path(e.image_path).name for e in c.project.entries if e.error]
    assert red == ["a_broken.png", "c_badjson.png"]
    assert banner.isVisible()
    text = banner.label.text()
    assert text.startswith("2 files") and "a_broken.png" in text and "c_badjson.json" in text

    # stepping over them and clicking a red row: no popup, the banner keeps its count
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    assert Path(c.current_key).stem == "d_ok"
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    assert Path(c.current_key).stem == "b_ok"
    rect = window.file_dock.row_rect(c.keys()[2])
    qtbot.mouseClick(window.file_dock.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.wait(20)
    assert message_boxes() == []
    assert Path(c.current_key).stem == "b_ok"
    assert "c_badjson" in window.statusBar().currentMessage()
    assert banner.label.text().startswith("2 files")

    # closed, it stays closed for the same files …
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    qtbot.mouseClick(window.file_dock.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert not banner.isVisible() and message_boxes() == []
    # … and comes back, counting 3, when another file turns out unreadable
    (broken_folder / "d_ok.png").write_bytes(b"broken later")
    c.loader.reset(c.project)
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    assert Path(c.current_key).stem == "b_ok"
    assert banner.isVisible() and banner.label.text().startswith("3 files")
    assert message_boxes() == []
    window.close()
