"""ShapeListDock: the shapes of the current image — class colour, label, type, visibility.

A model/view list: :class:`ShapeListModel` mirrors the current annotation (topmost shape
first) and turns its signals into row-level notifications (inserted / removed runs, changed
rows, a layout change on reorder), so a pre-annotation pushing thousands of shapes costs one
``beginInsertRows`` and the view lays out only what is visible — no widget item per shape.
Selection is synced both ways through ``selection_changed`` / :meth:`set_selection`, wired by
the main window to the canvas (widgets never reach into each other). The visibility checkbox
pushes an undoable SetShapeAttributes; a double click asks to change the class
(``label_edit_requested``).

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QListView, QWidget

from segstudio.core.edits import SetShapeAttributes
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.ui.controller import DocumentController
from segstudio.ui.dialogs.label_dialog import color_icon

_UID_ROLE = Qt.ItemDataRole.UserRole
_MAX_RUNS = 32   # more separate row runs than this in one event: a single reset is cheaper
#: rows inserted / removed at once above which one reset is cheaper than the row bookkeeping
_RESET_ROWS = 2000


def describe(shape: Shape, pixels: int | None = None) -> str:
    """The row text; ``pixels``: the mask's pixel count when already known."""
    extra = f" #{shape.group_id}" if shape.group_id is not None else ""
    if shape.kind.carries_mask and shape.mask is not None:
        n = int(np.count_nonzero(shape.mask)) if pixels is None else pixels
        return f"{shape.label}{extra}  (mask, {n} px)"
    return f"{shape.label}{extra}  ({shape.shape_type}, {len(shape.points)} pts)"


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers → [(first, last)] of consecutive runs."""
    out: list[tuple[int, int]] = []
    for r in sorted(rows):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _is_checked(value: Any) -> bool:
    raw = getattr(value, "value", value)   # Qt.CheckState or the int a view passes
    return int(raw) == Qt.CheckState.Checked.value


class ShapeListModel(QAbstractListModel):
    """Rows = shapes of one annotation, topmost (last drawn) first."""

    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.ann: ImageAnnotation | None = None
        self._list: list[Shape] = []               # the rows, topmost shape first
        self._rows: dict[int, int] | None = {}   # uid → row, rebuilt lazily after a change
        #: uid → pixel count of a mask row (counting a 50-Mpixel mask takes ~10 ms, and a row's
        #: text is asked for on every repaint of the list); dropped when the shape changes
        self._pixels: dict[int, int] = {}
        self._icons: dict[tuple[int, ...], QIcon] = {}

    # -- queries -------------------------------------------------------------------------------
    def shape_at(self, row: int) -> Shape | None:
        return self._list[row] if 0 <= row < len(self._list) else None

    def row_of(self, uid: int) -> int | None:
        if self._rows is None:
            self._rows = {s.uid: i for i, s in enumerate(self._list)}
        return self._rows.get(uid)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._list)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        shape = self.shape_at(index.row()) if index.isValid() else None
        if shape is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if shape.kind.carries_mask and shape.mask is not None:
                n = self._pixels.get(shape.uid)
                if n is None:
                    n = self._pixels[shape.uid] = int(np.count_nonzero(shape.mask))
                return describe(shape, n)
            return describe(shape)
        if role == Qt.ItemDataRole.DecorationRole:
            cls = self.controller.project.get_class(shape.label)
            if cls is None:
                return None
            key = tuple(int(c) for c in cls.color[:3])
            icon = self._icons.get(key)
            if icon is None:
                icon = self._icons[key] = color_icon(key)
            return icon
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if shape.visible else Qt.CheckState.Unchecked
        if role == _UID_ROLE:
            return shape.uid
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """The checkbox: one undoable edit; the row updates from the model's shapes_changed."""
        shape = self.shape_at(index.row()) if index.isValid() else None
        if role != Qt.ItemDataRole.CheckStateRole or shape is None:
            return False
        visible = _is_checked(value)
        key = self.controller.current_key
        if shape.visible != visible and key:
            self.controller.push(SetShapeAttributes(key, [shape], {"visible": visible},
                                                    "Show shape" if visible else "Hide shape"))
        return True

    # -- annotation → rows -------------------------------------------------------------------
    def _order(self) -> list[Shape]:
        return [] if self.ann is None else list(reversed(self.ann.shapes))

    def set_annotation(self, ann: ImageAnnotation | None) -> None:
        self.ann = ann
        self._pixels.clear()
        self.reset_rows()

    def reset_rows(self) -> None:
        self.beginResetModel()
        self._list = self._order()   # no per-row work: 10⁵ rows cost a list copy
        self._rows = None
        self.endResetModel()

    def on_inserted(self, shapes: list[Shape]) -> None:
        order = self._order()
        added = {s.uid for s in shapes} - {s.uid for s in self._list}
        rows = [i for i, s in enumerate(order) if s.uid in added]
        runs = _runs(rows)
        kept = [s for s in order if s.uid not in added]
        if len(kept) != len(self._list) or not all(map(operator.is_, kept, self._list)) or len(runs) > _MAX_RUNS:
            self.reset_rows()
            return
        for first, last in runs:   # ascending: every earlier run is already in place
            self.beginInsertRows(QModelIndex(), first, last)
            self._list[first:first] = order[first:last + 1]
            self._rows = None
            self.endInsertRows()

    def on_removed(self, shapes: list[Shape]) -> None:
        rows = [r for r in (self.row_of(s.uid) for s in shapes) if r is not None]
        runs = _runs(rows)
        if len(runs) > _MAX_RUNS:
            self.reset_rows()
            return
        for first, last in reversed(runs):   # descending: earlier rows keep their numbers
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._list[first:last + 1]
            self._rows = None
            self.endRemoveRows()

    def on_changed(self, shapes: list[Shape]) -> None:
        for s in shapes:
            self._pixels.pop(s.uid, None)
        rows = [r for r in (self.row_of(s.uid) for s in shapes) if r is not None]
        runs = _runs(rows)
        if len(runs) > _MAX_RUNS:
            runs = [(min(rows), max(rows))]
        for first, last in runs:
            self.dataChanged.emit(self.index(first), self.index(last))

    def on_reordered(self) -> None:
        """Same rows, new order: persistent indexes (the selection) follow their shapes."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_uids = [self._list[i.row()].uid for i in old]
        self._list = self._order()
        self._rows = None
        new = [self.index(r) if (r := self.row_of(u)) is not None else QModelIndex() for u in old_uids]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def all_changed(self) -> None:
        if self._list:
            self.dataChanged.emit(self.index(0), self.index(len(self._list) - 1))


class ShapeListView(QListView):
    """The list, plus the few QListWidget-style accessors the tests drive it with.

    Laid out in batches: QListView's layout asks the model about every row (two Python calls
    each — 0.1 s for a 150 000-shape k-means result), so it is spread over event-loop turns.
    (A QTreeView is worse: it asks ``flags()`` twice per row in one go.)"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)

    class Row:
        def __init__(self, view: ShapeListView, row: int) -> None:
            self.view, self.index = view, view.model().index(row, 0)

        def text(self) -> str:
            return self.index.data(Qt.ItemDataRole.DisplayRole)

        def data(self, role: int) -> Any:
            return self.index.data(role)

        def checkState(self) -> Qt.CheckState:
            return Qt.CheckState(self.index.data(Qt.ItemDataRole.CheckStateRole))

        def setCheckState(self, state: Qt.CheckState) -> None:
            self.view.model().setData(self.index, state, Qt.ItemDataRole.CheckStateRole)

        def isSelected(self) -> bool:
            return self.view.selectionModel().isSelected(self.index)

    def count(self) -> int:
        return self.model().rowCount()

    def item(self, row: int) -> ShapeListView.Row:
        return ShapeListView.Row(self, row)

    def visualItemRect(self, item: ShapeListView.Row) -> QRect:
        return self.visualRect(item.index)


