"""The shape-kind table: every kind's rasterisation, bounding box, outline and hit test agree, its
labelme entry round-trips, and a kind registered from outside is picked up by rasterisation,
the labelme reader/writer, hit tests and exporters without touching them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core import shape_kinds
from segstudio.core.formats.coco import annotation_records
from segstudio.core.formats.yolo import shape_polygons
from segstudio.core.geometry import nearest_edge, nearest_vertex
from segstudio.core.io.labelme import AnnotationError, annotation_from_dict, annotation_to_dict
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.rasterize import class_value_map, shape_mask, shapes_to_label
from segstudio.core.shape_kinds import POINT_SIZE, ShapeKind, kind_of
from segstudio.tools.hittest import can_delete_vertex, edge_at, shape_contains

H, W = 60, 80
SAMPLES = {   # a valid set of points per built-in vector kind
    "polygon": [[10.3, 8.7], [55.2, 12.1], [62.8, 44.6], [30.5, 50.2], [14.1, 33.3]],
    "rectangle": [[52.6, 41.2], [12.4, 9.8]],          # drawn bottom-right to top-left
    "circle": [[40.2, 30.7], [52.9, 36.1]],
    "point": [[33.4, 21.6]],
    "line": [[8.2, 50.5], [70.7, 10.3]],
    "linestrip": [[6.5, 8.1], [30.2, 40.7], [50.9, 12.4], [72.3, 48.8]],
    "points": [[12.2, 14.9], [44.4, 40.6], [70.1, 20.3]],
}


def _mask() -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[10:25, 30:52] = True
    m[15:18, 40:44] = False        # a hole
    m[40:47, 5:9] = True           # a second piece
    return m


def _shape(name: str) -> Shape:
    if name == "mask":
        return Shape("cat", np.zeros((0, 2)), "mask", mask=_mask())
    return Shape("cat", SAMPLES[name], name)


def test_every_built_in_kind_has_a_sample():
    assert set(shape_kinds.names()) == set(SAMPLES) | {"mask"}


def _distance_to_geometry(kind: ShapeKind, pts: np.ndarray, x: float, y: float) -> float:
    if kind.markers:
        return nearest_vertex(pts, x, y)[1]
    outline = kind.outline(pts, max_error=0.01)
    assert outline is not None
    return nearest_edge(outline, x, y, closed=kind.closed)[1]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_rasterisation_bbox_and_hit_test_agree(name):
    s = _shape(name)
    kind = s.kind
    m = shape_mask(s, H, W)
    assert m.any()
    ys, xs = np.nonzero(m)
    x0, y0, x1, y1 = s.bbox()
    # every painted pixel lies within the kind's reach of its bounding box …
    assert xs.min() >= x0 - kind.reach - 1 and xs.max() <= x1 + kind.reach + 1
    assert ys.min() >= y0 - kind.reach - 1 and ys.max() <= y1 + kind.reach + 1
    if kind.closed:   # … and an area's pixels span its box (labelme fills the outline too)
        assert abs(xs.min() - x0) <= 1 and abs(xs.max() - x1) <= 1
        assert abs(ys.min() - y0) <= 1 and abs(ys.max() - y1) <= 1
    # every painted pixel is hit within the reach; a pixel inside an area, clear of its
    # outline, is painted; nothing is painted that the hit test misses
    for y in range(H):
        for x in range(W):
            hit_near = shape_contains(s, x, y, kind.reach + 1.5)
            if m[y, x]:
                assert hit_near, (name, x, y)
            if kind.closed and shape_contains(s, x, y, 0.0) and \
                    _distance_to_geometry(kind, s.points, x, y) >= 1.5:
                assert m[y, x], (name, x, y)
            if not kind.closed and _distance_to_geometry(kind, s.points, x, y) > kind.reach + 1:
                assert not m[y, x] and not shape_contains(s, x, y, 1.0), (name, x, y)


def test_mask_kind_is_its_pixels():
    s = _shape("mask")
    np.testing.assert_array_equal(shape_mask(s, H, W), s.mask)
    assert s.bbox() == (5.0, 10.0, 51.0, 46.0)
    assert s.kind.contains(s.points, s.mask, 31.5, 11.5, tol=0.0)
    assert not s.kind.contains(s.points, s.mask, 41.5, 16.5, tol=5.0)   # in the hole: a mask has no tolerance


@pytest.mark.parametrize("name", sorted(SAMPLES) + ["mask"])
def test_labelme_round_trip(name):
    ann = ImageAnnotation("a.png", W, H, [_shape(name)])
    d = json.loads(json.dumps(annotation_to_dict(ann)))
    assert d["shapes"][0]["shape_type"] == name
    back = annotation_from_dict(d, "a.json")
    assert back.shapes[0].same_as(ann.shapes[0])
    np.testing.assert_array_equal(shape_mask(back.shapes[0], H, W), shape_mask(ann.shapes[0], H, W))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_point_count_rule_is_the_same_for_reader_and_rasteriser(name):
    kind = kind_of(name)
    bad = kind.min_points - 1 if kind.min_points > 1 else (kind.max_points or -1) + 1
    pts = [[float(i), float(2 * i)] for i in range(1, bad + 1)]
    problem = kind.point_count_problem(bad)
    assert problem is not None and f"a {name} needs" in problem
    if bad:   # no points at all: nothing to draw, only the file is wrong
        with pytest.raises(ValueError, match=problem):
            kind.footprint(np.array(pts), H, W)
    d = {"shapes": [{"label": "x", "points": pts, "shape_type": name}], "imageHeight": H, "imageWidth": W}
    with pytest.raises(AnnotationError, match=problem):
        annotation_from_dict(d, "f.json")


def test_canvas_outline_of_a_big_circle_stays_on_the_circle():
    pts = np.array([[3000.0, 3000.0], [5000.0, 3000.0]])
    coarse = kind_of("circle").outline(pts)
    fine = kind_of("circle").outline(pts, max_error=0.1)
    assert coarse is not None and fine is not None
    assert len(coarse) == 64     # what YOLO / exports write, as labelme's converters
    # the true circle's furthest point from the fine polygon: the middle of an edge
    mid = (fine + np.roll(fine, -1, axis=0)) / 2
    assert 2000 - np.hypot(*(mid - pts[0]).T).min() <= 0.1


# -- the extension point ------------------------------------------------------------------------
def _paint_quad(draw, xy, value):
    draw.polygon(xy=xy, outline=value, fill=value)


def _hit_quad(pts, x, y, tol):
    from segstudio.core.geometry import point_in_polygon
    return point_in_polygon(pts, x, y) or nearest_edge(pts, x, y, closed=True)[1] <= tol


ROTATED = [[20.0, 10.0], [50.0, 20.0], [42.0, 44.0], [12.0, 34.0]]   # an oriented rectangle


@pytest.fixture
def rotation_kind():
    """labelme's oriented rectangle, registered the way a new kind is added."""
    kind = shape_kinds.register(ShapeKind("rotation", 4, 4, True, _paint_quad, _hit_quad, coco_polygon=True))
    yield kind
    shape_kinds.unregister("rotation")


