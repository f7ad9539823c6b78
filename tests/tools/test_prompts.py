"""Prompt tools: gestures build the prompt, never edit the model."""

from __future__ import annotations

import numpy as np

from segstudio.algorithms.registry import run_method
from segstudio.tools.base import pointer
from segstudio.tools.prompts import (
    BoxPromptTool,
    ClickPromptTool,
    MagicWandTool,
    PromptState,
    RoiPromptTool,
    ScissorsTool,
    ScribblePromptTool,
)


def _listen(state):
    got = []
    state.subscribe(lambda p, final: got.append((p, final)))
    return got


def test_box_drag_sets_box_once(doc):
    state = PromptState()
    got = _listen(state)
    tool = doc.activate(BoxPromptTool(state))
    tool.press(pointer(100, 70))
    tool.move(pointer(50, 40))
    assert state.box is None and tool.preview.rects == [(50, 40, 100, 70)]
    tool.release(pointer(20, 10))
    assert state.box == (20, 10, 100, 70)
    assert [f for _, f in got] == [True] and got[0][0].box == (20, 10, 100, 70)
    assert doc.pushed == []   # prompts never edit the model


def test_roi_is_kept_by_escape_but_not_delete(doc):
    state = PromptState()
    tool = doc.activate(RoiPromptTool(state))
    tool.press(pointer(10, 10))
    tool.release(pointer(200, 60))   # clamped to the 120x80 image
    assert state.roi == (10, 10, 120, 60)
    tool.key("Escape")
    assert state.roi is not None
    tool.key("Delete")
    assert state.roi is None


def test_scribbles_rasterise_fg_and_bg(doc):
    state = PromptState()
    tool = doc.activate(ScribblePromptTool(state, radius=2))
    tool.press(pointer(10, 10))
    tool.move(pointer(30, 10))
    tool.release(pointer(30, 10))
    tool.press(pointer(10, 60, button="right"))
    tool.move(pointer(30, 60, button="right"))
    tool.release(pointer(30, 60, button="right"))
    p = state.prompt()
    assert p.fg_scribble[10, 20] and not p.fg_scribble[60, 20]
    assert p.bg_scribble[60, 20] and not p.bg_scribble[10, 20]
    assert p.fg_scribble.shape == (80, 120)


def test_clicks(doc):
    state = PromptState()
    tool = doc.activate(ClickPromptTool(state))
    tool.press(pointer(5, 6))
    tool.press(pointer(7, 8, button="right"))
    tool.press(pointer(9, 9, mods="shift"))
    assert state.fg_points == [(5, 6)] and state.bg_points == [(7, 8), (9, 9)]


def test_magic_wand_drag_changes_tolerance_live(doc):
    state = PromptState()
    got = _listen(state)
    tool = doc.activate(MagicWandTool(state, base_tolerance=20))
    tool.press(pointer(40, 40, scale=2.0))
    tool.move(pointer(50, 40, button="left", scale=2.0))   # 10 image px = 20 screen px → +10
    assert state.tolerance == 30
    tool.move(pointer(20, 40, button="left", scale=2.0))
    assert state.tolerance == 0
    tool.release(pointer(20, 40, scale=2.0))
    assert [f for _, f in got] == [False, False, False, True]
    assert state.fg_points == [(40, 40)]


def test_scissors_trace_and_close(doc):
    img = np.full((80, 120, 3), 40, np.uint8)
    yy, xx = np.mgrid[0:80, 0:120]
    disk = np.hypot(xx - 60, yy - 40) <= 25
    img[disk] = 200
    state = PromptState()
    state.image_provider = lambda: img
    got = _listen(state)
    tool = doc.activate(ScissorsTool(state))
    for x, y in ((60, 15), (85, 40), (60, 65), (35, 40)):
        tool.press(pointer(x, y))
        tool.release(pointer(x, y))
    tool.move(pointer(50, 20))
    assert state.wire is not None and len(state.wire) > 4
    assert tool.key("Return")
    assert got and got[-1][1] is True
    out = run_method("intelligent_scissors", img, got[-1][0])
    inter = np.logical_and(out > 0, disk).sum()
    assert inter / np.logical_or(out > 0, disk).sum() >= 0.85   # a one-pixel rim on a small disk
