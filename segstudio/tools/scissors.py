"""The intelligent-scissors prompt tool (live-wire along edges, OpenCV's IntelligentScissorsMB
through :mod:`segstudio.algorithms.regions`).

May import: numpy, segstudio.core, segstudio.algorithms. No Qt, no torch.
"""

from __future__ import annotations

import logging

import numpy as np

from segstudio.tools.base import PointerEvent
from segstudio.tools.prompt_state import PromptState, PromptTool

log = logging.getLogger(__name__)


class ScissorsTool(PromptTool):
    """Intelligent scissors: click anchors along the outline; the wire follows edges to the pointer.

    Enter, a double click or a click on the first anchor closes the outline (final prompt);
    Backspace removes the last anchor. Each anchor gets a :class:`LiveWire` window built through
    ``state.run_async`` (the panel runs it in a worker: its cost map takes ~0.1-0.5 s, which
    would freeze the window on every click); until it arrives the wire is a straight segment.
    The pointer then only costs a getContour look-up (< 1 ms).
    """

    name = "seg_scissors"

    def __init__(self, state: PromptState) -> None:
        super().__init__(state)
        self._wire = None              # LiveWire of the last anchor, once built
        self._request = 0              # id of the newest wire request (older results are dropped)
        self._pointer: tuple[float, float] | None = None
        self._segments: list[np.ndarray] = []
        self._closed = False

    @property
    def busy(self) -> bool:
        return bool(self.state.fg_points) and not self._closed

    def activate(self, ctx) -> None:  # type: ignore[override]
        self._reset_wire()   # maybe another image
        self._segments, self._closed = [], False
        super().activate(ctx)

    def deactivate(self) -> None:
        """Another tool: an outline not closed yet is dropped (anchors, wire and its drawing),
        as a half-drawn polygon is; a closed one stays as the prompt."""
        if not self._closed and self.state.fg_points:
            self.state.fg_points.clear()
            self.state.wire = None
            self.state.changed(final=True)
        self._segments, self._closed = [], False
        self._reset_wire()
        super().deactivate()
        self.preview.clear()

    def _reset_wire(self) -> None:
        self._wire, self._pointer = None, None
        self._request += 1

    def _request_wire(self, anchor: tuple[float, float]) -> None:
        """Asks for the live wire of ``anchor``; it replaces the straight tail when it arrives."""
        self._reset_wire()
        image = self.state.image_provider()
        if image is None:
            return
        request = self._request

        def build():
            from segstudio.algorithms.regions import LiveWire

            try:
                return LiveWire(image, anchor)
            except Exception as exc:   # an OpenCV failure: the wire stays straight
                log.debug("live wire unavailable: %s", exc)
                return None

        def done(wire) -> None:
            if request != self._request or wire is None:
                return   # a newer anchor, another image or a reset came meanwhile
            self._wire = wire
            if self._pointer is not None and self.state.fg_points and not self._closed:
                self._show(self._path_to(*self._pointer))

        self.state.run_async(build, done)

    def _path_to(self, x: float, y: float) -> np.ndarray:
        """From the last anchor to (x, y): along edges once the wire is built, else straight."""
        if self._wire is not None:
            return self._wire.path_to(x, y)
        ax, ay = self.state.fg_points[-1]
        return np.round(np.array([(ax, ay), (x, y)], np.float64)).astype(np.int32)

    def press(self, ev: PointerEvent) -> None:
        if ev.button != "left" or self.ctx is None:
            return
        pts = self.state.fg_points
        if self._closed:
            self.state.clear(notify=False)
            self._segments, self._closed = [], False
            pts = self.state.fg_points
        x, y = self._clamp(ev)
        if len(pts) >= 3 and np.hypot(x - pts[0][0], y - pts[0][1]) <= ev.tol():
            self._close()
            return
        if pts:
            self._segments.append(self._path_to(x, y))
        pts.append((x, y))
        self._show(None)
        self._request_wire((x, y))
        # listeners see every anchor: the panel says how many are missing, and from the third
        # one on it live-previews the outline (closed by the method) without waiting for Enter
        self.state.changed(final=False)

    def move(self, ev: PointerEvent) -> None:
        if not self.state.fg_points or self._closed:
            return
        self._pointer = self._clamp(ev)
        self._show(self._path_to(*self._pointer))

    def double_click(self, ev: PointerEvent) -> None:
        if len(self.state.fg_points) >= 3:
            self._close()

    def key(self, name: str) -> bool:
        if name == "Return" and len(self.state.fg_points) >= 3:
            self._close()
            return True
        if name == "Backspace" and self.state.fg_points and not self._closed:
            self.state.fg_points.pop()
            if self._segments:
                self._segments.pop()
            self._show(None)
            if self.state.fg_points:
                self._request_wire(self.state.fg_points[-1])
            else:
                self._reset_wire()
            self.state.changed(final=False)
            return True
        if name in ("Escape", "Delete"):
            self._segments, self._closed = [], False
            self._reset_wire()
        return super().key(name)

    def _show(self, tail: np.ndarray | None) -> None:
        parts = list(self._segments) + ([tail] if tail is not None else [])
        self.state.wire = np.concatenate(parts, axis=0) if parts else None
        self.state.draw(self)

    def _close(self) -> None:
        self._closed = True
        self._segments.append(self._path_to(*self.state.fg_points[0]))
        self._reset_wire()
        self._show(None)
        self.state.changed(final=True)
