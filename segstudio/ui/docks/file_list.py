"""FileListDock: the project's images with their state (unlabelled / labelled / pre-annotated /
error), a filter box, and click-to-open.

Observes ``project.image_state_changed`` and the controller's ``project_changed`` /
``current_changed``; a click asks the controller to ``go_to`` the image.

May import: PySide6, segstudio.core, segstudio.ui.controller.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QDockWidget, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED, ImageEntry
from segstudio.ui.controller import DocumentController

ERROR = "error"
STATE_COLORS = {UNLABELLED: (150, 150, 150), LABELLED: (60, 170, 80), PRE_ANNOTATED: (235, 150, 30),
                ERROR: (210, 50, 50)}
STATE_TIPS = {UNLABELLED: "not labelled yet", LABELLED: "labelled",
              PRE_ANNOTATED: "pre-annotated (check it, then accept)", ERROR: "cannot be read"}
_KEY_ROLE = Qt.ItemDataRole.UserRole


def state_icon(state: str, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QBrush(QColor(*STATE_COLORS[state])))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


def entry_state(entry: ImageEntry) -> str:
    return ERROR if entry.error else entry.state


class FileListDock(QDockWidget):
    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("FileListDock")
        self.controller = controller
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter images…")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.setWidget(body)
        self._items: dict[str, QListWidgetItem] = {}
        self._icons = {s: state_icon(s) for s in STATE_COLORS}
        self._project = None

        self.filter.textChanged.connect(self._apply_filter)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        controller.project_changed.connect(self.rebuild)
        controller.current_changed.connect(self._show_current)
        # while a large image loads, the list already points at it (D pressed again goes on)
        controller.loading_changed.connect(lambda k: self._show_current(k or controller.current_key or ""))
        self.rebuild()

    # -- model → view ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        if self._project is not None:
            self._project.image_state_changed.disconnect(self._state_changed)
        project = self._project = self.controller.project
        project.image_state_changed.connect(self._state_changed)
        self.list.clear()
        self._items.clear()
        root = project.root
        for entry in project.entries:
            path = Path(entry.image_path)
            try:
                text = str(path.relative_to(root)) if root else path.name
            except ValueError:
                text = path.name
            item = QListWidgetItem(text)
            item.setData(_KEY_ROLE, entry.key)
            self.list.addItem(item)
            self._items[entry.key] = item
            self._style(item, entry)
        self._apply_filter(self.filter.text())
        self._update_title()
        if self.controller.current_key:
            self._show_current(self.controller.current_key)

    def _style(self, item: QListWidgetItem, entry: ImageEntry) -> None:
        state = entry_state(entry)
        item.setIcon(self._icons[state])
        item.setToolTip(f"{entry.image_path}\n{STATE_TIPS[state]}" + (f"\n{entry.error}" if entry.error else ""))
        item.setForeground(QBrush(QColor(*STATE_COLORS[ERROR])) if entry.error else QBrush())

    def _state_changed(self, key: str, _state: str) -> None:
        item = self._items.get(key)
        if item is not None:
            self._style(item, self.controller.project.entry(key))
        self._update_title()

    def _update_title(self) -> None:
        entries = self.controller.project.entries
        done = sum(1 for e in entries if e.state == LABELLED and not e.error)
        self.setWindowTitle(f"Images ({done}/{len(entries)} labelled)")

    def _show_current(self, key: str) -> None:
        item = self._items.get(key)
        self.list.blockSignals(True)
        try:
            if item is None:
                self.list.clearSelection()
            else:
                self.list.setCurrentItem(item)
                self.list.scrollToItem(item)
        finally:
            self.list.blockSignals(False)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    # -- view → controller ----------------------------------------------------------------------
    def _clicked(self, item: QListWidgetItem) -> None:
        key = item.data(_KEY_ROLE)
        if key and key != self.controller.current_key and not self.controller.go_to(key):
            self._show_current(self.controller.current_key or "")

    def item_for(self, key: str) -> QListWidgetItem | None:
        return self._items.get(key)
