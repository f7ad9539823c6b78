"""The AI polygon tool in the real window on a tiny ONNX pair whose decoder answers a disk
around the click: a qtbot click on the canvas gives the disk as one shape, one undo step removes
it, Esc drops the preview, a right click is a negative point, and the encoder runs in a worker."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from segstudio.core.rasterize import shape_mask
from tests.support.sam_windows import H, W, click, disk, feature, sam_window


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    return sam_window(qtbot, tmp_path, monkeypatch)


def test_click_enter_gives_the_disk_as_one_undo_step(qtbot, window) -> None:
    f = feature(window)
    window.canvas.set_tool("ai_polygon")
    tool = window.canvas.tool()
    qtbot.waitUntil(lambda: f._emb is not None, timeout=20000)   # embedded as the tool opened
    assert f.encoder_threads and threading.get_ident() not in f.encoder_threads
    cx, cy = 150.0, 110.0
    click(qtbot, window, cx, cy)
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    assert window.canvas.tool().preview.mask_patch is not None
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    shapes = window.controller.current_annotation().shapes
    assert len(shapes) == 1 and shapes[0].label == "cell" and shapes[0].shape_type == "polygon"
    got = shape_mask(shapes[0], H, W)
    sx, sy = f.prompts_sent[-1]["fg"][0]
    want = disk(sx, sy)
    assert abs(sx - cx) <= 1 and abs(sy - cy) <= 1   # the click landed where it was aimed
    assert (got & want).sum() / (got | want).sum() >= 0.9
    window.controller.undo()
    assert window.controller.current_annotation().shapes == []


def test_escape_drops_the_preview_and_right_click_is_negative(qtbot, window) -> None:
    f = feature(window)
    window.canvas.set_tool("ai_mask")
    tool = window.canvas.tool()
    qtbot.waitUntil(lambda: f._emb is not None, timeout=20000)
    click(qtbot, window, 100.0, 100.0)
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    click(qtbot, window, 200.0, 60.0, Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: len(f.prompts_sent) >= 2, timeout=10000)
    sent = f.prompts_sent[-1]
    assert len(sent["fg"]) == 1 and len(sent["bg"]) == 1
    bx, by = sent["bg"][0]
    assert abs(bx - 200) <= 1 and abs(by - 60) <= 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert tool.result is None and tool.preview.mask_patch is None and not tool.fg
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.controller.current_annotation().shapes == []
