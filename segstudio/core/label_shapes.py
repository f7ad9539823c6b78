"""The one conversion from a label map (or a mask) to editable shapes, used by the
Auto-segment panel, model prediction, dataset importers and the CLI.

:func:`label_map_to_shapes` makes one polygon per connected piece of every non-zero value
(touching regions stay separate; holes below ``min_area`` are filled; pieces with real holes
go into one mask shape per value so the holes survive exactly), or one mask layer per class
(``mode="mask"``). :func:`convert_label_map` adds ``max_polygons`` (too many pieces → mask
layers). Memory stays bounded on big images: every value is traced inside its own bounding
box (one crop, never a full-size array per region); the only full-size arrays are one
transient comparison per value and the mask shapes themselves (at most one per value).

Pure: numpy, OpenCV, segstudio.core (scipy lazily). No Qt, no torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from segstudio.core.geometry import drop_small_components
from segstudio.core.model import BACKGROUND_LABEL, Shape

log = logging.getLogger(__name__)

MODES = ("polygon", "mask")
CLEAN_MIN_PIXELS = 1 << 16   # crops smaller than this are traced without the speck passes
FEW_VALUES = 8   # label maps with at most this many values are split by value, not by find_objects
#: class maps at least this big are counted (one connected-components pass per class) before
#: polygons are made, when ``max_polygons`` applies
COUNT_FIRST_PX = 4_000_000


@dataclass(frozen=True)
class LabelShapeOptions:
    """How a label map becomes shapes (frozen: also the config handed to workers).

    Value ``v`` is named ``class_names[v - 1]`` (else ``label``); value 0, ``skip_values``,
    ``_background_`` and names outside ``classes`` (when given) never become shapes.
    """

    mode: str = "polygon"                   # polygon | mask
    tolerance: float = 0.5                  # Douglas–Peucker (px); the ring is inscribed, keep it small
    min_area: float = 10.0                  # pieces smaller than this (px) are dropped
    classes: tuple[str, ...] | None = None  # only these class names (None = all)
    min_confidence: float = 0.0             # pixels below this confidence are left out
    roi: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1), half-open, image pixels
    description: str = ""                   # written into each new shape
    flags: dict = field(default_factory=dict)   # copied into each new shape
    label: str = "object"                   # name of values without a class name
    class_names: tuple[str, ...] = ()       # value v → class_names[v - 1]
    #: polygon mode, through :func:`convert_label_map`: a result with more pieces than this
    #: becomes one mask layer per class instead (0 = no limit) — 10⁵ tiny polygons (k-means on
    #: a big photo) are not editable by hand, and every repaint would draw each of them
    max_polygons: int = 0
    skip_values: tuple[int, ...] = ()       # values never converted (e.g. an ignore value)
    group_id: int | None = None             # written into each new shape

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown conversion mode {self.mode!r} (polygon or mask)")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {self.min_confidence}")

    def name_for(self, value: int) -> str:
        if 0 < value <= len(self.class_names) and self.class_names[value - 1]:
            return self.class_names[value - 1]
        return self.label

    def wanted(self, value: int) -> bool:
        if value == 0 or value in self.skip_values:
            return False
        name = self.name_for(value)
        return name != BACKGROUND_LABEL and (self.classes is None or name in self.classes)

    def shape(self, label: str, points: np.ndarray, kind: str = "polygon",
              mask: np.ndarray | None = None) -> Shape:
        return Shape(label, points, kind, self.group_id, self.description, dict(self.flags), mask=mask)


# -- one crop ------------------------------------------------------------------------------------
def _speckled(m: np.ndarray) -> bool:
    """True when value changes along rows are frequent (mean run < 64 px): a noisy mask."""
    step = max(1, m.shape[0] // 256)   # a sample of rows is enough to tell
    rows = m[::step]
    changes = int(np.count_nonzero(rows[:, 1:] != rows[:, :-1]))
    return changes * 64 > rows.size


def _drop_small(m: np.ndarray, min_area: float, value: int) -> np.ndarray:
    """``m`` (uint8 0/1) with the 8-connected (value 1) / 4-connected (value 0) components of
    ``value`` smaller than ``min_area`` flipped — the connectivities findContours uses for
    objects/holes."""
    sel = m if value else (m == 0).view(np.uint8)   # m is 0/1 already: no copy for value 1
    n, lab, stats, _ = cv2.connectedComponentsWithStats(sel, connectivity=8 if value else 4)
    small = stats[:, cv2.CC_STAT_AREA] < min_area
    small[0] = False   # label 0 = the other value
    if not small[1:].any():
        return m
    # the flipped pixels all have ``value``: XOR with a per-component table flips exactly them
    return cv2.bitwise_xor(m, np.take(small.view(np.uint8), lab))


def _outer_ring(contour: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker of an int32 contour (double precision inside OpenCV either way); a 1- or
    2-pixel piece becomes a degenerate ring that still rasterises to its pixels."""
    if tolerance > 0 and len(contour) >= 4:
        out = cv2.approxPolyDP(contour, float(tolerance), True)
        if len(out) >= 3:
            return out.reshape(-1, 2).astype(np.float64)
    ring = contour.reshape(-1, 2).astype(np.float64)
    return ring if len(ring) >= 3 else ring[[0, len(ring) - 1, 0]]


