"""EditTool: select, move shapes, drag / insert / delete vertices, delete shapes.

* click selects the topmost visible shape under the pointer (masks by their pixel), Ctrl+click
  toggles it, a drag on empty space selects by rubber band (Ctrl adds);
* dragging a selected shape moves the whole selection: ONE edit on release (ChangePoints for
  vector shapes, MoveMask for masks, a Compound when both);
* dragging a vertex handle of a selected shape moves that vertex (one ChangePoints);
* Alt+click or double-click on an edge inserts a vertex (Alt+drag inserts and drags it);
* Shift+click on a vertex, or Delete while a vertex is hovered, deletes the vertex;
* Delete / Backspace deletes the selected shapes; Escape cancels a drag or clears the selection.

Pure: numpy + segstudio.core + tools. No Qt.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import ChangePoints, Compound, DeleteShapes, MoveMask
from segstudio.core.model import Shape
from segstudio.tools.base import PointerEvent, Tool
from segstudio.tools.hittest import (
    can_delete_vertex,
    edge_at,
    insert_vertex,
    shapes_in_rect,
    topmost_shape,
    vertex_at,
)

DRAG_PX = 3.0   # screen pixels of motion before a press becomes a drag


def outline(shape: Shape, points: np.ndarray | None = None) -> tuple[np.ndarray, bool] | None:
    """(polyline, closed) drawn as the preview of ``shape`` with ``points`` (default its own)."""
    kind = shape.kind
    line = kind.outline(shape.points if points is None else points, shape.mask, max_error=0.25)
    return None if line is None else (line, kind.closed)


class EditTool(Tool):
    name = "edit"
    menu_text, shortcuts, short = "&Edit / select", ("V", "Ctrl+J"), "Edit"
    tip = "Select, move, edit vertices"
    cursor = "arrow"

    def __init__(self) -> None:
        super().__init__()
        self._mode: str | None = None     # None | "pending" | "move" | "vertex" | "band"
        self._start = np.zeros(2)
        self._now = np.zeros(2)
        self._vertex: tuple[Shape, int] | None = None
        self._orig: np.ndarray | None = None      # original points of the vertex-dragged shape
        self._work: np.ndarray | None = None      # working points of the vertex-dragged shape
        self._inserted = False
        self._dragged = False
        self._band_add = False
        self._hover_vertex: tuple[Shape, int] | None = None

    @property
    def busy(self) -> bool:
        return self._mode is not None

    def cancel(self) -> None:
        self._mode = None
        self._vertex = None
        self._orig = self._work = None
        self._inserted = False
        self._hover_vertex = None
        super().cancel()

    # -- helpers ---------------------------------------------------------------------------
    def _selected_vector(self) -> list[Shape]:
        assert self.ctx is not None
        return [s for s in self.ctx.selection if not s.kind.carries_mask and self.ctx.shape_visible(s)]

    def _hit(self, ev: PointerEvent) -> Shape | None:
        assert self.ctx is not None
        return topmost_shape(self.ctx.annotation, ev.x, ev.y, ev.tol(), visible=self.ctx.shape_visible)

    def _edge_target(self, ev: PointerEvent):
        """An edge near the pointer on a selected shape, else on the topmost shape there."""
        hit = edge_at(self._selected_vector(), ev.x, ev.y, ev.tol())
        if hit is None:
            top = self._hit(ev)
            if top is not None:
                hit = edge_at([top], ev.x, ev.y, ev.tol())
        return hit

    def _set_hover(self, hv: tuple[Shape, int] | None) -> None:
        old = self._hover_vertex
        if (old is None) != (hv is None) or (old and hv and (old[0] is not hv[0] or old[1] != hv[1])):
            self._hover_vertex = hv
            self.preview.vertex_hover = hv
            self.preview.touch()
        self.cursor = "pointing" if hv is not None else "arrow"

    # -- events ----------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        ctx = self.ctx
        if ctx is None or ev.button != "left":
            return
        self._start = self._now = ev.xy
        tol = ev.tol()
        hv = vertex_at(self._selected_vector(), ev.x, ev.y, tol)
        if hv is not None:
            if ev.shift:
                self._delete_vertex(*hv)
                return
            self._begin_vertex_drag(hv[0], hv[1], hv[0].points.copy(), inserted=False)
            return
        if ev.alt:
            edge = self._edge_target(ev)
            if edge is not None:
                shape, i, p = edge
                ctx.set_selection([shape] if shape not in ctx.selection else ctx.selection)
                self._begin_vertex_drag(shape, i + 1, insert_vertex(shape.points, i, p), inserted=True)
                return
        hit = self._hit(ev)
        if hit is not None:
            if ev.ctrl:
                sel = list(ctx.selection)
                ctx.set_selection([s for s in sel if s is not hit] if hit in sel else sel + [hit])
                return
            if hit not in ctx.selection:
                ctx.set_selection([hit])
            self._mode = "pending"   # becomes "move" once the pointer really moves
            return
        self._band_add = ev.ctrl
        if not ev.ctrl:
            ctx.set_selection([])
        self._mode = "band"

    def _begin_vertex_drag(self, shape: Shape, index: int, work: np.ndarray, inserted: bool) -> None:
        self._mode = "vertex"
        self._dragged = False
        self._vertex = (shape, index)
        self._orig = shape.points.copy()
        self._work = np.asarray(work, dtype=np.float64).copy()
        self._inserted = inserted
        self._show_vertex_preview()

    def _show_vertex_preview(self) -> None:
        assert self._vertex is not None and self._work is not None
        shape, i = self._vertex
        line = outline(shape, self._work)
        self.preview.polylines = [line] if line is not None else []
        self.preview.points = [tuple(p) for p in self._work]
        self.preview.highlight = tuple(self._work[i])
        self.preview.color = self.ctx.color_for(shape.label) if self.ctx else None
        self.preview.touch()

    def move(self, ev: PointerEvent) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        self._now = ev.xy
        if self._mode is None:
            self._set_hover(vertex_at(self._selected_vector(), ev.x, ev.y, ev.tol()))
            return
        if self._mode == "pending":
            if float(np.hypot(*(self._now - self._start))) < ev.tol(DRAG_PX):
                return
            self._mode = "move"
            self.cursor = "drag"
        if self._mode == "move":
            d = self._delta()
            lines = [outline(s, s.points + d if not s.kind.carries_mask else None) for s in ctx.selection]
            self.preview.polylines = [(ln[0] + (d if s.kind.carries_mask else 0), ln[1])
                                      for s, ln in zip(ctx.selection, lines) if ln is not None]
            self.preview.color = None
            self.preview.touch()
        elif self._mode == "vertex":
            assert self._vertex is not None and self._work is not None
            if not self._dragged and float(np.hypot(*(self._now - self._start))) < ev.tol(DRAG_PX):
                return   # a click on a vertex / edge must not nudge it
            self._dragged = True
            self._work[self._vertex[1]] = ctx.clamp(ev.x, ev.y)
            self._show_vertex_preview()
        elif self._mode == "band":
            x0, y0 = self._start
            self.preview.rects = [(x0, y0, ev.x, ev.y)]
            self.preview.touch()

    def _delta(self) -> np.ndarray:
        """Motion since the press, limited so that no selected shape's bbox leaves the image."""
        assert self.ctx is not None
        d = self._now - self._start
        boxes = np.array([s.bbox() for s in self.ctx.selection]) if self.ctx.selection else None
        if boxes is not None and len(boxes):
            lo = np.array([-boxes[:, 0].min(), -boxes[:, 1].min()])
            hi = np.array([self.ctx.width - boxes[:, 2].max(), self.ctx.height - boxes[:, 3].max()])
            d = np.clip(d, np.minimum(lo, 0), np.maximum(hi, 0))
        return d

    def release(self, ev: PointerEvent) -> None:
        ctx = self.ctx
        if ctx is None or self._mode is None or ev.button != "left":
            return
        mode = self._mode
        self._now = ev.xy
        edit = None
        if mode == "move":
            edit = self._move_edit(self._delta())
        elif mode == "vertex":
            self.move(ev)
            assert self._vertex is not None and self._orig is not None and self._work is not None
            if self._inserted or not np.allclose(self._orig, self._work):
                text = "Insert vertex" if self._inserted else "Move vertex"
                edit = ChangePoints(ctx.key, [(self._vertex[0], self._orig, self._work.copy())], text)
        elif mode == "band":
            x0, y0 = self._start
            inside = shapes_in_rect(ctx.annotation, (x0, y0, ev.x, ev.y), ctx.shape_visible)
            ctx.set_selection((list(ctx.selection) + inside) if self._band_add else inside)
        self.cancel()
        self.cursor = "arrow"
        self._commit(edit)

    def _move_edit(self, d: np.ndarray):
        assert self.ctx is not None
        key = self.ctx.key
        vec = [s for s in self.ctx.selection if not s.kind.carries_mask]
        masks = [s for s in self.ctx.selection if s.kind.carries_mask]
        edits: list = []
        if vec and np.any(d != 0):
            edits.append(ChangePoints(key, [(s, s.points.copy(), s.points + d) for s in vec], "Move shapes"))
        for m in masks:
            e = MoveMask(key, m, int(round(d[0])), int(round(d[1])))
            if e is not None:
                edits.append(e)
        if not edits:
            return None
        return edits[0] if len(edits) == 1 else Compound("Move shapes", edits)

    def double_click(self, ev: PointerEvent) -> None:
        ctx = self.ctx
        if ctx is None or ev.button != "left":
            return
        self.cancel()
        edge = self._edge_target(ev)
        if edge is None:
            return
        shape, i, p = edge
        new = insert_vertex(shape.points, i, p)
        self._commit(ChangePoints(ctx.key, [(shape, shape.points.copy(), new)], "Insert vertex"))

    def _delete_vertex(self, shape: Shape, index: int) -> bool:
        if self.ctx is None or not can_delete_vertex(shape):
            return False
        new = np.delete(shape.points, index, axis=0)
        self._set_hover(None)
        return self._commit(ChangePoints(self.ctx.key, [(shape, shape.points.copy(), new)], "Delete vertex"))

    def key(self, name: str) -> bool:
        ctx = self.ctx
        if ctx is None:
            return False
        if name == "Escape":
            if self.busy:
                self.cancel()
                return True
            if ctx.selection:
                ctx.set_selection([])
                return True
            return False
        if name in ("Delete", "Backspace") and not self.busy:
            if name == "Delete" and self._hover_vertex is not None:
                if self._delete_vertex(*self._hover_vertex):
                    return True
            return self.delete_selected()
        return False

    def delete_selected(self) -> bool:
        ctx = self.ctx
        if ctx is None or not ctx.selection:
            return False
        shapes = [s for s in ctx.selection if s in ctx.annotation.shapes]
        ctx.set_selection([])
        if not shapes:
            return False
        return self._commit(DeleteShapes(ctx.key, shapes, f"Delete {len(shapes)} shape(s)"))
