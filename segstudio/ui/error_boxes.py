"""Non-blocking error boxes: work goes on behind them, and the same message twice (e.g. autosave
failing again) raises the open box instead of stacking a second one.

May import: PySide6.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


class ErrorBoxes:
    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self._open: dict[tuple[str, str], QMessageBox] = {}   # by (title, text)

    def show(self, title: str, text: str, details: str = "") -> None:
        """``text`` names the file and the problem; ``details`` (e.g. a traceback) hides behind
        the box's "Show Details…" button."""
        log.warning("%s: %s", title, text)
        open_box = self._open.get((title, text))
        if open_box is not None:
            open_box.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self._parent)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        self._open[(title, text)] = box
        box.finished.connect(lambda _r, k=(title, text): self._open.pop(k, None))
        box.show()
