"""Pure geometry: shape → mask (labelme semantics), mask → polygons, simplify, area, hit tests.

numpy + PIL (rasterisation identical to labelme's ``shape_to_mask``) + OpenCV (contours,
simplification). No Qt, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw

LINE_WIDTH = 10   # labelme's default for line / linestrip masks
POINT_SIZE = 5    # labelme's default radius for point masks


# -- shape → mask ------------------------------------------------------------------------------
def _draw(draw: ImageDraw.ImageDraw, shape_type: str, xy: list[tuple[float, float]],
          value: int = 1) -> None:
    if shape_type == "circle":
        if len(xy) != 2:
            raise ValueError("a circle needs 2 points (centre, a point on the rim)")
        (cx, cy), (px, py) = xy
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=value, fill=value)
    elif shape_type == "rectangle":
        if len(xy) != 2:
            raise ValueError("a rectangle needs 2 points")
        (x0, y0), (x1, y1) = xy
        # rectangles drawn right-to-left / bottom-to-top are normalised
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=value, fill=value)
    elif shape_type == "line":
        if len(xy) != 2:
            raise ValueError("a line needs 2 points")
        draw.line(xy=xy, fill=value, width=LINE_WIDTH)
    elif shape_type == "linestrip":
        draw.line(xy=xy, fill=value, width=LINE_WIDTH)
    elif shape_type in ("point", "points"):
        for cx, cy in xy:
            r = POINT_SIZE
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=value, fill=value)
    elif shape_type == "polygon":
        if len(xy) < 3:
            raise ValueError("a polygon needs at least 3 points")
        draw.polygon(xy=xy, outline=value, fill=value)
    else:
        raise ValueError(f"cannot rasterise shape type {shape_type!r}")


def _margin(shape_type: str) -> float:
    return {"line": LINE_WIDTH, "linestrip": LINE_WIDTH, "point": POINT_SIZE + 1,
            "points": POINT_SIZE + 1}.get(shape_type, 1.0) + 2


def shape_footprint(points: np.ndarray, shape_type: str, height: int, width: int,
                    mask: np.ndarray | None = None) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The shape's pixels as ``((y0, y1, x0, x1), bool patch)`` clipped to the image, or None.

    Rasterises only the shape's bounding box, offset by even integers so PIL's rounding gives
    exactly the pixels of a full-image ``shape_to_mask`` (labelme's semantics).
    """
    if shape_type == "mask":
        if mask is None:
            return None
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return None
        b = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        return b, mask[b[0]:b[1], b[2]:b[3]]
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return None
    if shape_type == "circle" and len(pts) >= 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        lo, hi = pts[0] - r, pts[0] + r
    else:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    m = _margin(shape_type)
    x0 = max(0, int(math.floor(lo[0] - m)) // 2 * 2)
    y0 = max(0, int(math.floor(lo[1] - m)) // 2 * 2)
    x1 = min(width, int(math.ceil(hi[0] + m)) + 1)
    y1 = min(height, int(math.ceil(hi[1] + m)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    img = Image.new("L", (x1 - x0, y1 - y0), 0)
    _draw(ImageDraw.Draw(img), shape_type, [(x - x0, y - y0) for x, y in pts])
    patch = np.asarray(img, dtype=bool)
    if not patch.any():
        return None
    return (y0, y1, x0, x1), patch


def shape_to_mask(points: np.ndarray, shape_type: str, height: int, width: int,
                  mask: np.ndarray | None = None) -> np.ndarray:
    """Full-image boolean mask of one shape (polygon filled with its outline, as labelme)."""
    out = np.zeros((height, width), dtype=bool)
    fp = shape_footprint(points, shape_type, height, width, mask)
    if fp is not None:
        (y0, y1, x0, x1), patch = fp
        out[y0:y1, x0:x1] = patch
    return out


def polygon_to_mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
    return shape_to_mask(points, "polygon", height, width)


# -- mask → polygons ---------------------------------------------------------------------------
@dataclass
class Region:
    """One connected component: outer ring and hole rings, ``(N, 2)`` float (x, y) arrays."""

    outer: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)
    area: float = 0.0      # pixel count of the component (holes excluded)


def simplify(points: np.ndarray, tolerance: float, closed: bool = True) -> np.ndarray:
    """Douglas–Peucker simplification (OpenCV); ``tolerance`` in pixels, 0 = unchanged."""
    if tolerance <= 0 or len(points) < 4:
        # unchanged means unchanged: no round trip through float32
        return np.array(points, dtype=np.float64).reshape(-1, 2)
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    out = cv2.approxPolyDP(pts, float(tolerance), closed).reshape(-1, 2).astype(np.float64)
    return out if len(out) >= 3 else pts.reshape(-1, 2).astype(np.float64)


def drop_small_components(mask: np.ndarray, min_area: float) -> np.ndarray:
    """A new bool array: ``mask`` without its 8-connected components of fewer than ``min_area``
    pixels."""
    m = np.ascontiguousarray(mask, dtype=bool)
    if min_area <= 0:
        return m.copy()
    _, labels, stats, _ = cv2.connectedComponentsWithStats(m.view(np.uint8), connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < min_area
    small[0] = False   # the background
    if not small.any():
        return m.copy()
    return m & ~small[labels]


def mask_to_regions(mask: np.ndarray, tolerance: float = 1.0, min_area: float = 0.0) -> list[Region]:
    """Connected components of ``mask`` as outer rings with their holes (rings only: editable
    shapes come from :mod:`segstudio.core.label_shapes`).

    Rings pass through the centres of boundary pixels, so filling a ring the labelme way
    (with its outline) reproduces the component exactly when ``tolerance`` is 0.
    Components smaller than ``min_area`` pixels are dropped.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if not m.any():
        return []
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    _, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    regions: list[Region] = []
    for i, c in enumerate(contours):
        if hierarchy[i][3] >= 0:   # a hole; attached to its parent below
            continue
        holes = []
        j = hierarchy[i][2]
        while j >= 0:
            holes.append(contours[j].reshape(-1, 2).astype(np.float64))
            j = hierarchy[j][0]
        outer = c.reshape(-1, 2).astype(np.float64)
        if len(outer) < 3:
            # a 1- or 2-pixel component: a degenerate ring that still rasterises to its pixels
            outer = outer[[0, len(outer) - 1, 0]]
        cid = labels[int(outer[0, 1]), int(outer[0, 0])]   # component of the first contour pixel
        area = float(stats[cid, cv2.CC_STAT_AREA])
        if area < min_area:
            continue
        regions.append(Region(simplify(outer, tolerance), [simplify(hh, tolerance) for hh in holes], area))
    return regions


def mask_to_polygons(mask: np.ndarray, tolerance: float = 1.0, min_area: float = 0.0) -> list[np.ndarray]:
    """Outer rings of the components of ``mask`` (holes ignored) — see :func:`mask_to_regions`."""
    return [r.outer for r in mask_to_regions(mask, tolerance, min_area) if len(r.outer) >= 3]


# -- measures and hit tests --------------------------------------------------------------------
def polygon_area(points: np.ndarray) -> float:
    """Signed-free shoelace area of a closed ring."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def point_in_polygon(points: np.ndarray, x: float, y: float) -> bool:
    p = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    if len(p) < 3:
        return False
    return cv2.pointPolygonTest(p, (float(x), float(y)), False) >= 0


def nearest_vertex(points: np.ndarray, x: float, y: float) -> tuple[int, float]:
    """(index, distance) of the vertex nearest (x, y); (-1, inf) for no points."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return -1, math.inf
    d = np.hypot(p[:, 0] - x, p[:, 1] - y)
    i = int(np.argmin(d))
    return i, float(d[i])


def nearest_edge(points: np.ndarray, x: float, y: float, closed: bool = True) -> tuple[int, float, np.ndarray]:
    """(index i of the edge from vertex i to i+1, distance, closest point on it)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(p)
    if n < 2:
        return -1, math.inf, np.array([x, y])
    a = p if closed else p[:-1]
    b = np.roll(p, -1, axis=0) if closed else p[1:]
    ab = b - a
    denom = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    t = np.clip(((np.array([x, y]) - a) * ab).sum(axis=1) / denom, 0.0, 1.0)
    proj = a + ab * t[:, None]
    d = np.hypot(proj[:, 0] - x, proj[:, 1] - y)
    i = int(np.argmin(d))
    return i, float(d[i]), proj[i]


def rectangle_to_polygon(points: np.ndarray) -> np.ndarray:
    (x0, y0), (x1, y1) = np.asarray(points, dtype=np.float64).reshape(-1, 2)[:2]
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def circle_to_polygon(points: np.ndarray, segments: int = 64) -> np.ndarray:
    (cx, cy), (px, py) = np.asarray(points, dtype=np.float64).reshape(-1, 2)[:2]
    r = math.hypot(px - cx, py - cy)
    t = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def disk(radius: float) -> np.ndarray:
    """A boolean disk footprint of the given radius (brush tip)."""
    r = max(0.5, float(radius))
    n = int(math.ceil(r))
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
    return (xx * xx + yy * yy) <= r * r


def stroke_mask(path: np.ndarray, radius: float, height: int, width: int) -> np.ndarray:
    """Full-image footprint of a brush stroke through ``path`` ((N, 2) x, y) with round tips."""
    out = np.zeros((height, width), dtype=np.uint8)
    pts = np.round(np.asarray(path, dtype=np.float64).reshape(-1, 2)).astype(np.int32)
    thickness = max(1, int(round(2 * radius)))
    if len(pts) == 1:
        cv2.circle(out, (int(pts[0, 0]), int(pts[0, 1])), max(0, int(round(radius))), 1, -1)
    else:
        cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, 1, thickness=thickness, lineType=cv2.LINE_8)
        for x, y in pts[[0, -1]]:
            cv2.circle(out, (int(x), int(y)), max(0, int(round(radius))), 1, -1)
    return out.astype(bool)
