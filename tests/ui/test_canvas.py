"""CanvasView end to end: real mouse/key events on the viewport, assertions on the model."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.class_edits import ChangeClass  # noqa: E402
from segstudio.core.edits import AddShapes, SetShapeAttributes, bring_to_front  # noqa: E402
from segstudio.core.history import History  # noqa: E402
from segstudio.core.model import ImageAnnotation, LabelClass, Project, Shape  # noqa: E402
from segstudio.ui.canvas import CanvasView  # noqa: E402

W, H = 200, 150
SQUARE = np.array([[20, 20], [80, 20], [80, 80], [20, 80]], dtype=float)


class Doc:
    def __init__(self, qtbot):
        self.project = Project()
        self.project.classes = [LabelClass("cat", (255, 0, 0)), LabelClass("dog", (0, 0, 255))]
        self.ann = ImageAnnotation("img.png", W, H)
        self.project.annotations["k"] = self.ann
        self.history = History(self.project)
        self.pushed: list = []
        self.label = "cat"
        self.image = np.zeros((H, W, 3), np.uint8)
        self.image[..., 0] = np.arange(W, dtype=np.uint8)[None, :]
        self.view = CanvasView()
        qtbot.addWidget(self.view)
        self.view.resize(420, 320)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.set_document(self.project, "k", self.ann, self.image, push=self.push,
                               ask_label=lambda: (self.label, None), current_label=lambda: self.label)
        self.view.setFocus()

    def push(self, edit):
        self.pushed.append(edit)
        self.history.push(edit)

    # -- input helpers (image coordinates) -------------------------------------------------
    def vp(self, x, y) -> QPoint:
        return self.view.mapFromScene(QPointF(x, y))

    def send(self, etype, x, y, button=Qt.MouseButton.LeftButton, buttons=None, mods=Qt.KeyboardModifier.NoModifier):
        pos = QPointF(self.vp(x, y))
        if buttons is None:
            buttons = Qt.MouseButton.NoButton if etype == QEvent.Type.MouseButtonRelease else button
        ev = QMouseEvent(etype, pos, QPointF(self.view.viewport().mapToGlobal(pos)), button, buttons, mods)
        QApplication.sendEvent(self.view.viewport(), ev)

    def click(self, qtbot, x, y, mods=Qt.KeyboardModifier.NoModifier):
        qtbot.mouseClick(self.view.viewport(), Qt.MouseButton.LeftButton, mods, self.vp(x, y))

    def drag(self, qtbot, p0, p1, button=Qt.MouseButton.LeftButton, steps=5):
        qtbot.mousePress(self.view.viewport(), button, Qt.KeyboardModifier.NoModifier, self.vp(*p0))
        for t in np.linspace(0, 1, steps + 1)[1:]:
            self.send(QEvent.Type.MouseMove, p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1]),
                      Qt.MouseButton.NoButton, button)
        qtbot.mouseRelease(self.view.viewport(), button, Qt.KeyboardModifier.NoModifier, self.vp(*p1))

    def tol(self):
        return 1.0 / self.view.zoom() + 1e-6


@pytest.fixture
def doc(qtbot):
    d = Doc(qtbot)
    yield d
    d.view.clear_document()


def test_polygon_by_clicks_and_return(doc, qtbot):
    doc.view.set_tool("polygon")
    pts = [(30, 30), (120, 35), (100, 110)]
    for x, y in pts:
        doc.click(qtbot, x, y)
        doc.send(QEvent.Type.MouseMove, x + 5, y + 5, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert doc.ann.shapes == []
    qtbot.keyClick(doc.view, Qt.Key.Key_Return)
    assert len(doc.pushed) == 1
    (s,) = doc.ann.shapes
    np.testing.assert_allclose(s.points, pts, atol=doc.tol())
    assert doc.view.item_count() == 1


def test_polygon_escape_cancels(doc, qtbot):
    doc.view.set_tool("polygon")
    doc.click(qtbot, 30, 30)
    doc.click(qtbot, 60, 30)
    qtbot.keyClick(doc.view, Qt.Key.Key_Escape)
    doc.click(qtbot, 90, 90)
    qtbot.keyClick(doc.view, Qt.Key.Key_Return)
    assert doc.ann.shapes == [] and doc.pushed == []


def test_select_then_drag_vertex_then_move_shape(doc, qtbot):
    a = Shape("cat", SQUARE.copy())
    doc.history.push(AddShapes("k", [a]))
    seen = []
    doc.view.selection_changed.connect(seen.append)
    doc.click(qtbot, 50, 50)
    assert doc.view.selected_shapes() == [a] and seen[-1] == [a]
    doc.drag(qtbot, (80, 80), (100, 110))
    np.testing.assert_allclose(a.points[2], [100, 110], atol=doc.tol())
    np.testing.assert_allclose(a.points[[0, 1, 3]], SQUARE[[0, 1, 3]])
    doc.drag(qtbot, (40, 40), (50, 45))
    np.testing.assert_allclose(a.points[0], SQUARE[0] + [10, 5], atol=2 * doc.tol())
    assert len(doc.history) == 3   # add + vertex + move: one undo step per gesture
    doc.history.undo()
    doc.history.undo()
    np.testing.assert_allclose(a.points, SQUARE)


def test_brush_stroke_paints_mask_pixels(doc, qtbot):
    doc.view.set_tool("brush")
    doc.view.tool().radius = 4
    doc.drag(qtbot, (40, 60), (140, 60), steps=10)
    assert len(doc.pushed) == 1
    layer = doc.ann.mask_shape("cat")
    m = layer.mask
    assert m[60, 40] and m[60, 90] and m[60, 140] and m[63, 90]
    assert not m[70, 90] and not m[60, 150]
    assert doc.view.item_count() == 1
    qtbot.keyClick(doc.view, Qt.Key.Key_BracketRight)
    assert doc.view.tool().radius > 4


def test_items_follow_model_through_history(doc):
    a, b = Shape("cat", SQUARE), Shape("dog", SQUARE + 30)
    doc.history.push(AddShapes("k", [a, b]))
    assert doc.view.item_count() == 2
    scene = doc.view.canvas_scene
    assert scene.item_for(a).zValue() < scene.item_for(b).zValue()
    doc.history.push(bring_to_front("k", doc.ann, [a]))
    assert scene.item_for(a).zValue() > scene.item_for(b).zValue()
    doc.history.undo()
    doc.history.undo()
    assert doc.view.item_count() == 0
    doc.history.redo()
    assert doc.view.item_count() == 2


def test_visibility_follows_shape_and_class(doc):
    a, b = Shape("cat", SQUARE), Shape("dog", SQUARE + 30)
    doc.history.push(AddShapes("k", [a, b]))
    scene = doc.view.canvas_scene
    doc.history.push(ChangeClass("dog", {"visible": False}))
    assert scene.item_for(a).isVisible() and not scene.item_for(b).isVisible()
    doc.history.push(SetShapeAttributes("k", [a], {"visible": False}))
    assert not scene.item_for(a).isVisible()
    doc.history.undo()
    doc.history.undo()
    assert scene.item_for(a).isVisible() and scene.item_for(b).isVisible()


def test_mask_overlay_updates_patch_on_undo(doc, qtbot):
    doc.view.set_tool("brush")
    doc.view.tool().radius = 3
    doc.drag(qtbot, (50, 50), (60, 50))
    item = doc.view.canvas_scene.item_for(doc.ann.mask_shape("cat"))
    assert item.tile_pixel(55, 50) != 0 and item.tile_pixel(55, 70) == 0
    doc.drag(qtbot, (55, 70), (65, 70))
    assert item.tile_pixel(60, 70) != 0
    doc.history.undo()
    assert item.tile_pixel(60, 70) == 0 and item.tile_pixel(55, 50) != 0
    doc.history.undo()
    assert doc.view.item_count() == 0


def test_delete_key_and_undo(doc, qtbot):
    a = Shape("cat", SQUARE)
    doc.history.push(AddShapes("k", [a]))
    doc.click(qtbot, 50, 50)
    qtbot.keyClick(doc.view, Qt.Key.Key_Delete)
    assert doc.ann.shapes == [] and doc.view.item_count() == 0 and doc.view.selected_shapes() == []
    doc.history.undo()
    assert doc.view.item_count() == 1


def test_ctrl_wheel_zooms_around_cursor(doc):
    view = doc.view
    z0 = view.zoom()
    anchor = doc.vp(150, 100)
    ev = QWheelEvent(QPointF(anchor), QPointF(view.viewport().mapToGlobal(anchor)), QPoint(0, 0),
                     QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom() == pytest.approx(z0 * 1.25 ** 2)
    after = view.mapToScene(anchor)
    assert abs(after.x() - 150) < 2 / view.zoom() + 1 and abs(after.y() - 100) < 2 / view.zoom() + 1


def test_middle_drag_pans(doc, qtbot):
    view = doc.view
    view.zoom_by(4.0)
    h0 = view.horizontalScrollBar().value()
    doc.drag(qtbot, (100, 75), (90, 75), button=Qt.MouseButton.MiddleButton)
    assert view.horizontalScrollBar().value() > h0
    assert doc.pushed == []


def test_cursor_reports_pixel_value(doc, qtbot):
    seen = []
    doc.view.cursor_moved.connect(lambda x, y, v: seen.append((x, y, v)))
    doc.send(QEvent.Type.MouseMove, 77.2, 40.2, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    x, y, v = seen[-1]
    assert int(x) == 77 and v.split(",")[0] == str(int(x))


def test_clear_document_disconnects(doc):
    doc.view.clear_document()
    doc.history.push(AddShapes("k", [Shape("cat", SQUARE)]))
    assert doc.view.item_count() == 0


def test_polygon_closed_by_double_click(doc, qtbot):
    doc.view.set_tool("polygon")
    for x, y in [(30, 30), (120, 35)]:
        doc.click(qtbot, x, y)
    qtbot.mouseDClick(doc.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      doc.vp(100, 110))
    assert len(doc.pushed) == 1
    np.testing.assert_allclose(doc.ann.shapes[0].points, [(30, 30), (120, 35), (100, 110)], atol=doc.tol())


def test_rectangle_drag_and_shift_click_deletes_vertex(doc, qtbot):
    doc.view.set_tool("rectangle")
    doc.drag(qtbot, (20, 30), (90, 100))
    (r,) = doc.ann.shapes
    np.testing.assert_allclose(r.points, [(20, 30), (90, 100)], atol=doc.tol())
    p = Shape("dog", np.vstack([SQUARE + 90, [[150, 60]]]))
    doc.history.push(AddShapes("k", [p]))
    doc.view.set_tool("edit")
    doc.click(qtbot, 130, 130)
    assert doc.view.selected_shapes() == [p]
    doc.click(qtbot, 150, 60, mods=Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(p.points, SQUARE + 90)
