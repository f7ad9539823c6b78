"""Help dialogs: the keyboard-shortcut table (from the one action table) and About.

May import: PySide6, segstudio.ui.actions.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segstudio import __version__
from segstudio.ui.actions import shortcut_rows


class ShortcutsDialog(QDialog):
    """``rows``: the window's action table (features' actions included), else the built-in rows."""

    def __init__(self, rows: list[tuple[str, str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("ShortcutsDialog")
        rows = shortcut_rows() if rows is None else rows
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        for r, (keys, text) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(560, 640)


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About segstudio",
                      f"segstudio {__version__}\nLabel images for segmentation: polygons, masks, "
                      "classical and deep pre-annotation, export and fine-tuning.")
