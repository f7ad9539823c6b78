"""MaskItem: a mask shape on the canvas, as premultiplied-ARGB tiles made from its bool mask.

May import: PySide6, numpy, segstudio.core.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from segstudio.core.model import Shape

MASK_ALPHA = 110


class MaskItem(QGraphicsItem):
    """A mask shape as premultiplied-ARGB QImage tiles (TILE × TILE), created only where the mask
    has pixels or was painted.

    ``update_region(bounds)`` rewrites only the pixels of that bbox in the tiles it touches, so a
    brush stroke costs O(stroke bbox), never O(image), wherever on the image it lands.

    With ``lazy`` the tiles are only queued; :meth:`build_some` makes them a time slice at a
    time (the canvas does, from a timer), so a 75-Mpixel layer (~150 ms of tiles) never blocks
    the GUI thread in one go; it appears tile by tile.
    """

    TILE = 512

    def __init__(self, shape: Shape, color: tuple[int, int, int], lazy: bool = False) -> None:
        super().__init__()
        self.shape_ref = shape
        self.selected = False
        self._color = color
        self._tiles: dict[tuple[int, int], QImage] = {}
        self._rect = QRectF()
        self._bbox: tuple[float, float, float, float] | None = None   # of the True pixels, lazily
        self._todo: list[tuple[int, int]] = []   # tiles still to build, the next one last
        self.setAcceptHoverEvents(False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        if lazy:
            self.start_rebuild()
        else:
            self.rebuild()

    def _value(self) -> np.uint32:
        r, g, b = self._color
        a = MASK_ALPHA
        return np.uint32((a << 24) | ((r * a // 255) << 16) | ((g * a // 255) << 8) | (b * a // 255))

    def _tile_bounds(self, ty: int, tx: int) -> tuple[int, int, int, int]:
        m = self.shape_ref.mask
        assert m is not None
        t = self.TILE
        return ty * t, min(m.shape[0], (ty + 1) * t), tx * t, min(m.shape[1], (tx + 1) * t)

    def _write(self, ty: int, tx: int, bounds: tuple[int, int, int, int]) -> None:
        """Copies mask pixels of ``bounds`` (inside tile (ty, tx)) into the tile image."""
        img = self._tiles[(ty, tx)]
        m = self.shape_ref.mask
        assert m is not None
        y0, y1, x0, x1 = bounds
        oy, ox = ty * self.TILE, tx * self.TILE
        buf = np.frombuffer(img.bits(), np.uint32).reshape(img.height(), -1)
        buf[y0 - oy:y1 - oy, x0 - ox:x1 - ox] = np.where(m[y0:y1, x0:x1], self._value(), np.uint32(0))

    def _tiles_over(self, bounds: tuple[int, int, int, int]):
        y0, y1, x0, x1 = bounds
        t = self.TILE
        for ty in range(y0 // t, (max(y1, y0 + 1) - 1) // t + 1):
            for tx in range(x0 // t, (max(x1, x0 + 1) - 1) // t + 1):
                tb = self._tile_bounds(ty, tx)
                sub = (max(y0, tb[0]), min(y1, tb[1]), max(x0, tb[2]), min(x1, tb[3]))
                if sub[1] > sub[0] and sub[3] > sub[2]:
                    yield ty, tx, tb, sub

    def _add_tile(self, ty: int, tx: int, tb: tuple[int, int, int, int]) -> None:
        img = QImage(tb[3] - tb[2], tb[1] - tb[0], QImage.Format.Format_ARGB32_Premultiplied)
        self._tiles[(ty, tx)] = img
        self._write(ty, tx, tb)

    def _update_rect(self) -> None:
        rect = QRectF()
        for ty, tx in self._tiles:
            y0, y1, x0, x1 = self._tile_bounds(ty, tx)
            rect = rect.united(QRectF(x0, y0, x1 - x0, y1 - y0))
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect

    def rebuild(self) -> None:
        """Recreates every tile from the mask."""
        self.start_rebuild()
        self.build_some()
        self.update()

    def start_rebuild(self) -> None:
        """Drops the tiles and queues every tile of the mask for :meth:`build_some`."""
        self._tiles.clear()
        self._bbox = None
        m = self.shape_ref.mask
        self._todo = []
        if m is not None:
            t = self.TILE
            self._todo = [(ty, tx) for ty in range(-(-m.shape[0] // t)) for tx in range(-(-m.shape[1] // t))]
            self._todo.reverse()   # popped from the end: raster order
        self._update_rect()

    @property
    def building(self) -> bool:
        """True while tiles queued by :meth:`start_rebuild` are still to be made."""
        return bool(self._todo)

    def build_some(self, deadline: float | None = None) -> QRectF:
        """Makes queued tiles until ``time.perf_counter()`` passes ``deadline`` (None: all of
        them); returns the scene rect of the tiles made (the caller repaints it)."""
        m = self.shape_ref.mask
        made = QRectF()
        while self._todo and m is not None:
            ty, tx = self._todo.pop()
            tb = self._tile_bounds(ty, tx)
            if (ty, tx) not in self._tiles and m[tb[0]:tb[1], tb[2]:tb[3]].any():
                self._add_tile(ty, tx, tb)
                made = made.united(QRectF(tb[2], tb[0], tb[3] - tb[2], tb[1] - tb[0]))
            if deadline is not None and time.perf_counter() >= deadline:
                break
        if not made.isEmpty():
            self._update_rect()
            self.update(made)
        return made

    def update_region(self, bounds: tuple[int, int, int, int]) -> None:
        if self.shape_ref.mask is None:
            return
        y0, y1, x0, x1 = (int(v) for v in bounds)
        self._bbox = None
        grew = False
        for ty, tx, tb, sub in self._tiles_over((y0, y1, x0, x1)):
            if (ty, tx) in self._tiles:
                self._write(ty, tx, sub)
            else:
                self._add_tile(ty, tx, tb)
                grew = True
        if grew:
            self._update_rect()
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_color(self, color: tuple[int, int, int]) -> None:
        if tuple(color) != tuple(self._color):
            self._color = color
            for (ty, tx) in self._tiles:
                self._write(ty, tx, self._tile_bounds(ty, tx))
            self.update()

    def set_selected(self, value: bool) -> None:
        if value != self.selected:
            self.selected = value
            self.update()

    def tile_pixel(self, x: int, y: int) -> int:
        """The overlay's ARGB value at image pixel (x, y) (0 where no tile) — for tests."""
        t = self.TILE
        img = self._tiles.get((y // t, x // t))
        return 0 if img is None else int(img.pixel(x - (x // t) * t, y - (y // t) * t))

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = option.exposedRect
        for (ty, tx), img in self._tiles.items():
            y0, y1, x0, x1 = self._tile_bounds(ty, tx)
            target = exposed.intersected(QRectF(x0, y0, x1 - x0, y1 - y0))
            if not target.isEmpty():
                painter.drawImage(target, img, target.translated(-x0, -y0))
        if self.selected and self.shape_ref.mask is not None:
            if self._bbox is None:   # cached: a full-mask scan per paint would be too slow
                self._bbox = self.shape_ref.bbox()
            bx0, by0, bx1, by1 = self._bbox
            pen = QPen(QColor(*self._color).lighter(130), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1))
