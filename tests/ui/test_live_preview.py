"""Issue 11.5: the Auto-segment panel previews by itself while "Live preview" is ticked — when
it opens and when the method changes — and intelligent scissors previews as soon as it has 3
anchors, and its path goes when the user switches to another tool. Driven as a user: the
Tools ▸ Auto-segment… entry, the method list, clicks on the canvas, the P key."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from segstudio.algorithms import synthetic
from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow

H, W = 96, 128


@pytest.fixture
def window(qtbot, tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    for i in range(2):
        img, _ = synthetic.two_tone_shapes(H, W, noise=20, seed=i)
        Image.fromarray(img).save(root / f"img_{i}.png")
    win = MainWindow(Preferences(autosave_idle_s=0), features=["autoseg"])
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    assert win.open_folder(root)
    win.canvas.zoom_fit()
    yield win
    panel = win.features["autoseg"]
    panel.shutdown()
    for job in (panel._preview, panel._apply, panel._batch, panel._tool_job):
        if job is not None:
            job.wait(10000)
    win.close()
    win.deleteLater()


def open_panel(qtbot, window):
    panel = window.features["autoseg"]
    window.actions["autoseg_panel"].trigger()   # Tools ▸ Auto-segment…
    qtbot.waitUntil(panel.isVisible)
    return panel


def test_opening_the_panel_and_changing_the_method_preview_without_the_button(qtbot, window):
    panel = open_panel(qtbot, window)
    assert panel.live.isChecked()
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)   # never pressed Preview
    assert panel._result_sig[1] == "otsu"
    combo = panel.method_combo
    combo.setCurrentIndex(combo.findData("adaptive"))
    qtbot.waitUntil(lambda: panel._result_sig is not None and panel._result_sig[1] == combo.currentData(),
                    timeout=10000)
    assert panel.overlay.isVisible()


def test_scissors_preview_after_three_clicks_and_path_gone_on_tool_switch(qtbot, window):
    panel = open_panel(qtbot, window)
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("intelligent_scissors"))
    assert window.canvas.tool_name == "seg_scissors"
    view = window.canvas.viewport()
    for i, (x, y) in enumerate([(20, 20), (100, 20), (100, 80), (20, 80), (15, 50), (18, 30)]):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=window.canvas.mapFromScene(QPointF(x, y)))
        if panel._tool_job is not None:
            qtbot.waitUntil(lambda: not panel._tool_job.is_running, timeout=10000)
        if i == 1:
            qtbot.wait(50)
            assert "at least 3 clicks" in panel.message.text()
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)   # no Preview pressed
    assert "at least 3 clicks" not in panel.message.text()
    assert panel._result_sig[1] == "intelligent_scissors"
    preview = window.canvas.scene().preview
    assert not preview.boundingRect().isEmpty()           # anchors and path are drawn

    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_P)           # the polygon tool
    assert window.canvas.tool_name == "polygon"
    assert panel.state.wire is None and panel.state.fg_points == []
    assert preview.boundingRect().isEmpty()               # nothing of the scissors left on the canvas
    qtbot.waitUntil(lambda: not panel.overlay.isVisible(), timeout=5000)   # its result goes too
