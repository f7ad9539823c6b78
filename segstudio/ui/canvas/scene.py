"""CanvasScene: the image plus one item per shape, kept in step with the model.

Items are created / updated / removed only from ImageAnnotation signals (shapes_inserted,
shapes_removed, shapes_changed, mask_changed → only that bbox, order_changed → z values) and
restyled on Project.classes_changed; tools never touch items. ``clear_document`` disconnects.

The shape items live in ``store``, a scene no view shows; the view scene holds one
:class:`~segstudio.ui.canvas.layer.ShapeLayerItem` that paints image + shapes from tiles cached
at the view scale, plus the live handles and tool preview. Every handler below therefore tells
the layer which scene rects went stale (old and new bounds), so the cache never shows old pixels.

Bulk inserts (a pre-annotation of thousands of shapes) create their items in chunks of
``CHUNK`` from a zero-timer, invalidating the layer per chunk, so the GUI thread never blocks
on all of them at once; the insert itself only appends the shapes to a queue. Shapes still
queued have no item yet; every outside reader goes through ``items_by_uid`` / ``item_for`` /
``shape_items`` / ``set_selection``, which first finish the queue synchronously, so selection
and handles always see every shape (tools hit-test the model, not items). ``clear_document``
and removals drop queued shapes.

Mask layers of more than ``LAZY_MASK_PX`` pixels build their display tiles from the same timer,
``MASK_SLICE_S`` per tick (a 75-Mpixel layer is ~150 ms of tiles), appearing tile by tile.

Bulk removals (undoing such an insert, switching away from an image with 10⁵ shapes) would
spend ~3 µs per ``removeItem``; instead the survivors move to a fresh store scene and the old
one, with the removed items, is taken apart ``RETIRE_CHUNK`` items per timer tick.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

import logging
import operator
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QGraphicsScene

from segstudio.core.model import ImageAnnotation, Project, Shape
from segstudio.ui.canvas.items import HandlesItem, PointShapeItem, PreviewItem, ShapeItem
from segstudio.ui.canvas.layer import ShapeLayerItem
from segstudio.ui.canvas.mask_item import MaskItem

log = logging.getLogger(__name__)

FALLBACK_COLOR = (255, 0, 0)
#: inserts of more shapes than this are queued and their items created ``CHUNK`` per timer tick
BULK = 500
CHUNK = 300
#: items of a retired store scene removed per timer tick
RETIRE_CHUNK = 1000
#: mask layers bigger than this (pixels) build their tiles in time slices of MASK_SLICE_S
LAZY_MASK_PX = 4_000_000
MASK_SLICE_S = 0.02


def rgb8_to_pixmap(image: np.ndarray) -> QPixmap:
    """HxWx3 uint8 → QPixmap (fromImage copies while ``img`` is alive, so no extra copy).
    The canvas itself wraps the array without a copy (see layer.py); this is for others."""
    img = np.ascontiguousarray(image)
    h, w = img.shape[:2]
    qimg = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(qimg)
    del qimg
    return pixmap


def _shapes_bounds(shapes: list[Shape]) -> QRectF:
    """Scene rect around ``shapes`` (a cheap stand-in for itemsBoundingRect, which costs a
    path walk per item): all vertices at once, circles by their radius, point markers padded."""
    pts = [s.points for s in shapes if not s.kind.carries_mask and len(s.points)]
    if not pts:
        return QRectF()
    allp = np.concatenate(pts)
    (x0, y0), (x1, y1) = allp.min(axis=0), allp.max(axis=0)
    rect = QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0)).adjusted(-64, -64, 64, 64)
    for s in shapes:
        if s.kind.extent is not None and not s.kind.carries_mask:   # reaches beyond its vertices
            bx0, by0, bx1, by1 = s.bbox()
            rect = rect.united(QRectF(bx0, by0, bx1 - bx0, by1 - by0))
    return rect


class CanvasScene(QGraphicsScene):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.project: Project | None = None
        self.annotation: ImageAnnotation | None = None
        self.store = QGraphicsScene(self)
        self.layer = ShapeLayerItem(self.store, self.backgroundBrush(), owner=self)
        self.addItem(self.layer)
        self.handles = HandlesItem()
        self.preview = PreviewItem()
        self.addItem(self.handles)
        self.addItem(self.preview)
        self._items: dict[int, ShapeItem | MaskItem] = {}
        self._queue: deque[Shape] = deque()   # queued for item creation, in insertion order
        self._z_of: dict[int, int] | None = None   # uid → index in the model, while unchanged
        self._chunk_timer = QTimer(self)
        self._chunk_timer.setSingleShot(True)
        self._chunk_timer.setInterval(0)
        self._chunk_timer.timeout.connect(self._on_chunk_timer)
        self._building: list[MaskItem] = []   # big mask layers still making their tiles
        self._retired: list[tuple[QGraphicsScene, list]] = []   # old stores being taken apart
        self._retire_timer = QTimer(self)
        self._retire_timer.setSingleShot(True)
        self._retire_timer.setInterval(0)
        self._retire_timer.timeout.connect(self._retire_chunk)
        self._selected: list[Shape] = []
        self._connections: list[tuple[object, object]] = []
        #: called after shapes left the model (the view prunes its selection)
        self.removed_hook: Callable[[list[Shape]], None] | None = None

    # -- document --------------------------------------------------------------------------
    def set_document(self, project: Project, annotation: ImageAnnotation, image_rgb8: np.ndarray | None) -> None:
        self.clear_document()
        self.project, self.annotation = project, annotation
        if image_rgb8 is not None:
            h, w = image_rgb8.shape[:2]
        else:
            w, h = annotation.width, annotation.height
        self.setSceneRect(QRectF(0, 0, w, h))
        self.layer.set_content(image_rgb8, QRectF(0, 0, w, h))
        for sig, slot in ((annotation.shapes_inserted, self._on_inserted),
                          (annotation.shapes_removed, self._on_removed),
                          (annotation.shapes_changed, self._on_changed),
                          (annotation.mask_changed, self._on_mask_changed),
                          (annotation.order_changed, self._restack),
                          (project.classes_changed, self._restyle)):
            sig.connect(slot)
            self._connections.append((sig, slot))
        self._on_inserted(list(annotation.shapes))

    def clear_document(self) -> None:
        for sig, slot in self._connections:
            try:
                sig.disconnect(slot)
            except (ValueError, RuntimeError):   # already gone: nothing to undo
                pass
        self._connections.clear()
        self._queue.clear()
        self._building.clear()
        self._z_of = None
        self._chunk_timer.stop()
        if len(self._items) > BULK:
            self._retire_store([])
        else:
            for item in self._items.values():
                self.store.removeItem(item)
            self._items.clear()
        self._selected = []
        self.handles.set_shapes([])
        self.layer.set_content(None, QRectF())
        self.project = self.annotation = None

    # -- styling ---------------------------------------------------------------------------
    def color_of(self, shape: Shape) -> tuple[int, int, int]:
        cls = self.project.get_class(shape.label) if self.project else None
        return tuple(cls.color) if cls is not None else FALLBACK_COLOR  # type: ignore[return-value]

    def is_visible(self, shape: Shape) -> bool:
        if not shape.visible:
            return False
        cls = self.project.get_class(shape.label) if self.project else None
        return cls is None or cls.visible

    @property
    def items_by_uid(self) -> dict[int, ShapeItem | MaskItem]:
        """uid → item of every shape (finishes any queued bulk insert first)."""
        self.flush_pending()
        return self._items

    def item_for(self, shape: Shape) -> ShapeItem | MaskItem | None:
        return self.items_by_uid.get(shape.uid)

    def shape_items(self) -> list[ShapeItem | MaskItem]:
        return list(self.items_by_uid.values())

    def pending_count(self) -> int:
        """Shapes whose items a bulk insert has not created yet, plus big mask layers still
        building their tiles."""
        return len(self._queue) + len(self._building)

    def retiring_count(self) -> int:
        """Items of retired store scenes not taken apart yet."""
        return sum(len(items) for _, items in self._retired)

    def flush_pending(self) -> None:
        """Creates every queued item now (anything that needs all items calls this)."""
        while self._queue:
            self._create_chunk()
        while self._building:
            self._build_masks(None)

    # -- model events ----------------------------------------------------------------------
    def _stale(self, item: ShapeItem | MaskItem) -> None:
        """The layer must re-render where ``item`` is drawn (call before and after a change)."""
        self.layer.invalidate(item.sceneBoundingRect())

    def _on_inserted(self, shapes: list[Shape]) -> None:
        self._z_of = None
        if self._queue or len(shapes) > BULK:
            # queued: order matters only for z, which each chunk sets from the model
            self._queue.extend(shapes)
            self._chunk_timer.start()
            return
        self._create([s for s in shapes if s.uid not in self._items])

    def _on_chunk_timer(self) -> None:
        if self._queue:
            self._create_chunk()
        elif self._building:
            self._build_masks(time.perf_counter() + MASK_SLICE_S)
        if self._queue or self._building:
            self._chunk_timer.start()

    def _create_chunk(self) -> None:
        q = self._queue
        batch = [q.popleft() for _ in range(min(CHUNK, len(q)))]
        self._create([s for s in batch if s.uid not in self._items], chunk=True)

    def _build_masks(self, deadline: float | None) -> None:
        while self._building:
            item = self._building[0]
            made = item.build_some(deadline)
            if not made.isEmpty():
                self.layer.invalidate(item.mapRectToScene(made))
            if not item.building:
                self._building.pop(0)
            if deadline is not None and time.perf_counter() >= deadline:
                return

    def _z_map(self) -> dict[int, int]:
        """uid → stacking index in the model (built once per model change, not per chunk)."""
        if self._z_of is None:
            shapes = self.annotation.shapes if self.annotation is not None else []
            self._z_of = dict(zip(map(operator.attrgetter("uid"), shapes), range(len(shapes))))
        return self._z_of

    def _create(self, shapes: list[Shape], chunk: bool = False) -> None:
        many = len(shapes) > 64   # then one invalidation of their bounds beats many small ones
        created = []
        for s in shapes:
            item: ShapeItem | MaskItem
            if s.kind.carries_mask and s.mask is not None and s.mask.size > LAZY_MASK_PX:
                item = MaskItem(s, self.color_of(s), lazy=True)
                self._building.append(item)
                self._chunk_timer.start()
            else:
                kind = MaskItem if s.kind.carries_mask else PointShapeItem if s.kind.markers else ShapeItem
                item = kind(s, self.color_of(s))
            item.setVisible(self.is_visible(s))
            self.store.addItem(item)
            self._items[s.uid] = item
            created.append(item)
            if not many:
                self._stale(item)
        if chunk and self.annotation is not None:   # z of just these: a restack would redraw all
            z_of = self._z_map()
            for item in created:
                item.setZValue(z_of.get(item.shape_ref.uid, 0))
        else:
            self._restack()
        if many:
            self.layer.invalidate(_shapes_bounds(shapes))   # grows the layer over them, then
            if not chunk or any(s.kind.carries_mask for s in shapes):
                self.layer.invalidate_all()                 # all tiles: masks are anywhere

    def _on_removed(self, shapes: list[Shape]) -> None:
        self._z_of = None
        if self._queue or self._building:
            gone = {s.uid for s in shapes}
            self._queue = deque(s for s in self._queue if s.uid not in gone)
            self._building = [it for it in self._building if it.shape_ref.uid not in gone]
        many = len(shapes) > 64
        if len(shapes) > BULK and 2 * len(shapes) >= len(self._items) and self.annotation is not None:
            self._retire_store(self.annotation.shapes)
        else:
            for s in shapes:
                item = self._items.pop(s.uid, None)
                if item is not None:
                    if not many:
                        self._stale(item)
                    self.store.removeItem(item)
        if many:
            self.layer.invalidate_all()   # the layer rect already holds them
        if self.removed_hook is not None:
            self.removed_hook(shapes)

    def _retire_store(self, survivors: list[Shape]) -> None:
        """Moves the items of ``survivors`` to a fresh store and takes the old one (with every
        other item) apart from a timer: O(survivors) now instead of O(all items)."""
        old_store, old_items = self.store, self._items
        self.store = QGraphicsScene(self)
        self._items = {}
        for s in survivors:
            item = old_items.pop(s.uid, None)
            if item is not None:
                old_store.removeItem(item)
                self.store.addItem(item)
                self._items[s.uid] = item
        self.layer.set_store(self.store)
        self._retired.append((old_store, list(old_items.values())))
        self._retire_timer.start()

    def _retire_chunk(self) -> None:
        store, items = self._retired[0]
        for item in items[-RETIRE_CHUNK:]:
            store.removeItem(item)
        del items[-RETIRE_CHUNK:]
        if not items:
            self._retired.pop(0)
            store.deleteLater()
        if self._retired:
            self._retire_timer.start()

    def _on_changed(self, shapes: list[Shape]) -> None:
        for s in shapes:
            item = self._items.get(s.uid)
            if item is None:   # still queued: it is created from the shape as it is then
                continue
            self._stale(item)
            if isinstance(item, ShapeItem):
                item.sync()
            item.set_color(self.color_of(s))
            item.setVisible(self.is_visible(s))
            self._stale(item)
        if any(s in self._selected for s in shapes):
            self.handles.refresh()

    def _on_mask_changed(self, shape: Shape, bounds: tuple[int, int, int, int]) -> None:
        item = self._items.get(shape.uid)
        if isinstance(item, MaskItem):
            item.update_region(bounds)
            y0, y1, x0, x1 = bounds
            self.layer.invalidate(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _restack(self) -> None:
        self._z_of = None
        if self.annotation is None:
            return
        moved = []
        for z, s in enumerate(self.annotation.shapes):
            item = self._items.get(s.uid)
            if item is not None and item.zValue() != z:
                item.setZValue(z)
                moved.append(item)
        if len(moved) > 64:
            self.layer.invalidate_all()   # z changes no geometry: the layer rect already holds them
        else:
            for item in moved:
                self._stale(item)

    def _restyle(self) -> None:
        for item in self._items.values():
            s = item.shape_ref
            item.set_color(self.color_of(s))
            item.setVisible(self.is_visible(s))
        self.layer.invalidate_all()

    # -- selection display -----------------------------------------------------------------
    def set_selection(self, shapes: list[Shape]) -> None:
        self.flush_pending()
        for s in self._selected:
            item = self.items_by_uid.get(s.uid)
            if item is not None:
                item.set_selected(False)
                self._stale(item)
        self._selected = list(shapes)
        for s in self._selected:
            item = self.items_by_uid.get(s.uid)
            if item is not None:
                item.set_selected(True)
                self._stale(item)
        self.handles.set_shapes(self._selected)
