"""Small drawn icons for the canvas tools (Qt's standard icons have none for drawing).

Painted once with QPainter in the palette's text colour so they follow light and dark themes.

May import: PySide6.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication

_SIZE = 32
_ACCENT = QColor(40, 140, 230)


def _text_color() -> QColor:
    app = QApplication.instance()
    return app.palette().windowText().color() if isinstance(app, QApplication) else QColor(40, 40, 40)


@cache
def tool_icon(name: str) -> QIcon:
    pix = QPixmap(_SIZE, _SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fg = _text_color()
    fill = QColor(_ACCENT)
    fill.setAlpha(90)
    p.setPen(QPen(fg, 2))
    p.setBrush(QBrush(fill))
    if name == "polygon":
        pts = [QPointF(6, 24), QPointF(10, 7), QPointF(24, 5), QPointF(27, 19), QPointF(16, 27)]
        p.drawPolygon(QPolygonF(pts))
        p.setBrush(QBrush(_ACCENT))
        p.setPen(Qt.PenStyle.NoPen)
        for pt in pts:
            p.drawEllipse(pt, 2.5, 2.5)
    elif name == "rectangle":
        p.drawRect(QRectF(6, 8, 20, 16))
    elif name == "circle":
        p.drawEllipse(QRectF(6, 6, 20, 20))
    elif name in ("line", "linestrip"):
        pts = [QPointF(5, 25), QPointF(27, 7)] if name == "line" else \
            [QPointF(4, 24), QPointF(12, 10), QPointF(20, 20), QPointF(28, 6)]
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline(QPolygonF(pts))
        p.setBrush(QBrush(_ACCENT))
        p.setPen(Qt.PenStyle.NoPen)
        for pt in pts:
            p.drawEllipse(pt, 2.5, 2.5)
    elif name == "point":
        p.setBrush(QBrush(_ACCENT))
        p.drawEllipse(QPointF(16, 16), 5, 5)
    elif name in ("brush", "eraser"):
        p.setPen(QPen(_ACCENT if name == "brush" else fg, 7, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        if name == "eraser":
            p.setPen(QPen(QColor(230, 110, 110), 7, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(7, 25), QPointF(20, 12))
        p.setPen(QPen(fg, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(20, 12), QPointF(27, 5))
    else:  # edit: an arrow cursor
        arrow = QPolygonF([QPointF(8, 4), QPointF(8, 26), QPointF(14, 20), QPointF(18, 28),
                           QPointF(22, 26), QPointF(18, 18), QPointF(26, 18)])
        p.setBrush(QBrush(fg.lighter(300) if fg.lightness() < 128 else fg.darker(300)))
        p.drawPolygon(arrow)
    p.end()
    return QIcon(pix)
