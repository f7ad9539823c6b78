"""Prompt strokes (rasterised where the method runs) and the windowed live wire."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.algorithms import regions
from segstudio.algorithms.params import ParamError
from segstudio.algorithms.registry import Prompt, run_method
from segstudio.core.geometry import stroke_mask


def _square_image() -> tuple[np.ndarray, np.ndarray]:
    img = np.full((80, 120, 3), 60, np.uint8)
    img[20:60, 40:80] = 200
    truth = np.zeros((80, 120), bool)
    truth[20:60, 40:80] = True
    return img, truth


def test_strokes_rasterise_like_the_brush_and_crop_with_the_roi():
    path = np.array([[10.0, 10.0], [30.0, 12.0], [50.0, 30.0]])
    p = Prompt(fg_strokes=[(path, 3.0)])
    fg, bg = p.seed_masks(80, 120)
    assert np.array_equal(fg, stroke_mask(path, 3.0, 80, 120)) and not bg.any()
    c = p.cropped(20, 5, 100, 70)
    fg_c, _ = c.seed_masks(65, 80)
    assert np.array_equal(fg_c, fg[5:70, 20:100])


def test_strokes_outside_the_roi_do_not_count_as_scribbles():
    img, _ = _square_image()
    p = Prompt(fg_strokes=[(np.array([[50.0, 40.0], [70.0, 40.0]]), 2.0)],
               bg_strokes=[(np.array([[5.0, 5.0], [110.0, 5.0]]), 2.0)], roi=(30, 15, 100, 70))
    with pytest.raises(ParamError, match="needs foreground and background"):
        run_method("scribble_cut", img, p)


def test_live_wire_window_and_long_segments(monkeypatch):
    """With a window smaller than the gaps between anchors the outline still follows the rim:
    each segment's window grows to reach the next anchor; a target beyond a plain window ends
    with a straight segment to it."""
    monkeypatch.setattr(regions, "WIRE_HALF", 12)
    img = np.full((80, 120, 3), 40, np.uint8)
    yy, xx = np.mgrid[0:80, 0:120]
    disk = np.hypot(xx - 60, yy - 40) <= 25
    img[disk] = 200
    wire = regions.LiveWire(img, (60, 15))
    assert (wire.x0, wire.y0, wire.x1, wire.y1) == (48, 3, 73, 28)
    path = wire.path_to(100, 70)   # outside the window
    assert tuple(path[0]) == (60, 15) and tuple(path[-1]) == (100, 70)
    assert wire.contains(*path[-2]) and not wire.contains(100, 70)
    out = run_method("intelligent_scissors", img, Prompt(fg_points=[(60, 15), (85, 40), (60, 65), (35, 40)]))
    inter = np.logical_and(out > 0, disk).sum()
    assert inter / np.logical_or(out > 0, disk).sum() >= 0.85
