"""QGraphicsItems of the canvas: one item per vector shape, the vertex handles of the selection
and the tool preview (the mask shapes' tiled overlay is :mod:`segstudio.ui.canvas.mask_item`).

Speed rules: bounding rects and painter paths are cached and rebuilt only when the shape
changes; pens are cosmetic (constant screen width); items take no hover events and are not
Qt-selectable (hit testing lives in the pure tools); a mask overlay covers only the mask's
painted tiles and is patched in place for a bbox change.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from segstudio.core.model import Shape
from segstudio.tools.base import Preview

FILL_ALPHA = 70
SELECTED_FILL_ALPHA = 120
LINE_PX = 1.0      # cosmetic width 1 uses Qt's fast line path (wider strokes cost ~2x)
HANDLE_PX = 4.0      # half size of a vertex handle, screen pixels
POINT_PX = 4.0       # radius of a point shape, screen pixels
OUTLINE_ERROR_PX = 0.1   # image pixels a curved outline (circle) may stray from the true curve


def _polygon(points: np.ndarray) -> QPolygonF:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    poly = QPolygonF()
    if n:
        # QPolygonF is a contiguous array of (x, y) doubles: fill it from numpy in one copy
        # (5× faster than a QPointF per vertex — it is most of set_document's cost)
        poly.resize(n)
        buf = shiboken6.VoidPtr(poly.data(), n * 16, True)
        np.frombuffer(buf, np.float64)[:] = pts.ravel()
    return poly


def shape_path(shape: Shape) -> QPainterPath:
    """The outline of a vector shape in image coordinates, from its kind (points and other
    marker kinds: a tiny placeholder per point, the markers are drawn at screen size in paint())."""
    path = QPainterPath()
    kind = shape.kind
    pts = shape.points
    if len(pts) == 0:
        return path
    if kind.markers:
        for x, y in pts:
            path.addRect(QRectF(x - 0.5, y - 0.5, 1.0, 1.0))
        return path
    outline = kind.outline(pts, max_error=OUTLINE_ERROR_PX)
    if outline is not None:
        path.addPolygon(_polygon(outline))
        if kind.closed:
            path.closeSubpath()
    return path


def _scale_of(painter: QPainter) -> float:
    t = painter.worldTransform()
    return max(1e-9, float(np.hypot(t.m11(), t.m12())))


_STYLES: dict[tuple[int, bool, bool], tuple[QPen, QBrush]] = {}


def _pen_and_brush(rgb: int, selected: bool, line: bool) -> tuple[QPen, QBrush]:
    """Shared pen and brush per (colour, selected, open line): thousands of shapes of a few
    classes need only a few, and building them per item is a tenth of set_document."""
    key = (rgb, selected, line)
    style = _STYLES.get(key)
    if style is None:
        c = QColor.fromRgb(rgb)
        # width 0 = Qt's 1-px cosmetic pen, drawn exactly like width 1; but a QGraphicsPathItem
        # with a non-zero pen strokes its whole path to find its bounding rect (~15 µs a shape,
        # a third of the first paint of 2,000 shapes), with width 0 it takes the control points
        pen = QPen(c.lighter(130) if selected else c, 2 * LINE_PX if selected else 0.0)
        pen.setCosmetic(True)
        if line:
            brush = QBrush(Qt.BrushStyle.NoBrush)
        else:
            c.setAlpha(SELECTED_FILL_ALPHA if selected else FILL_ALPHA)
            brush = QBrush(c)
        style = _STYLES[key] = (pen, brush)
    return style


class ShapeItem(QGraphicsPathItem):
    """A vector shape: a QGraphicsPathItem, so painting and bounding rects stay in C++ (no Python
    call per item per frame)."""

    def __init__(self, shape: Shape, color: tuple[int, int, int]) -> None:
        super().__init__()
        self.shape_ref = shape
        self.selected = False
        self._color = QColor(*color)
        self.setAcceptHoverEvents(False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._style()
        self.sync()

    def sync(self) -> None:
        """Rebuilds the cached geometry from the shape (after its points changed)."""
        self.setPath(shape_path(self.shape_ref))

    def _style(self) -> None:
        kind = self.shape_ref.kind
        pen, brush = _pen_and_brush(self._color.rgb(), self.selected, not kind.closed and not kind.markers)
        self.setPen(pen)
        self.setBrush(brush)

    def set_color(self, color: tuple[int, int, int]) -> None:
        if QColor(*color) != self._color:
            self._color = QColor(*color)
            self._style()

    def set_selected(self, value: bool) -> None:
        if value != self.selected:
            self.selected = value
            self._style()



class PointShapeItem(ShapeItem):
    """Point shapes: markers drawn at a constant screen size (so Python paints these few)."""

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return super().boundingRect().adjusted(-64, -64, 64, 64)   # room for markers at zoom-out

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        r = POINT_PX / _scale_of(painter)
        painter.setPen(self.pen())
        painter.setBrush(QBrush(self._color))
        for x, y in self.shape_ref.points:
            painter.drawEllipse(QPointF(x, y), r, r)


class HandlesItem(QGraphicsItem):
    """Vertex handles of the selected vector shapes (one item for the whole selection)."""

    def __init__(self) -> None:
        super().__init__()
        self._shapes: list[Shape] = []
        self._rect = QRectF()
        self._scale = 1.0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1e9)

    def set_shapes(self, shapes: list[Shape], scale: float | None = None) -> None:
        self.prepareGeometryChange()
        self._shapes = [s for s in shapes if not s.kind.carries_mask and len(s.points)]
        if scale is not None:
            self._scale = max(scale, 1e-6)
        rect = QRectF()
        for s in self._shapes:
            x0, y0, x1, y1 = s.points[:, 0].min(), s.points[:, 1].min(), s.points[:, 0].max(), s.points[:, 1].max()
            rect = rect.united(QRectF(x0, y0, x1 - x0, y1 - y0))
        pad = 2 * HANDLE_PX / self._scale
        self._rect = rect.adjusted(-pad, -pad, pad, pad) if self._shapes else QRectF()
        self.update()

    def refresh(self, scale: float | None = None) -> None:
        self.set_shapes(self._shapes, scale)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        h = HANDLE_PX / _scale_of(painter)
        pen = QPen(QColor(0, 0, 0), 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        for s in self._shapes:
            for x, y in s.points:
                painter.drawRect(QRectF(x - h, y - h, 2 * h, 2 * h))


class PreviewItem(QGraphicsItem):
    """Draws the active tool's :class:`~segstudio.tools.base.Preview`."""

    def __init__(self) -> None:
        super().__init__()
        self._p = Preview()
        self._rect = QRectF()
        self._scale = 1.0
        self._mask_img: QImage | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1e9 + 1)

    def set_preview(self, preview: Preview, scale: float) -> None:
        self.prepareGeometryChange()
        self._p = preview
        self._scale = max(scale, 1e-6)
        xs: list[float] = []
        ys: list[float] = []
        for pts, _ in preview.polylines:
            if len(pts):
                xs += [float(pts[:, 0].min()), float(pts[:, 0].max())]
                ys += [float(pts[:, 1].min()), float(pts[:, 1].max())]
        for x, y in preview.points + ([preview.highlight] if preview.highlight else []):
            xs.append(x)
            ys.append(y)
        for r in preview.rects:
            xs += [r[0], r[2]]
            ys += [r[1], r[3]]
        for cx, cy, rx, ry in preview.ellipses:
            xs += [cx - rx, cx + rx]
            ys += [cy - ry, cy + ry]
        for pts, rad in preview.strokes:
            if len(pts):
                xs += [float(pts[:, 0].min() - rad), float(pts[:, 0].max() + rad)]
                ys += [float(pts[:, 1].min() - rad), float(pts[:, 1].max() + rad)]
        self._mask_img = None
        if preview.mask_patch is not None:
            (y0, y1, x0, x1), patch = preview.mask_patch
            xs += [x0, x1]
            ys += [y0, y1]
            c = preview.color or (255, 255, 0)
            rgba = np.zeros(patch.shape + (4,), np.uint8)
            rgba[patch] = (*c, 140)
            self._mask_img = QImage(rgba.data, patch.shape[1], patch.shape[0], 4 * patch.shape[1],
                                    QImage.Format.Format_RGBA8888).copy()
        if preview.vertex_hover is not None:
            s, i = preview.vertex_hover
            if i < len(s.points):
                xs.append(float(s.points[i, 0]))
                ys.append(float(s.points[i, 1]))
        if xs:
            pad = 3 * HANDLE_PX / self._scale + 2
            self._rect = QRectF(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad,
                                max(ys) - min(ys) + 2 * pad)
        else:
            self._rect = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        p = self._p
        color = QColor(*(p.color or (255, 255, 0)))
        scale = _scale_of(painter)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._mask_img is not None and p.mask_patch is not None:
            y0, y1, x0, x1 = p.mask_patch[0]
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self._mask_img)
        for pts, rad in p.strokes:
            sc = QColor(255, 255, 255, 120) if p.erase else QColor(color.red(), color.green(), color.blue(), 120)
            pen = QPen(sc, 2 * rad, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if len(pts) == 1:
                painter.drawPoint(QPointF(pts[0, 0], pts[0, 1]))
            else:
                painter.drawPolyline(_polygon(pts))
        pen = QPen(color, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pts, closed in p.polylines:
            poly = _polygon(pts)
            if closed:
                painter.drawPolygon(poly)
            else:
                painter.drawPolyline(poly)
        for cx, cy, rx, ry in p.ellipses:
            painter.drawEllipse(QPointF(cx, cy), rx, ry)
        dash = QPen(QColor(255, 255, 255), 1.0, Qt.PenStyle.DashLine)
        dash.setCosmetic(True)
        painter.setPen(dash)
        for x0, y0, x1, y1 in p.rects:
            painter.drawRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        h = HANDLE_PX / scale
        painter.setPen(pen)
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        for x, y in p.points:
            painter.drawRect(QRectF(x - h, y - h, 2 * h, 2 * h))
        painter.setBrush(QBrush(color))
        if p.highlight is not None:
            x, y = p.highlight
            painter.drawEllipse(QPointF(x, y), 2 * h, 2 * h)
        if p.vertex_hover is not None:
            s, i = p.vertex_hover
            if i < len(s.points):
                painter.drawEllipse(QPointF(s.points[i, 0], s.points[i, 1]), 2 * h, 2 * h)
