"""The one table of shape kinds (labelme's ``shape_type``): everything that depends on a kind asks it.

A :class:`ShapeKind` says how many points its labelme entry holds, whether it is an area (a
closed, filled outline) or open, its outline as a polyline, its bounding box, how it is
rasterised into a mask (labelme's semantics: a polygon is filled together with its outline,
lines are 10 px wide, points are disks of radius 5 — pixel-identical to labelme's
``shape_to_mask``), how the pointer hits it, and how exporters write it. Rasterisation,
bounding boxes, hit tests, the labelme reader/writer, the exporters, the canvas items and the
edit tools use the kind of a shape (``Shape.kind``) instead of comparing ``shape_type`` strings.

A new kind is one :func:`register` call (see the README's "How to add a shape type").

Pure: numpy, PIL (rasterisation), segstudio.core.geometry. No Qt, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from segstudio.core.geometry import (
    circle_to_polygon,
    mask_to_polygons,
    nearest_edge,
    nearest_vertex,
    point_in_polygon,
    rectangle_to_polygon,
)

LINE_WIDTH = 10   # labelme's default for line / linestrip masks
POINT_SIZE = 5    # labelme's default radius for point masks

Box = tuple[float, float, float, float]                      # x0, y0, x1, y1
Footprint = tuple[tuple[int, int, int, int], np.ndarray]       # (y0, y1, x0, x1), bool patch
Painter = Callable[[ImageDraw.ImageDraw, list[tuple[float, float]], int], None]


@dataclass(frozen=True)
class ShapeKind:
    """One shape kind. ``points`` arguments are ``(N, 2)`` float arrays of ``(x, y)``."""

    name: str                  # the labelme ``shape_type``
    min_points: int            # in the labelme file
    max_points: int | None     # None: no upper bound (vertices can be added and deleted)
    closed: bool               # an area: its outline is a closed ring, filled
    paint: Painter             # PIL drawing of the points (already checked) with ``value``
    hit: Callable[[np.ndarray, float, float, float], bool]   # (points, x, y, tol): on/in it
    outline_of: Callable[[np.ndarray], np.ndarray] = np.asarray   # outline polyline vertices
    #: the geometry's (lo, hi) corners when they are not its vertices' (a circle's rim)
    extent: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    reach: float = 1.0         # pixels the rasterisation may reach beyond the extent
    #: a curved kind's outline within ``max_error`` pixels (the canvas at any zoom); None: straight
    fine_outline_of: Callable[[np.ndarray, float], np.ndarray] | None = None
    markers: bool = False      # the canvas draws its points as constant-size markers
    coco_polygon: bool = False # labelme2coco writes it as polygon(s); other kinds as RLE
    carries_mask: bool = False # a bitmap (``Shape.mask``), not points

    # -- points -----------------------------------------------------------------------------
    def point_count_problem(self, n: int) -> str | None:
        """Why ``n`` points do not make this kind (labelme's rule), or None."""
        lo, hi = self.min_points, self.max_points
        if lo <= n and (hi is None or n <= hi):
            return None
        need = f"exactly {lo}" if lo == hi else f"at least {lo}"
        return f"a {self.name} needs {need} point{'s' if lo != 1 else ''}, got {n}"

    @property
    def vertices_editable(self) -> bool:
        """Vertices can be deleted (down to ``min_points``)."""
        return self.max_points is None and not self.carries_mask

    @property
    def inserts_vertices(self) -> bool:
        """Vertices can be inserted on an edge (variable count and an outline with edges)."""
        return self.vertices_editable and not self.markers

    # -- geometry ---------------------------------------------------------------------------
    def outline(self, points: np.ndarray, mask: np.ndarray | None = None,
                max_error: float | None = None) -> np.ndarray | None:
        """The outline as a polyline (closed when :attr:`closed`), None when there is none.

        Curves are approximated as exports write them (a circle: 64 vertices, as labelme's
        converters), or within ``max_error`` pixels when given (the canvas, zoomed in)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return None
        if len(pts) < self.min_points:   # unfinished: its vertices as they are
            return pts
        if max_error is not None and self.fine_outline_of is not None:
            return np.asarray(self.fine_outline_of(pts, max_error), dtype=np.float64).reshape(-1, 2)
        return np.asarray(self.outline_of(pts), dtype=np.float64).reshape(-1, 2)

    def bbox(self, points: np.ndarray, mask: np.ndarray | None = None) -> Box:
        """(x0, y0, x1, y1) of the geometry; (0, 0, 0, 0) when it has none."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return 0.0, 0.0, 0.0, 0.0
        lo, hi = self._extent(pts)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def _extent(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.extent is not None and len(pts) >= self.min_points:
            return self.extent(pts)
        return pts.min(axis=0), pts.max(axis=0)

    def polygons(self, points: np.ndarray, mask: np.ndarray | None = None) -> list[np.ndarray]:
        """The area as polygon rings (YOLO); empty for open kinds."""
        if not self.closed or len(points) < self.min_points:
            return []
        return [np.asarray(self.outline_of(np.asarray(points, dtype=np.float64)), dtype=np.float64)]

    def contains(self, points: np.ndarray, mask: np.ndarray | None, x: float, y: float, *, tol: float) -> bool:
        """Whether (x, y) is on/in the shape (outlines count within ``tol`` image pixels)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return False
        x0, y0, x1, y1 = self.bbox(pts)
        if x < x0 - tol or x > x1 + tol or y < y0 - tol or y > y1 + tol:
            return False
        return self.hit(pts, x, y, tol)

    # -- rasterisation ----------------------------------------------------------------------
    def footprint(self, points: np.ndarray, height: int, width: int,
                  mask: np.ndarray | None = None) -> Footprint | None:
        """The shape's pixels as ``((y0, y1, x0, x1), bool patch)`` clipped to the image, or None.

        Rasterises only the bounding box, offset by even integers so PIL's rounding gives
        exactly the pixels of a full-image draw (labelme's ``shape_to_mask``).
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return None
        problem = self.point_count_problem(len(pts))
        if problem is not None:
            raise ValueError(problem)
        lo, hi = self._extent(pts)
        m = self.reach + 2
        x0 = max(0, int(math.floor(lo[0] - m)) // 2 * 2)
        y0 = max(0, int(math.floor(lo[1] - m)) // 2 * 2)
        x1 = min(width, int(math.ceil(hi[0] + m)) + 1)
        y1 = min(height, int(math.ceil(hi[1] + m)) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        img = Image.new("L", (x1 - x0, y1 - y0), 0)
        self.paint(ImageDraw.Draw(img), [(x - x0, y - y0) for x, y in pts], 1)
        patch = np.asarray(img, dtype=bool)
        if not patch.any():
            return None
        return (y0, y1, x0, x1), patch


@dataclass(frozen=True)
class MaskKind(ShapeKind):
    """labelme's ``mask``: a full-image bitmap in memory; on disk a box (2 points) + a PNG crop."""

    def outline(self, points: np.ndarray, mask: np.ndarray | None = None,
                max_error: float | None = None) -> np.ndarray | None:
        if mask is None or not mask.any():
            return None
        x0, y0, x1, y1 = self.bbox(points, mask)   # the box around the pixels, not their centres
        return np.array([[x0, y0], [x1 + 1, y0], [x1 + 1, y1 + 1], [x0, y1 + 1]], dtype=np.float64)

    def bbox(self, points: np.ndarray, mask: np.ndarray | None = None) -> Box:
        if mask is None or not mask.any():
            return super().bbox(points)
        ys, xs = np.nonzero(mask)
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    def polygons(self, points: np.ndarray, mask: np.ndarray | None = None) -> list[np.ndarray]:
        return [] if mask is None else mask_to_polygons(mask, tolerance=0.0)

    def contains(self, points: np.ndarray, mask: np.ndarray | None, x: float, y: float, *, tol: float) -> bool:
        if mask is None:
            return False
        ix, iy = int(math.floor(x)), int(math.floor(y))
        return 0 <= iy < mask.shape[0] and 0 <= ix < mask.shape[1] and bool(mask[iy, ix])

    def footprint(self, points: np.ndarray, height: int, width: int,
                  mask: np.ndarray | None = None) -> Footprint | None:
        if mask is None:
            return None
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return None
        b = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        return b, mask[b[0]:b[1], b[2]:b[3]]


# -- the built-in kinds' behaviour ----------------------------------------------------------------
def _paint_polygon(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], value: int) -> None:
    draw.polygon(xy=xy, outline=value, fill=value)


def _paint_rectangle(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], value: int) -> None:
    (x0, y0), (x1, y1) = xy
    # rectangles drawn right-to-left / bottom-to-top are normalised
    draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=value, fill=value)


def _paint_circle(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], value: int) -> None:
    (cx, cy), (px, py) = xy
    d = math.hypot(cx - px, cy - py)
    draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=value, fill=value)


def _paint_line(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], value: int) -> None:
    draw.line(xy=xy, fill=value, width=LINE_WIDTH)


