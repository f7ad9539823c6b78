"""BrushTool and EraserTool: paint on the per-class mask layer (a labelme ``mask`` shape).

A whole stroke (press → release) is ONE edit: a PaintMask (bbox patch) with the footprint of
``geometry.stroke_mask`` computed over the stroke's bbox only; when the class has no mask layer yet it is created in the same step
(``Compound(AddShapes, PaintMask)``). "[" / "]" shrink / grow the brush. With the brush, a
right-button drag erases.

Pure: numpy + segstudio.core + tools.base. No Qt.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import AddShapes, Compound, PaintMask
from segstudio.core.geometry import stroke_mask
from segstudio.core.model import Shape
from segstudio.tools.base import PointerEvent, Tool

MIN_RADIUS, MAX_RADIUS = 1.0, 500.0
RADIUS_STEP = 1.25


def stroke_patch(path: np.ndarray, radius: float, height: int,
                 width: int) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The footprint of ``geometry.stroke_mask`` as ``((y0, y1, x0, x1), bool patch)`` over the
    stroke's bbox only — the same pixels without touching a full-image array."""
    pts = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return None
    m = int(np.ceil(radius)) + 2
    lo = np.floor(np.round(pts).min(axis=0)).astype(int) - m
    hi = np.ceil(np.round(pts).max(axis=0)).astype(int) + m + 1
    x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
    x1, y1 = min(width, int(hi[0])), min(height, int(hi[1]))
    if x1 <= x0 or y1 <= y0:
        return None
    # integer offset: rounding inside stroke_mask gives exactly the full-image pixels
    patch = stroke_mask(pts - [x0, y0], radius, y1 - y0, x1 - x0)
    if not patch.any():
        return None
    return (y0, y1, x0, x1), patch


def paint_patch(key: str, shape: Shape, footprint: tuple[tuple[int, int, int, int], np.ndarray],
                erase: bool = False) -> PaintMask | None:
    """A PaintMask over the footprint's bbox (like ``PaintMask.from_stroke`` without a full-image
    stroke); None if it changes nothing."""
    assert shape.mask is not None
    (y0, y1, x0, x1), sub = footprint
    old = shape.mask[y0:y1, x0:x1].copy()
    new = old & ~sub if erase else old | sub
    if np.array_equal(old, new):
        return None
    return PaintMask(key, shape, (y0, y1, x0, x1), old, new, "Erase" if erase else "Paint")


class BrushTool(Tool):
    name = "brush"
    menu_text, shortcuts, tip = "&Brush", ("B",), "Paint the selected class; [ ] change the size"
    cursor = "brush"
    erase_default = False

    def __init__(self, radius: float = 10.0) -> None:
        super().__init__()
        self.radius = float(radius)
        self.path: list[tuple[float, float]] = []
        self._erase = self.erase_default
        self._label: str | None = None
        self._hover: tuple[float, float] | None = None

    @property
    def busy(self) -> bool:
        return bool(self.path)

    def cancel(self) -> None:
        self.path = []
        self._label = None
        super().cancel()
        self._show_outline()

    # -- preview ---------------------------------------------------------------------------
    def _show_outline(self) -> None:
        p = self.preview
        p.ellipses = [(self._hover[0], self._hover[1], self.radius, self.radius)] if self._hover else []
        p.strokes = [(np.array(self.path, dtype=np.float64).reshape(-1, 2), self.radius)] if self.path else []
        p.erase = self._erase
        if self.ctx is not None:
            p.color = self.ctx.color_for(self._label or self.ctx.current_label())
        p.touch()

    # -- events ----------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        if self.ctx is None or ev.button not in ("left", "right"):
            return
        self._erase = self.erase_default or ev.button == "right"
        if not self._erase:
            label = self.ctx.current_label()
            if label is None:
                answer = self.ctx.ask_label()
                if answer is None:
                    return
                label = answer[0]
            self._label = label
        else:
            self._label = self.ctx.current_label()
        self.path = [(ev.x, ev.y)]
        self._hover = (ev.x, ev.y)
        self._show_outline()

    def move(self, ev: PointerEvent) -> None:
        self._hover = (ev.x, ev.y)
        if self.path:
            lx, ly = self.path[-1]
            if abs(ev.x - lx) + abs(ev.y - ly) >= 0.5:
                self.path.append((ev.x, ev.y))
        self._show_outline()

    def release(self, ev: PointerEvent) -> None:
        if not self.path or self.ctx is None:
            return
        self.move(ev)
        edit = self._build_edit()
        self.cancel()
        self._commit(edit)

    def key(self, name: str) -> bool:
        if name in ("[", "]"):
            r = self.radius / RADIUS_STEP if name == "[" else self.radius * RADIUS_STEP
            self.radius = float(min(MAX_RADIUS, max(MIN_RADIUS, round(r, 2))))
            self._show_outline()
            return True
        return super().key(name)

    # -- the edit --------------------------------------------------------------------------
    def _build_edit(self):
        ctx = self.ctx
        assert ctx is not None
        ann, key = ctx.annotation, ctx.key
        stroke = stroke_patch(np.array(self.path), self.radius, ctx.height, ctx.width)
        if stroke is None:
            return None
        if not self._erase:
            assert self._label is not None
            layer = ann.mask_shape(self._label)
            if layer is not None and layer.mask is not None:
                return paint_patch(key, layer, stroke)
            layer = Shape(self._label, np.zeros((0, 2)), "mask",
                          mask=np.zeros((ctx.height, ctx.width), dtype=bool))
            paint = paint_patch(key, layer, stroke)
            if paint is None:
                return None
            return Compound("Paint", [AddShapes(key, [layer], None, "Add mask"), paint])
        # erase: the current class's layer, or every visible mask layer when no class is chosen
        if self._label is not None:
            layer = ann.mask_shape(self._label)
            targets = [layer] if layer is not None else []
        else:
            targets = [s for s in ann.shapes if s.kind.carries_mask and ctx.shape_visible(s)]
        edits = [e for s in targets if s.mask is not None
                 for e in [paint_patch(key, s, stroke, erase=True)] if e is not None]
        if not edits:
            return None
        return edits[0] if len(edits) == 1 else Compound("Erase", edits)


class EraserTool(BrushTool):
    name = "eraser"
    menu_text, shortcuts, tip = "E&raser", ("E",), "Erase mask pixels; [ ] change the size"
    erase_default = True
