"""From a label map to editable shapes, and the batch job that pre-annotates many images.

:func:`label_map_shapes` turns a method's label map into shapes of the chosen class: one
polygon per connected piece of every region value (touching regions stay separate; holes
below ``min_area`` are filled, pieces with real holes go into one mask shape per value so the
holes survive), or one mask layer per class (``mode="mask"``). Each value is converted inside
its own bounding box, so thousands of small regions (superpixels) stay cheap on big images;
speckled masks are cleaned with two connected-component passes before contour tracing.
:func:`batch_segment` is a job (generator yielding Progress) that runs a method on a list of
images and returns their shapes — it never touches a project; the caller applies the result.

Pure: numpy, scipy.ndimage, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from segstudio.algorithms.registry import Prompt, get_method, run_method, run_method_isolated
from segstudio.core.jobs import Job, Progress
from segstudio.core.model import Shape
from segstudio.core.rasterize import mask_to_shapes

log = logging.getLogger(__name__)

MODES = ("polygon", "mask")
CLEAN_MIN_PIXELS = 1 << 16   # crops smaller than this are traced without the speck passes
FEW_VALUES = 8   # label maps with at most this many values are split by value, not by find_objects


@dataclass(frozen=True)
class ApplyOptions:
    """How a label map becomes shapes."""

    label: str = "object"
    mode: str = "polygon"          # polygon | mask
    tolerance: float = 0.5         # polygon simplification (px); the ring is inscribed, keep it small
    min_area: float = 10.0         # pieces smaller than this (px) are dropped
    class_names: tuple[str, ...] = ()   # value v → class_names[v - 1] (else ``label``)
    #: polygon mode, through :func:`convert_label_map`: a result with more pieces than this
    #: becomes one mask layer per class instead (0 = no limit) — 10⁵ tiny polygons (k-means on
    #: a big photo) are not editable by hand, and every repaint would draw each of them
    max_polygons: int = 0

    def name_for(self, value: int) -> str:
        if 0 < value <= len(self.class_names) and self.class_names[value - 1]:
            return self.class_names[value - 1]
        return self.label


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
    """``geometry.simplify`` of an int32 contour without its float64 → float32 round trip
    (Douglas–Peucker computes in double either way, so the vertices are the same)."""
    if tolerance > 0 and len(contour) >= 4:
        out = cv2.approxPolyDP(contour, float(tolerance), True)
        if len(out) >= 3:
            return out.reshape(-1, 2).astype(np.float64)
    return contour.reshape(-1, 2).astype(np.float64)


def mask_pieces_to_shapes(mask: np.ndarray, label: str, tolerance: float, min_area: float,
                          origin: tuple[int, int], full_size: tuple[int, int]) -> list[Shape]:
    """Shapes of the connected pieces of a (cropped) boolean ``mask`` at ``origin`` = (x0, y0)
    of a ``full_size`` = (height, width) image.

    A piece is a polygon (outer ring through boundary pixel centres, Douglas–Peucker with
    ``tolerance``); holes smaller than ``min_area`` are filled (noise); pieces with a larger
    hole are gathered into one full-image mask shape (per call, i.e. per region value) so the
    holes survive exactly and memory stays bounded. One findContours and one
    connected-components pass per crop, no per-hole simplification: this is the hot path when a
    whole big image is converted.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if min_area > 1 and m.size >= CLEAN_MIN_PIXELS and _speckled(m):
        # drop specks and fill pinholes with two vectorised passes first: findContours on a
        # salt-and-pepper mask is very slow (millions of tiny contours and holes). Small crops
        # (one superpixel's box) skip it: there findContours is cheap and the two passes
        # cost more than they save (they made 1000 superpixels 4x slower to convert)
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
            if len(outer) >= 3:
                if x_off or y_off:
                    outer += (x_off, y_off)
                shapes.append(Shape(label, outer, "polygon"))
            continue
        if holey is None:
            holey = np.zeros((height, width), bool)
        holey[y + y_off:y + y_off + h, x + x_off:x + x_off + w] |= piece.astype(bool)
    if holey is not None:
        shapes.append(Shape(label, np.zeros((0, 2)), "mask", mask=holey))
    return shapes


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


def label_map_shapes(label_map: np.ndarray, options: ApplyOptions) -> list[Shape]:
    """Shapes for every non-zero value of ``label_map`` (see the module docstring)."""
    if options.mode not in MODES:
        raise ValueError(f"unknown conversion mode {options.mode!r} (polygon or mask)")
    lm = np.asarray(label_map)
    if lm.ndim != 2:
        raise ValueError(f"a label map must be 2-D, got shape {lm.shape}")
    height, width = lm.shape
    lo, hi = _value_range(lm)
    if lo < 0:
        raise ValueError("a label map must not contain negative values")
    if options.mode == "mask":
        # one mask layer per class name (the brush's per-class layer)
        shapes: list[Shape] = []
        by_name: dict[str, list[int]] = {}
        for v in np.unique(lm):
            if v:
                by_name.setdefault(options.name_for(int(v)), []).append(int(v))
        for name, values in by_name.items():
            m = np.isin(lm, values) if len(values) > 1 else lm == values[0]
            shapes += mask_to_shapes(m, name, "mask", options.tolerance, options.min_area)
        return shapes
    return _polygon_shapes(lm, hi, options)


