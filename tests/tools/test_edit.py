"""EditTool: selection, move, vertex drag / insert / delete, delete shapes, mask move."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.edits import AddShapes, MoveMask
from segstudio.core.model import Shape
from segstudio.tools import EditTool
from segstudio.tools.base import pointer

SQUARE = np.array([[10, 10], [40, 10], [40, 40], [10, 40]], dtype=float)


@pytest.fixture
def shapes(doc):
    a = Shape("cat", SQUARE.copy())
    b = Shape("dog", SQUARE + 20)           # overlaps a, drawn on top
    doc.history.push(AddShapes("k", [a, b]))
    doc.history.clear()
    return a, b


def click(tool, x, y, mods=""):
    tool.press(pointer(x, y, mods=mods))
    tool.release(pointer(x, y, mods=mods))


def drag(tool, p0, p1, mods="", steps=4):
    tool.press(pointer(*p0, mods=mods))
    for t in np.linspace(0, 1, steps + 1)[1:]:
        tool.move(pointer(p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1]), button="left", mods=mods))
    tool.release(pointer(*p1, mods=mods))


def test_click_selects_topmost_ctrl_toggles_empty_clears(doc, shapes):
    a, b = shapes
    tool = doc.activate(EditTool())
    click(tool, 35, 35)                       # inside both: b is on top
    assert doc.ctx.selection == [b]
    click(tool, 15, 15, mods="ctrl")
    assert doc.ctx.selection == [b, a]
    click(tool, 35, 35, mods="ctrl")
    assert doc.ctx.selection == [a]
    click(tool, 100, 5)
    assert doc.ctx.selection == []
    assert doc.pushed == []


def test_hidden_shapes_are_not_hit(doc, shapes):
    a, b = shapes
    doc.project.get_class("dog").visible = False
    tool = doc.activate(EditTool())
    click(tool, 35, 35)
    assert doc.ctx.selection == [a]


def test_drag_moves_selection_in_one_edit(doc, shapes):
    a, b = shapes
    tool = doc.activate(EditTool())
    drag(tool, (15, 15), (20, 27))
    assert len(doc.pushed) == 1
    np.testing.assert_allclose(a.points, SQUARE + [5, 12])
    np.testing.assert_allclose(b.points, SQUARE + 20)
    doc.history.undo()
    np.testing.assert_allclose(a.points, SQUARE)


def test_move_is_limited_to_the_image(doc, shapes):
    a, _ = shapes
    tool = doc.activate(EditTool())
    drag(tool, (15, 15), (-100, 15))
    np.testing.assert_allclose(a.points[:, 0].min(), 0)


def test_escape_cancels_a_drag(doc, shapes):
    a, _ = shapes
    tool = doc.activate(EditTool())
    tool.press(pointer(15, 15))
    tool.move(pointer(30, 30, button="left"))
    assert tool.key("Escape")
    tool.release(pointer(30, 30))
    assert doc.pushed == []
    np.testing.assert_allclose(a.points, SQUARE)


def test_drag_vertex_of_selected_shape(doc, shapes):
    a, _ = shapes
    tool = doc.activate(EditTool())
    click(tool, 15, 15)
    tool.move(pointer(10.5, 10.5, button=""))
    assert tool.preview.vertex_hover == (a, 0)
    drag(tool, (10, 10), (2, 5))
    assert len(doc.pushed) == 1
    np.testing.assert_allclose(a.points[0], [2, 5])
    np.testing.assert_allclose(a.points[1:], SQUARE[1:])
    doc.history.undo()
    np.testing.assert_allclose(a.points, SQUARE)


def test_alt_click_and_double_click_insert_vertex(doc, shapes):
    a, _ = shapes
    tool = doc.activate(EditTool())
    click(tool, 25, 10.5, mods="alt")          # on the top edge of a
    assert len(doc.pushed) == 1 and len(a.points) == 5
    np.testing.assert_allclose(a.points[1], [25, 10])
    tool.double_click(pointer(10.4, 25))       # on the left edge
    assert len(doc.pushed) == 2 and len(a.points) == 6
    np.testing.assert_allclose(a.points[-1], [10, 25])
    doc.history.undo()
    doc.history.undo()
    np.testing.assert_allclose(a.points, SQUARE)


def test_shift_click_and_delete_key_remove_vertices(doc, shapes):
    a, _ = shapes
    a.points = np.vstack([SQUARE, [[5, 25]]])   # 5 vertices
    tool = doc.activate(EditTool())
    click(tool, 15, 15)
    click(tool, 5, 25, mods="shift")
    assert len(a.points) == 4 and len(doc.pushed) == 1
    tool.move(pointer(40, 40, button=""))
    assert tool.key("Delete")
    assert len(a.points) == 3 and len(doc.ann.shapes) == 2
    tool.move(pointer(40, 10, button=""))
    tool.key("Delete")                        # a triangle keeps its vertices: deletes the shape
    assert a not in doc.ann.shapes


def test_delete_key_deletes_selection_undo_restores_order(doc, shapes):
    a, b = shapes
    tool = doc.activate(EditTool())
    click(tool, 15, 15)
    assert tool.key("Delete")
    assert doc.ann.shapes == [b] and doc.ctx.selection == []
    doc.history.undo()
    assert doc.ann.shapes == [a, b]


def test_rubber_band_selects_enclosed_shapes(doc, shapes):
    a, b = shapes
    tool = doc.activate(EditTool())
    drag(tool, (5, 5), (45, 45))
    assert doc.ctx.selection == [a] and doc.pushed == []
    drag(tool, (119, 79), (0, 0))
    assert doc.ctx.selection == [a, b]


def test_mask_hit_by_pixel_and_moved(doc):
    m = np.zeros((80, 120), bool)
    m[20:30, 20:25] = True
    shape = Shape("cat", np.zeros((0, 2)), "mask", mask=m)
    doc.history.push(AddShapes("k", [shape]))
    tool = doc.activate(EditTool())
    click(tool, 50, 50)
    assert doc.ctx.selection == []
    drag(tool, (22, 25), (32, 20))
    assert doc.ctx.selection == [shape]
    expected = np.zeros_like(m)
    expected[15:25, 30:35] = True
    np.testing.assert_array_equal(shape.mask, expected)
    assert len(doc.pushed) == 1
    doc.history.undo()
    np.testing.assert_array_equal(shape.mask, m)


def test_move_mask_edit_is_a_patch_and_clips_at_border():
    m = np.zeros((50, 60), bool)
    m[5:10, 50:58] = True
    s = Shape("cat", np.zeros((0, 2)), "mask", mask=m.copy())
    edit = MoveMask("k", s, 5, -2)
    assert edit.old.shape == (7, 10)           # union of old and new extents (clipped) only
    # the clipped part is lost: 3 columns fall off the right edge
    s.mask[edit.bounds[0]:edit.bounds[1], edit.bounds[2]:edit.bounds[3]] = edit.new
    assert s.mask.sum() == 5 * 5 and s.mask[3:8, 55:60].all()
    assert MoveMask("k", s, 0, 0) is None
