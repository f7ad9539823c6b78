"""Qt input → tool events for :class:`~segstudio.ui.canvas.view.CanvasView` (a mixin).

Mouse and key events become :class:`~segstudio.tools.base.PointerEvent` / key names for the
active tool; navigation (Ctrl+wheel zoom around the cursor, wheel scroll, middle-drag and
Space+drag pan) is handled here and never reaches tools; the tool keys win over window
shortcuts while the canvas has focus. The cursor position and pixel value go to
``cursor_moved``.

May import: PySide6, numpy, segstudio.tools.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QCursor, QKeyEvent, QMouseEvent, QWheelEvent

from segstudio.tools.base import PointerEvent

WHEEL_STEP = 1.25

_BUTTONS = {Qt.MouseButton.LeftButton: "left", Qt.MouseButton.RightButton: "right",
            Qt.MouseButton.MiddleButton: "middle"}
_KEYS = {Qt.Key.Key_Escape: "Escape", Qt.Key.Key_Return: "Return", Qt.Key.Key_Enter: "Return",
         Qt.Key.Key_Backspace: "Backspace", Qt.Key.Key_Delete: "Delete",
         Qt.Key.Key_BracketLeft: "[", Qt.Key.Key_BracketRight: "]"}


class CanvasInput:
    """The event half of the canvas view (mixed in before QGraphicsView, so these overrides
    are the ones Qt calls). Uses the view's tool, ``ctx``, ``image``, zoom and pan state."""

    def _to_scene(self, pos: QPointF) -> QPointF:
        inv, _ = self.viewportTransform().inverted()
        return inv.map(QPointF(pos))

    def _pointer(self, event: QMouseEvent, button: str | None = None) -> PointerEvent:
        p = self._to_scene(event.position())
        mods = event.modifiers()
        m = set()
        if mods & Qt.KeyboardModifier.ControlModifier:
            m.add("ctrl")
        if mods & Qt.KeyboardModifier.ShiftModifier:
            m.add("shift")
        if mods & Qt.KeyboardModifier.AltModifier:
            m.add("alt")
        if button is None:
            button = _BUTTONS.get(event.button(), "")
        # the inverse view transform leaves float noise (40.00000000000001): at most 64x zoom,
        # a thousandth of a pixel is plenty and keeps the JSON coordinates clean
        return PointerEvent(round(p.x(), 3), round(p.y(), 3), button, frozenset(m), self._zoom())

    def _held(self, event: QMouseEvent) -> str:
        for qb, name in _BUTTONS.items():
            if event.buttons() & qb:
                return name
        return ""

    def _emit_cursor(self, x: float, y: float) -> None:
        text = ""
        img = self.image
        if img is not None:
            ix, iy = int(np.floor(x)), int(np.floor(y))
            if 0 <= iy < img.shape[0] and 0 <= ix < img.shape[1]:
                v = img[iy, ix]
                text = ", ".join(str(int(c)) for c in np.atleast_1d(v))
        self.cursor_moved.emit(float(x), float(y), text)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.MiddleButton or (self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(QCursor(Qt.CursorShape.ClosedHandCursor))
            event.accept()
            return
        if self._accepts_input():
            self._tool.press(self._pointer(event))
            self._sync_tool()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._pan_from is not None:
            d = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(round(d.x())))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(round(d.y())))
            event.accept()
            return
        ev = self._pointer(event, self._held(event))
        if self._accepts_input():
            self._tool.move(ev)
            self._sync_tool()
        self._emit_cursor(ev.x, ev.y)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().unsetCursor()
            self._preview_version = -1
            self._sync_tool()
            event.accept()
            return
        if self._accepts_input():
            self._tool.release(self._pointer(event))
            self._sync_tool()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._accepts_input() and self._pan_from is None:
            self._tool.double_click(self._pointer(event))
            self._sync_tool()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120.0
            if steps:
                self.zoom_by(WHEEL_STEP ** steps, event.position())
            event.accept()
            return
        super().wheelEvent(event)

    def event(self, event: QEvent) -> bool:
        # keep the tool keys for the canvas even if a window action has the same shortcut
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            name = _KEYS.get(Qt.Key(event.key()))
            if name is not None and not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                if name in ("[", "]") and self._tool is not None and self._tool.name not in ("brush", "eraser"):
                    return super().event(event)
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self._sync_tool()
            event.accept()
            return
        name = _KEYS.get(Qt.Key(event.key()))
        if name is not None and self._accepts_input():
            handled = self._tool.key(name)
            if not handled and name in ("Delete", "Backspace"):
                handled = self.delete_selected()
            if not handled and name == "Escape" and self.ctx.selection:
                self.ctx.set_selection([])
                handled = True
            self._sync_tool()
            if handled:
                event.accept()
                return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._sync_tool()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._space = False
        super().focusOutEvent(event)
