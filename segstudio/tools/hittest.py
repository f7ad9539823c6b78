"""Hit tests on shapes for the canvas tools: which shape is under the pointer, which vertex or
edge is near it, which shapes lie in a rubber band.

Pure: numpy + segstudio.core (geometry, the shape-kind table). No Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from segstudio.core.geometry import nearest_edge, nearest_vertex
from segstudio.core.model import ImageAnnotation, Shape


def shape_contains(shape: Shape, x: float, y: float, tol: float) -> bool:
    """Whether (x, y) is on/in ``shape`` (outlines count within ``tol`` image pixels; a mask by
    its pixel) — the shape kind's hit test."""
    return shape.kind.contains(shape.points, shape.mask, x, y, tol=tol)


def topmost_shape(ann: ImageAnnotation, x: float, y: float, tol: float,
                  *, visible: Callable[[Shape], bool] = lambda s: s.visible) -> Shape | None:
    """The last-drawn (topmost) visible shape under (x, y)."""
    for s in reversed(ann.shapes):
        if visible(s) and shape_contains(s, x, y, tol):
            return s
    return None


def vertex_at(shapes: Iterable[Shape], x: float, y: float, tol: float) -> tuple[Shape, int] | None:
    """The (shape, vertex index) nearest (x, y) within ``tol`` among ``shapes`` (masks skipped)."""
    best: tuple[Shape, int] | None = None
    best_d = tol
    for s in shapes:
        if s.kind.carries_mask or len(s.points) == 0:
            continue
        i, d = nearest_vertex(s.points, x, y)
        if d <= best_d:
            best, best_d = (s, i), d
    return best


def edge_at(shapes: Iterable[Shape], x: float, y: float,
            tol: float) -> tuple[Shape, int, np.ndarray] | None:
    """(shape, edge index i (between vertex i and i+1), closest point) within ``tol``; only
    shape types that take inserted vertices."""
    best: tuple[Shape, int, np.ndarray] | None = None
    best_d = tol
    for s in shapes:
        if not s.kind.inserts_vertices or len(s.points) < 2:
            continue
        i, d, p = nearest_edge(s.points, x, y, closed=s.kind.closed)
        if d <= best_d:
            best, best_d = (s, i, p), d
    return best


def shapes_in_rect(ann: ImageAnnotation, rect: tuple[float, float, float, float],
                   visible: Callable[[Shape], bool] = lambda s: s.visible) -> list[Shape]:
    """Visible shapes whose bounding box lies entirely inside ``rect`` (x0, y0, x1, y1)."""
    rx0, ry0, rx1, ry1 = min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[0], rect[2]), max(rect[1], rect[3])
    out = []
    for s in ann.shapes:
        if not visible(s):
            continue
        if s.kind.carries_mask and (s.mask is None or not s.mask.any()):
            continue
        x0, y0, x1, y1 = s.bbox()
        if x0 >= rx0 and y0 >= ry0 and x1 <= rx1 and y1 <= ry1:
            out.append(s)
    return out


def insert_vertex(points: np.ndarray, edge: int, p: np.ndarray) -> np.ndarray:
    """``points`` with ``p`` inserted after vertex ``edge``."""
    return np.insert(np.asarray(points, dtype=np.float64).reshape(-1, 2), edge + 1, p, axis=0)


def can_delete_vertex(shape: Shape) -> bool:
    kind = shape.kind
    return kind.vertices_editable and len(shape.points) > kind.min_points
