"""Model ▸ Segment everything, Model ▸ Selected rectangles → masks and the AI polygon's Detail
slider in the real window, on tiny ONNX graphs whose decoder draws a disk around the known
object nearest to the prompt: the objects come out once each as one undo step, a person's
labelled image is only touched when they say yes, selected rectangles become the disks of
their class, and less detail gives fewer polygon points."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from segstudio.core.edits import AddShapes, SetImageState
from segstudio.core.model import LABELLED, Shape
from segstudio.core.rasterize import shape_mask
from tests.sam import onnx_graphs as g
from tests.support.sam_windows import feature, sam_window

H, W = 240, 320
SCALE = 1024 / W
OBJECTS = [(200.0, 200.0), (600.0, 300.0), (400.0, 600.0)]      # encoder frame
CENTRES = [(x / SCALE, y / SCALE) for x, y in OBJECTS]          # image pixels


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = sam_window(qtbot, tmp_path, monkeypatch, images=("a.png",), objects=OBJECTS)
    sam = feature(w)
    sam.actions.params = type(sam.actions.params)(points_per_side=8)
    return w, sam


def disk(cx: float, cy: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= (g.R / SCALE) ** 2


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def matches(shapes: list, centres: list) -> bool:
    masks = [shape_mask(s, H, W) for s in shapes]
    return len(shapes) == len(centres) and all(max(iou(m, disk(*c)) for m in masks) >= 0.9 for c in centres)


def test_segment_everything_adds_each_object_once_as_one_undo_step(qtbot, window) -> None:
    w, sam = window
    w.actions["sam_everything"].trigger()
    qtbot.waitUntil(lambda: len(w.controller.current_annotation().shapes) > 0, timeout=20000)
    ann = w.controller.current_annotation()
    assert matches(ann.shapes, CENTRES) and {s.label for s in ann.shapes} == {"cell"}
    assert ann.state == "pre-annotated"
    w.controller.undo()
    assert w.controller.current_annotation().shapes == []
    assert w.controller.current_annotation().state != "pre-annotated"


def test_labelled_image_is_asked_first_and_stays_labelled(qtbot, window) -> None:
    w, sam = window
    key = w.controller.current_key
    w.controller.push(SetImageState(key, LABELLED))
    asked = []
    sam.actions.confirm_labelled = lambda: asked.append(1) or False
    w.actions["sam_everything"].trigger()
    qtbot.wait(300)
    assert asked and w.controller.current_annotation().shapes == [] and sam.actions.job is None
    sam.actions.confirm_labelled = lambda: True
    w.actions["sam_everything"].trigger()
    qtbot.waitUntil(lambda: len(w.controller.current_annotation().shapes) > 0, timeout=20000)
    assert matches(w.controller.current_annotation().shapes, CENTRES)
    assert w.controller.current_annotation().state == LABELLED


def rect(label: str, cx: float, cy: float, half: float = 15.0) -> Shape:
    return Shape(label=label, points=np.array([[cx - half, cy - half], [cx + half, cy + half]]),
                 shape_type="rectangle", group_id=7)


def test_selected_rectangles_become_masks_of_their_class(qtbot, window) -> None:
    w, sam = window
    key = w.controller.current_key
    rects = [rect("car", *CENTRES[0]), rect("person", *CENTRES[1]), rect("car", *CENTRES[2])]
    w.controller.push(AddShapes(key, rects))
    w.canvas.select_shapes(rects[:2])   # the third is not selected: it stays a rectangle
    w.actions["sam_rectangles"].trigger()
    qtbot.waitUntil(lambda: any(s.shape_type == "polygon" for s in w.controller.current_annotation().shapes),
                    timeout=20000)
    shapes = w.controller.current_annotation().shapes
    assert [s.shape_type for s in shapes] == ["rectangle", "polygon", "polygon"]
    assert shapes[0] is rects[2]
    for s, (label, c) in zip(shapes[1:], [("car", CENTRES[0]), ("person", CENTRES[1])]):
        assert s.label == label and s.group_id == 7 and iou(shape_mask(s, H, W), disk(*c)) >= 0.9
    w.controller.undo()   # one step: both rectangles back
    assert [s.shape_type for s in w.controller.current_annotation().shapes] == ["rectangle"] * 3


def test_detail_slider_changes_the_polygon_points(qtbot, window) -> None:
    w, sam = window
    w.canvas.set_tool("ai_polygon")
    assert sam.actions.detail.isVisible()
    tool = w.canvas.tool()
    qtbot.waitUntil(lambda: sam._emb is not None, timeout=20000)
    qtbot.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=w.canvas.mapFromScene(QPointF(*CENTRES[1])))
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    slider = sam.actions.detail.slider
    slider.setValue(slider.maximum())
    fine = len(tool.shapes("cell")[0].points)
    slider.setValue(slider.maximum() // 2)   # 2.5 px
    coarse = len(tool.shapes("cell")[0].points)
    assert coarse < fine
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)
    [shape] = w.controller.current_annotation().shapes
    assert len(shape.points) == coarse and iou(shape_mask(shape, H, W), disk(*CENTRES[1])) >= 0.8
