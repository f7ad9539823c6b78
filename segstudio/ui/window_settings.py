"""What the window remembers between runs in QSettings (an INI file in the user config dir):
geometry, dock/toolbar state and the recent folders (the File ▸ Open recent menu).

Typed preferences live elsewhere (:mod:`segstudio.core.settings`).

May import: PySide6.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QMenu

from segstudio.core.settings import config_dir

MAX_RECENT = 10


def window_settings() -> QSettings:
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class RecentFolders:
    """The File ▸ Open recent submenu, kept in QSettings."""

    def __init__(self, menu: QMenu, open_folder: Callable[[str], object]) -> None:
        self.menu, self._open = menu, open_folder

    def add(self, path: str) -> None:
        s = window_settings()
        recent = [path] + [p for p in self._stored(s) if p != path]
        s.setValue("recent_folders", recent[:MAX_RECENT])
        self.fill(recent[:MAX_RECENT])

    def fill(self, recent: list[str] | None = None) -> None:
        recent = self._stored(window_settings()) if recent is None else recent
        self.menu.clear()
        for p in recent:
            self.menu.addAction(p, lambda p=p: self._open(p))
        self.menu.setEnabled(bool(recent))

    @staticmethod
    def _stored(s: QSettings) -> list[str]:
        recent = s.value("recent_folders", []) or []
        return [recent] if isinstance(recent, str) else list(recent)


def restore_window(window: QMainWindow) -> None:
    s = window_settings()
    geometry, state = s.value("geometry"), s.value("window_state")
    if geometry is not None:
        window.restoreGeometry(geometry)
    else:
        window.resize(1280, 800)
    if state is not None:
        window.restoreState(state)


def save_window(window: QMainWindow) -> None:
    s = window_settings()
    s.setValue("geometry", window.saveGeometry())
    s.setValue("window_state", window.saveState())