#: class maps at least this big are counted (one connected-components pass per class) before
#: polygons are made, when ``max_polygons`` applies
COUNT_FIRST_PX = 4_000_000


def convert_label_map(label_map: np.ndarray, options: ApplyOptions) -> tuple[list[Shape], int]:
    """:func:`label_map_shapes` honouring ``options.max_polygons``: (shapes, n) where n > 0 is
    the number of polygons that was over the limit (the shapes are then mask layers)."""
    limit = options.max_polygons if options.mode == "polygon" else 0
    big = label_map.ndim == 2 and label_map.size >= COUNT_FIRST_PX
    pieces = _count_pieces(label_map, options.min_area) if limit and big else None
    shapes = label_map_shapes(label_map, options) if pieces is None or pieces <= limit else []
    if limit and max(len(shapes), pieces or 0) > limit:
        n = max(len(shapes), pieces or 0)
        log.info("%d polygons > max_polygons %d: mask layers instead", n, limit)
        return label_map_shapes(label_map, replace(options, mode="mask")), n
    return shapes, 0


def _count_pieces(label_map: np.ndarray, min_area: float) -> int | None:
    """Connected pieces of at least ``min_area`` px over the values of a class map (None for a
    region map, whose polygons are counted by making them): on a big k-means map this decides
    "mask layers" before 10⁵ polygons are built for nothing."""
    lm = np.asarray(label_map)
    _, hi = _value_range(lm)
    if hi > FEW_VALUES:
        return None
    count = 0
    for i in range(1, hi + 1):
        _, _, stats, _ = cv2.connectedComponentsWithStats((lm == i).view(np.uint8), connectivity=8)
        count += int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area))
    return count


def _polygon_shapes(lm: np.ndarray, hi: int, options: ApplyOptions) -> list[Shape]:
    height, width = lm.shape
    if hi <= 1:   # binary (the common case): no per-value pass at all
        return mask_pieces_to_shapes(lm.astype(np.uint8, copy=False), options.name_for(1),
                                     options.tolerance, options.min_area, (0, 0), (height, width))
    shapes = []
    if hi <= FEW_VALUES:
        # classes (multi-Otsu, k-means): one compare + bounding box per value is cheaper than
        # find_objects over the whole map (and its int32 copy)
        for i in range(1, hi + 1):
            m = (lm == i).view(np.uint8)
            x, y, w, h = cv2.boundingRect(m)
            if w * h < options.min_area or w * h == 0:
                continue
            shapes += mask_pieces_to_shapes(m[y:y + h, x:x + w], options.name_for(i), options.tolerance,
                                            options.min_area, (x, y), (height, width))
        return shapes
    from scipy import ndimage  # imported here: ~0.3 s that the window's start need not pay

    lm = lm.astype(np.int32, copy=False)
    for i, sl in enumerate(ndimage.find_objects(lm), start=1):
        if sl is None:
            continue
        ys, xs = sl
        if (ys.stop - ys.start) * (xs.stop - xs.start) < options.min_area:
            continue
        shapes += mask_pieces_to_shapes(lm[sl] == i, options.name_for(i), options.tolerance, options.min_area,
                                        (xs.start, ys.start), (height, width))
    return shapes


def segment_to_shapes(method: str, image_rgb8: np.ndarray, prompt: Prompt | None, params: Any,
                      options: ApplyOptions, isolate: bool = False) -> list[Shape]:
    """Runs ``method`` and converts its label map — the app's whole path for one image
    (``isolate``: through :func:`run_method_isolated`, as the app does)."""
    run = run_method_isolated if isolate else run_method
    return convert_label_map(run(method, image_rgb8, prompt, params, dtype=None), options)[0]


@dataclass
class BatchResult:
    shapes: dict[str, list[Shape]] = field(default_factory=dict)   # key → shapes
    errors: dict[str, str] = field(default_factory=dict)           # key → message


def batch_segment(items: Sequence[tuple[str, Any]], load: Callable[[Any], np.ndarray], method: str,
                  params: Any, options: ApplyOptions, keep_results: bool = True,
                  isolate: bool = False) -> Job[BatchResult]:
    """Segments every ``(key, source)`` in ``items``; ``load(source)`` returns the rgb8 image
    (``isolate``: see :func:`segment_to_shapes`).

    Yields one Progress per image with ``data={"key", "shapes"}`` or ``{"key", "error"}`` so a
    caller can apply (or write) results as they come; returns a :class:`BatchResult` (with the
    shapes only if ``keep_results``). A failing image is recorded and the batch goes on.
    """
    spec = get_method(method)
    if spec.needs != "none":
        raise ValueError(f"method {method!r} needs {spec.needs} prompts and cannot run in a batch")
    if params is None or isinstance(params, dict):
        params = spec.make_params(params)
    result = BatchResult()
    total = len(items)
    yield Progress(0, total, f"{method}: starting")
    for n, (key, source) in enumerate(items, start=1):
        try:
            image = load(source)
            shapes = segment_to_shapes(method, image, None, params, options, isolate)
        except Exception as exc:   # one bad image must not stop the batch
            msg = str(exc) if str(source) in str(exc) else f"{source}: {exc}"
            log.info("segment failed: %s", msg)
            result.errors[key] = msg
            yield Progress(n, total, f"failed: {source}", {"key": key, "error": msg})
            continue
        if keep_results:
            result.shapes[key] = shapes
        yield Progress(n, total, str(source), {"key": key, "shapes": shapes})
    return result
