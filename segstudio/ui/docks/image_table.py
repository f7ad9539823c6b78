"""ImageTableModel: the project's entries as a Qt table (one row per image, the columns of
:mod:`segstudio.ui.docks.image_columns`), sorted and filtered here.

Rows are positions into ``project.entries``; nothing per entry is a widget or an item, so a
folder of 10,000 images costs a list of ints and a key → row dict. ``Project.entry_changed``
repaints just that row (one ``dataChanged``). A row whose sort value changes stays where it is
until the next sort, so the row being labelled does not jump away.

May import: PySide6, segstudio.core, segstudio.ui.docks.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap

from segstudio.core.model import Project
from segstudio.ui.docks.image_columns import COLUMNS, RGB, ImageColumn, display_name, entry_tooltip

KEY_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


def dot_icon(color: RGB, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QBrush(QColor(*color)))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


class ImageTableModel(QAbstractTableModel):
    def __init__(self, project: Project, columns: tuple[ImageColumn, ...] = COLUMNS, parent=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.project: Project | None = None
        self._names: list[str] = []          # display name per entry position
        self._rows: list[int] = []           # row → entry position (sorted, filtered)
        self._row_of: dict[str, int] = {}    # entry key → row
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._needle = ""
        self._icons: dict[RGB, QIcon] = {}
        self.set_project(project)

    # -- what is shown ----------------------------------------------------------------------------
    def set_project(self, project: Project) -> None:
        if project is not self.project:
            if self.project is not None:
                self.project.entry_changed.disconnect(self._entry_changed)
            project.entry_changed.connect(self._entry_changed)
        self.beginResetModel()
        self.project = project
        self._names = [display_name(e, project.root) for e in project.entries]
        self._arrange()
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Shows only images whose name contains ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        if needle != self._needle:
            self.beginResetModel()
            self._needle = needle
            self._arrange()
            self.endResetModel()

    def add_column(self, column: ImageColumn) -> int:
        """Appends a column (a feature's, e.g. a score); returns its index."""
        n = len(self.columns)
        self.beginInsertColumns(QModelIndex(), n, n)
        self.columns.append(column)
        self.endInsertColumns()
        return n

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorts by ``column`` (-1: folder order); selections follow their rows."""
        self.layoutAboutToBeChanged.emit()
        old = [(p, self.key_at(p.row())) for p in self.persistentIndexList()]
        self._sort = (column, order)
        self._arrange()
        for p, key in old:
            row = self._row_of.get(key or "")
            self.changePersistentIndex(p, QModelIndex() if row is None else self.index(row, p.column()))
        self.layoutChanged.emit()

    def _arrange(self) -> None:
        entries, names = self.project.entries, self._names
        rows = range(len(entries))
        if self._needle:
            rows = [i for i in rows if self._needle in names[i].lower()]
        column, order = self._sort
        if 0 <= column < len(self.columns):
            spec = self.columns[column]
            key = spec.sort_key or spec.value

            keys = {i: key(entries[i], names[i]) for i in rows}
            # rows without a value (None) go last in both directions
            rows = (sorted((i for i in rows if keys[i] is not None), key=keys.__getitem__,
                           reverse=order == Qt.SortOrder.DescendingOrder)
                    + [i for i in rows if keys[i] is None])
        self._rows = list(rows)
        self._row_of = {entries[i].key: r for r, i in enumerate(self._rows)}

    # -- lookups --------------------------------------------------------------------------------
    def row_of(self, key: str) -> int | None:
        """The row showing image ``key`` (None when filtered out or not in the project)."""
        return self._row_of.get(key)

    def key_at(self, row: int) -> str | None:
        if 0 <= row < len(self._rows):
            return self.project.entries[self._rows[row]].key
        return None

    def _entry_changed(self, key: str) -> None:
        row = self._row_of.get(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    # -- QAbstractTableModel --------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        i = self._rows[index.row()]
        entry, spec = self.project.entries[i], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = spec.value(entry, self._names[i])
            return None if value is None else str(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return spec.tooltip(entry) if spec.tooltip else entry_tooltip(entry)
        if role == Qt.ItemDataRole.ForegroundRole:
            color = spec.color(entry) if spec.color else None
            return None if color is None else QBrush(QColor(*color))
        if role == Qt.ItemDataRole.DecorationRole:
            color = spec.dot(entry) if spec.dot else None
            return None if color is None else self._icon(color)
        if role == Qt.ItemDataRole.TextAlignmentRole and spec.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == KEY_ROLE:
            return entry.key
        if role == SORT_ROLE:
            return (spec.sort_key or spec.value)(entry, self._names[i])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].help or None
        return None

    def match(self, start: _Index, role: int, value: Any, hits: int = 1,
              flags: Qt.MatchFlag = Qt.MatchFlag.MatchStartsWith | Qt.MatchFlag.MatchWrap) -> list:
        """Type-to-search looks at the names whichever column was clicked last, and in Python
        (one pass over the cached names instead of a ``data()`` call per row)."""
        kind = Qt.MatchFlag(flags & Qt.MatchFlag.MatchTypeMask)
        if (role != Qt.ItemDataRole.DisplayRole or kind != Qt.MatchFlag.MatchStartsWith
                or not isinstance(value, str) or not self._rows):
            return super().match(start, role, value, hits, flags)
        needle, n = value.lower(), len(self._rows)
        first = max(start.row(), 0) if start.isValid() else 0
        order = range(first, first + n) if flags & Qt.MatchFlag.MatchWrap else range(first, n)
        found = []
        for r in order:
            if self._names[self._rows[r % n]].lower().startswith(needle):
                found.append(self.index(r % n, 0))
                if hits != -1 and len(found) >= hits:
                    break
        return found

    def _icon(self, color: RGB) -> QIcon:
        icon = self._icons.get(color)
        if icon is None:
            icon = self._icons[color] = dot_icon(color)
        return icon
