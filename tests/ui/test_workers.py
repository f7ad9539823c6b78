"""start_job: progress, result, cancel, errors — callbacks on the GUI thread."""

from __future__ import annotations

import threading
import time

import pytest

from segstudio.core.jobs import Cancelled, Progress
from segstudio.ui.workers import active_jobs, start_job


def _counting(n: int, scale: int = 1):
    for i in range(n):
        yield Progress(i + 1, n, f"step {i + 1}", {"i": i})
    return n * scale


def test_progress_and_result_arrive_on_gui_thread(qtbot):
    seen, results, finished, threads = [], [], [], set()

    def on_progress(p):
        threads.add(threading.get_ident())
        seen.append(p.data["i"])

    def on_result(value):
        threads.add(threading.get_ident())
        results.append(value)

    handle = start_job(_counting, 5, scale=7, on_progress=on_progress, on_result=on_result,
                       on_finished=lambda: finished.append(True))
    assert handle.wait(5000)
    assert seen == [0, 1, 2, 3, 4]
    assert results == [35]
    assert finished == [True]
    assert threads == {threading.get_ident()}
    assert not handle.is_running and handle not in active_jobs()


def test_cancel_closes_generator_and_drops_result(qtbot):
    started, closed = threading.Event(), threading.Event()
    results = []

    def endless():
        try:
            i = 0
            while True:
                started.set()
                time.sleep(0.01)
                i += 1
                yield Progress(i)
        finally:
            closed.set()

    finished = []
    handle = start_job(endless, on_result=results.append, on_finished=lambda: finished.append(1))
    assert started.wait(5)
    handle.cancel()
    assert handle.wait(1000), "a job yielding every 10 ms must end within a second of cancel()"
    assert closed.is_set(), "the generator's finally block must run"
    assert results == [] and finished == [1]
    assert handle.cancelled


def test_error_goes_to_on_error_with_traceback(qtbot):
    errors, finished = [], []

    def failing():
        yield Progress(1, 2)
        raise ValueError("boom in job")

    handle = start_job(failing, on_error=lambda e, tb: errors.append((e, tb)),
                       on_result=lambda v: pytest.fail("no result expected"),
                       on_finished=lambda: finished.append(1))
    assert handle.wait(5000)
    assert len(errors) == 1
    exc, tb = errors[0]
    assert isinstance(exc, ValueError) and str(exc) == "boom in job"
    assert "failing" in tb and "boom in job" in tb
    assert finished == [1]


def test_job_raising_cancelled_is_a_cancellation_not_an_error(qtbot):
    errors = []

    def gives_up():
        yield Progress(1)
        raise Cancelled()

    handle = start_job(gives_up, on_error=lambda e, tb: errors.append(e))
    assert handle.wait(5000)
    assert errors == [] and handle.cancelled


def test_fast_plain_progress_is_throttled_but_final_step_arrives(qtbot):
    seen = []

    def chatty(n):
        for i in range(n):
            yield Progress(i + 1, n)
        return "done"

    results = []
    handle = start_job(chatty, 20000, on_progress=seen.append, on_result=results.append)
    assert handle.wait(10000)
    assert results == ["done"]
    assert seen[-1].done == 20000
    assert len(seen) < 20000