def test_an_unregistered_kind_is_refused():
    d = {"shapes": [{"label": "x", "points": ROTATED, "shape_type": "rotation"}]}
    with pytest.raises(AnnotationError, match="unknown shape type 'rotation'"):
        annotation_from_dict(d, "f.json")
    with pytest.raises(ValueError, match="unknown shape type"):
        Shape("x", ROTATED, "rotation")


def test_a_registered_kind_works_everywhere_without_other_changes(rotation_kind):
    d = {"shapes": [{"label": "car", "points": ROTATED, "shape_type": "rotation"}],
         "imageHeight": H, "imageWidth": W}
    ann = annotation_from_dict(d, "f.json")                                  # labelme reader
    s = ann.shapes[0]
    assert s.kind is rotation_kind
    assert annotation_to_dict(ann)["shapes"][0]["shape_type"] == "rotation"  # labelme writer
    with pytest.raises(AnnotationError, match="a rotation needs exactly 4 points, got 3"):
        annotation_from_dict({"shapes": [{"label": "car", "points": ROTATED[:3],
                                          "shape_type": "rotation"}]}, "f.json")
    # rasterised exactly like the same points as a polygon (labelme semantics)
    cls, _ = shapes_to_label(ann.shapes, H, W, class_value_map(["car"]))
    poly = shape_mask(Shape("car", ROTATED, "polygon"), H, W)
    np.testing.assert_array_equal(cls == 1, poly)
    assert s.bbox() == (12.0, 10.0, 50.0, 44.0)
    assert shape_contains(s, 31.0, 27.0, 0.0) and not shape_contains(s, 14.0, 12.0, 1.0)   # hit test
    assert edge_at([s], 35.0, 15.0, 2.0) is None and not can_delete_vertex(s)  # fixed vertex count
    np.testing.assert_array_equal(shape_polygons(s)[0], ROTATED)             # YOLO ring
    records = annotation_records(ann, {"car": 1}, 1, 1, rle_only=False)                   # COCO polygon
    assert records[0]["segmentation"] == [[v for p in ROTATED for v in p]]
    assert records[0]["area"] == int(poly.sum())


def test_registering_a_taken_name_raises():
    with pytest.raises(ValueError, match="already registered"):
        shape_kinds.register(ShapeKind("circle", 2, 2, True, _paint_quad, _hit_quad))
    assert kind_of("circle").extent is not None and POINT_SIZE == 5
