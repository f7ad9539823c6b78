"""Conversions polygon/rectangle/circle ↔ mask, each one undoable edit."""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import AddShapes
from segstudio.core.model import Shape
from segstudio.core.rasterize import shape_mask
from segstudio.tools.convert import masks_to_polygons_edit, shapes_to_mask_edit


def test_shapes_to_mask_paints_class_layers_and_removes_shapes(doc):
    poly = Shape("cat", [[10, 10], [50, 12], [30, 40]])
    rect = Shape("cat", [[60, 5], [80, 30]], "rectangle")
    circ = Shape("dog", [[30, 60], [30, 70]], "circle")
    doc.history.push(AddShapes("k", [poly, rect, circ]))
    before = [shape_mask(s, 80, 120) for s in (poly, rect, circ)]
    edit = shapes_to_mask_edit("k", doc.ann, [poly, rect, circ])
    doc.history.push(edit)
    assert [s.shape_type for s in doc.ann.shapes] == ["mask", "mask"]
    cat, dog = doc.ann.mask_shape("cat"), doc.ann.mask_shape("dog")
    np.testing.assert_array_equal(cat.mask, before[0] | before[1])
    np.testing.assert_array_equal(dog.mask, before[2])
    doc.history.undo()
    assert doc.ann.shapes == [poly, rect, circ]
    doc.history.redo()
    np.testing.assert_array_equal(doc.ann.mask_shape("cat").mask, before[0] | before[1])


def test_shapes_to_mask_adds_to_existing_layer(doc):
    m = np.zeros((80, 120), bool)
    m[0:5, 0:5] = True
    layer = Shape("cat", np.zeros((0, 2)), "mask", mask=m.copy())
    rect = Shape("cat", [[60, 5], [80, 30]], "rectangle")
    doc.history.push(AddShapes("k", [layer, rect]))
    doc.history.push(shapes_to_mask_edit("k", doc.ann, [rect]))
    assert doc.ann.shapes == [layer]
    assert layer.mask[0:5, 0:5].all() and layer.mask[5:31, 60:81].all() and layer.mask.sum() == 25 + 26 * 21
    doc.history.undo()
    np.testing.assert_array_equal(layer.mask, m)


def test_mask_to_polygons_round_trip_and_min_area(doc):
    m = np.zeros((80, 120), bool)
    m[10:30, 10:40] = True
    m[60:62, 100:102] = True                      # 4 px speck
    layer = Shape("cat", np.zeros((0, 2)), "mask", mask=m)
    doc.history.push(AddShapes("k", [layer]))
    doc.history.push(masks_to_polygons_edit("k", doc.ann, [layer], tolerance=0, min_area=10))
    (poly,) = doc.ann.shapes
    assert poly.shape_type == "polygon" and poly.label == "cat"
    expected = np.zeros_like(m)
    expected[10:30, 10:40] = True
    np.testing.assert_array_equal(shape_mask(poly, 80, 120), expected)
    doc.history.undo()
    assert doc.ann.shapes == [layer]


def test_conversions_of_nothing_are_none(doc):
    assert shapes_to_mask_edit("k", doc.ann, []) is None
    assert masks_to_polygons_edit("k", doc.ann, [Shape("cat", [[1, 1], [5, 5]], "rectangle")]) is None
