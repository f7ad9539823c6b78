"""Worker processes for GIL-holding library calls: results, errors, cancellation."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.algorithms.registry import (
    ParamError,
    Prompt,
    get_method,
    needs_isolation,
    run_method,
    run_method_isolated,
)
from segstudio.core import isolated
from segstudio.core.jobs import Cancelled, cancel_scope


@pytest.fixture(autouse=True)
def _stop_workers():
    yield
    isolated.shutdown()


def test_result_and_error_come_back_from_the_worker():
    assert isolated.call_in_process(math.factorial, 20) == math.factorial(20)
    with pytest.raises(ValueError, match="invalid literal"):
        isolated.call_in_process(int, "x")
    assert isolated.call_in_process(math.factorial, 5) == 120   # the worker survived the error
    assert isolated.worker_count() == 1                          # and was reused


def test_big_arrays_go_through_shared_memory_both_ways():
    import glob

    before = set(glob.glob("/dev/shm/psm_*"))
    img = np.random.default_rng(0).integers(0, 255, (700, 900, 3), dtype=np.uint8)   # 1.9 MB
    assert img.nbytes >= isolated.SHARE_BYTES
    out = isolated.call_in_process(np.cumsum, img, 1)        # big array in, big array out
    np.testing.assert_array_equal(out, np.cumsum(img, 1))
    small = isolated.call_in_process(np.flip, img[:10, :10])   # small: through the pipe
    np.testing.assert_array_equal(small, np.flip(img[:10, :10]))
    with pytest.raises(ValueError):                           # segments freed after an error too
        isolated.call_in_process(np.reshape, img, (7, 7))
    assert set(glob.glob("/dev/shm/psm_*")) <= before          # nothing left behind


def test_cancel_kills_the_running_call_at_once():
    isolated.call_in_process(math.factorial, 3)                  # warm: spawning is not the test
    t0 = time.perf_counter()
    with cancel_scope(lambda: time.perf_counter() - t0 > 0.3), pytest.raises(Cancelled):
        isolated.call_in_process(time.sleep, 30)
    assert time.perf_counter() - t0 < 5
    assert isolated.worker_count() == 0
    assert isolated.call_in_process(math.factorial, 4) == 24     # a fresh worker next time


def test_which_runs_are_isolated():
    felz, cut, otsu = get_method("felzenszwalb"), get_method("box_cut"), get_method("otsu")
    assert needs_isolation(felz, (10, 10), None) and not needs_isolation(otsu, (6000, 4000), None)
    # the box graph cut: by the area of its box (a 512 px box stays interactive, in a thread)
    assert not needs_isolation(cut, (4000, 6000), Prompt(box=(100, 100, 612, 612)))
    assert needs_isolation(cut, (4000, 6000), Prompt(box=(100, 100, 2100, 2100)))
    assert not needs_isolation(cut, (4000, 6000), Prompt(box=(100, 100, 2100, 2100), roi=(0, 0, 500, 500)))
    assert not needs_isolation(cut, (4000, 6000), Prompt(box=(5, 5, 5, 5)))   # run_method says why
    assert needs_isolation(otsu, (8000, 6000), None)   # huge images: every method (HUGE_PX)
    assert not needs_isolation(otsu, (8000, 6000), Prompt(roi=(0, 0, 3000, 3000)))

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_felzenszwalb_runs_isolated_with_the_same_result():
    img, _ = synthetic.two_tone_shapes(60, 80, noise=10, seed=0)
    here = run_method("felzenszwalb", img)
    there = run_method_isolated("felzenszwalb", img)
    assert there.dtype == here.dtype and np.array_equal(here, there)
    with pytest.raises(ParamError, match="felzenszwalb"):
        run_method_isolated("felzenszwalb", img, params={"scale": -5})

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_a_big_box_cut_runs_isolated_with_the_same_result():
    img, gt, _ = synthetic.textured_object(1500, 1500, seed=1)
    prompt = Prompt(box=(150, 150, 1350, 1350))   # 1.44 Mpixel box: just under the limit
    small = run_method_isolated("box_cut", img, prompt)
    assert isolated.worker_count() == 0             # ran here, in this thread
    prompt = Prompt(box=(10, 10, 1490, 1490))       # 2.2 Mpixel: in the worker process
    there = run_method_isolated("box_cut", img, prompt)
    assert isolated.worker_count() == 1
    assert np.array_equal(there, run_method("box_cut", img, prompt))
    assert synthetic.iou(small > 0, gt > 0) > 0.9
