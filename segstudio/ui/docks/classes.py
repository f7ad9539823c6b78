"""LabelClassDock: the project's classes — name, colour swatch, visibility checkbox — with
add / rename / recolour / delete.

Every change is an undoable edit pushed through the controller (AddClass, ChangeClass,
DeleteClass). Rename and delete first load every annotation of the project (``load_all``) so
they apply to all images, not only the ones opened so far; the controller saves labels.txt.
The selected row is the class new shapes get (``controller.selected_class()``).

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segstudio.core import project_io
from segstudio.core.class_edits import AddClass, ChangeClass, DeleteClass
from segstudio.core.model import LabelClass
from segstudio.ui.controller import DocumentController
from segstudio.ui.dialogs.label_dialog import color_icon

log = logging.getLogger(__name__)
_NAME_ROLE = Qt.ItemDataRole.UserRole


class LabelClassDock(QDockWidget):
    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("LabelClassDock")
        self.controller = controller
        self.list = QListWidget()
        self.list.setToolTip("Tick to show/hide a class; the selected class is used for new shapes")
        buttons = QHBoxLayout()
        for text, tip, slot in (("+", "Add class", self.add_class),
                                ("Rename", "Rename class (all images)", self.rename_selected),
                                ("Colour", "Change colour", self.recolour_selected),
                                ("−", "Delete class and its shapes (all images)", self.delete_selected)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._project = None
        self._updating = False

        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemDoubleClicked.connect(lambda _it: self.rename_selected())
        controller.project_changed.connect(self.rebuild)
        controller.selected_class_changed.connect(self._show_selected)
        self.rebuild()

    # -- model → view ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        project = self.controller.project
        if self._project is not project:
            if self._project is not None:
                self._project.classes_changed.disconnect(self.rebuild)
            project.classes_changed.connect(self.rebuild)
            self._project = project
        self._updating = True
        try:
            if [self.list.item(i).data(_NAME_ROLE) for i in range(self.list.count())] == project.class_names():
                # same classes: update the rows in place (this runs inside itemChanged when a
                # checkbox is ticked; clearing the list there would delete the item Qt is using)
                for i, cls in enumerate(project.classes):
                    item = self.list.item(i)
                    item.setIcon(color_icon(cls.color))
                    item.setCheckState(Qt.CheckState.Checked if cls.visible else Qt.CheckState.Unchecked)
                return
            self.list.clear()
            for cls in project.classes:
                item = QListWidgetItem(color_icon(cls.color), cls.name)
                item.setData(_NAME_ROLE, cls.name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if cls.visible else Qt.CheckState.Unchecked)
                self.list.addItem(item)
            selected = self.controller.selected_class()
            if selected is None or project.get_class(selected) is None:
                selected = project.classes[0].name if project.classes else None
                self.controller.set_selected_class(selected)
            self._show_selected(selected or "")
        finally:
            self._updating = False

    def _show_selected(self, name: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(_NAME_ROLE) == name:
                if self.list.currentItem() is not item:
                    self.list.setCurrentItem(item)
                return

    # -- view → controller ----------------------------------------------------------------------
    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(_NAME_ROLE)

    def _current_changed(self, current: QListWidgetItem | None, _prev) -> None:
        if current is not None and not self._updating:
            self.controller.set_selected_class(current.data(_NAME_ROLE))

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        cls = self.controller.project.get_class(item.data(_NAME_ROLE))
        visible = item.checkState() == Qt.CheckState.Checked
        if cls is not None and cls.visible != visible:
            # visibility is a view setting, not labelling work: no undo step, nothing to save
            cls.visible = visible
            self.controller.project.classes_changed.emit()

    def add_class(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Class name:")
        name = name.strip()
        if not ok or not name:
            return
        project = self.controller.project
        if project.get_class(name) is not None:
            QMessageBox.information(self, "Add class", f"A class named {name!r} exists already.")
            return
        self.controller.push(AddClass(LabelClass(name, project.next_class_color(name)),
                                      text=f"Add class '{name}'"))
        self.controller.set_selected_class(name)

    def rename_selected(self) -> None:
        old = self.selected_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for {old!r} (all images):", text=old)
        new = new.strip()
        if not ok or not new or new == old:
            return
        if self.controller.project.get_class(new) is not None:
            QMessageBox.warning(self, "Rename class", f"A class named {new!r} exists already.")
            return
        self._load_all()
        self.controller.push(ChangeClass(old, {"name": new}, f"Rename class '{old}' → '{new}'"))
        self.controller.set_selected_class(new)

    def recolour_selected(self) -> None:
        cls = self.controller.project.get_class(self.selected_name() or "")
        if cls is None:
            return
        color = QColorDialog.getColor(QColor(*cls.color), self, f"Colour of {cls.name}")
        if color.isValid():
            self.controller.push(ChangeClass(cls.name, {"color": (color.red(), color.green(), color.blue())},
                                             f"Recolour class '{cls.name}'"))

    def delete_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        answer = QMessageBox.question(
            self, "Delete class",
            f"Delete class {name!r} and every shape of that class in all images?\n(Undo brings them back.)")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._load_all()
        self.controller.push(DeleteClass(name, f"Delete class '{name}'"))

    def _load_all(self) -> None:
        try:
            project_io.load_all(self.controller.project)
        except Exception as exc:  # some files unreadable: the edit still applies to the rest
            log.warning("some annotations could not be loaded: %s", exc)
