"""The AI tools (labelme's names: "AI polygon", "AI mask"): clicks and a box → a Segment-Anything
prompt; the predicted mask (given back by the app) is previewed, Enter adds it as shapes.

Left click: a positive point; right click or Shift+click: a negative point; a left drag: a box.
After each gesture the tool calls ``on_prompt(tool)``; the app decodes off the GUI thread and
calls :meth:`AiTool.set_result` with the mask inside its window (a stale result is the app's to
drop: it knows which prompt a result belongs to through :attr:`AiTool.version`). Return adds the
mask as ONE ``AddShapes`` edit of the current class (a polygon simplified by ``tolerance`` px, or
a mask shape); Escape drops prompt and preview.

May import: numpy, segstudio.core, segstudio.sam (pure parts). No Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segstudio.core.edits import AddShapes
from segstudio.sam.predictor import mask_shapes
from segstudio.tools.base import PointerEvent, Tool

DRAG_PX = 5.0   # screen pixels a press must travel to be a box rather than a click


class AiTool(Tool):
    cursor = "cross"

    def __init__(self, mode: str = "polygon") -> None:
        super().__init__()
        self.mode = mode
        self.name = "ai_polygon" if mode == "polygon" else "ai_mask"
        self.fg: list[tuple[float, float]] = []
        self.bg: list[tuple[float, float]] = []
        self.box: tuple[float, float, float, float] | None = None
        self.tolerance = 1.0
        self.version = 0                     # bumps with every prompt change
        self.result: tuple[tuple[int, int, int, int], np.ndarray] | None = None   # (x0,y0,x1,y1), mask
        self.on_prompt: Callable[[AiTool], None] | None = None
        self._press: tuple[float, float, bool] | None = None   # x, y, negative
        self._drag: tuple[float, float] | None = None

    # -- state ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self.fg or self.bg or self.box or self._press)

    def has_prompt(self) -> bool:
        return bool(self.fg or self.box)

    def prompt(self) -> dict:
        return {"fg": list(self.fg), "bg": list(self.bg), "box": self.box}

    def cancel(self) -> None:
        self.fg, self.bg, self.box, self.result = [], [], None, None
        self._press = self._drag = None
        self.version += 1
        self.preview.clear()

    def set_result(self, window: tuple[int, int, int, int], mask: np.ndarray | None) -> None:
        """The decoded mask for the current prompt (``mask`` covers ``window``)."""
        self.result = None if mask is None or not mask.any() else (window, mask)
        self._draw()

    # -- events --------------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        if self.ctx is None or ev.button not in ("left", "right"):
            return
        x, y = self.ctx.clamp(ev.x, ev.y)
        self._press = (x, y, ev.button == "right" or ev.shift)
        self._drag = None

    def move(self, ev: PointerEvent) -> None:
        if self._press is None or self.ctx is None:
            return
        x0, y0, negative = self._press
        x, y = self.ctx.clamp(ev.x, ev.y)
        if not negative and (self._drag or max(abs(x - x0), abs(y - y0)) >= ev.tol(DRAG_PX)):
            self._drag = (x, y)
            self._draw()

    def release(self, ev: PointerEvent) -> None:
        if self._press is None or self.ctx is None:
            return
        x0, y0, negative = self._press
        drag, self._press, self._drag = self._drag, None, None
        if drag is not None:
            x1, y1 = drag
            if abs(x1 - x0) >= 2 and abs(y1 - y0) >= 2:
                self.box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        elif negative:
            self.bg.append((x0, y0))
        else:
            self.fg.append((x0, y0))
        self._changed()

    def key(self, name: str) -> bool:
        if name == "Escape" and (self.busy or self.result is not None):
            self.cancel()
            return True
        if name in ("Return", "Enter") and self.result is not None:
            return self.accept()
        if name == "Backspace" and (self.fg or self.bg):   # undo the last click
            (self.bg if self.bg and (not self.fg or len(self.bg) >= len(self.fg)) else self.fg).pop()
            self._changed()
            return True
        return False

    def accept(self) -> bool:
        """Adds the previewed mask as shapes of the current class: one edit, one undo step."""
        if self.ctx is None or self.result is None:
            return False
        label = self.ctx.current_label()
        if not label:
            asked = self.ctx.ask_label()
            if asked is None:
                return True
            label = asked[0]
        shapes = self.shapes(label)
        if not shapes:
            return False
        self._commit(AddShapes(self.ctx.key, shapes, text="AI polygon" if self.mode == "polygon" else "AI mask"))
        self.cancel()
        return True

    def shapes(self, label: str) -> list:
        (x0, y0, x1, y1), m = self.result   # type: ignore[misc]
        if self.mode == "polygon":   # on the window only: a click on 24 Mpixel stays cheap
            shapes = mask_shapes(m, label, "polygon", tolerance=self.tolerance, largest_only=True)
            for s in shapes:
                s.points = np.asarray(s.points, np.float64) + (x0, y0)
            return shapes
        full = np.zeros((self.ctx.height, self.ctx.width), bool)   # type: ignore[union-attr]
        full[y0:y1, x0:x1] = m
        return mask_shapes(full, label, "mask")

    # -- drawing -------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.version += 1
        self._draw()
        if self.on_prompt is not None:
            self.on_prompt(self)

    def _draw(self) -> None:
        p = self.preview
        p.clear()
        p.points = list(self.fg)
        p.ellipses = [(x, y, 4.0, 4.0) for x, y in self.bg]   # negative clicks: rings
        if self.box is not None:
            p.rects.append(self.box)
        if self._drag is not None and self._press is not None:
            (x0, y0), (x1, y1) = self._press[:2], self._drag
            p.rects.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        if self.result is not None:
            (x0, y0, x1, y1), m = self.result
            p.mask_patch = ((y0, y1, x0, x1), m)
        p.color = (0, 200, 255)
        p.touch()
