"""The window with every feature fits a 1600×1000 screen: feature panels scroll inside their
docks instead of imposing their height on the window (under Xvfb the Auto-segment form made the
window 1042 px tall, the status bar below the screen's edge)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDockWidget, QScrollArea

from tests.support.builders import make_project
from tests.support.windows import make_window


def test_every_feature_panel_scrolls_and_the_window_fits_a_1000_px_screen(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, make_project(tmp_path / "p"), features=None, size=(1600, 960))
    assert window.minimumSizeHint().height() <= 900, window.minimumSizeHint()
    panels = [d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Auto-segment"]
    assert panels and isinstance(panels[0].widget(), QScrollArea)
    qtbot.waitUntil(lambda: window.height() <= 1000)
    assert window.statusBar().geometry().bottom() < 1000