def crop_to_shapes(mask: np.ndarray, label: str, options: LabelShapeOptions,
                   origin: tuple[int, int], *, full_size: tuple[int, int]) -> list[Shape]:
    """Polygon shapes of the connected pieces of a (cropped) boolean/0-1 ``mask`` at ``origin``
    = (x0, y0) of a ``full_size`` = (height, width) image.

    A piece is a polygon (outer ring through boundary pixel centres, Douglas–Peucker with
    ``tolerance``); holes smaller than ``min_area`` are filled (noise); pieces with a larger
    hole are gathered into one full-image mask shape per call so the holes survive exactly.
    One findContours and one connected-components pass per crop, no per-hole simplification,
    and each piece's own pixels are labelled inside its bounding box only.
    """
    min_area, tolerance = options.min_area, options.tolerance
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if min_area > 1 and m.size >= CLEAN_MIN_PIXELS and _speckled(m):
        # drop specks and fill pinholes with two vectorised passes first: findContours on a
        # salt-and-pepper mask is very slow (millions of tiny contours and holes). Small crops
        # (one superpixel's box) skip it: there findContours is cheap and the two passes
        # cost more than they save
        m = _drop_small(_drop_small(m, min_area, 1), min_area, 0)
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    x_off, y_off = origin
    height, width = full_size
    shapes: list[Shape] = []
    holey: np.ndarray | None = None   # pieces with real holes, gathered into ONE mask shape
    hole_min = max(min_area, 1.0)
    for i, c in enumerate(contours):
        if hierarchy[i][3] >= 0:
            continue   # a hole: handled with its outer ring
        n = len(c)
        if n * n / 6.28 + n < min_area:
            continue   # n boundary points (steps ≤ √2) enclose at most n²/2π + n pixels: a speck
        x, y, w, h = cv2.boundingRect(c)
        if w * h < min_area:
            continue
        big_holes, small_holes = [], []
        j = hierarchy[i][2]
        while j >= 0:
            hole = contours[j]
            nh = len(hole)
            # the same perimeter bound as above settles most (tiny) holes without contourArea
            big = nh * nh / 6.28 + nh >= hole_min and cv2.contourArea(hole) >= hole_min
            (big_holes if big else small_holes).append(hole)
            j = hierarchy[j][0]
        piece = None
        if big_holes or cv2.contourArea(c) < min_area:
            # pixels of this piece only: label the bounding box (the piece lies wholly inside it)
            _, lab = cv2.connectedComponents(m[y:y + h, x:x + w], connectivity=8)
            piece = (lab == lab[int(c[0, 0, 1]) - y, int(c[0, 0, 0]) - x]).astype(np.uint8)
            if small_holes:
                cv2.drawContours(piece, small_holes, -1, 1, -1, offset=(-x, -y))
            if int(piece.sum()) < min_area:
                continue
        if not big_holes:
            outer = _outer_ring(c, tolerance)
            if x_off or y_off:
                outer += (x_off, y_off)
            shapes.append(options.shape(label, outer))
            continue
        if holey is None:
            holey = np.zeros((height, width), bool)
        holey[y + y_off:y + y_off + h, x + x_off:x + x_off + w] |= piece.astype(bool)
    if holey is not None:
        shapes.append(options.shape(label, np.zeros((0, 2)), "mask", holey))
    return shapes


