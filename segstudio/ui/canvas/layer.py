"""ShapeLayerItem: the image and every shape item, painted from tiles cached at the view scale.

Why: at fit a 6000×4000 image can carry thousands of visible polygons; letting the view paint
them costs a per-item pass (and a smooth downscale of the whole image) on every frame. Here the
shape items live in a private ``store`` scene that no view shows; this one item paints
``TILE``-pixel QImages rendered from the image plus ``store.render`` (Qt's own C++ item painter:
z-order, per-item visibility and styles exactly as the view would paint them) at the view
scale, so a repaint copies pixels and a pan renders only the strips it has not seen yet (what
a frame needs and no tile holds is rendered in one pass into a scratch image, then copied into
the tiles; parts of a tile off screen stay "dirty" until shown).

Staleness rules: ``invalidate(scene_rect)`` re-renders just that region of the cached tiles (the
scene calls it for every model event, selection change and restyle, with the old and the new
bounds of what changed); a tile is rendered lazily on its first paint; at most ``MAX_TILES``
tiles are kept (least recently painted dropped first).

Zoom: right after a scale change the tiles of the previous scale are drawn scaled (a cheap,
blocky frame, like a map viewer); ``SETTLE_MS`` after the last change — or at once when
the old tiles are a poor fit (zoomed out more than 2× or in more than 4×) — everything is
rendered at the new scale. ``settle()`` forces that now (tests, screenshots). Tiles hold device
pixels (HiDPI screens get full resolution). Painting for anything but a view (``render`` into
an image) and rotated views bypass the cache.

The image is drawn from :class:`ImagePyramid` (RGB32 levels, every 2^L-th pixel): at fit a
6000×4000 image is rendered from a 1500×1000 level built in milliseconds, and the full-size
RGB32 copy is made in a background thread after the first paint, so the first paint never
waits for it.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QImage, QPainter, QRegion, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

#: device pixels re-rendered around an invalidated rect (cosmetic pens, point markers)
PAD_PX = 8
#: items whose bounding rect misses a tile by this many device pixels still get drawn into it
#: (a cosmetic pen overhangs its item's bounding rect when zoomed out)
MARGIN_PX = 4
#: coarsest pyramid level (1/16 size)
MAX_LEVEL = 4


def _pixels(img: QImage) -> np.ndarray:
    """A writable (rows, columns) uint32 view of a 32-bit QImage's pixels."""
    return np.frombuffer(img.bits(), np.uint32).reshape(img.height(), img.bytesPerLine() // 4)[:, :img.width()]


class ImagePyramid:
    """RGB32 copies of an HxWx3 uint8 image at full size (level 0) and every 2^L-th pixel (level
    L ≥ 1). Level L serves view scales in (2^-L-1, 2^-L] (Qt scales RGB32 several times faster
    than RGB888, and a small level faster than a big one).

    ``level_for`` builds a missing coarse level on the spot (milliseconds); level 0, a copy of
    the whole image, is made by ``start_background`` in a daemon thread (Qt and numpy release
    the GIL while copying) and only waited for if a render needs it sooner.
    """

    def __init__(self, image_rgb8: np.ndarray) -> None:
        self._rgb = np.ascontiguousarray(image_rgb8)
        self._levels: dict[int, tuple[QImage, np.ndarray]] = {}   # level → (image, its pixels)
        self._thread: threading.Thread | None = None
        self.scheduled = False     # start_background is due (set by the layer)
        self.cancelled = False     # the image is no longer shown: stop between levels

    def _from_rgb(self, lv: int) -> tuple[QImage, np.ndarray]:
        a = self._rgb if lv == 0 else np.ascontiguousarray(self._rgb[::1 << lv, ::1 << lv])
        rgb = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888)
        return rgb.convertToFormat(QImage.Format.Format_RGB32), np.empty(0)   # owns its pixels

    def _build_all(self) -> None:
        """Level 0, then each coarser level as a strided view of the one before (no conversion)."""
        if self.cancelled:
            return
        prev = self._levels.get(0) or self._from_rgb(0)
        self._levels.setdefault(0, prev)
        for lv in range(1, MAX_LEVEL + 1):
            if self.cancelled:
                return
            if lv not in self._levels:
                img = prev[0]
                px = np.frombuffer(img.constBits(), np.uint32).reshape(img.height(), -1)[:, :img.width()]
                sub = np.ascontiguousarray(px[::2, ::2])
                self._levels.setdefault(lv, (QImage(sub.data, sub.shape[1], sub.shape[0], sub.strides[0],
                                                    QImage.Format.Format_RGB32), sub))
            prev = self._levels[lv]

    def start_background(self) -> None:
        if self._thread is None and not self.cancelled:
            self._thread = threading.Thread(target=self._build_all, name="canvas-pyramid", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Blocks until the background build (if started) is done."""
        if self._thread is not None:
            self._thread.join()

    def level_for(self, scale: float) -> tuple[QImage, float, float]:
        """The level image for ``scale``, its size step (image px per level px) and the scene
        offset of its pixel grid."""
        lv = 0 if scale >= 0.5 else min(MAX_LEVEL, int(math.floor(-math.log2(scale))))
        entry = self._levels.get(lv)
        if entry is None:
            if lv == 0 and self._thread is not None:
                self.wait()
                entry = self._levels.get(0) or self._levels.setdefault(0, self._from_rgb(0))
            else:
                entry = self._levels.setdefault(lv, self._from_rgb(lv))
        step = float(1 << lv)
        # level pixel i is image pixel step*i: its centre sits at scene step*i + 0.5
        return entry[0], step, -(step - 1.0) / 2.0


class ShapeLayerItem(QGraphicsItem):
    TILE = 256
    MAX_TILES = 160          # 256² × 4 B × 160 ≈ 42 MB at most (a 1600×1000 view shows ~40)
    SETTLE_MS = 60
    TILE_FORMAT = QImage.Format.Format_RGB32

    def __init__(self, store: QGraphicsScene, background: QBrush, owner: QObject | None = None) -> None:
        super().__init__()
        self.store = store
        self._bg = QBrush(background)
        self._pyramid: ImagePyramid | None = None
        self._rect = QRectF()
        self._scale = 0.0                         # the scale the cached tiles were rendered at
        self._tiles: dict[tuple[int, int], QImage] = {}
        #: per cached tile, the tile-space pixels (scene × scale) still to render: set by
        #: invalidate(), and by a render limited to what was on screen
        self._dirty: dict[tuple[int, int], QRegion] = {}
        self._scratch = QImage()                  # reused render target, cut into tiles
        self._dpr = 1.0                           # device pixels per logical pixel of the tiles
        self._view_scale = 0.0                    # view scale (logical) the tiles were made for
        self._seen_scale = 0.0                    # the view scale at the last paint
        self._settle_now = False
        # parented to the canvas scene (``owner``) so it dies with it; a QGraphicsItem is no QObject
        self._timer = QTimer(owner if owner is not None else store)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_settle_timer)
        self.renders = 0     # tile renders (whole or dirty part), for tests and benchmarks
        #: the paint event's region in viewport pixels, set by the view around each paint
        #: (exposedRect is only its bounding rect)
        self.exposed_region: QRegion | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(-0.5)

    # -- content ---------------------------------------------------------------------------
    def set_content(self, image_rgb8: np.ndarray | None, rect: QRectF) -> None:
        """The image (HxWx3 uint8, or None) and the scene area the layer covers."""
        self.prepareGeometryChange()
        if self._pyramid is not None:
            self._pyramid.cancelled = True
        self._pyramid = None if image_rgb8 is None else ImagePyramid(image_rgb8)
        self._rect = QRectF(rect)
        self.invalidate_all()

    def set_store(self, store: QGraphicsScene) -> None:
        """Paints the items of ``store`` from now on (the canvas swapped its store scene)."""
        self.store = store
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

    def _on_settle_timer(self) -> None:
        # the scene (and this item's C++ side) may be gone when a late timer fires
        if shiboken6.isValid(self):
            self.settle()

    def settle(self) -> None:
        """Renders at the view's current scale at the next paint (ends a zoom preview)."""
        self._timer.stop()
        self._settle_now = True
        self.update()

    def tile_count(self) -> int:
        return len(self._tiles)

    @property
    def tile_scale(self) -> float:
        """The view scale the cached tiles were rendered for (another one during a zoom preview)."""
        return self._view_scale

    # -- QGraphicsItem ---------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        world = painter.worldTransform()
        vs = world.m11()
        if widget is None or world.m12() or world.m21() or vs <= 0 or abs(world.m22() - vs) > 1e-9 * vs:
            # not for a view (QGraphicsScene.render into an image), or rotated/sheared: no cache
            self._paint_direct(painter, option.exposedRect)
            return
        # Tile space is device pixels: scene × view scale × device pixel ratio (HiDPI screens get
        # full resolution; the tile images carry the ratio so items size their markers as on
        # screen). Painting in tile space on the view's painter: world = (1/dpr) × tile → device.
        device = painter.device()
        dpr = round(device.devicePixelRatioF(), 3) if device is not None else 1.0
        if dpr != self._dpr:
            self._dpr = dpr
            self._tiles.clear()
            self._dirty.clear()
        s = vs * dpr
        if s != self._scale:
            k = s / self._scale if self._scale else 0.0
            if self._settle_now or not self._tiles or not 0.5 <= k <= 4.0:
                self._scale, self._view_scale = s, vs
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
        rects = [QRect(x0, y0, x1 - x0, y1 - y0)]   # tile space, to show
        if k == 1.0:
            # pixel copies: an integer device offset keeps them crisp
            ox, oy = round(world.dx() * dpr), round(world.dy() * dpr)
            painter.setWorldTransform(QTransform(1 / dpr, 0, 0, 1 / dpr, ox / dpr, oy / dpr))
            if self.exposed_region is not None and self.exposed_region.rectCount() <= 8:
                # a scroll exposes two thin strips whose bounding rect is the whole viewport
                region = QRegion()
                for r in self.exposed_region:
                    region = region.united(QRect(math.floor(r.x() * dpr) - ox, math.floor(r.y() * dpr) - oy,
                                                 math.ceil(r.width() * dpr) + 1, math.ceil(r.height() * dpr) + 1))
                rects = list(region.intersected(rects[0]))
        else:   # zoom preview: a transient frame, nearest-pixel scaling is the cheap one
            painter.setWorldTransform(QTransform(k / dpr, 0, 0, k / dpr, world.dx(), world.dy()))
        keys: dict[tuple[int, int], None] = {}
        wanted = QRegion()
        for r in rects:
            wanted = wanted.united(r)
            for ty in range(r.top() // t, r.bottom() // t + 1):
                for tx in range(r.left() // t, r.right() // t + 1):
                    keys[(tx, ty)] = None
        todo = QRegion()   # what this frame shows and no tile holds yet
        for key in keys:
            if key not in self._tiles:
                todo = todo.united(wanted.intersected(QRect(key[0] * t, key[1] * t, t, t)))
            elif key in self._dirty:
                todo = todo.united(self._dirty[key].intersected(wanted))
        if not todo.isEmpty():
            self._render_into_tiles(todo, list(keys))
        for key in keys:
            img = self._tiles.pop(key)
            self._tiles[key] = img   # re-inserted last: the dict order is the LRU order
            tile_rect = QRect(key[0] * t, key[1] * t, t, t)
            for r in rects:
                part = r.intersected(tile_rect)
                if not part.isEmpty():
                    painter.drawImage(QRectF(part), img, QRectF(part.translated(-tile_rect.topLeft())))
        painter.setWorldTransform(world)
        if self._pyramid is not None and not self._pyramid.scheduled:
            # once the first frame is on screen, not inside it: starting a thread can stall
            # the GUI thread for milliseconds on a busy machine
            self._pyramid.scheduled = True
            QTimer.singleShot(0, self._pyramid.start_background)
        while len(self._tiles) > self.MAX_TILES:
            old = next(iter(self._tiles))
            del self._tiles[old]
            self._dirty.pop(old, None)

    # -- rendering -------------------------------------------------------------------------
    def _image(self, w: int, h: int) -> QImage:
        img = QImage(w, h, self.TILE_FORMAT)
        img.setDevicePixelRatio(self._dpr)
        return img

    def _painter(self, img: QImage) -> QPainter:
        """A painter on ``img`` whose coordinates are the image's pixels."""
        p = QPainter(img)
        p.setWorldTransform(QTransform.fromScale(1 / self._dpr, 1 / self._dpr))
        return p

    def _render_into_tiles(self, todo: QRegion, keys: list[tuple[int, int]]) -> None:
        """Renders ``todo`` (tile space) in one pass — one walk over the image and the shapes, a
        shape spanning tiles drawn once — into a scratch image, then copies it into the tiles
        (creating missing ones; what they hold outside ``todo`` stays dirty)."""
        t = self.TILE
        box = todo.boundingRect()
        if (self._scratch.width() < box.width() or self._scratch.height() < box.height()
                or self._scratch.devicePixelRatio() != self._dpr):
            self._scratch = self._image(max(box.width(), self._scratch.width()),
                                        max(box.height(), self._scratch.height()))
        self._render(self._scratch, box.topLeft(), todo)
        src = _pixels(self._scratch)
        for key in keys:
            rect = QRect(key[0] * t, key[1] * t, t, t)
            part = todo.intersected(rect)
            if part.isEmpty():
                continue
            tile = self._tiles.get(key)
            if tile is None:
                tile = self._tiles[key] = self._image(t, t)
                dirty = QRegion(rect)
            else:
                dirty = self._dirty.get(key, QRegion())
            dst = _pixels(tile)
            for r in part:   # plain pixel copies: cheaper than a QPainter per tile
                dst[r.top() - rect.top():r.bottom() + 1 - rect.top(), r.left() - rect.left():r.right() + 1 - rect.left()] = \
                    src[r.top() - box.top():r.bottom() + 1 - box.top(), r.left() - box.left():r.right() + 1 - box.left()]
            dirty = dirty.subtracted(part)
            if dirty.isEmpty():
                self._dirty.pop(key, None)
            else:
                self._dirty[key] = dirty

    def _render(self, img: QImage, origin: QPoint, region: QRegion) -> None:
        """Renders image + shapes into ``img``, whose pixel (0, 0) is tile-space pixel ``origin``,
        inside ``region`` (tile space) only."""
        self.renders += 1
        s, d = self._scale, self._dpr
        ox, oy = origin.x(), origin.y()
        local = region.translated(-ox, -oy)
        box = local.boundingRect()
        p = self._painter(img)
        p.setClipRegion(local)
        p.fillRect(box, self._bg)
        if self._pyramid is not None:
            level, step, off = self._pyramid.level_for(s)
            # crisp image pixels once they are bigger than screen pixels
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 1.0)
            f = s * step / d
            p.setWorldTransform(QTransform(f, 0, 0, f, (s * off - ox) / d, (s * off - oy) / d))
            p.drawImage(QPointF(0, 0), level)
            p.setWorldTransform(QTransform.fromScale(1 / d, 1 / d))
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
        if self._pyramid is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QPointF(0, 0), self._pyramid.level_for(1.0)[0])
        self.store.render(painter, exposed, exposed, Qt.AspectRatioMode.IgnoreAspectRatio)
        painter.restore()
