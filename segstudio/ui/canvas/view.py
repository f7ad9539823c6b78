"""CanvasView: the QGraphicsView that shows one image with its shapes and drives the tools.

See :mod:`segstudio.ui.canvas` for the public API. Qt mouse/key events become tool events in
:mod:`segstudio.ui.canvas.view_input` (mixed in; navigation — zoom, scroll, pan — never reaches
tools); the tool's preview is redrawn only when its version changes.
The scene's tile-cached layer paints the image and the shapes (see layer.py); the view only
fills the background outside it.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPainter
from PySide6.QtWidgets import QFrame, QGraphicsView

from segstudio.core.edits import DeleteShapes
from segstudio.core.model import ImageAnnotation, Project, Shape
from segstudio.tools import default_tools
from segstudio.tools.base import Preview, Tool, ToolContext
from segstudio.ui.canvas.scene import CanvasScene
from segstudio.ui.canvas.view_input import CanvasInput

log = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
_CURSORS = {"arrow": Qt.CursorShape.ArrowCursor, "cross": Qt.CursorShape.CrossCursor,
            "pointing": Qt.CursorShape.PointingHandCursor, "move": Qt.CursorShape.SizeAllCursor,
            "drag": Qt.CursorShape.ClosedHandCursor, "brush": Qt.CursorShape.CrossCursor,
            "forbidden": Qt.CursorShape.ForbiddenCursor}


class CanvasView(CanvasInput, QGraphicsView):
    cursor_moved = Signal(float, float, str)   # image x, y, pixel value text ("" outside)
    selection_changed = Signal(list)           # list[Shape]
    tool_changed = Signal(str)
    zoom_changed = Signal(float)               # screen px per image px

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._scene = CanvasScene(self)
        self._scene.removed_hook = self._on_shapes_removed
        self.setScene(self._scene)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.project: Project | None = None
        self.key: str | None = None
        self.annotation: ImageAnnotation | None = None
        self.image: np.ndarray | None = None
        self.ctx: ToolContext | None = None
        self._tools: dict[str, Tool] = {}
        self._tool: Tool | None = None
        self._preview_version = -1
        self._pan_from: QPointF | None = None
        self._space = False
        self._loading: str | None = None   # text shown while the next image is decoded
        # "fit" mode: the image follows the window size until the user zooms (as labelme)
        self._fit = True
        for t in default_tools():
            self.register_tool(t)
        self.set_tool("edit")

    # -- document --------------------------------------------------------------------------
    def set_document(self, project: Project, key: str, annotation: ImageAnnotation,
                     image_rgb8: np.ndarray | None, *, push: Callable, ask_label: Callable,
                     current_label: Callable) -> None:
        """Shows ``annotation`` over ``image_rgb8`` (HxWx3 uint8); tools push edits via ``push``."""
        self.clear_document()
        self.project, self.key, self.annotation, self.image = project, key, annotation, image_rgb8
        w, h = ((image_rgb8.shape[1], image_rgb8.shape[0]) if image_rgb8 is not None
                else (annotation.width, annotation.height))
        self.ctx = ToolContext(key, annotation, project, current_label, ask_label, push, (w, h),
                               on_selection=self._on_tool_selection)
        self._scene.set_document(project, annotation, image_rgb8)
        if self._tool is not None:
            self._tool.activate(self.ctx)
            self._sync_tool()
        self.zoom_fit()

    def clear_document(self) -> None:
        had_selection = bool(self.ctx and self.ctx.selection)
        if self._tool is not None:
            self._tool.activate(None)
        self._scene.clear_document()
        self._scene.preview.set_preview(self._tool.preview if self._tool else Preview(), self._zoom())
        self.project = self.key = self.annotation = self.image = None
        self.ctx = None
        if had_selection:
            self.selection_changed.emit([])

    def set_loading(self, text: str | None) -> None:
        """Shows ``text`` over a dimmed canvas and ignores tool input until called with None
        (the next image is being decoded; drawing on the old one now would surprise)."""
        if text == self._loading:
            return
        self._loading = text
        if text and self._tool is not None and self._tool.busy:
            self._tool.cancel()
            self._sync_tool()
        self.viewport().update()

    @property
    def loading(self) -> bool:
        return bool(self._loading)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        layer = self._scene.layer
        layer.exposed_region = event.region()   # a scroll's two strips, not their bounding box
        try:
            super().paintEvent(event)
        finally:
            layer.exposed_region = None

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt API)
        # the shape layer paints every pixel of its rect opaquely (the image and the background
        # colour around it): fill only outside it, not a whole extra viewport per frame
        covered = self._scene.layer.sceneBoundingRect()
        if covered.contains(rect):
            return
        if not covered.intersects(rect):
            super().drawBackground(painter, rect)
            return
        brush = self._scene.backgroundBrush()
        for r in (QRectF(rect.left(), rect.top(), rect.width(), covered.top() - rect.top()),
                  QRectF(rect.left(), covered.bottom(), rect.width(), rect.bottom() - covered.bottom()),
                  QRectF(rect.left(), rect.top(), covered.left() - rect.left(), rect.height()),
                  QRectF(covered.right(), rect.top(), rect.right() - covered.right(), rect.height())):
            if r.width() > 0 and r.height() > 0:
                painter.fillRect(r, brush)

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802 (Qt API)
        super().drawForeground(painter, rect)
        if not self._loading:
            return
        painter.save()
        painter.resetTransform()
        area = self.viewport().rect()
        painter.fillRect(area, QColor(0, 0, 0, 140))
        font = QFont(painter.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.5)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), self._loading)
        painter.restore()

    def _accepts_input(self) -> bool:
        return self._tool is not None and self.ctx is not None and not self._loading

    # -- tools -----------------------------------------------------------------------------
    def register_tool(self, tool: Tool) -> None:
        """Adds (or replaces, by name) a tool."""
        old = self._tools.get(tool.name)
        self._tools[tool.name] = tool
        if old is not None and old is self._tool:
            old.deactivate()
            self._tool = tool
            tool.activate(self.ctx)
            self._sync_tool()

    def tools(self) -> dict[str, Tool]:
        return dict(self._tools)

    def tool(self, name: str | None = None) -> Tool | None:
        """The tool called ``name`` (default: the active one)."""
        return self._tool if name is None else self._tools.get(name)

    @property
    def tool_name(self) -> str:
        return self._tool.name if self._tool else ""

    def set_tool(self, name: str) -> None:
        if name not in self._tools:
            raise KeyError(f"no canvas tool named {name!r} (have {sorted(self._tools)})")
        if self._tool is not None and self._tool.name == name:
            return
        if self._tool is not None:
            self._tool.deactivate()
        self._tool = self._tools[name]
        self._tool.activate(self.ctx)
        self._sync_tool()
        self.tool_changed.emit(name)

    def _sync_tool(self) -> None:
        """Redraws the preview if it changed and applies the tool's cursor hint."""
        if self._tool is None:
            return
        p = self._tool.preview
        if p.version != self._preview_version:
            self._preview_version = p.version
            self._scene.preview.set_preview(p, self._zoom())
        cursor = Qt.CursorShape.OpenHandCursor if self._space else _CURSORS.get(
            self._tool.cursor, Qt.CursorShape.ArrowCursor)
        if self.viewport().cursor().shape() != cursor:
            self.viewport().setCursor(QCursor(cursor))

    # -- selection -------------------------------------------------------------------------
    def selected_shapes(self) -> list[Shape]:
        return list(self.ctx.selection) if self.ctx else []

    def select_shapes(self, shapes: list[Shape]) -> None:
        if self.ctx is not None:
            self.ctx.set_selection([s for s in shapes if s.uid in self._scene.items_by_uid])

    def _on_tool_selection(self, shapes: list[Shape]) -> None:
        self._scene.set_selection(shapes)
        self._scene.handles.refresh(self._zoom())
        self.selection_changed.emit(list(shapes))

    def _on_shapes_removed(self, shapes: list[Shape]) -> None:
        if self.ctx is None:
            return
        gone = {s.uid for s in shapes}
        if self._tool is not None and self._tool.busy:
            self._tool.cancel()   # the gesture referred to shapes that are gone
            self._sync_tool()
        if any(s.uid in gone for s in self.ctx.selection):
            self.ctx.set_selection([s for s in self.ctx.selection if s.uid not in gone])

    def delete_selected(self) -> bool:
        """Deletes the selected shapes as one edit (for an Edit → Delete action)."""
        if self.ctx is None or not self.ctx.selection:
            return False
        shapes = list(self.ctx.selection)
        self.ctx.set_selection([])
        self.ctx.push(DeleteShapes(self.ctx.key, shapes, f"Delete {len(shapes)} shape(s)"))
        return True

    def item_count(self) -> int:
        """Number of shape items in the scene (one per shape of the annotation)."""
        return len(self._scene.items_by_uid)

    @property
    def canvas_scene(self) -> CanvasScene:
        return self._scene

    # -- zoom ------------------------------------------------------------------------------
    def _zoom(self) -> float:
        t = self.transform()
        return float(np.hypot(t.m11(), t.m12())) or 1.0

    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self._zoom()

    def _zoom_done(self) -> None:
        z = self._zoom()
        self._scene.handles.refresh(z)
        if self._tool is not None:
            self._scene.preview.set_preview(self._tool.preview, z)
        self.zoom_changed.emit(z)

    def zoom_fit(self) -> None:
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        z = min(max(self._zoom(), MIN_ZOOM), MAX_ZOOM)
        self.setTransform(self.transform().fromScale(z, z))
        self.centerOn(rect.center())
        self._fit = True
        self._zoom_done()

    @property
    def fit_mode(self) -> bool:
        """True while the image is refitted whenever the canvas changes size."""
        return self._fit

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._fit and self.ctx is not None:
            self.zoom_fit()

    def zoom_100(self) -> None:
        self._fit = False
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)
        self._zoom_done()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zooms by ``factor`` keeping the scene point under ``anchor`` (viewport coordinates,
        default: the viewport centre) where it is."""
        self._fit = False
        z = self._zoom()
        factor = min(max(z * factor, MIN_ZOOM), MAX_ZOOM) / z
        if abs(factor - 1.0) < 1e-9:
            return
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self._to_scene(anchor)
        self.scale(factor, factor)
        after = self.mapFromScene(before)
        # mapFromScene rounds to whole pixels: good enough for scroll bars
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + int(after.x() - anchor.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + int(after.y() - anchor.y()))
        self._zoom_done()

    # -- event translation -----------------------------------------------------------------
    def scene_rect_of_image(self) -> QRectF:
        return self._scene.sceneRect()

