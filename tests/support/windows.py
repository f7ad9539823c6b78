"""Shown main windows on a folder for the UI tests: :func:`make_window` (no optional
features) and :func:`open_window` (active, focused canvas, image fitted: for mouse and keys)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow


def make_window(qtbot, folder: Path) -> MainWindow:
    w = MainWindow(Preferences(autosave_idle_s=0), features=[])
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_folder(folder)
    return w


def open_window(qtbot, folder: Path, *, features=(), **prefs) -> MainWindow:
    window = MainWindow(Preferences(autosave_idle_s=0, **prefs), features=list(features))
    qtbot.addWidget(window)
    window.resize(900, 640)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)   # shortcuts need an active window
    assert window.open_folder(folder)
    window.canvas.zoom_fit()
    window.canvas.setFocus()
    return window
