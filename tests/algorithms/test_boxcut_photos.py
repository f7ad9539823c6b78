"""Box graph cut on photo-like scenes: never empty for a box around a visible object, and at
least as good as OpenCV's GrabCut on the same boxes; the real-photo benchmark's smoke mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from segstudio.algorithms import synthetic
from segstudio.algorithms.registry import Prompt, run_method

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_boxcut_real.py"


def test_box_cut_finds_the_object_where_grabcut_does() -> None:
    ours, ref = [], []
    for seed in range(6):
        img, gt, box = synthetic.photo_like_object(seed=seed)
        got = run_method("box_cut", img, Prompt(box=box)) > 0
        assert got.any(), f"seed {seed}: nothing found in the box"
        x0, y0, x1, y1 = box
        assert not got[:y0].any() and not got[y1:].any() and not got[:, :x0].any() and not got[:, x1:].any()
        ours.append(synthetic.iou(got, gt))
        ref.append(synthetic.iou(run_method("grabcut", img, Prompt(box=box)) > 0, gt))
    assert np.mean(ours) >= max(np.mean(ref), 0.7), (ours, ref)


def test_box_cut_never_empty_on_a_faint_object() -> None:
    # an object only slightly different from its surroundings: the colour models alone would
    # give it to the background; the box says it is there
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(120, 25, (200, 200, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:200, :200]
    gt = (yy - 100) ** 2 + (xx - 100) ** 2 <= 40 ** 2
    img[gt] = np.clip(img[gt].astype(int) + 12, 0, 255)
    for smoothness in (25, 50, 200):
        got = run_method("box_cut", img, Prompt(box=(52, 52, 148, 148)), {"smoothness": smoothness}) > 0
        assert got.sum() >= 0.05 * 96 * 96, smoothness


def test_real_photo_benchmark_smoke() -> None:
    r = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "| smoke/photo-like |" in r.stdout and "mean over 1" in r.stdout and "0 empty" in r.stdout
    r = subprocess.run([sys.executable, str(BENCH), "--data", "/nonexistent/realdata"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "no real data at /nonexistent/realdata" in r.stdout
