"""ShapeListDock: the shapes of the current image — class colour, label, type, visibility.

Rebuilt from the current annotation's signals (inserted / removed / changed / reordered).
Selection is synced both ways through ``selection_changed`` / :meth:`set_selection`, wired by
the main window to the canvas (widgets never reach into each other). The visibility checkbox
pushes an undoable SetShapeAttributes; a double click asks to change the class
(``label_edit_requested``).

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QListWidget, QListWidgetItem, QWidget

from segstudio.core.edits import SetShapeAttributes
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.ui.controller import DocumentController
from segstudio.ui.dialogs.label_dialog import color_icon

_UID_ROLE = Qt.ItemDataRole.UserRole


def describe(shape: Shape) -> str:
    extra = f" #{shape.group_id}" if shape.group_id is not None else ""
    if shape.shape_type == "mask" and shape.mask is not None:
        return f"{shape.label}{extra}  (mask, {int(shape.mask.sum())} px)"
    return f"{shape.label}{extra}  ({shape.shape_type}, {len(shape.points)} pts)"


class ShapeListDock(QDockWidget):
    selection_changed = Signal(list)       # list[Shape] picked in the list
    label_edit_requested = Signal(object)  # Shape double-clicked

    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Shapes", parent)
        self.setObjectName("ShapeListDock")
        self.controller = controller
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWidget(self.list)
        self._ann: ImageAnnotation | None = None
        self._updating = False
        self.list.itemSelectionChanged.connect(self._selection_from_list)
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemDoubleClicked.connect(self._double_clicked)
        controller.current_changed.connect(self._document_changed)
        controller.project_changed.connect(self._project_changed)
        self._project = None
        self._project_changed()

    # -- model → view ----------------------------------------------------------------------------
    def _project_changed(self) -> None:
        if self._project is not None:
            self._project.classes_changed.disconnect(self.rebuild)
        self._project = self.controller.project
        self._project.classes_changed.connect(self.rebuild)
        self._document_changed(self.controller.current_key or "")

    def _document_changed(self, _key: str) -> None:
        ann = self.controller.current_annotation()
        if ann is not self._ann:
            if self._ann is not None:
                for sig in (self._ann.shapes_inserted, self._ann.shapes_removed, self._ann.shapes_changed):
                    sig.disconnect(self._shapes_event)
                self._ann.order_changed.disconnect(self.rebuild)
                self._ann.mask_changed.disconnect(self._mask_event)
            self._ann = ann
            if ann is not None:
                for sig in (ann.shapes_inserted, ann.shapes_removed, ann.shapes_changed):
                    sig.connect(self._shapes_event)
                ann.order_changed.connect(self.rebuild)
                ann.mask_changed.connect(self._mask_event)
        self.rebuild()

    def _shapes_event(self, _shapes: list) -> None:
        self.rebuild()

    def _mask_event(self, shape: Shape, _bounds: object) -> None:
        # only the pixel count in the text changes: update that row instead of rebuilding
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(_UID_ROLE) == shape.uid:
                item.setText(describe(shape))
                return

    def rebuild(self) -> None:
        selected = {s.uid for s in self.selected_shapes()}
        self._updating = True
        try:
            ann = self._ann
            if ann is not None and self._rows() == [s.uid for s in reversed(ann.shapes)]:
                self._refresh_rows(ann)   # in place: this may run inside itemChanged (checkbox)
                return
            self.list.clear()
            if ann is None:
                return
            project = self.controller.project
            # topmost first, as in a layer list
            for shape in reversed(ann.shapes):
                cls = project.get_class(shape.label)
                item = QListWidgetItem(describe(shape))
                if cls is not None:
                    item.setIcon(color_icon(cls.color))
                item.setData(_UID_ROLE, shape.uid)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if shape.visible else Qt.CheckState.Unchecked)
                self.list.addItem(item)
                item.setSelected(shape.uid in selected)
        finally:
            self._updating = False
        self.setWindowTitle(f"Shapes ({self.list.count()})")

    def _rows(self) -> list[int]:
        return [self.list.item(i).data(_UID_ROLE) for i in range(self.list.count())]

    def _refresh_rows(self, ann: ImageAnnotation) -> None:
        project = self.controller.project
        for i, shape in enumerate(reversed(ann.shapes)):
            item = self.list.item(i)
            cls = project.get_class(shape.label)
            item.setText(describe(shape))
            item.setIcon(color_icon(cls.color) if cls is not None else QIcon())
            item.setCheckState(Qt.CheckState.Checked if shape.visible else Qt.CheckState.Unchecked)

    def set_selection(self, shapes: list[Shape]) -> None:
        """Mirrors the canvas selection (does not re-emit ``selection_changed``)."""
        uids = {s.uid for s in shapes}
        self._updating = True
        try:
            for i in range(self.list.count()):
                item = self.list.item(i)
                item.setSelected(item.data(_UID_ROLE) in uids)
                if item.data(_UID_ROLE) in uids:
                    self.list.scrollToItem(item)
        finally:
            self._updating = False

    # -- view → controller ----------------------------------------------------------------------
    def _shape(self, item: QListWidgetItem) -> Shape | None:
        return None if self._ann is None else self._ann.find(item.data(_UID_ROLE))

    def selected_shapes(self) -> list[Shape]:
        shapes = [self._shape(it) for it in self.list.selectedItems()]
        return [s for s in shapes if s is not None]

    def _selection_from_list(self) -> None:
        if not self._updating:
            self.selection_changed.emit(self.selected_shapes())

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        shape = self._shape(item)
        visible = item.checkState() == Qt.CheckState.Checked
        if shape is not None and shape.visible != visible and self.controller.current_key:
            self.controller.push(SetShapeAttributes(self.controller.current_key, [shape], {"visible": visible},
                                                    "Show shape" if visible else "Hide shape"))

    def _double_clicked(self, item: QListWidgetItem) -> None:
        shape = self._shape(item)
        if shape is not None:
            self.label_edit_requested.emit(shape)