# -- a whole label map ---------------------------------------------------------------------------
def _value_range(lm: np.ndarray) -> tuple[int, int]:
    """(min, max) in one pass (OpenCV's minMaxLoc is several times faster than two numpy reductions)."""
    if lm.size == 0:
        return 0, 0
    arr = lm.view(np.uint8) if lm.dtype == bool else lm
    if arr.dtype not in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64):
        arr = arr.astype(np.int64)
        return int(arr.min()), int(arr.max())
    lo, hi = cv2.minMaxLoc(np.ascontiguousarray(arr))[:2]
    return int(lo), int(hi)


def _filtered(lm: np.ndarray, options: LabelShapeOptions, confidence: np.ndarray | None,
              roi: np.ndarray | None) -> np.ndarray:
    """``lm`` with pixels outside the region of interest or below ``min_confidence`` set to 0
    (one copy of the label map, only when a filter applies)."""
    h, w = lm.shape
    keep = None
    if roi is not None:
        if roi.shape != (h, w):
            raise ValueError(f"region-of-interest mask is {roi.shape}, image is {(h, w)}")
        keep = roi.astype(bool, copy=False)
    elif options.roi is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in options.roi)
        keep = np.zeros((h, w), dtype=bool)
        keep[max(0, min(y0, y1)):max(0, max(y0, y1)), max(0, min(x0, x1)):max(0, max(x0, x1))] = True
    if confidence is not None and options.min_confidence > 0:
        sure = confidence >= options.min_confidence
        keep = sure if keep is None else keep & sure
    return lm if keep is None else np.where(keep, lm, 0).astype(lm.dtype, copy=False)


def label_map_to_shapes(label_map: np.ndarray, options: LabelShapeOptions,
                        confidence: np.ndarray | None = None,
                        roi: np.ndarray | None = None) -> list[Shape]:
    """Shapes for every wanted non-zero value of ``label_map`` (see the module docstring).

    ``confidence`` (HxW) with ``options.min_confidence`` and ``roi`` (a boolean mask, which
    overrides ``options.roi``) leave pixels out before conversion.
    """
    lm = np.asarray(label_map)
    if lm.ndim != 2:
        raise ValueError(f"a label map must be 2-D, got shape {lm.shape}")
    lo, hi = _value_range(lm)
    if lo < 0:
        raise ValueError("a label map must not contain negative values")
    if lm.dtype == bool:
        lm = lm.view(np.uint8)
    lm = _filtered(lm, options, confidence, roi)
    if options.mode == "mask":
        return _mask_layers(lm, options)
    return _polygon_shapes(lm, hi, options)


def mask_to_shapes(mask: np.ndarray, label: str, options: LabelShapeOptions) -> list[Shape]:
    """Shapes of one boolean mask, all named ``label`` (no class filter applies)."""
    opts = replace(options, label=label, class_names=(), classes=None, skip_values=())
    m = np.asarray(mask).astype(bool, copy=False).view(np.uint8)
    if opts.mode == "mask":
        return _mask_layers(m, opts)
    x, y, w, h = cv2.boundingRect(m)
    if w * h == 0:
        return []
    return crop_to_shapes(m[y:y + h, x:x + w], label, opts, (x, y), full_size=m.shape)


