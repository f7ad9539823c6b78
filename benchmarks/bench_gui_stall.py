"""GUI responsiveness while a ~3-second segmentation runs through ``start_job``.

A QTimer ticks every 5 ms on the GUI thread and records the longest gap between ticks while
the Auto-segment preview job (the app's real path: method + overlay colouring, then the
QImage → QPixmap conversion of the result on the GUI thread) runs in a worker. The image size
of each method is chosen so that the job takes about 3 s on this machine. Target: the longest
GUI-thread stall ≤ 50 ms.

Usage: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_stall.py``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtGui import QImage, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.algorithms import synthetic  # noqa: E402
from segstudio.algorithms.registry import Prompt, get_method  # noqa: E402
from segstudio.ui.features.autoseg_jobs import preview_job  # noqa: E402
from segstudio.ui.workers import start_job  # noqa: E402

TICK_MS = 5
TARGET_S = 3.0


def image_for(method: str, size: int) -> np.ndarray:
    if method in ("grabcut", "box_cut"):
        img, _, _ = synthetic.textured_object(size, size, seed=1)
        return img
    tile, _ = synthetic.two_tone_shapes(500, 500, noise=20, seed=0)
    reps = size // 500 + 1
    return np.ascontiguousarray(np.tile(tile, (reps, reps, 1))[:size, :size])


def prompt_for(method: str, size: int) -> Prompt:
    if method in ("grabcut", "box_cut"):
        return Prompt(box=(size * 0.15, size * 0.15, size * 0.85, size * 0.85))
    return Prompt()


def calibrate(method: str) -> int:
    """An image side for which the method takes about TARGET_S seconds."""
    from segstudio.core.jobs import run_to_end

    size = 256
    while True:
        img = image_for(method, size)
        params = get_method(method).make_params({})
        t = time.perf_counter()
        run_to_end(preview_job(method, img, prompt_for(method, size), params))
        dt = time.perf_counter() - t
        if dt >= TARGET_S / 2.5 or size >= 8192:
            return int(min(8192, size * (TARGET_S / max(dt, 1e-3)) ** 0.5))
        size *= 2


def measure(app: QApplication, method: str, size: int) -> tuple[float, float, float]:
    img = image_for(method, size)
    params = get_method(method).make_params({})
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    done = {"t": None}

    def on_result(result: dict) -> None:   # what the panel does with a preview on the GUI thread
        ov = result["overlay"]
        h, w = ov.shape[:2]
        QPixmap.fromImage(QImage(ov.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy())
        done["t"] = time.perf_counter()

    timer.start()
    t0 = time.perf_counter()
    handle = start_job(preview_job, method, img, prompt_for(method, size), params, on_result=on_result)
    while handle.is_running:
        app.processEvents()
        time.sleep(0.001)
    # keep ticking a little after the result, so its GUI-thread handling is inside the window
    t_end = time.perf_counter() + 0.1
    while time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = np.diff(np.array(ticks)) if len(ticks) > 1 else np.array([0.0])
    return (done["t"] or time.perf_counter()) - t0, float(gaps.max()), float(np.median(gaps))


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    methods = sys.argv[1:] or ["grabcut", "felzenszwalb", "kmeans", "watershed", "slic"]
    print("| method | image | job (s) | longest GUI stall (ms) | median tick gap (ms) |")
    print("|---|---|---:|---:|---:|")
    for m in methods:
        size = calibrate(m)
        job_s, longest, median = measure(app, m, size)
        print(f"| {m} | {size}x{size} | {job_s:.2f} | {longest * 1000:.1f} | {median * 1000:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
