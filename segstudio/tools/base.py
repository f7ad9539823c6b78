"""The pure canvas-tool protocol: pointer events in image coordinates → at most one Edit per gesture.

A tool never touches Qt. The canvas (``segstudio.ui.canvas``) translates Qt mouse/key events
into :class:`PointerEvent` / key names, forwards them to the active tool, and after every event
redraws :attr:`Tool.preview` when :attr:`Preview.version` changed and applies
:attr:`Tool.cursor`. When a gesture is finished the tool builds ONE Edit and calls
``ctx.push(edit)`` exactly once (one gesture = one Edit = one undo step); during a drag only the
preview changes, the model is untouched until release.

Keys are plain strings: "Escape", "Return", "Backspace", "Delete", "[", "]" (others may be
passed through; a tool returns False for keys it does not handle).

Cursor hints (strings the canvas maps to Qt cursors): "arrow", "cross", "pointing", "move",
"drag", "brush" (the preview draws the brush outline), "forbidden".

May import: numpy, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from segstudio.core.edits import Edit
from segstudio.core.model import ImageAnnotation, Project, Shape

#: Hit tolerance in *screen* pixels; divide by ``PointerEvent.scale`` for image pixels.
HIT_PX = 6.0


@dataclass(frozen=True)
class PointerEvent:
    """A pointer event in image coordinates.

    ``button`` is the button that was pressed/released ("left", "right", "middle"); for moves it
    is the held button or "" when none is held (hover). ``scale`` = screen px per image px.
    """

    x: float
    y: float
    button: str = "left"
    modifiers: frozenset[str] = frozenset()
    scale: float = 1.0

    @property
    def ctrl(self) -> bool:
        return "ctrl" in self.modifiers

    @property
    def shift(self) -> bool:
        return "shift" in self.modifiers

    @property
    def alt(self) -> bool:
        return "alt" in self.modifiers

    def tol(self, px: float = HIT_PX) -> float:
        """``px`` screen pixels expressed in image pixels."""
        return px / max(self.scale, 1e-9)

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y], dtype=np.float64)


def pointer(x: float, y: float, button: str = "left", mods: str | frozenset[str] | set[str] = "",
            *, scale: float = 1.0) -> PointerEvent:
    """Convenience constructor: ``pointer(3, 4, mods="ctrl shift")``."""
    m = frozenset(mods.split()) if isinstance(mods, str) else frozenset(mods)
    return PointerEvent(float(x), float(y), button, m, scale)


@dataclass
class Preview:
    """What the canvas draws on top of the shapes while a gesture is in progress.

    All coordinates are image pixels. ``color`` is an (r, g, b) hint (None → the canvas picks).
    ``polylines``: (points (N, 2), closed). ``points``: vertex markers. ``highlight``: one
    emphasised vertex (e.g. "click here to close"). ``rects``: (x0, y0, x1, y1) outlines (the
    rubber band). ``ellipses``: (cx, cy, rx, ry). ``strokes``: brush paths (points (N, 2),
    radius) drawn as thick round polylines; ``erase`` draws them as erasing. ``mask_patch``:
    ((y0, y1, x0, x1), bool array) drawn as a translucent overlay. ``vertex_hover``:
    (Shape, vertex index) hovered by the edit tool (drawn highlighted). ``version`` increments on
    every change so the canvas redraws only when needed.
    """

    polylines: list[tuple[np.ndarray, bool]] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    highlight: tuple[float, float] | None = None
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)
    ellipses: list[tuple[float, float, float, float]] = field(default_factory=list)
    strokes: list[tuple[np.ndarray, float]] = field(default_factory=list)
    erase: bool = False
    mask_patch: tuple[tuple[int, int, int, int], np.ndarray] | None = None
    vertex_hover: tuple[Shape, int] | None = None
    color: tuple[int, int, int] | None = None
    version: int = 0

    def clear(self) -> None:
        """Empties everything (keeps and bumps ``version``)."""
        v = self.version
        self.__init__()  # type: ignore[misc]
        self.version = v + 1

    def touch(self) -> None:
        self.version += 1

    def is_empty(self) -> bool:
        return not (self.polylines or self.points or self.highlight or self.rects or self.ellipses
                    or self.strokes or self.mask_patch or self.vertex_hover)


@dataclass
class ToolContext:
    """What a tool may use: the current document and callbacks into the application.

    ``push(edit)`` applies and records an edit (History.push / controller.push).
    ``ask_label()`` returns (label, group_id) or None when the user cancels.
    ``selection`` is the canvas selection (list of Shape); tools change it through
    :meth:`set_selection`, which notifies ``on_selection`` (the canvas emits its signal).
    ``image_size`` is (width, height).
    """

    key: str
    annotation: ImageAnnotation
    project: Project
    current_label: Callable[[], str | None]
    ask_label: Callable[[], tuple[str, int | None] | None]
    push: Callable[[Edit], None]
    image_size: tuple[int, int]
    selection: list[Shape] = field(default_factory=list)
    on_selection: Callable[[list[Shape]], None] | None = None

    @property
    def width(self) -> int:
        return self.image_size[0]

    @property
    def height(self) -> int:
        return self.image_size[1]

    def set_selection(self, shapes: list[Shape]) -> None:
        new = list(dict.fromkeys(shapes))   # keep order, drop duplicates
        if [s.uid for s in new] == [s.uid for s in self.selection]:
            return
        self.selection = new
        if self.on_selection is not None:
            self.on_selection(list(new))

    def shape_visible(self, shape: Shape) -> bool:
        """A shape is shown (and hit-testable) if it and its class are visible."""
        if not shape.visible:
            return False
        cls = self.project.get_class(shape.label)
        return cls is None or cls.visible

    def color_for(self, label: str | None) -> tuple[int, int, int] | None:
        cls = self.project.get_class(label) if label else None
        return None if cls is None else tuple(cls.color)  # type: ignore[return-value]

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) clamped to the image rectangle."""
        return min(max(x, 0.0), float(self.width)), min(max(y, 0.0), float(self.height))


