"""LabelDialog: type or pick the class of a new shape (labelme's label popup).

Recent classes come first, then the rest of the project's classes; typing filters the list,
Up/Down move in it, Enter accepts, Esc cancels. An optional group id (integer) groups shapes
into one instance, as in labelme. Used as the canvas's ``ask_label``.

May import: PySide6.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QIntValidator, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)


def color_icon(rgb: Sequence[int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*[int(c) for c in rgb[:3]]))
    return QIcon(pix)


class LabelDialog(QDialog):
    def __init__(self, classes: Sequence[str], recent: Sequence[str] = (),
                 colors: dict[str, Sequence[int]] | None = None, default: str | None = None,
                 group_id: int | None = None, parent: QWidget | None = None,
                 title: str = "Class of the new shape") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("LabelDialog")
        ordered = [c for c in recent if c in classes] + [c for c in classes if c not in recent]
        # recent names not yet in the project (e.g. from another project) still help typing
        ordered += [c for c in recent if c not in ordered]
        colors = colors or {}

        self.edit = QLineEdit(default or (ordered[0] if ordered else ""))
        self.edit.setPlaceholderText("class name")
        self.edit.selectAll()
        self.list = QListWidget()
        for name in ordered:
            item = QListWidgetItem(name)
            if name in colors:
                item.setIcon(color_icon(colors[name]))
            self.list.addItem(item)
        self.group = QLineEdit("" if group_id is None else str(group_id))
        self.group.setValidator(QIntValidator(0, 2**31 - 1, self))
        self.group.setPlaceholderText("optional: shapes with the same id form one object")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)

        form = QFormLayout()
        form.addRow("Group id", self.group)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        layout.addLayout(form)
        layout.addWidget(buttons)

        # filter only on typing: the pre-filled default must not hide the other classes
        self.edit.textEdited.connect(self._filter)
        self.edit.textChanged.connect(self._sync)
        self.list.itemClicked.connect(lambda it: self.edit.setText(it.text()))
        self.list.itemDoubleClicked.connect(lambda it: (self.edit.setText(it.text()), self.accept()))
        self.edit.installEventFilter(self)
        self._sync(self.edit.text())
        self.resize(320, 360)

    # -- behaviour -----------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _sync(self, text: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).text() == text.strip():
                self.list.setCurrentRow(i)
                break
        self._ok.setEnabled(bool(text.strip()))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        # Up/Down in the text box walk the list, as in labelme
        if obj is self.edit and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                visible = [self.list.item(i) for i in range(self.list.count())
                           if not self.list.item(i).isHidden()]
                if visible:
                    cur = self.list.currentItem()
                    idx = visible.index(cur) if cur in visible else -1
                    idx = idx + (1 if event.key() == Qt.Key.Key_Down else -1)
                    item = visible[max(0, min(idx, len(visible) - 1))]
                    self.list.setCurrentItem(item)
                    self.edit.setText(item.text())
                return True
        return super().eventFilter(obj, event)

    def accept(self) -> None:
        if self.label():
            super().accept()

    def label(self) -> str:
        return self.edit.text().strip()

    def group_id(self) -> int | None:
        text = self.group.text().strip()
        return int(text) if text else None

    @classmethod
    def ask(cls, classes: Sequence[str], recent: Sequence[str] = (),
            colors: dict[str, Sequence[int]] | None = None, default: str | None = None,
            parent: QWidget | None = None, title: str = "Class of the new shape",
            group_id: int | None = None) -> tuple[str, int | None] | None:
        """Runs the dialog modally: (label, group_id) or None when cancelled."""
        dlg = cls(classes, recent, colors, default, group_id, parent=parent, title=title)
        try:
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return None
            return dlg.label(), dlg.group_id()
        finally:
            dlg.deleteLater()
