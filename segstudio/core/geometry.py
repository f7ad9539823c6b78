"""Pure geometry: mask → polygons, simplify, area, point/edge hit tests, brush footprints.

What a shape kind is (rasterisation, bounding box, outline) lives in
:mod:`segstudio.core.shape_kinds`, built on these primitives.
numpy + OpenCV (contours, simplification). No Qt, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np


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
