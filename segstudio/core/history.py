"""Undo/redo history of Edits, bounded by memory rather than by a small step count.

Pure (psygnal, no Qt): the UI shows it in an Undo History view and binds Ctrl+Z / Ctrl+Y to
:meth:`History.undo` / :meth:`History.redo`. ``push`` applies the edit (like QUndoStack.push
runs redo), so callers never mutate the model and then push.
"""

from __future__ import annotations

import logging

from psygnal import Signal

from segstudio.core.edits import Edit
from segstudio.core.model import Project

log = logging.getLogger(__name__)

DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024


class History:
    changed = Signal()   # stack contents or position changed

    def __init__(self, project: Project, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.project = project
        self.budget_bytes = budget_bytes
        self._edits: list[Edit] = []
        self._index = 0            # number of applied edits; edits[index:] are redoable
        self._clean_index: int | None = 0
        self.dropped = 0           # oldest steps dropped to stay within the budget

    # -- queries -------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self._index

    def texts(self) -> list[str]:
        return [e.text for e in self._edits]

    def __len__(self) -> int:
        return len(self._edits)

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._edits)

    def undo_text(self) -> str:
        return self._edits[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._edits[self._index].text if self.can_redo() else ""

    def undo_edit(self) -> Edit | None:
        """The edit :meth:`undo` would revert (None if nothing to undo)."""
        return self._edits[self._index - 1] if self.can_undo() else None

    def redo_edit(self) -> Edit | None:
        """The edit :meth:`redo` would apply (None if nothing to redo)."""
        return self._edits[self._index] if self.can_redo() else None

    @property
    def nbytes(self) -> int:
        return sum(int(e.nbytes) for e in self._edits)

    # -- mutation ------------------------------------------------------------------------------
    def push(self, edit: Edit) -> None:
        """Applies ``edit`` and records it; discards the redo tail."""
        edit.apply(self.project)
        del self._edits[self._index:]
        if self._clean_index is not None and self._clean_index > self._index:
            self._clean_index = None
        self._edits.append(edit)
        self._index += 1
        self._trim()
        self.changed.emit()

    def undo(self) -> bool:
        if not self.can_undo():
            return False
        self._index -= 1
        self._edits[self._index].revert(self.project)
        self.changed.emit()
        return True

    def redo(self) -> bool:
        if not self.can_redo():
            return False
        self._edits[self._index].apply(self.project)
        self._index += 1
        self.changed.emit()
        return True

    def set_index(self, index: int) -> None:
        """Undo or redo until ``index`` edits are applied (for clicks in the history view)."""
        index = max(0, min(index, len(self._edits)))
        while self._index > index:
            self.undo()
        while self._index < index:
            self.redo()

    def clear(self) -> None:
        self._edits.clear()
        self._index = 0
        self._clean_index = 0
        self.changed.emit()

    def _trim(self) -> None:
        total = self.nbytes
        # keep at least the newest edit, however large
        while total > self.budget_bytes and len(self._edits) > 1 and self._index > 1:
            old = self._edits.pop(0)
            total -= int(old.nbytes)
            self._index -= 1
            self.dropped += 1
            if self._clean_index is not None:
                self._clean_index = self._clean_index - 1 if self._clean_index > 0 else None
        if self.dropped:
            log.debug("undo history trimmed to %d steps (%d bytes)", len(self._edits), total)