class ShapeListDock(QDockWidget):
    selection_changed = Signal(list)       # list[Shape] picked in the list
    label_edit_requested = Signal(object)  # Shape double-clicked

    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Shapes", parent)
        self.setObjectName("ShapeListDock")
        self.controller = controller
        self.model = ShapeListModel(controller, self)
        self.list = ShapeListView()
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWidget(self.list)
        self._ann: ImageAnnotation | None = None
        self._updating = False
        self.list.selectionModel().selectionChanged.connect(self._selection_from_list)
        self.list.doubleClicked.connect(self._double_clicked)
        for sig in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            sig.connect(self._update_title)
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

    def _signals(self, ann: ImageAnnotation) -> list[tuple[Any, Any]]:
        return [(ann.shapes_inserted, self._on_inserted), (ann.shapes_removed, self._on_removed),
                (ann.shapes_changed, self.model.on_changed), (ann.order_changed, self._on_reordered),
                (ann.mask_changed, self._mask_event)]

    def _document_changed(self, _key: str) -> None:
        ann = self.controller.current_annotation()
        if ann is not self._ann:
            if self._ann is not None:
                for sig, slot in self._signals(self._ann):
                    sig.disconnect(slot)
            self._ann = ann
            if ann is not None:
                for sig, slot in self._signals(ann):
                    sig.connect(slot)
            self._quietly(self.model.set_annotation, ann)
        else:
            self.rebuild()

    def _quietly(self, fn: Any, *args: Any) -> None:
        """Runs a structural change without echoing the selection it drops to the canvas."""
        self._updating = True
        try:
            fn(*args)
        finally:
            self._updating = False

    def _on_inserted(self, shapes: list) -> None:
        if len(shapes) > _RESET_ROWS:
            self._reset_keeping_selection()
        else:
            self._quietly(self.model.on_inserted, shapes)

    def _on_removed(self, shapes: list) -> None:
        if len(shapes) > _RESET_ROWS:
            self._reset_keeping_selection()
        else:
            self._quietly(self.model.on_removed, shapes)

    def _reset_keeping_selection(self) -> None:
        selected = self.selected_shapes()
        live = self._live_uids() if selected else set()
        kept = [s for s in selected if s.uid in live]
        self._quietly(self.model.reset_rows)
        if kept:
            self.set_selection(kept)

    def _live_uids(self) -> set[int]:
        return {s.uid for s in self._ann.shapes} if self._ann is not None else set()

    def _on_reordered(self) -> None:
        self._quietly(self.model.on_reordered)

    def _mask_event(self, shape: Shape, _bounds: object) -> None:
        self.model.on_changed([shape])   # only the pixel count in the text changes

    def rebuild(self) -> None:
        """Class list changed (colour, name): every row re-reads its data; rows stay."""
        if self.model.ann is not self._ann or self.model.rowCount() != (len(self._ann.shapes) if self._ann else 0):
            self._quietly(self.model.set_annotation, self._ann)
        else:
            self.model.all_changed()
        self._update_title()

    def _update_title(self, *_args: object) -> None:
        self.setWindowTitle(f"Shapes ({self.model.rowCount()})")

    def set_selection(self, shapes: list[Shape]) -> None:
        """Mirrors the canvas selection (does not re-emit ``selection_changed``)."""
        rows = [r for r in (self.model.row_of(s.uid) for s in shapes) if r is not None]
        sel = QItemSelection()
        for first, last in _runs(rows):
            sel.select(self.model.index(first), self.model.index(last))
        self._updating = True
        try:
            self.list.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            if rows:
                self.list.scrollTo(self.model.index(rows[-1]))
        finally:
            self._updating = False

    # -- view → controller ----------------------------------------------------------------------
    def selected_shapes(self) -> list[Shape]:
        rows = sorted(i.row() for i in self.list.selectionModel().selectedRows())
        shapes = [self.model.shape_at(r) for r in rows]
        return [s for s in shapes if s is not None]

    def _selection_from_list(self, *_args: object) -> None:
        if not self._updating:
            self.selection_changed.emit(self.selected_shapes())

    def _double_clicked(self, index: QModelIndex) -> None:
        shape = self.model.shape_at(index.row())
        if shape is not None:
            self.label_edit_requested.emit(shape)
