"""Prompt tools: gestures build the prompt, never edit the model."""

from __future__ import annotations

import numpy as np

from segstudio.algorithms.registry import run_method
from segstudio.core.geometry import stroke_mask
from segstudio.tools.base import pointer
from segstudio.tools.prompts import (
    BoxPromptTool,
    ClickPromptTool,
    MagicWandTool,
    PromptState,
    RoiPromptTool,
    ScribblePromptTool,
)
from segstudio.tools.scissors import ScissorsTool


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
    # the GUI-thread snapshot carries the strokes, no full-size masks
    assert p.fg_scribble is None and p.bg_scribble is None
    assert len(p.fg_strokes) == 1 and len(p.bg_strokes) == 1
    fg, bg = p.seed_masks(80, 120)   # rasterised where the method runs (the worker)
    assert fg.shape == (80, 120)
    assert fg[10, 20] and not fg[60, 20]
    assert bg[60, 20] and not bg[10, 20]
    assert np.array_equal(fg, stroke_mask(p.fg_strokes[0][0], 2, 80, 120))
    assert p.has_fg() and p.has_bg()


def test_scribble_strokes_drive_the_graph_cut(doc):
    img = np.full((80, 120, 3), 60, np.uint8)
    img[20:60, 40:80] = 200
    state = PromptState()
    tool = doc.activate(ScribblePromptTool(state, radius=2))
    for y, button in ((40, "left"), (5, "right"), (75, "right")):
        tool.press(pointer(10 if button == "right" else 50, y, button=button))
        tool.move(pointer(110 if button == "right" else 70, y, button=button))
        tool.release(pointer(110 if button == "right" else 70, y, button=button))
    out = run_method("scribble_cut", img, state.prompt()).astype(bool)
    truth = np.zeros((80, 120), bool)
    truth[20:60, 40:80] = True
    assert (out & truth).sum() / (out | truth).sum() >= 0.95
    # a region of interest shifts the strokes with the crop; the result is the same object
    state.roi = (30, 0, 100, 80)
    out_roi = run_method("scribble_cut", img, state.prompt()).astype(bool)
    assert not out_roi[:, :30].any() and (out_roi & truth).sum() / (out_roi | truth).sum() >= 0.95


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


def _bright_disk() -> tuple[np.ndarray, np.ndarray]:
    """An 80x120 dark image with a bright disk of radius 25 at (60, 40); (image, disk mask)."""
    img = np.full((80, 120, 3), 40, np.uint8)
    yy, xx = np.mgrid[0:80, 0:120]
    disk = np.hypot(xx - 60, yy - 40) <= 25
    img[disk] = 200
    return img, disk


def test_scissors_trace_and_close(doc):
    img, disk = _bright_disk()
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


def test_scissors_wire_is_built_asynchronously(doc):
    """The live-wire window is built through state.run_async (a worker in the app): the tail is
    a straight segment until it arrives, then follows edges; stale results are dropped."""
    img, disk = _bright_disk()
    state = PromptState()
    state.image_provider = lambda: img
    pending = []
    state.run_async = lambda fn, done: pending.append((fn, done))
    tool = doc.activate(ScissorsTool(state))
    tool.press(pointer(60, 15))
    tool.release(pointer(60, 15))
    tool.move(pointer(85, 40))
    assert len(state.wire) == 2   # not built yet: a straight segment to the pointer
    tool.press(pointer(85, 40))   # second anchor before the first wire arrived
    tool.release(pointer(85, 40))
    fn, done = pending.pop(0)
    done(fn())                    # the stale wire of the first anchor: ignored
    tool.move(pointer(60, 65))
    assert len(state.wire) == 4   # two straight segments
    fn, done = pending.pop(0)
    done(fn())                    # the wire of the current anchor: the tail now follows the rim
    tail = state.wire[2:]
    assert len(tail) > 10
    r = np.hypot(tail[:, 0] - 60, tail[:, 1] - 40)
    assert np.abs(r - 25).max() <= 3