def _paint_points(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], value: int) -> None:
    r = POINT_SIZE
    for cx, cy in xy:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=value, fill=value)


def circle_radius(points: np.ndarray) -> float:
    """labelme's circle: centre = first point, radius = distance to the second."""
    return float(np.hypot(*(points[1] - points[0])))


def _fine_circle(points: np.ndarray, max_error: float) -> np.ndarray:
    r = circle_radius(points)
    # a regular n-gon strays r·(1 − cos(π/n)) from its circle
    step = math.acos(max(-1.0, 1.0 - max_error / r)) if r > 0 else math.pi
    return circle_to_polygon(points, max(64, math.ceil(math.pi / max(step, 1e-6))))


def _circle_extent(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = circle_radius(points)
    return points[0] - r, points[0] + r


def _hit_polygon(pts: np.ndarray, x: float, y: float, tol: float) -> bool:
    return point_in_polygon(pts, x, y) or nearest_edge(pts, x, y, closed=True)[1] <= tol


def _hit_rectangle(pts: np.ndarray, x: float, y: float, tol: float) -> bool:
    return True   # ShapeKind.contains already checked the tolerance-grown box: that is the rectangle


def _hit_circle(pts: np.ndarray, x: float, y: float, tol: float) -> bool:
    return len(pts) >= 2 and float(np.hypot(x - pts[0, 0], y - pts[0, 1])) <= circle_radius(pts) + tol


def _hit_open(pts: np.ndarray, x: float, y: float, tol: float) -> bool:
    return nearest_edge(pts, x, y, closed=False)[1] <= tol


def _hit_points(pts: np.ndarray, x: float, y: float, tol: float) -> bool:
    return nearest_vertex(pts, x, y)[1] <= tol


_KINDS: dict[str, ShapeKind] = {}


def register(kind: ShapeKind) -> ShapeKind:
    """Adds ``kind`` to the table (a name already there raises ``ValueError``)."""
    if kind.name in _KINDS:
        raise ValueError(f"shape type {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Removes a kind (tests that register a toy kind clean up with this)."""
    _KINDS.pop(name, None)


def kind_of(name: str) -> ShapeKind:
    """The kind named ``name``; ``ValueError`` for an unknown one."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown shape type {name!r}")
    return kind


def names() -> tuple[str, ...]:
    """Every registered ``shape_type``, built-ins first."""
    return tuple(_KINDS)


def is_kind(name: object) -> bool:
    return isinstance(name, str) and name in _KINDS


register(ShapeKind("polygon", 3, None, True, _paint_polygon, _hit_polygon, coco_polygon=True))
register(ShapeKind("rectangle", 2, 2, True, _paint_rectangle, _hit_rectangle,
                   outline_of=rectangle_to_polygon, coco_polygon=True))
register(ShapeKind("circle", 2, 2, True, _paint_circle, _hit_circle, outline_of=circle_to_polygon,
                   extent=_circle_extent, fine_outline_of=_fine_circle))
register(ShapeKind("point", 1, 1, False, _paint_points, _hit_points, reach=POINT_SIZE + 1, markers=True))
register(ShapeKind("line", 2, 2, False, _paint_line, _hit_open, reach=LINE_WIDTH))
register(ShapeKind("linestrip", 2, None, False, _paint_line, _hit_open, reach=LINE_WIDTH))
register(ShapeKind("points", 1, None, False, _paint_points, _hit_points, reach=POINT_SIZE + 1, markers=True))
# a mask's footprint, box, outline and hit test come from its bitmap (MaskKind), never from paint/hit
register(MaskKind("mask", 2, 2, True, _paint_polygon, _hit_rectangle, carries_mask=True))


# -- module-level helpers for callers holding a type name ------------------------------------------
def shape_footprint(points: np.ndarray, shape_type: str, height: int, width: int,
                    *, mask: np.ndarray | None = None) -> Footprint | None:
    """:meth:`ShapeKind.footprint` of the kind named ``shape_type``."""
    return kind_of(shape_type).footprint(points, height, width, mask)


def shape_to_mask(points: np.ndarray, shape_type: str, height: int, width: int,
                  *, mask: np.ndarray | None = None) -> np.ndarray:
    """Full-image boolean mask of one shape (polygon filled with its outline, as labelme)."""
    out = np.zeros((height, width), dtype=bool)
    fp = shape_footprint(points, shape_type, height, width, mask=mask)
    if fp is not None:
        (y0, y1, x0, x1), patch = fp
        out[y0:y1, x0:x1] = patch
    return out
