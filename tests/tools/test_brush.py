"""BrushTool / EraserTool: one stroke = one edit on the class's mask layer."""

from __future__ import annotations

import numpy as np

from segstudio.tools import BrushTool, EraserTool
from segstudio.tools.base import pointer


def stroke(tool, pts, button="left"):
    tool.press(pointer(*pts[0], button=button))
    for p in pts[1:]:
        tool.move(pointer(*p, button=button))
    tool.release(pointer(*pts[-1], button=button))


def test_first_stroke_creates_the_class_mask_in_one_step(doc):
    tool = doc.activate(BrushTool(radius=3))
    stroke(tool, [(10, 10), (20, 10), (30, 10)])
    assert len(doc.pushed) == 1
    layer = doc.ann.mask_shape("cat")
    assert layer is not None and layer.shape_type == "mask"
    m = layer.mask
    assert m[10, 10] and m[10, 30] and m[13, 20] and m[7, 20]
    assert not m[15, 20] and not m[10, 36] and not m[40, 60]
    doc.history.undo()
    assert doc.ann.shapes == []
    doc.history.redo()
    assert doc.ann.mask_shape("cat") is layer and layer.mask[10, 20]


def test_model_untouched_during_stroke(doc):
    tool = doc.activate(BrushTool(radius=2))
    tool.press(pointer(5, 5))
    tool.move(pointer(15, 5, button="left"))
    assert doc.ann.shapes == [] and doc.pushed == []
    assert tool.preview.strokes and len(tool.preview.strokes[0][0]) == 2


def test_second_stroke_paints_same_layer(doc):
    tool = doc.activate(BrushTool(radius=2))
    stroke(tool, [(10, 10)])
    stroke(tool, [(50, 50), (60, 50)])
    assert len(doc.pushed) == 2 and len(doc.ann.shapes) == 1
    m = doc.ann.shapes[0].mask
    assert m[10, 10] and m[50, 55]
    doc.history.undo()
    assert m[10, 10] and not m[50, 55]


def test_other_class_gets_its_own_layer(doc):
    tool = doc.activate(BrushTool(radius=2))
    stroke(tool, [(10, 10)])
    doc.label = "dog"
    stroke(tool, [(40, 40)])
    assert [s.label for s in doc.ann.shapes] == ["cat", "dog"]
    assert not doc.ann.mask_shape("dog").mask[10, 10]


def test_eraser_makes_a_hole(doc):
    tool = doc.activate(BrushTool(radius=15))
    stroke(tool, [(60, 40)])
    eraser = doc.activate(EraserTool(radius=4))
    stroke(eraser, [(60, 40)])
    assert len(doc.pushed) == 2 and len(doc.ann.shapes) == 1
    m = doc.ann.shapes[0].mask
    assert not m[40, 60] and m[40, 70] and m[30, 60]
    doc.history.undo()
    assert m[40, 60]


def test_right_drag_with_brush_erases(doc):
    tool = doc.activate(BrushTool(radius=10))
    stroke(tool, [(30, 30)])
    tool.radius = 2
    stroke(tool, [(30, 30)], button="right")
    m = doc.ann.shapes[0].mask
    assert not m[30, 30] and m[30, 37]


def test_eraser_on_nothing_pushes_nothing(doc):
    eraser = doc.activate(EraserTool(radius=4))
    stroke(eraser, [(10, 10), (20, 20)])
    assert doc.pushed == []


def test_brackets_change_radius(doc):
    tool = doc.activate(BrushTool(radius=10))
    assert tool.key("]") and tool.radius > 10
    assert tool.key("[") and tool.key("[") and tool.radius < 10
    for _ in range(50):
        tool.key("[")
    assert tool.radius == 1.0


def test_brush_asks_label_when_no_class_selected(doc):
    doc.label = None
    doc.answers = [("dog", None)]
    tool = doc.activate(BrushTool(radius=2))
    stroke(tool, [(10, 10)])
    assert doc.ann.shapes[0].label == "dog"
    doc.answers = [None]
    stroke(tool, [(30, 30)])
    assert len(doc.pushed) == 1 and not np.any(doc.ann.shapes[0].mask[28:33, 28:33])


def test_stroke_patch_matches_full_image_stroke_mask():
    from segstudio.core.geometry import stroke_mask
    from segstudio.tools.brush import stroke_patch

    path = np.array([[3.4, 2.6], [40.2, 30.7], [58.9, 1.2]])
    for radius in (1.0, 3.5, 7.0):
        full = stroke_mask(path, radius, 50, 60)
        (y0, y1, x0, x1), patch = stroke_patch(path, radius, 50, 60)
        out = np.zeros_like(full)
        out[y0:y1, x0:x1] = patch
        np.testing.assert_array_equal(out, full)
