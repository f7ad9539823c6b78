"""FileListDock: the Images dock — a filter box over a table of the project's images (name,
state, shapes, and any column a feature adds), sortable by clicking a header.

The table is a view over :class:`~segstudio.ui.docks.image_table.ImageTableModel`; columns are
declared in :mod:`segstudio.ui.docks.image_columns`. The dock observes the controller's
``project_changed`` / ``current_changed`` / ``loading_changed`` (the current row follows the
canvas) and ``Project.entry_changed`` (title count); a click or Enter asks the controller to
``go_to`` the image. Typing letters jumps to the next image whose name starts with them.

May import: PySide6, segstudio.core, segstudio.ui.controller, segstudio.ui.docks.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLineEdit,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from segstudio.core.model import LABELLED, ImageEntry
from segstudio.ui.controller import DocumentController
from segstudio.ui.docks.image_columns import ImageColumn
from segstudio.ui.docks.image_table import KEY_ROLE, ImageTableModel


def _done(entry: ImageEntry) -> bool:
    return entry.state == LABELLED and not entry.error


class FileListDock(QDockWidget):
    def __init__(self, controller: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("FileListDock")
        self.controller = controller
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter images…")
        self.filter.setClearButtonEnabled(True)
        self.model = ImageTableModel(controller.project, parent=self)
        self.view = view = QTableView()
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setShowGrid(False)
        view.setWordWrap(False)
        view.setTextElideMode(Qt.TextElideMode.ElideLeft)   # the file name stays readable
        rows = view.verticalHeader()
        rows.hide()
        # fixed row heights: Qt never measures 10,000 rows
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(view.fontMetrics().height() + 6)
        header = view.horizontalHeader()
        header.setSortIndicatorClearable(True)   # a third click goes back to folder order
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setHighlightSections(False)
        view.setSortingEnabled(True)
        self._size_columns()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(view)
        self.setWidget(body)
        self._done: set[str] = set()   # keys counted as labelled in the title
        self._project = None

        self.filter.textChanged.connect(self._apply_filter)
        view.clicked.connect(self._clicked)
        view.activated.connect(self._clicked)
        self.model.layoutChanged.connect(self._follow_current)
        controller.project_changed.connect(self.rebuild)
        controller.current_changed.connect(self._show_current)
        # while a large image loads, the list already points at it (D pressed again goes on)
        controller.loading_changed.connect(lambda k: self._show_current(k or controller.current_key or ""))
        self.rebuild()

    def add_column(self, column: ImageColumn) -> None:
        """Adds a column after the declared ones (a feature's, e.g. an uncertainty score)."""
        self.model.add_column(column)
        self._size_columns()

    def _size_columns(self) -> None:
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        fixed = 0
        for i, spec in enumerate(self.model.columns):
            if spec.width:
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(i, spec.width)
                fixed += spec.width
            else:
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        # the dock is at least as wide as the fixed columns plus a readable file name: a feature's
        # column (e.g. Uncertainty) once squeezed the stretching Name column to a lone "…"
        name = self.view.fontMetrics().horizontalAdvance("0000_000000.jpg")
        scrollbar = self.view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.view.setMinimumWidth(fixed + name + scrollbar + 2 * self.view.frameWidth() + 4)

    # -- model → view ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        if self._project is not None:
            self._project.entry_changed.disconnect(self._entry_changed)
        project = self._project = self.controller.project
        project.entry_changed.connect(self._entry_changed)
        self.model.set_project(project)
        self._done = {e.key for e in project.entries if _done(e)}
        self._update_title()
        self._follow_current()

    def _entry_changed(self, key: str) -> None:
        if self._project is None or not self._project.has_entry(key):
            return
        before = len(self._done)
        if _done(self._project.entry(key)):
            self._done.add(key)
        else:
            self._done.discard(key)
        if len(self._done) != before:
            self._update_title()

    def _update_title(self) -> None:
        self.setWindowTitle(f"Images ({len(self._done)}/{len(self.controller.project.entries)} labelled)")

    def _follow_current(self) -> None:
        self._show_current(self.controller.pending_key or self.controller.current_key or "")

    def _show_current(self, key: str) -> None:
        index = self.index_for(key)
        selection = self.view.selectionModel()
        if not index.isValid():
            selection.clear()
            return
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        selection.setCurrentIndex(index, flags)
        self.view.scrollTo(index)

    def _apply_filter(self, text: str) -> None:
        self.model.set_filter(text)
        self._follow_current()

    # -- view → controller ----------------------------------------------------------------------
    def _clicked(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key and key != self.controller.current_key and not self.controller.go_to(key):
            self._show_current(self.controller.current_key or "")

    # -- for tests and features ------------------------------------------------------------------
    def index_for(self, key: str, column: int = 0) -> QModelIndex:
        """The view's index of image ``key`` (invalid when filtered out)."""
        row = self.model.row_of(key) if key else None
        return QModelIndex() if row is None else self.model.index(row, column)

    def row_rect(self, key: str) -> QRect:
        """Where the row of ``key`` is drawn, in viewport coordinates (to click it)."""
        return self.view.visualRect(self.index_for(key))

    def visible_keys(self) -> list[str]:
        """The images the table shows, top to bottom."""
        return [k for k in (self.model.key_at(r) for r in range(self.model.rowCount())) if k]

    def tooltip_for(self, key: str) -> str:
        return str(self.index_for(key).data(Qt.ItemDataRole.ToolTipRole) or "")