class Tool:
    """Base class: every handler is a no-op; subclasses override what they need.

    The canvas calls :meth:`activate` with a context when the tool becomes active or the
    document changes, and :meth:`deactivate` (which cancels) when it stops being active.
    """

    name: str = "tool"
    cursor: str = "arrow"
    #: its row of the window's action table (ui/actions.py makes it from these): menu text with
    #: its & mnemonic, shortcuts, tooltip, and a short toolbar label when the menu text is long
    menu_text: str = ""
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    short: str = ""

    def __init__(self) -> None:
        self.ctx: ToolContext | None = None
        self.preview = Preview()

    # -- lifecycle -------------------------------------------------------------------------
    def activate(self, ctx: ToolContext | None) -> None:
        self.cancel()
        self.ctx = ctx

    def deactivate(self) -> None:
        self.cancel()
        self.ctx = None

    @property
    def busy(self) -> bool:
        """True while a gesture is in progress (the canvas will not switch images under it)."""
        return False

    # -- events ----------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        pass

    def move(self, ev: PointerEvent) -> None:
        pass

    def release(self, ev: PointerEvent) -> None:
        pass

    def double_click(self, ev: PointerEvent) -> None:
        pass

    def key(self, name: str) -> bool:
        """Handles key ``name``; returns True if it was consumed."""
        if name == "Escape" and self.busy:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        """Abandons the gesture in progress without touching the model."""
        self.preview.clear()

    # -- helpers ---------------------------------------------------------------------------
    def _commit(self, edit: Edit | None) -> bool:
        """Pushes ``edit`` (if any) through the context; returns True if pushed."""
        if edit is None or self.ctx is None:
            return False
        self.ctx.push(edit)
        return True
