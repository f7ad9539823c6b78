"""PolygonTool, RectangleTool, CircleTool, LineTool, LineStripTool, PointTool: events in, one
AddShapes out."""

from __future__ import annotations

import math

import numpy as np

from segstudio.core.rasterize import shape_mask
from segstudio.tools import CircleTool, LineStripTool, LineTool, PointTool, PolygonTool, RectangleTool
from segstudio.tools.base import pointer


def click(tool, x, y, mods=""):
    tool.press(pointer(x, y, mods=mods))
    tool.release(pointer(x, y, mods=mods))


def test_polygon_closes_on_first_vertex_and_undo_removes_it(doc):
    tool = doc.activate(PolygonTool())
    for x, y in [(10, 10), (60, 12), (55, 50)]:
        click(tool, x, y)
        tool.move(pointer(x + 3, y + 3))
    assert doc.pushed == [] and doc.ann.shapes == []
    click(tool, 11, 11)   # near the first vertex: closes
    assert len(doc.pushed) == 1
    (shape,) = doc.ann.shapes
    assert shape.shape_type == "polygon" and shape.label == "cat"
    np.testing.assert_allclose(shape.points, [[10, 10], [60, 12], [55, 50]])
    assert tool.preview.is_empty() and not tool.busy
    doc.history.undo()
    assert doc.ann.shapes == []


def test_polygon_double_click_and_return_close(doc):
    tool = doc.activate(PolygonTool())
    doc.answers = [("dog", 3)]
    for x, y in [(10, 10), (60, 10), (60, 60)]:
        click(tool, x, y)
    tool.double_click(pointer(60, 60))
    assert len(doc.pushed) == 1
    s = doc.ann.shapes[0]
    assert (s.label, s.group_id, len(s.points)) == ("dog", 3, 3)
    for x, y in [(1, 1), (30, 1), (30, 30), (1, 30)]:
        click(tool, x, y)
    assert tool.key("Return")
    assert len(doc.pushed) == 2 and len(doc.ann.shapes[1].points) == 4


def test_polygon_return_needs_three_vertices(doc):
    tool = doc.activate(PolygonTool())
    click(tool, 5, 5)
    click(tool, 20, 5)
    tool.key("Return")
    assert doc.pushed == [] and tool.busy


def test_polygon_escape_cancels_and_backspace_removes_last(doc):
    tool = doc.activate(PolygonTool())
    for x, y in [(10, 10), (40, 10), (40, 40), (99, 70)]:
        click(tool, x, y)
    assert tool.key("Backspace")
    assert tool.points == [(10, 10), (40, 10), (40, 40)]
    assert tool.key("Escape")
    assert not tool.busy and tool.preview.is_empty()
    assert doc.pushed == [] and doc.ann.shapes == []
    assert not tool.key("Escape")   # nothing left to cancel


def test_polygon_label_dialog_cancel_adds_nothing_and_keeps_drawing(doc):
    tool = doc.activate(PolygonTool())
    doc.answers = [None]
    for x, y in [(10, 10), (40, 10), (40, 40)]:
        click(tool, x, y)
    tool.key("Return")
    assert doc.pushed == [] and doc.ann.shapes == []
    # as in labelme: the polygon is still being drawn (an Esc meant for the dialog keeps the clicks)
    assert tool.busy and tool.points == [(10, 10), (40, 10), (40, 40)]
    assert tool.key("Escape")
    assert not tool.busy and doc.pushed == []


def test_polygon_vertices_clamped_to_image(doc):
    tool = doc.activate(PolygonTool())
    for x, y in [(-5, -5), (500, 10), (60, 500)]:
        click(tool, x, y)
    tool.key("Return")
    np.testing.assert_allclose(doc.ann.shapes[0].points, [[0, 0], [120, 10], [60, 80]])


def test_rectangle_by_drag_and_by_two_clicks(doc):
    tool = doc.activate(RectangleTool())
    tool.press(pointer(10, 20))
    tool.move(pointer(30, 30, button="left"))
    assert doc.pushed == []
    tool.release(pointer(50, 60))
    assert len(doc.pushed) == 1
    r = doc.ann.shapes[0]
    assert r.shape_type == "rectangle"
    np.testing.assert_allclose(r.points, [[10, 20], [50, 60]])
    assert shape_mask(r, 80, 120).sum() == 41 * 41
    click(tool, 5, 5)          # click-click mode
    assert len(doc.pushed) == 1 and tool.busy
    tool.move(pointer(15, 8))
    click(tool, 15, 9)
    assert len(doc.pushed) == 2
    np.testing.assert_allclose(doc.ann.shapes[1].points, [[5, 5], [15, 9]])


def test_circle_is_centre_and_rim(doc):
    tool = doc.activate(CircleTool())
    tool.press(pointer(60, 40))
    tool.release(pointer(60, 60))
    (c,) = doc.ann.shapes
    assert c.shape_type == "circle"
    np.testing.assert_allclose(c.points, [[60, 40], [60, 60]])
    area = shape_mask(c, 80, 120).sum()
    assert abs(area - math.pi * 20 ** 2) < 0.1 * math.pi * 20 ** 2
    doc.history.undo()
    assert doc.ann.shapes == []


def test_line_by_drag_and_linestrip_by_clicks(doc):
    tool = doc.activate(LineTool())
    tool.press(pointer(10, 10))
    tool.move(pointer(40, 30))
    assert tool.preview.polylines and tool.preview.polylines[0][1] is False   # drawn open
    tool.release(pointer(50, 40))
    (line,) = doc.ann.shapes
    assert line.shape_type == "line"
    np.testing.assert_allclose(line.points, [[10, 10], [50, 40]])

    tool = doc.activate(LineStripTool())
    click(tool, 5, 5)
    tool.key("Return")                          # one vertex is not a line yet
    assert len(doc.ann.shapes) == 1 and tool.busy
    click(tool, 30, 5)
    click(tool, 30, 30)
    click(tool, 6, 6)                           # near the first vertex: a vertex, not a close
    assert len(doc.ann.shapes) == 1
    tool.key("Backspace")                       # removes that last vertex
    tool.double_click(pointer(5, 40))
    strip = doc.ann.shapes[1]
    assert strip.shape_type == "linestrip"
    np.testing.assert_allclose(strip.points, [[5, 5], [30, 5], [30, 30], [5, 40]])
    doc.history.undo()
    assert len(doc.ann.shapes) == 1


def test_point_tool_one_click_one_point(doc):
    tool = doc.activate(PointTool())
    click(tool, 7.5, 9.25)
    assert len(doc.pushed) == 1
    np.testing.assert_allclose(doc.ann.shapes[0].points, [[7.5, 9.25]])
    assert doc.ann.shapes[0].shape_type == "point"
