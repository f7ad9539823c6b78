"""The prompt under construction, shared by the prompt tools (:mod:`segstudio.tools.prompts`,
:mod:`segstudio.tools.scissors`), and their base class: a tool changes the state, the state
notifies its listeners (the Auto-segment panel previews and applies) and every tool draws the
whole prompt.

May import: numpy, segstudio.core, segstudio.algorithms. No Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from segstudio.algorithms.registry import Prompt
from segstudio.tools.base import PointerEvent, Tool

Listener = Callable[[Prompt, bool], None]


def _run_now(fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
    done(fn())


class PromptState:
    """The prompt under construction, plus what the tools need to draw it."""

    def __init__(self) -> None:
        self.box: tuple[float, float, float, float] | None = None
        self.roi: tuple[float, float, float, float] | None = None
        self.fg_points: list[tuple[float, float]] = []
        self.bg_points: list[tuple[float, float]] = []
        self.strokes: list[tuple[np.ndarray, float, bool]] = []   # (path, radius, is_fg)
        self.size: tuple[int, int] = (0, 0)                       # image (width, height)
        self.tolerance: float | None = None    # set by the magic-wand drag
        self.wire: np.ndarray | None = None     # traced scissors outline so far (preview)
        self.image_provider: Callable[[], np.ndarray | None] = lambda: None
        # how a tool's slow work (building a live-wire window) runs: run_async(fn, done) calls
        # done(fn()) later on this thread. Synchronous here; the Auto-segment panel uses a worker.
        self.run_async: Callable[[Callable[[], Any], Callable[[Any], None]], None] = _run_now
        self._listeners: list[Listener] = []
        self.version = 0

    # -- observers -------------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def changed(self, final: bool = True) -> None:
        self.version += 1
        prompt = self.prompt()
        for fn in list(self._listeners):
            fn(prompt, final)

    # -- mutation --------------------------------------------------------------------------
    def clear(self, keep_roi: bool = True, notify: bool = True) -> None:
        self.box = None
        self.fg_points, self.bg_points, self.strokes = [], [], []
        self.tolerance, self.wire = None, None
        if not keep_roi:
            self.roi = None
        if notify:
            self.changed()

    def prompt(self) -> Prompt:
        """A :class:`Prompt` snapshot. Scribbles go as strokes (path + radius, read-only arrays
        shared with the state): the worker rasterises them, so a stroke on a 24-megapixel
        image costs the GUI thread nothing."""
        fg = [(path, radius) for path, radius, is_fg in self.strokes if is_fg]
        bg = [(path, radius) for path, radius, is_fg in self.strokes if not is_fg]
        return Prompt(self.box, list(self.fg_points), list(self.bg_points), None, None, self.roi, fg, bg)

    def draw(self, tool: Tool) -> None:
        """Puts the whole prompt into ``tool.preview``."""
        p = tool.preview
        p.clear()
        p.rects = [r for r in (self.box, self.roi) if r is not None]
        p.points = list(self.fg_points)
        p.strokes = [(path, r) for path, r, fg in self.strokes if fg]
        p.polylines = [(path, False) for path, _, fg in self.strokes if not fg]
        p.ellipses = [(x, y, 4.0, 4.0) for x, y in self.bg_points]   # background clicks: rings
        if self.wire is not None and len(self.wire) > 1:
            p.polylines.append((self.wire.astype(np.float64), False))
        p.color = (0, 220, 90)
        p.touch()


class PromptTool(Tool):
    """Base of the prompt tools: they share one :class:`PromptState` and draw all of it."""

    cursor = "cross"

    def __init__(self, state: PromptState) -> None:
        super().__init__()
        self.state = state

    def activate(self, ctx) -> None:  # type: ignore[override]
        super().activate(ctx)
        if ctx is not None:
            if self.state.size != ctx.image_size:
                self.state.clear(keep_roi=False, notify=False)
            self.state.size = ctx.image_size
        self.state.draw(self)

    def cancel(self) -> None:
        self.state.draw(self)

    def key(self, name: str) -> bool:
        if name in ("Escape", "Delete", "Backspace"):
            self.state.clear(keep_roi=name != "Delete")
            self.state.draw(self)
            return True
        return False

    def _clamp(self, ev: PointerEvent) -> tuple[float, float]:
        return self.ctx.clamp(ev.x, ev.y) if self.ctx is not None else (ev.x, ev.y)