def _mask_layers(lm: np.ndarray, options: LabelShapeOptions) -> list[Shape]:
    """One mask shape per class name (the brush's per-class layer)."""
    by_name: dict[str, list[int]] = {}
    for v in np.unique(lm):
        if options.wanted(int(v)):
            by_name.setdefault(options.name_for(int(v)), []).append(int(v))
    shapes = []
    for name, values in by_name.items():
        m = np.isin(lm, values) if len(values) > 1 else lm == values[0]
        keep = drop_small_components(m, options.min_area)
        if keep.any():
            shapes.append(options.shape(name, np.zeros((0, 2)), "mask", keep))
    return shapes


def _polygon_shapes(lm: np.ndarray, hi: int, options: LabelShapeOptions) -> list[Shape]:
    height, width = lm.shape
    if hi <= FEW_VALUES:
        # binary or classes (multi-Otsu, k-means, a model): one compare + bounding box per
        # value is cheaper than find_objects over the whole map (and its int32 copy)
        shapes = []
        for i in range(1, hi + 1):
            if not options.wanted(i):
                continue
            m = lm.view(np.uint8) if hi == 1 and lm.dtype == np.uint8 else (lm == i).view(np.uint8)
            x, y, w, h = cv2.boundingRect(m)
            if w * h < options.min_area or w * h == 0:
                continue
            shapes += crop_to_shapes(m[y:y + h, x:x + w], options.name_for(i), options, (x, y),
                                     full_size=(height, width))
        return shapes
    from scipy import ndimage  # imported here: ~0.3 s that the window's start need not pay

    lm = lm.astype(np.int32, copy=False)
    shapes = []
    for i, sl in enumerate(ndimage.find_objects(lm), start=1):
        if sl is None or not options.wanted(i):
            continue
        ys, xs = sl
        if (ys.stop - ys.start) * (xs.stop - xs.start) < options.min_area:
            continue
        shapes += crop_to_shapes(lm[sl] == i, options.name_for(i), options, (xs.start, ys.start),
                                 full_size=(height, width))
    return shapes


def convert_label_map(label_map: np.ndarray, options: LabelShapeOptions,
                      confidence: np.ndarray | None = None,
                      roi: np.ndarray | None = None) -> tuple[list[Shape], int]:
    """:func:`label_map_to_shapes` honouring ``options.max_polygons``: (shapes, n) where n > 0 is
    the number of polygons that was over the limit (the shapes are then mask layers)."""
    limit = options.max_polygons if options.mode == "polygon" else 0
    lm = np.asarray(label_map)
    if limit and (confidence is not None or roi is not None or options.roi is not None):
        lm = _filtered(lm.view(np.uint8) if lm.dtype == bool else lm, options, confidence, roi)
        confidence, roi, options = None, None, replace(options, roi=None)
    big = lm.ndim == 2 and lm.size >= COUNT_FIRST_PX
    pieces = _count_pieces(lm, options) if limit and big else None
    shapes = (label_map_to_shapes(lm, options, confidence, roi)
              if pieces is None or pieces <= limit else [])
    if limit and max(len(shapes), pieces or 0) > limit:
        n = max(len(shapes), pieces or 0)
        log.info("%d polygons > max_polygons %d: mask layers instead", n, limit)
        return label_map_to_shapes(lm, replace(options, mode="mask")), n
    return shapes, 0


def _count_pieces(lm: np.ndarray, options: LabelShapeOptions) -> int | None:
    """Connected pieces of at least ``min_area`` px over the values of a class map (None for a
    region map, whose polygons are counted by making them): on a big k-means map this decides
    "mask layers" before 10⁵ polygons are built for nothing."""
    _, hi = _value_range(lm)
    if hi > FEW_VALUES:
        return None
    count = 0
    for i in range(1, hi + 1):
        if not options.wanted(i):
            continue
        _, _, stats, _ = cv2.connectedComponentsWithStats((lm == i).view(np.uint8), connectivity=8)
        count += int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= options.min_area))
    return count
