"""Canvas tools that build a segmentation prompt: box, region of interest, scribbles, clicks
and magic-wand drag (intelligent scissors: :mod:`segstudio.tools.scissors`). The shared state and
the tools' base class are :mod:`segstudio.tools.prompt_state`, which both this module and
scissors import (no import cycle).

Prompt tools never edit the model: they change a shared :class:`PromptState`, which notifies
its listeners (the Auto-segment panel previews and applies). ``final=False`` notifications come
during a drag (live preview), ``final=True`` when a gesture ends. Every tool draws the whole
prompt in its preview so the user sees box, strokes and clicks together.

May import: numpy, segstudio.core, segstudio.algorithms. No Qt, no torch.
"""

from __future__ import annotations

import logging

import numpy as np

from segstudio.tools.base import PointerEvent, Tool
from segstudio.tools.prompt_state import PromptState, PromptTool
from segstudio.tools.scissors import ScissorsTool

__all__ = ["PromptState", "PromptTool", "BoxPromptTool", "RoiPromptTool", "ScribblePromptTool",
           "ClickPromptTool", "MagicWandTool", "ScissorsTool", "prompt_tools"]

log = logging.getLogger(__name__)

class _RectPromptTool(PromptTool):
    field = "box"

    def __init__(self, state: PromptState) -> None:
        super().__init__(state)
        self._start: tuple[float, float] | None = None

    @property
    def busy(self) -> bool:
        return self._start is not None

    def press(self, ev: PointerEvent) -> None:
        if ev.button == "left" and self.ctx is not None:
            self._start = self._clamp(ev)

    def move(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        self.state.draw(self)
        x, y = self._clamp(ev)
        self.preview.rects.append((min(self._start[0], x), min(self._start[1], y),
                                   max(self._start[0], x), max(self._start[1], y)))
        self.preview.touch()

    def release(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        (x0, y0), (x1, y1) = self._start, self._clamp(ev)
        self._start = None
        rect = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if rect[2] - rect[0] >= 2 and rect[3] - rect[1] >= 2:
            setattr(self.state, self.field, rect)
            self.state.changed()
        self.state.draw(self)

    def cancel(self) -> None:
        self._start = None
        super().cancel()


class BoxPromptTool(_RectPromptTool):
    """Drag a box around the object (GrabCut / box graph cut)."""

    name = "seg_box"


class RoiPromptTool(_RectPromptTool):
    """Drag the region of interest the method runs on (Delete clears it)."""

    name = "seg_roi"
    field = "roi"


class ScribblePromptTool(PromptTool):
    """Left drag: foreground stroke; right drag or Shift: background stroke; [ ] change the width."""

    name = "seg_scribble"
    cursor = "brush"

    def __init__(self, state: PromptState, radius: float = 3.0) -> None:
        super().__init__(state)
        self.radius = radius
        self._path: list[tuple[float, float]] | None = None
        self._fg = True

    @property
    def busy(self) -> bool:
        return self._path is not None

    def press(self, ev: PointerEvent) -> None:
        if ev.button in ("left", "right") and self.ctx is not None:
            self._fg = ev.button == "left" and not ev.shift
            self._path = [self._clamp(ev)]
            self._show()

    def _show(self) -> None:
        self.state.draw(self)
        if self._path:
            path = np.array(self._path, dtype=np.float64)
            if self._fg:
                self.preview.strokes.append((path, self.radius))
            else:
                self.preview.polylines.append((path, False))
            self.preview.touch()

    def move(self, ev: PointerEvent) -> None:
        if self._path is not None:
            self._path.append(self._clamp(ev))
            self._show()

    def release(self, ev: PointerEvent) -> None:
        if self._path is None:
            return
        path = np.array(self._path, dtype=np.float64)
        path.setflags(write=False)   # shared with prompts handed to workers
        self.state.strokes.append((path, self.radius, self._fg))
        self._path = None
        self.state.changed()
        self.state.draw(self)

    def key(self, name: str) -> bool:
        if name in ("[", "]"):
            self.radius = max(1.0, self.radius * (0.8 if name == "[" else 1.25))
            return True
        return super().key(name)

    def cancel(self) -> None:
        self._path = None
        super().cancel()


class ClickPromptTool(PromptTool):
    """Left click: foreground point; right click or Shift: background point."""

    name = "seg_click"

    def press(self, ev: PointerEvent) -> None:
        if ev.button not in ("left", "right") or self.ctx is None:
            return
        pt = self._clamp(ev)
        (self.state.fg_points if ev.button == "left" and not ev.shift else self.state.bg_points).append(pt)
        self.state.changed()
        self.state.draw(self)


class MagicWandTool(PromptTool):
    """Click to fill from a pixel; drag away from it to raise the tolerance live (left/down lowers).

    Shift+click adds another seed. The tolerance is ``base`` plus the drag distance in screen
    pixels / 2, so it does not depend on the zoom.
    """

    name = "seg_wand"

    def __init__(self, state: PromptState, base_tolerance: float = 32.0) -> None:
        super().__init__(state)
        self.base_tolerance = base_tolerance
        self._anchor: tuple[float, float, float] | None = None   # x, y, scale

    @property
    def busy(self) -> bool:
        return self._anchor is not None

    def press(self, ev: PointerEvent) -> None:
        if ev.button != "left" or self.ctx is None:
            return
        pt = self._clamp(ev)
        if ev.shift:
            self.state.fg_points.append(pt)
        else:
            self.state.fg_points = [pt]
        self._anchor = (ev.x, ev.y, ev.scale)
        self.state.tolerance = self.base_tolerance
        self.state.changed(final=False)
        self.state.draw(self)

    def move(self, ev: PointerEvent) -> None:
        if self._anchor is None:
            return
        ax, ay, scale = self._anchor
        # right/down raises, left/up lowers: like GIMP's fuzzy select
        delta = ((ev.x - ax) + (ev.y - ay)) * scale / 2.0
        tol = float(np.clip(self.base_tolerance + delta, 0, 255))
        if tol != self.state.tolerance:
            self.state.tolerance = tol
            self.state.changed(final=False)

    def release(self, ev: PointerEvent) -> None:
        if self._anchor is None:
            return
        self._anchor = None
        self.state.changed(final=True)

    def cancel(self) -> None:
        self._anchor = None
        super().cancel()


def prompt_tools(state: PromptState) -> list[Tool]:
    """One instance of every prompt tool, sharing ``state``."""
    return [BoxPromptTool(state), RoiPromptTool(state), ScribblePromptTool(state), ClickPromptTool(state),
            MagicWandTool(state), ScissorsTool(state)]
