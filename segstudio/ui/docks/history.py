"""UndoHistoryDock: the undo history as a list of edit texts; the current position is
highlighted and a click undoes/redoes up to that row (``History.set_index``).

Row 0 is the state when the project was opened (or the oldest state kept by the memory budget).

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDockWidget, QListWidget, QListWidgetItem, QWidget

from segstudio.ui.controller import DocumentController


class UndoHistoryDock(QDockWidget):
    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Undo history", parent)
        self.setObjectName("UndoHistoryDock")
        self.controller = controller
        self.list = QListWidget()
        self.setWidget(self.list)
        self._updating = False
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        controller.history.changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        history = self.controller.history
        self._updating = True
        try:
            self.list.clear()
            first = "<opened>" if not history.dropped else f"<{history.dropped} older steps dropped>"
            self.list.addItem(QListWidgetItem(first))
            for text in history.texts():
                self.list.addItem(QListWidgetItem(text))
            current = history.index
            for row in range(self.list.count()):
                item = self.list.item(row)
                font = QFont(item.font())
                font.setBold(row == current)
                font.setItalic(row > current)   # undone steps, still redoable
                item.setFont(font)
            self.list.setCurrentRow(current)
            self.list.scrollToItem(self.list.item(current))
        finally:
            self._updating = False

    def _clicked(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        self.controller.history.set_index(self.list.row(item))
