"""LabelDialog: type or pick the class of a new shape (labelme's label popup).

Recent classes come first, then the rest of the project's classes; typing filters the list and
highlights the best match, Up/Down move in it, Enter takes the highlighted class, Esc cancels.
A new class is always an explicit act, because a typo must not silently add a class: Enter
creates one only when the typed name matches no class at all; otherwise Ctrl+Enter (or the
"New class" button) does. A hint line under the field says what Enter will do. An optional
group id (integer) groups shapes into one instance, as in labelme. Used as the canvas's
``ask_label``; the caller prefills the last used label, as labelme does.

May import: PySide6.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QIntValidator, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)


def color_icon(rgb: Sequence[int], size: int = 14) -> QIcon:
    """A class colour swatch. The same pixmap serves the Selected mode, so a selected row shows
    the true colour instead of the style's highlight-tinted one; a thin frame keeps a swatch
    close to the highlight colour visible on a selected row."""
    pix = QPixmap(size, size)
    pix.fill(QColor(*[int(c) for c in rgb[:3]]))
    painter = QPainter(pix)
    painter.setPen(QColor(60, 60, 60))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pix, mode)
    return icon


class LabelDialog(QDialog):
    def __init__(self, classes: Sequence[str], recent: Sequence[str] = (),
                 colors: dict[str, Sequence[int]] | None = None, default: str | None = None,
                 *, group_id: int | None = None, parent: QWidget | None = None,
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
        self.hint = QLabel("")
        self.hint.setObjectName("LabelDialogHint")
        self.hint.setWordWrap(True)
        self._force_new = False
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
        self.new_button = buttons.addButton("New class", QDialogButtonBox.ButtonRole.ActionRole)
        self.new_button.setAutoDefault(False)
        self.new_button.setToolTip("Create a class with exactly the typed name (Ctrl+Enter)")
        self.new_button.clicked.connect(self.accept_new)

        form = QFormLayout()
        form.addRow("Group id", self.group)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.hint)
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
    def _items(self) -> list[QListWidgetItem]:
        return [self.list.item(i) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        visible = []
        for item in self._items():
            hide = bool(needle) and needle not in item.text().lower()
            item.setHidden(hide)
            if not hide:
                visible.append(item)
        # highlight the best match (a name starting with the typed text first): Enter takes it
        best = next((it for it in visible if it.text().lower().startswith(needle)), None) or \
            (visible[0] if visible else None)
        if best is not None:
            self.list.setCurrentItem(best)
        else:
            self.list.setCurrentRow(-1)
        self._sync(text)

    def _exact(self, text: str) -> str | None:
        """The existing class named ``text`` (case-insensitively when unambiguous)."""
        names = [it.text() for it in self._items()]
        if text in names:
            return text
        folded = [n for n in names if n.lower() == text.lower()]
        return folded[0] if len(folded) == 1 else None

    def _highlighted(self, text: str) -> str | None:
        """The highlighted class if it is a visible match of ``text``."""
        item = self.list.currentItem()
        if item is None or item.isHidden() or not text or text.lower() not in item.text().lower():
            return None
        return item.text()

    def _sync(self, text: str) -> None:
        text = text.strip()
        exact = self._exact(text)
        if exact is not None:
            item = next(it for it in self._items() if it.text() == exact)
            if self.list.currentItem() is not item:
                self.list.setCurrentItem(item)
        match = exact or self._highlighted(text)
        self._ok.setEnabled(bool(text))
        self.new_button.setVisible(bool(text) and exact is None)
        self.new_button.setText(f"New class “{text}”")
        if not text:
            self.hint.setText("Type a class name")
        elif match is not None and exact is None:
            self.hint.setText(f"Enter: “{match}” · Ctrl+Enter: new class “{text}”")
        elif match is not None:
            self.hint.setText(f"Enter: “{match}”")
        else:
            self.hint.setText(f"Enter: new class “{text}” (no class matches)")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        # Up/Down in the text box walk the list, as in labelme
        if obj is self.edit and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                self.accept_new()
                return True
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

    def accept_new(self) -> None:
        """Accepts exactly the typed name, even where it is part of an existing class name."""
        if self.edit.text().strip():
            self._force_new = True
            super().accept()

    def label(self) -> str:
        """The chosen class: the typed name itself only when it matches no class, or when the
        user asked for a new class explicitly."""
        text = self.edit.text().strip()
        if self._force_new or not text:
            return text
        return self._exact(text) or self._highlighted(text) or text

    def group_id(self) -> int | None:
        text = self.group.text().strip()
        return int(text) if text else None

    @classmethod
    def ask(cls, classes: Sequence[str], recent: Sequence[str] = (),
            colors: dict[str, Sequence[int]] | None = None, default: str | None = None,
            *, parent: QWidget | None = None, title: str = "Class of the new shape",
            group_id: int | None = None) -> tuple[str, int | None] | None:
        """Runs the dialog modally: (label, group_id) or None when cancelled."""
        dlg = cls(classes, recent, colors, default, group_id=group_id, parent=parent, title=title)
        try:
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return None
            return dlg.label(), dlg.group_id()
        finally:
            dlg.deleteLater()
