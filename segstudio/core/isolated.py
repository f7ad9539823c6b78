"""Runs a call in a separate worker process, for library code that holds the GIL for long.

scikit-image's ``felzenszwalb`` holds the GIL ~40 ms at a stretch; in a worker *thread* that
is a 40 ms freeze of the GUI thread each time. In a process it cannot touch the GUI at all, and
cancelling really stops it (the process is killed; a C loop in a thread runs to its end).

``call_in_process(fn, *args)`` pickles ``fn`` (a module-level function) and ``args`` to a
worker started with the ``spawn`` method (never ``fork``: the parent runs Qt threads), waits for
the answer while polling :func:`segstudio.core.jobs.cancel_requested`, and returns the result
or re-raises the worker's exception. One idle worker is kept warm for the next call (importing
numpy/OpenCV/scikit-image costs ~0.3 s here); a call while it is busy starts another.

Arrays of ``SHARE_BYTES`` or more (an 80-Mpixel image is 240 MB) travel through
``multiprocessing.shared_memory`` both ways instead of the pipe: pickling them would itself hold
the GIL for ~100 ms. The parent creates and unlinks every segment; the worker only attaches
(its resource tracking of them is off, so nothing is unlinked twice).

Pure: stdlib (multiprocessing) + numpy.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from segstudio.core.jobs import Cancelled, cancel_requested

log = logging.getLogger(__name__)

POLL_S = 0.05
SHARE_BYTES = 1 << 20
#: the worker's niceness: without it its threads compete with the GUI thread for the cores
#: (40 ms gaps on 2 cores with an 81-Mpixel watershed running in the worker)
WORKER_NICE = 10
_lock = threading.Lock()
_idle: list[_Worker] = []
_all: set[_Worker] = set()


@dataclass(frozen=True)
class _Shared:
    """An array in a shared-memory segment: what crosses the pipe instead of its bytes."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def _share(a: np.ndarray, owned: list[shared_memory.SharedMemory]) -> _Shared:
    shm = shared_memory.SharedMemory(create=True, size=max(1, a.nbytes))
    owned.append(shm)
    np.copyto(np.ndarray(a.shape, a.dtype, buffer=shm.buf), a)
    return _Shared(shm.name, tuple(a.shape), a.dtype.str)


def _attach(h: _Shared, attached: list[shared_memory.SharedMemory]) -> np.ndarray:
    shm = shared_memory.SharedMemory(name=h.name)
    attached.append(shm)
    return np.ndarray(h.shape, np.dtype(h.dtype), buffer=shm.buf)


def _close(segments: list[shared_memory.SharedMemory], unlink: bool) -> None:
    for shm in segments:
        try:
            shm.close()
        except BufferError:   # a view is still alive somewhere: the segment goes with the process
            log.debug("shared segment %s still in use", shm.name)
        if unlink:
            try:
                shm.unlink()
            except FileNotFoundError:
                pass
    segments.clear()


def _untrack_shared_memory() -> None:
    """In the worker: the parent owns every segment (creates, unlinks); without this the
    worker's resource tracker would unlink the inputs again, or the results too early."""
    from multiprocessing import resource_tracker

    register = resource_tracker.register

    def only_others(name: str, rtype: str) -> None:
        if rtype != "shared_memory":
            register(name, rtype)

    resource_tracker.register = only_others  # type: ignore[assignment]


def _call_shared(fn: Callable[..., Any], args: tuple) -> Any:
    """Runs ``fn`` on the worker side: shared inputs attached, a big result shared back."""
    attached: list[shared_memory.SharedMemory] = []
    try:
        real = tuple(_attach(a, attached) if isinstance(a, _Shared) else a for a in args)
        result = fn(*real)
        del real
        if isinstance(result, np.ndarray):
            if result.nbytes >= SHARE_BYTES:
                out: list[shared_memory.SharedMemory] = []
                handle = _share(np.ascontiguousarray(result), out)
                _close(out, unlink=False)   # the parent copies it out and unlinks it
                return handle
            return np.array(result)   # never a view of an input segment
        return result
    finally:
        _close(attached, unlink=False)


def _serve(conn: Connection) -> None:   # the worker process's main loop
    _untrack_shared_memory()
    try:   # below the GUI: on 2 busy cores the window still gets the CPU when it needs it
        os.nice(WORKER_NICE)
    except (AttributeError, OSError):   # no nice() (Windows) or not permitted
        pass
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, _call_shared(fn, args))
        except BaseException as exc:   # everything goes back to the caller
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:   # an unpicklable result or exception
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}"
                                           if not reply[0] else f"result cannot be sent back: {exc}")))


class _Worker:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="segstudio-worker")
        self.proc.start()
        child.close()

    def call(self, fn: Callable[..., Any], args: tuple) -> Any:
        owned: list[shared_memory.SharedMemory] = []
        try:
            shared = tuple(_share(np.ascontiguousarray(a), owned)
                           if isinstance(a, np.ndarray) and a.nbytes >= SHARE_BYTES else a for a in args)
            value = self._call(fn, shared)
        finally:
            _close(owned, unlink=True)
        if isinstance(value, _Shared):
            back: list[shared_memory.SharedMemory] = []
            try:
                value = np.array(_attach(value, back))   # a copy: the segment goes now
            finally:
                _close(back, unlink=True)
        return value

    def _call(self, fn: Callable[..., Any], args: tuple) -> Any:
        self.conn.send((fn, args))
        while not self.conn.poll(POLL_S):
            if cancel_requested():
                self.kill()
                raise Cancelled()
            if not self.proc.is_alive():
                self.kill()
                raise RuntimeError(f"the worker process running {getattr(fn, '__name__', fn)} "
                                   f"stopped (exit code {self.proc.exitcode})")
        try:
            ok, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise RuntimeError(f"the worker process running {getattr(fn, '__name__', fn)} died") from exc
        if ok:
            return value
        raise value

    def kill(self) -> None:
        with _lock:
            _all.discard(self)
            if self in _idle:
                _idle.remove(self)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def call_in_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker process (see the module docstring); raises
    :class:`~segstudio.core.jobs.Cancelled` soon after the calling job is cancelled."""
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is not None and not worker.proc.is_alive():
        worker.kill()   # died while idle (e.g. killed from outside): forget it
        worker = None
    if worker is None:
        worker = _Worker()
        with _lock:
            _all.add(worker)
    try:
        return worker.call(fn, args)
    finally:   # back to idle (also after fn raised: the worker is fine), unless one is idle already
        with _lock:
            keep = worker.proc.is_alive() and worker in _all and not _idle
            if keep:
                _idle.append(worker)
        if not keep:
            worker.kill()


def worker_count() -> int:
    """Worker processes alive (busy or idle) — for tests."""
    with _lock:
        return sum(1 for w in _all if w.proc.is_alive())


@atexit.register
def shutdown() -> None:
    """Stops every worker process (also run at interpreter exit)."""
    with _lock:
        workers = list(_all)
    for w in workers:
        w.kill()
