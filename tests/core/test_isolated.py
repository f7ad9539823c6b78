"""Worker processes for GIL-holding library calls: results, errors, cancellation."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.algorithms.registry import ParamError, get_method, run_method, run_method_isolated
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


def test_cancel_kills_the_running_call_at_once():
    isolated.call_in_process(math.factorial, 3)                  # warm: spawning is not the test
    t0 = time.perf_counter()
    with cancel_scope(lambda: time.perf_counter() - t0 > 0.3), pytest.raises(Cancelled):
        isolated.call_in_process(time.sleep, 30)
    assert time.perf_counter() - t0 < 5
    assert isolated.worker_count() == 0
    assert isolated.call_in_process(math.factorial, 4) == 24     # a fresh worker next time


def test_felzenszwalb_runs_isolated_with_the_same_result():
    assert get_method("felzenszwalb").isolate and not get_method("otsu").isolate
    img, _ = synthetic.two_tone_shapes(60, 80, noise=10, seed=0)
    here = run_method("felzenszwalb", img)
    there = run_method_isolated("felzenszwalb", img)
    assert there.dtype == here.dtype and np.array_equal(here, there)
    with pytest.raises(ParamError, match="felzenszwalb"):
        run_method_isolated("felzenszwalb", img, params={"scale": -5})
