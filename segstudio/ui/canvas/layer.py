"""ShapeLayerItem: the image and every shape item, painted from tiles cached at the view scale.

Why: at fit a 6000×4000 image can carry thousands of visible polygons; letting the view paint
them costs a per-item pass (and a smooth downscale of the whole image) on every frame. Here the
shape items live in a private ``store`` scene that no view shows; this one item paints
``TILE``-pixel QImages rendered from the image plus ``store.render`` (Qt's own C++ item painter:
z-order, per-item visibility and styles exactly as the view would paint them) at the view
scale, so a repaint copies pixels and a pan renders only the tiles it has not seen yet (tiles
missing from one frame are rendered as one block, then cut).

Staleness rules: ``invalidate(scene_rect)`` re-renders just that region of the cached tiles (the
scene calls it for every model event, selection change and restyle, with the old and the new
bounds of what changed); a tile is rendered lazily on its first paint; at most ``MAX_TILES``
tiles are kept (least recently painted dropped first).

Zoom: right after a scale change the tiles of the previous scale are drawn scaled (a cheap,
blocky frame, like a map viewer); ``SETTLE_MS`` after the last change — or at once when
the old tiles are a poor fit (zoomed out more than 2× or in more than 4×) — everything is
rendered at the new scale. ``settle()`` forces that now (tests, screenshots).

The image is drawn from a lazily built pyramid of RGB32 QImages (Qt scales RGB32 several times
faster than RGB888): level L keeps every 2^L-th pixel and serves scales in (2^-L-1, 2^-L], so at
fit a 6000×4000 image is rendered from a 3000×2000 level and the full-size conversion is only
paid once the user zooms past 1:2.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QImage, QPainter, QRegion, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

#: device pixels re-rendered around an invalidated rect (cosmetic pens, point markers)
PAD_PX = 8
#: items whose bounding rect misses a tile by this many device pixels still get drawn into it
#: (a cosmetic pen overhangs its item's bounding rect when zoomed out)
MARGIN_PX = 4
#: coarsest pyramid level (1/16 size)
MAX_LEVEL = 4


class ShapeLayerItem(QGraphicsItem):
    TILE = 256
    MAX_TILES = 320          # 256² × 4 B × 320 ≈ 84 MB at most
    SETTLE_MS = 60
    TILE_FORMAT = QImage.Format.Format_RGB32

    def __init__(self, store: QGraphicsScene, background: QBrush) -> None:
        super().__init__()
        self.store = store
        self._bg = QBrush(background)
        self._array: np.ndarray | None = None    # HxWx3 uint8 image
        self._levels: dict[int, QImage] = {}      # pyramid level → RGB32 image
        self._rect = QRectF()
        self._scale = 0.0                         # the scale the cached tiles were rendered at
        self._tiles: dict[tuple[int, int], QImage] = {}
        #: per cached tile, the tile-space pixels (scene × scale) still to render: set by
        #: invalidate(), and by a render limited to what was on screen
        self._dirty: dict[tuple[int, int], QRegion] = {}
        self._scratch = QImage()                  # reused render target, cut into tiles
        self._seen_scale = 0.0                    # the view scale at the last paint
        self._settle_now = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.settle)
        self.renders = 0     # tile renders (whole or dirty part), for tests and benchmarks
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(-0.5)

    # -- content ---------------------------------------------------------------------------
    def set_content(self, image_rgb8: np.ndarray | None, rect: QRectF) -> None:
        """The image (HxWx3 uint8, or None) and the scene area the layer covers."""
        self.prepareGeometryChange()
        self._array = None if image_rgb8 is None else image_rgb8
        self._levels = {}
        self._rect = QRectF(rect)
        self.invalidate_all()

    def invalidate_all(self) -> None:
        self._tiles.clear()
        self._dirty.clear()
        self.update()

    def invalidate(self, rect: QRectF) -> None:
        """Re-renders the cached pixels over ``rect`` (scene coordinates) at the next paint."""
        if not rect.isValid():
            return
        s = self._scale or 1.0
        pad = PAD_PX / s
        r = rect.adjusted(-pad, -pad, pad, pad)
        if not self._rect.contains(r):
            self.prepareGeometryChange()
            self._rect = self._rect.united(r)
        if self._tiles:
            t = self.TILE
            dev = QRect(math.floor(r.left() * s), math.floor(r.top() * s),
                        math.ceil(r.width() * s) + 2, math.ceil(r.height() * s) + 2)
            for ty in range(dev.top() // t, dev.bottom() // t + 1):
                for tx in range(dev.left() // t, dev.right() // t + 1):
                    if (tx, ty) in self._tiles:
                        part = QRegion(dev.intersected(QRect(tx * t, ty * t, t, t)))
                        old = self._dirty.get((tx, ty))
                        self._dirty[(tx, ty)] = part if old is None else old.united(part)
        self.update(r)

    def settle(self) -> None:
        """Renders at the view's current scale at the next paint (ends a zoom preview)."""
        self._timer.stop()
        self._settle_now = True
        self.update()

    def tile_count(self) -> int:
        return len(self._tiles)

    @property
    def tile_scale(self) -> float:
        """The scale the cached tiles hold (differs from the view's during a zoom preview)."""
        return self._scale

    # -- QGraphicsItem ---------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        world = painter.worldTransform()
        s = world.m11()
        if world.m12() or world.m21() or s <= 0 or abs(world.m22() - s) > 1e-9 * s:
            self._paint_direct(painter, option.exposedRect)   # rotated/sheared: no cache
            return
        if s != self._scale:
            k = s / self._scale if self._scale else 0.0
            if self._settle_now or not self._tiles or not 0.5 <= k <= 4.0:
                self._scale = s
                self._tiles.clear()
                self._dirty.clear()
                self._timer.stop()
            elif s != self._seen_scale:
                self._timer.start(self.SETTLE_MS)   # (re)started: settles after the last zoom step
        self._seen_scale = s
        self._settle_now = False
        exposed = option.exposedRect.intersected(self._rect)
        if exposed.isEmpty():
            return
        ts = self._scale                  # tile pixels per scene unit
        k = s / ts                        # device pixels per tile pixel (1 unless previewing)
        t = self.TILE
        x0, y0 = math.floor(exposed.left() * ts), math.floor(exposed.top() * ts)
        x1, y1 = math.ceil(exposed.right() * ts), math.ceil(exposed.bottom() * ts)
        if k == 1.0:
            # pixel copies: an integer device offset keeps them crisp
            painter.setWorldTransform(QTransform.fromTranslate(round(world.dx()), round(world.dy())))
        else:   # zoom preview: a transient frame, nearest-pixel scaling is the cheap one
            painter.setWorldTransform(QTransform(k, 0, 0, k, world.dx(), world.dy()))
        want = QRect(x0, y0, x1 - x0, y1 - y0)
        keys = [(tx, ty) for ty in range(y0 // t, (y1 - 1) // t + 1) for tx in range(x0 // t, (x1 - 1) // t + 1)]
        todo = QRegion()   # what this frame shows and no tile holds yet
        for key in keys:
            if key not in self._tiles:
                todo = todo.united(QRegion(QRect(key[0] * t, key[1] * t, t, t).intersected(want)))
            elif key in self._dirty:
                todo = todo.united(self._dirty[key].intersected(want))
        if not todo.isEmpty():
            self._render_into_tiles(todo, keys)
        for key in keys:
            img = self._tiles.pop(key)
            self._tiles[key] = img   # re-inserted last: the dict order is the LRU order
            part = want.intersected(QRect(key[0] * t, key[1] * t, t, t))
            if not part.isEmpty():
                painter.drawImage(part.topLeft(), img, part.translated(-key[0] * t, -key[1] * t))
        painter.setWorldTransform(world)
        while len(self._tiles) > self.MAX_TILES:
            old = next(iter(self._tiles))
            del self._tiles[old]
            self._dirty.pop(old, None)

    # -- rendering -------------------------------------------------------------------------
    def _level(self, scale: float) -> tuple[QImage, float, float]:
        """The pyramid image for ``scale`` with its (scene px per level px, scene offset)."""
        lv = 0 if scale >= 0.5 else min(MAX_LEVEL, int(math.floor(-math.log2(scale))))
        img = self._levels.get(lv)
        if img is None:
            step = 1 << lv
            a = np.ascontiguousarray(self._array[::step, ::step])
            rgb = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888)
            img = rgb.convertToFormat(QImage.Format.Format_RGB32)   # a copy: ``a`` may go
            self._levels[lv] = img
        step = float(1 << lv)
        # level pixel i is image pixel step*i: its centre sits at scene step*i + 0.5
        return img, step, -(step - 1.0) / 2.0

    def _render_into_tiles(self, todo: QRegion, keys: list[tuple[int, int]]) -> None:
        """Renders ``todo`` (tile space) in one pass — one walk over the image and the shapes, a
        shape spanning tiles drawn once — into a scratch image, then copies it into the tiles
        (creating missing ones; what they hold outside ``todo`` stays dirty)."""
        t = self.TILE
        box = todo.boundingRect()
        if self._scratch.width() < box.width() or self._scratch.height() < box.height():
            self._scratch = QImage(max(box.width(), self._scratch.width()),
                                   max(box.height(), self._scratch.height()), self.TILE_FORMAT)
        self._render(self._scratch, box.topLeft(), todo)
        for key in keys:
            rect = QRect(key[0] * t, key[1] * t, t, t)
            part = todo.intersected(rect)
            if part.isEmpty():
                continue
            tile = self._tiles.get(key)
            if tile is None:
                tile = self._tiles[key] = QImage(t, t, self.TILE_FORMAT)
                dirty = QRegion(rect)
            else:
                dirty = self._dirty.get(key, QRegion())
            p = QPainter(tile)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            p.setClipRegion(part.translated(-rect.topLeft()))
            p.drawImage(box.topLeft() - rect.topLeft(), self._scratch)
            p.end()
            dirty = dirty.subtracted(part)
            if dirty.isEmpty():
                self._dirty.pop(key, None)
            else:
                self._dirty[key] = dirty

    def _render(self, img: QImage, origin: QPoint, region: QRegion) -> None:
        """Renders image + shapes into ``img``, whose pixel (0, 0) is tile-space pixel ``origin``,
        inside ``region`` (tile space) only."""
        self.renders += 1
        s = self._scale
        ox, oy = origin.x(), origin.y()
        local = region.translated(-ox, -oy)
        box = local.boundingRect()
        p = QPainter(img)
        p.setClipRegion(local)
        p.fillRect(box, self._bg)
        if self._array is not None:
            level, step, off = self._level(s)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 1.0)   # crisp pixels zoomed in
            p.setTransform(QTransform(s * step, 0, 0, s * step, s * off - ox, s * off - oy))
            p.drawImage(QPointF(0, 0), level)
            p.resetTransform()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        m = MARGIN_PX
        # one render per rect of the region: a pan exposes an L of two thin strips, whose
        # bounding box would make every visible item paint (clipped away) again
        for rect in (local if local.rectCount() <= 8 else [box]):
            p.setClipRect(rect)
            p.setClipRegion(local, Qt.ClipOperation.IntersectClip)
            target = QRectF(rect).adjusted(-m, -m, m, m)
            source = QRectF((ox + target.x()) / s, (oy + target.y()) / s, target.width() / s,
                            target.height() / s)
            self.store.render(p, target, source, Qt.AspectRatioMode.IgnoreAspectRatio)
        p.end()

    def _paint_direct(self, painter: QPainter, exposed: QRectF) -> None:
        painter.save()
        painter.setClipRect(exposed)
        painter.fillRect(exposed, self._bg)
        if self._array is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QPointF(0, 0), self._level(1.0)[0])
        self.store.render(painter, exposed, exposed, Qt.AspectRatioMode.IgnoreAspectRatio)
        painter.restore()
