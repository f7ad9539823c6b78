"""Shape rasterisation (labelme semantics), mask → shapes, label maps, hit tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from segstudio.core.geometry import (
    mask_to_polygons,
    mask_to_regions,
    nearest_edge,
    nearest_vertex,
    point_in_polygon,
    polygon_area,
    simplify,
)
from segstudio.core.model import Shape
from segstudio.core.rasterize import class_value_map, label_map_to_shapes, mask_to_shapes, shapes_to_label
from segstudio.core.shape_kinds import shape_to_mask


def _grid(text: str) -> np.ndarray:
    return np.array([[c == "#" for c in row.strip()] for row in text.strip().splitlines()])


def _labelme_shape_to_mask(img_shape, points, shape_type, line_width=10, point_size=5):
    """labelme.utils.shape_to_mask, re-typed from its documented behaviour: a full-image PIL draw."""
    mask = Image.fromarray(np.zeros(img_shape[:2], dtype=np.uint8))
    draw = ImageDraw.Draw(mask)
    xy = [tuple(p) for p in points]
    if shape_type == "circle":
        (cx, cy), (px, py) = xy
        d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif shape_type == "rectangle":
        (x0, y0), (x1, y1) = xy
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif shape_type in ("line", "linestrip"):
        draw.line(xy=xy, fill=1, width=line_width)
    elif shape_type == "point":
        cx, cy = xy[0]
        r = point_size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:
        draw.polygon(xy=xy, outline=1, fill=1)
    return np.array(mask, dtype=bool)


def test_polygon_square_includes_its_outline():
    m = shape_to_mask(np.array([[1, 1], [3, 1], [3, 3], [1, 3]]), "polygon", 5, 6)
    np.testing.assert_array_equal(m, _grid("""
        ......
        .###..
        .###..
        .###..
        ......"""))


def test_rectangle_drawn_right_to_left_bottom_to_top():
    m = shape_to_mask(np.array([[4, 3], [1, 1]]), "rectangle", 5, 6)
    np.testing.assert_array_equal(m, _grid("""
        ......
        .####.
        .####.
        .####.
        ......"""))


def test_circle_pixels():
    m = shape_to_mask(np.array([[4, 4], [7, 4]]), "circle", 9, 9)   # radius 3
    np.testing.assert_array_equal(m, _grid("""
        .........
        ...###...
        ..#####..
        .#######.
        .#######.
        .#######.
        ..#####..
        ...###...
        ........."""))
    assert m.sum() == 37


def test_point_is_a_disk_of_radius_5():
    m = shape_to_mask(np.array([[10, 10]]), "point", 21, 21)
    assert m[10, 5] and m[10, 15] and m[5, 10] and m[15, 10]
    assert not m[10, 4] and not m[10, 16] and not m[5, 5]
    assert m.sum() == 97


@pytest.mark.parametrize("seed", range(12))
def test_footprint_rasterisation_equals_labelme_full_image_draw(seed):
    rng = np.random.default_rng(seed)
    h, w = 37, 53
    for shape_type, n in [("polygon", 5), ("rectangle", 2), ("circle", 2), ("line", 2),
                          ("linestrip", 4), ("point", 1)]:
        pts = rng.uniform(-5, [w + 5, h + 5], size=(n, 2))
        if shape_type == "circle":
            pts[1] = pts[0] + rng.uniform(-6, 6, 2)
        ours = shape_to_mask(pts, shape_type, h, w)
        ref = _labelme_shape_to_mask((h, w), pts, shape_type)
        np.testing.assert_array_equal(ours, ref, err_msg=f"{shape_type} {pts.tolist()}")


def test_too_few_points_raise():
    with pytest.raises(ValueError, match="at least 3"):
        shape_to_mask(np.array([[0, 0], [1, 1]]), "polygon", 5, 5)
    with pytest.raises(ValueError, match="2 points"):
        shape_to_mask(np.array([[0, 0]]), "rectangle", 5, 5)


def _blobs(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((h // 4, w // 4))
    big = np.kron(noise, np.ones((4, 4)))
    k = np.ones(5) / 5
    smooth = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, big)
    smooth = np.apply_along_axis(lambda c: np.convolve(c, k, "same"), 0, smooth)
    return smooth > 0.55


@pytest.mark.parametrize("seed", range(6))
def test_tolerance_zero_reproduces_mask_exactly(seed):
    mask = _blobs(seed)
    assert mask.any()
    shapes = mask_to_shapes(mask, "thing", tolerance=0)
    cls, _ = shapes_to_label(shapes, *mask.shape, class_value_map(["thing"]))
    np.testing.assert_array_equal(cls == 1, mask)


def test_region_with_hole_becomes_exact_mask_shape():
    mask = np.zeros((20, 20), dtype=bool)
    mask[2:12, 2:12] = True
    mask[5:8, 5:8] = False            # a hole
    mask[15:18, 14:19] = True         # a second component, no hole
    regions = mask_to_regions(mask, tolerance=0)
    assert len(regions) == 2
    holed = next(r for r in regions if r.holes)
    assert len(holed.holes) == 1 and holed.area == 100 - 9
    shapes = mask_to_shapes(mask, "x", tolerance=1.0)
    types = sorted(s.shape_type for s in shapes)
    assert types == ["mask", "polygon"]
    m = next(s for s in shapes if s.shape_type == "mask").mask
    expected = np.zeros_like(mask)
    expected[2:12, 2:12] = True
    expected[5:8, 5:8] = False
    np.testing.assert_array_equal(m, expected)
    cls, _ = shapes_to_label(shapes, 20, 20, class_value_map(["x"]))
    np.testing.assert_array_equal(cls == 1, mask)   # this simple blob survives tolerance 1 too


def test_min_area_drops_specks():
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:15, 5:15] = True
    mask[25, 25] = True
    mask[20:22, 2:4] = True
    assert len(mask_to_polygons(mask, tolerance=0)) == 3
    kept = mask_to_polygons(mask, tolerance=0, min_area=5)
    assert len(kept) == 1
    shapes = mask_to_shapes(mask, "a", mode="mask", min_area=5)
    assert len(shapes) == 1
    expected = np.zeros_like(mask)
    expected[5:15, 5:15] = True
    np.testing.assert_array_equal(shapes[0].mask, expected)


def test_simplify_reduces_vertices_within_tolerance():
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    ring = np.stack([50 + 30 * np.cos(t), 50 + 30 * np.sin(t)], axis=1)
    s = simplify(ring, 1.0)
    assert 8 <= len(s) < 60
    assert abs(polygon_area(s) - polygon_area(ring)) / polygon_area(ring) < 0.05
    np.testing.assert_array_equal(simplify(ring, 0), ring)


def test_shapes_to_label_later_paints_over_earlier_and_groups_instances():
    a = Shape("cat", [[0, 0], [5, 5]], "rectangle", group_id=1)
    b = Shape("dog", [[3, 3], [8, 8]], "rectangle")
    c = Shape("cat", [[7, 0], [9, 1]], "rectangle", group_id=1)    # same instance as a
    d = Shape("cat", [[0, 7], [1, 9]], "rectangle")                # no group id: its own instance
    e = Shape("__ignore__", [[9, 9], [9, 9]], "rectangle")
    values = class_value_map(["__ignore__", "_background_", "cat", "dog"])
    assert values == {"_background_": 0, "__ignore__": 255, "cat": 1, "dog": 2}
    cls, ins = shapes_to_label([a, b, c, d, e], 10, 10, values)
    assert cls[4, 4] == 2 and cls[2, 2] == 1 and cls[0, 8] == 1 and cls[9, 9] == 255
    assert ins[2, 2] == ins[0, 8] == 1      # a and c: one instance
    assert ins[4, 4] == 2 and ins[8, 0] == 3
    assert cls[0, 6] == 0 and ins[0, 6] == 0
    cls2, _ = shapes_to_label([b, a], 10, 10, values)   # order reversed: cat now on top
    assert cls2[4, 4] == 1
    with pytest.raises(KeyError, match="bird"):
        shapes_to_label([Shape("bird", [[0, 0], [1, 1]], "rectangle")], 10, 10, values)
    cls3, _ = shapes_to_label([Shape("bird", [[0, 0], [1, 1]], "rectangle")], 10, 10, values, unknown="skip")
    assert not cls3.any()


def test_label_map_to_shapes_round_trip():
    lm = np.zeros((20, 30), dtype=np.uint8)
    lm[2:8, 3:12] = 1
    lm[10:18, 15:28] = 2
    names = ["_background_", "road", "car"]
    shapes = label_map_to_shapes(lm, names, tolerance=0)
    assert sorted(s.label for s in shapes) == ["car", "road"]
    cls, _ = shapes_to_label(shapes, 20, 30, class_value_map(names))
    np.testing.assert_array_equal(cls, lm)


def test_hit_tests():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    assert point_in_polygon(square, 5, 5)
    assert point_in_polygon(square, 10, 5)      # on the edge counts as inside
    assert not point_in_polygon(square, 11, 5)
    assert not point_in_polygon(square[:2], 5, 0)
    i, d = nearest_vertex(square, 9, 1)
    assert i == 1 and d == pytest.approx(math.sqrt(2))
    assert nearest_vertex(np.zeros((0, 2)), 1, 1)[0] == -1
    i, d, p = nearest_edge(square, 5, -2)
    assert i == 0 and d == pytest.approx(2) and np.allclose(p, [5, 0])
    i, d, p = nearest_edge(square, -3, 5)       # closing edge from vertex 3 back to 0
    assert i == 3 and d == pytest.approx(3) and np.allclose(p, [0, 5])
    i, d, p = nearest_edge(square, -3, 5, closed=False)
    assert i != 3 and d == pytest.approx(math.hypot(3, 5))
    i, d, p = nearest_edge(square, 15, 5)       # beyond the segment: clamped to its end
    assert i == 1 and d == pytest.approx(5)
    assert polygon_area(square) == 100


def test_mask_mode_keeps_exactly_the_components_of_min_area_pixels():
    from skimage.morphology import remove_small_objects

    rng = np.random.default_rng(3)
    mask = rng.random((120, 160)) > 0.62          # thousands of specks of every size
    shapes = mask_to_shapes(mask, "a", mode="mask", min_area=6)
    expected = remove_small_objects(mask, max_size=5, connectivity=2)   # drops ≤ 5 px
    assert len(shapes) == 1
    np.testing.assert_array_equal(shapes[0].mask, expected)
    assert 0 < expected.sum() < mask.sum()
    assert mask_to_shapes(np.zeros((5, 5), bool), "a", mode="mask", min_area=1) == []
