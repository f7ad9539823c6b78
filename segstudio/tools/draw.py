"""Drawing tools that create vector shapes: PolygonTool, LineStripTool, RectangleTool,
CircleTool, LineTool, PointTool — one per drawable shape kind.

Each finished shape asks ``ctx.ask_label()`` for (label, group_id) and pushes ONE AddShapes.
What a kind is (point count, closed or open, outline) comes from
:mod:`segstudio.core.shape_kinds`; a tool only knows the gesture that places the points.
Pure: numpy + segstudio.core + tools.base. No Qt.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import AddShapes
from segstudio.core.model import Shape
from segstudio.core.shape_kinds import ShapeKind, circle_radius, kind_of
from segstudio.tools.base import PointerEvent, Tool

CLOSE_PX = 8.0   # screen pixels: a click this close to the first vertex closes the polygon


class _LabelledShapeTool(Tool):
    """Shared: ask for the label and push one AddShapes."""

    shape_type = "polygon"

    @property
    def kind(self) -> ShapeKind:
        return kind_of(self.shape_type)

    def _finish(self, points: np.ndarray) -> bool:
        """Asks for the label (the preview stays drawn meanwhile) and adds the shape; False when
        the dialog was cancelled — the gesture is then left as it is for the caller to decide."""
        ctx = self.ctx
        if ctx is None:
            return False
        answer = ctx.ask_label()
        if self.ctx is not ctx:   # the document changed while the dialog was open
            return False
        if answer is None:
            return False
        self.cancel()
        label, group_id = answer
        shape = Shape(label, np.asarray(points, dtype=np.float64), self.shape_type, group_id)
        return self._commit(AddShapes(ctx.key, [shape], None, f"Add {self.shape_type}"))

    def _color(self) -> tuple[int, int, int] | None:
        return self.ctx.color_for(self.ctx.current_label()) if self.ctx else None


class PolygonTool(_LabelledShapeTool):
    """Click vertices; close by clicking the first vertex, double-click or Return.

    Backspace removes the last vertex, Escape cancels.
    """

    name = "polygon"
    menu_text, shortcuts = "&Polygon", ("P", "Ctrl+N")
    tip = "Click vertices; Enter or a click on the first vertex closes; Backspace removes the last"
    cursor = "cross"
    shape_type = "polygon"

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None

    @property
    def min_points(self) -> int:
        return self.kind.min_points

    @property
    def closed(self) -> bool:
        return self.kind.closed

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def cancel(self) -> None:
        self.points = []
        self._cursor = None
        super().cancel()

    def _near_first(self, ev: PointerEvent) -> bool:
        if not self.closed or len(self.points) < self.min_points:
            return False
        fx, fy = self.points[0]
        return float(np.hypot(ev.x - fx, ev.y - fy)) <= ev.tol(CLOSE_PX)

    def _update_preview(self, ev: PointerEvent | None = None) -> None:
        p = self.preview
        pts = list(self.points)
        closing = ev is not None and self._near_first(ev)
        if self._cursor is not None and not closing:
            pts.append(self._cursor)
        p.polylines = [(np.array(pts, dtype=np.float64).reshape(-1, 2), closing)] if pts else []
        p.points = list(self.points)
        p.highlight = self.points[0] if closing else None
        p.color = self._color()
        p.touch()

    def press(self, ev: PointerEvent) -> None:
        if self.ctx is None or ev.button != "left":
            return
        if self._near_first(ev):
            self.close()
            return
        x, y = self.ctx.clamp(ev.x, ev.y)
        if self.points and self.points[-1] == (x, y):
            return
        self.points.append((x, y))
        self._cursor = (x, y)
        self._update_preview(ev)

    def move(self, ev: PointerEvent) -> None:
        if self.ctx is None or not self.points:
            return
        self._cursor = self.ctx.clamp(ev.x, ev.y)
        self._update_preview(ev)

    def double_click(self, ev: PointerEvent) -> None:
        # Qt delivers press, release, double-click: the press normally added this vertex already;
        # add it if not (some event sources send the double-click alone)
        if ev.button != "left" or self.ctx is None:
            return
        x, y = self.ctx.clamp(ev.x, ev.y)
        if not self.points or float(np.hypot(x - self.points[-1][0], y - self.points[-1][1])) > ev.tol(2.0):
            self.points.append((x, y))
        if len(self.points) >= self.min_points:
            self.close()

    def key(self, name: str) -> bool:
        if name == "Return":
            had = bool(self.points)
            if len(self.points) >= self.min_points:
                self.close()
            return had
        if name == "Backspace" and self.points:
            self.points.pop()
            if not self.points:
                self.cancel()
            else:
                self._update_preview()
            return True
        return super().key(name)

    def close(self) -> bool:
        """Finishes the shape (``min_points`` vertices at least); returns True if one was added.

        Cancelling the label dialog keeps the polygon in progress (as labelme does): an Esc
        meant for the dialog must not throw away fifty careful clicks; a second Esc does."""
        if len(self.points) < self.min_points:
            return False
        return self._finish(np.array(self.points, dtype=np.float64))


class LineStripTool(PolygonTool):
    """An open polyline (labelme ``linestrip``): click vertices; double-click or Return finishes
    (2 vertices at least). Backspace removes the last vertex, Escape cancels."""

    name = "linestrip"
    menu_text, shortcuts = "Line&strip", ("Shift+L",)
    tip = "Click vertices of an open line; Enter or a double-click finishes; Backspace removes the last"
    shape_type = "linestrip"


class _TwoPointTool(_LabelledShapeTool):
    """Press-drag-release, or click then click: the two labelme points of the shape."""

    cursor = "cross"

    def __init__(self) -> None:
        super().__init__()
        self.start: tuple[float, float] | None = None
        self.end: tuple[float, float] | None = None
        self._dragging = False

    @property
    def busy(self) -> bool:
        return self.start is not None

    def cancel(self) -> None:
        self.start = self.end = None
        self._dragging = False
        super().cancel()

    def _draw_preview(self) -> None:
        raise NotImplementedError

    def _update(self, ev: PointerEvent) -> None:
        assert self.ctx is not None
        self.end = self.ctx.clamp(ev.x, ev.y)
        self.preview.color = self._color()
        self._draw_preview()
        self.preview.touch()

    def press(self, ev: PointerEvent) -> None:
        if self.ctx is None or ev.button != "left":
            return
        if self.start is None:
            self.start = self.ctx.clamp(ev.x, ev.y)
            self._dragging = True
            self._update(ev)
        else:   # second click of click-click mode
            self._update(ev)
            self._try_finish(ev)

    def move(self, ev: PointerEvent) -> None:
        if self.ctx is not None and self.start is not None:
            self._update(ev)

    def release(self, ev: PointerEvent) -> None:
        if self.ctx is None or self.start is None or not self._dragging:
            return
        self._dragging = False
        self._update(ev)
        if self._degenerate(ev):
            return   # a click without a drag: wait for the second click
        self._try_finish(ev)

    def _degenerate(self, ev: PointerEvent) -> bool:
        assert self.start is not None and self.end is not None
        return float(np.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])) < ev.tol(3.0)

    def _try_finish(self, ev: PointerEvent) -> None:
        if self._degenerate(ev):
            return
        assert self.start is not None and self.end is not None
        if not self._finish(np.array([self.start, self.end], dtype=np.float64)):
            self.cancel()


class RectangleTool(_TwoPointTool):
    name = "rectangle"
    menu_text, shortcuts, tip = "&Rectangle", ("R",), "Drag a rectangle"
    shape_type = "rectangle"

    def _draw_preview(self) -> None:
        assert self.start is not None and self.end is not None
        outline = self.kind.outline(np.array([self.start, self.end], dtype=np.float64))
        assert outline is not None
        self.preview.polylines = [(outline, self.kind.closed)]


class CircleTool(_TwoPointTool):
    """labelme circle: first point = centre, second = a point on the rim."""

    name = "circle"
    menu_text, shortcuts, tip = "&Circle", ("C",), "Drag from the centre"
    shape_type = "circle"

    def _draw_preview(self) -> None:
        assert self.start is not None and self.end is not None
        (cx, cy), (px, py) = self.start, self.end
        r = circle_radius(np.array([self.start, self.end], dtype=np.float64))
        self.preview.ellipses = [(cx, cy, r, r)]
        self.preview.polylines = [(np.array([[cx, cy], [px, py]]), False)]
        self.preview.points = [(cx, cy)]


class LineTool(_TwoPointTool):
    """labelme line: drag (or click, click) from one end to the other."""

    name = "line"
    menu_text, shortcuts, tip = "&Line", ("L",), "Drag from one end to the other"
    shape_type = "line"

    def _draw_preview(self) -> None:
        assert self.start is not None and self.end is not None
        self.preview.polylines = [(np.array([self.start, self.end]), False)]
        self.preview.points = [self.start]


class PointTool(_LabelledShapeTool):
    name = "point"
    menu_text, shortcuts, tip = "P&oint", ("O",), "Click to place a point"
    cursor = "cross"
    shape_type = "point"

    def press(self, ev: PointerEvent) -> None:
        if self.ctx is None or ev.button != "left":
            return
        x, y = self.ctx.clamp(ev.x, ev.y)
        self._finish(np.array([[x, y]], dtype=np.float64))
