"""Shown main windows on a folder for the UI tests: :func:`make_window` (shown, folder open) and
:func:`open_window` (also active, focused canvas, image fitted: for mouse and keys). Both take the
window's ``features`` (none by default; ``None``: every feature, as a user gets it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow


def _window(qtbot, features, prefs: dict, before_close=None) -> MainWindow:
    window = MainWindow(Preferences(autosave_idle_s=0, **prefs),
                        features=None if features is None else list(features))
    qtbot.addWidget(window, before_close_func=before_close)
    return window


def make_window(qtbot, folder: Path, *, features=(), size: tuple[int, int] | None = None,
                **prefs) -> MainWindow:
    w = _window(qtbot, features, prefs)
    if size is not None:
        w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_folder(folder)
    return w


def open_window(qtbot, folder: Path, *, features=(), size: tuple[int, int] = (900, 640),
                fit: bool = True, settle: bool = False, before_close=None, **prefs) -> MainWindow:
    """``settle``: wait until the first image has loaded; ``before_close``: run by qtbot before it
    closes the window (e.g. save, so no "unsaved work?" question)."""
    window = _window(qtbot, features, prefs, before_close)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)   # shortcuts need an active window
    assert window.open_folder(folder)
    if settle:
        qtbot.waitUntil(lambda: window.controller.pending_key is None)
    if fit:
        window.canvas.zoom_fit()
    window.canvas.setFocus()
    return window
