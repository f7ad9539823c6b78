"""Runs long jobs (generators yielding :class:`~segstudio.core.jobs.Progress`) off the GUI thread.

``start_job(gen_fn, *args, on_progress=..., on_result=..., on_error=..., on_finished=...,
**kwargs)`` calls ``gen_fn(*args, **kwargs)`` in a fresh ``QThread`` and iterates it there.
Every callback runs on the GUI thread (queued signals to a QObject that lives there), so
callbacks may touch widgets, the project and the history. ``handle.cancel()`` stops the
iteration at the next yield and closes the generator (its ``finally`` blocks run), so a job
that yields every ~0.2 s ends within a second; after a cancel no progress or result callback
fires, ``on_finished`` still does. A job may also raise :class:`~segstudio.core.jobs.Cancelled`
itself; that counts as a cancellation, not an error. Other exceptions reach
``on_error(exc, traceback_text)`` (logged when no ``on_error`` is given).

Why our own QThread rather than superqt's ``thread_worker``: superqt runs workers in the
global QThreadPool, which gives no per-job ``wait()`` and no way for the test-suite guard to
see which jobs are still running; this module is the small part of it we need.

Plain progress is throttled to ~30 updates a second (a tiled prediction can yield thousands
of times a second and would flood the event loop); a Progress carrying ``data`` (e.g. epoch
metrics) or reaching ``done == total`` is always delivered.

May import: PySide6, segstudio.core.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from segstudio.core.jobs import Cancelled, Progress, cancel_scope

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL_S = 0.033
_ACTIVE: set[JobHandle] = set()   # keeps handles (and their threads) alive until finished


class _JobThread(QThread):
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object, str)

    def __init__(self, gen_fn: Callable[..., Generator], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self._gen_fn, self._args, self._kwargs = gen_fn, args, kwargs
        self.cancel_event = threading.Event()
        self.was_cancelled = False

    def run(self) -> None:  # runs in the worker thread
        with cancel_scope(self.cancel_event.is_set):   # lets blocking calls see a cancel
            self._run()

    def _run(self) -> None:
        gen = None
        try:
            gen = self._gen_fn(*self._args, **self._kwargs)
            last_emit = 0.0
            while True:
                if self.cancel_event.is_set():
                    self.was_cancelled = True
                    gen.close()
                    return
                try:
                    item = next(gen)
                except StopIteration as stop:
                    if self.cancel_event.is_set():
                        self.was_cancelled = True
                        return
                    self.succeeded.emit(stop.value)
                    return
                now = time.monotonic()
                if (not isinstance(item, Progress) or item.data or item.done == item.total
                        or now - last_emit >= _PROGRESS_INTERVAL_S):
                    last_emit = now
                    self.progressed.emit(item)
        except Cancelled:
            self.was_cancelled = True
        except GeneratorExit:  # closing a generator that swallowed nothing
            self.was_cancelled = True
        except BaseException as exc:  # everything, even SystemExit from a job, goes to on_error
            if self.cancel_event.is_set():
                self.was_cancelled = True
                log.debug("job raised after cancel: %r", exc)
                return
            self.failed.emit(exc, traceback.format_exc())
        finally:
            # drop references to big inputs as soon as the job is over
            self._args, self._kwargs, self._gen_fn = (), {}, None  # type: ignore[assignment]
            del gen


class JobHandle(QObject):
    """What :func:`start_job` returns: ``cancel()``, ``is_running``, ``wait(ms)``, ``cancelled``."""

    def __init__(self, name: str, on_progress: Callable[[Any], None] | None,
                 on_result: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException, str], None] | None,
                 *, on_finished: Callable[[], None] | None) -> None:
        super().__init__()
        self.name = name
        self._on_progress, self._on_result = on_progress, on_result
        self._on_error, self._on_finished = on_error, on_finished
        self._thread: _JobThread | None = None
        self._cancel_requested = False
        self._done = False
        self.error: BaseException | None = None

    # -- public API ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """Asks the job to stop at its next yield; no result/progress callback fires after this."""
        self._cancel_requested = True
        if self._thread is not None:
            self._thread.cancel_event.set()

    @property
    def is_running(self) -> bool:
        """True until the job has ended and its callbacks have run."""
        return not self._done

    @property
    def cancelled(self) -> bool:
        return self._cancel_requested or (self._thread is not None and self._thread.was_cancelled)

    def wait(self, ms: int = 30000) -> bool:
        """Blocks up to ``ms`` for the job to end, then delivers its pending callbacks.

        Returns True when the job has ended (callbacks included)."""
        if self._thread is None or self._done:
            return self._done
        deadline = time.monotonic() + ms / 1000.0
        if not self._thread.wait(max(0, int(ms))):
            return False
        # the thread is over; its queued signals are events posted to this object and the thread
        while not self._done and time.monotonic() <= deadline + 1.0:
            QCoreApplication.sendPostedEvents(self._thread, 0)
            QCoreApplication.sendPostedEvents(self, 0)
            QCoreApplication.processEvents()
        return self._done

    # -- plumbing (GUI thread) -------------------------------------------------------------------
    def _start(self, thread: _JobThread) -> None:
        self._thread = thread
        thread.progressed.connect(self._deliver_progress)
        thread.succeeded.connect(self._deliver_result)
        thread.failed.connect(self._deliver_error)
        thread.finished.connect(self._deliver_finished)
        _ACTIVE.add(self)
        thread.start()

    @Slot(object)
    def _deliver_progress(self, item: Any) -> None:
        if self._cancel_requested or self._on_progress is None:
            return
        self._call(self._on_progress, item)

    @Slot(object)
    def _deliver_result(self, value: Any) -> None:
        if self._cancel_requested or self._on_result is None:
            return
        self._call(self._on_result, value)

    @Slot(object, str)
    def _deliver_error(self, exc: BaseException, tb: str) -> None:
        self.error = exc
        if self._on_error is None:
            log.error("job %s failed: %s\n%s", self.name, exc, tb)
            return
        self._call(self._on_error, exc, tb)

    @Slot()
    def _deliver_finished(self) -> None:
        if self._done:
            return
        self._done = True
        _ACTIVE.discard(self)
        if self._on_finished is not None:
            self._call(self._on_finished)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        # an exception escaping a queued slot would only be printed by Qt; log it with context
        try:
            fn(*args)
        except Exception:
            log.exception("callback of job %s failed", self.name)


def start_job(gen_fn: Callable[..., Generator], *args: Any,
              on_progress: Callable[[Any], None] | None = None,
              on_result: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException, str], None] | None = None,
              on_finished: Callable[[], None] | None = None,
              **kwargs: Any) -> JobHandle:
    """Runs ``gen_fn(*args, **kwargs)`` in a worker thread; see the module docstring."""
    name = getattr(gen_fn, "__qualname__", repr(gen_fn))
    handle = JobHandle(name, on_progress, on_result, on_error, on_finished=on_finished)
    handle._start(_JobThread(gen_fn, args, kwargs))
    return handle


def active_jobs() -> list[JobHandle]:
    """Jobs started and not yet finished (the test guard and the quit path use this)."""
    return list(_ACTIVE)


def cancel_all(wait_ms: int = 3000) -> bool:
    """Cancels every running job and waits for them; True when all ended."""
    jobs = active_jobs()
    for job in jobs:
        job.cancel()
    return all(job.wait(wait_ms) for job in jobs)
