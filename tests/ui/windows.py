"""A shown main window (no optional features) on a folder, for the UI tests."""

from __future__ import annotations

from pathlib import Path

from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow


def make_window(qtbot, folder: Path) -> MainWindow:
    w = MainWindow(Preferences(autosave_idle_s=0), features=[])
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_folder(folder)
    return w
