"""Conventions for long work: generators that yield :class:`Progress` and can be cancelled.

A long job is a generator function ``job(...) -> Generator[Progress, None, Result]``: it
yields a Progress often enough (at least every ~0.2 s) for cancellation to take effect within a
second, and returns its result (``StopIteration.value``). The GUI runs it in a worker thread
(``segstudio.ui.workers``), the CLI drives it with tqdm (:func:`run_with_tqdm`), tests call
:func:`run_to_end`. Cancellation: the driver stops iterating (``gen.close()``), or the job checks
a :class:`CancelToken` and raises :class:`Cancelled`.

Pure: stdlib only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job when its CancelToken is set."""


@dataclass
class Progress:
    done: int
    total: int | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)   # job-specific payload (e.g. epoch metrics)

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


Job = Generator[Progress, None, T]

_local = threading.local()


@contextmanager
def cancel_scope(is_cancelled: Callable[[], bool]) -> Iterator[None]:
    """Makes ``is_cancelled`` what :func:`cancel_requested` asks, in this thread, inside the
    block (the GUI's job runner wraps each job in one), so a blocking call deep inside a job —
    e.g. waiting for a worker process — can give up when the job is cancelled."""
    prev = getattr(_local, "check", None)
    _local.check = is_cancelled
    try:
        yield
    finally:
        _local.check = prev


def cancel_requested() -> bool:
    """True when the job running in this thread was cancelled (False outside any scope)."""
    check = getattr(_local, "check", None)
    return bool(check is not None and check())


def run_to_end(gen: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drives a job to completion and returns its result."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)


def relabelled(inner: Job[T], relabel: Callable[[Progress], Progress]) -> Generator[Progress, None, T]:
    """Runs ``inner`` as a step of an outer job, each of its progress reports passed on as
    ``relabel(report)``; returns its result: ``r = yield from relabelled(job, lambda p: ...)``."""
    while True:
        try:
            p = next(inner)
        except StopIteration as stop:
            return stop.value
        yield relabel(p)


def run_with_tqdm(gen: Job[T], desc: str = "", disable: bool | None = None) -> T:
    """Drives a job with a tqdm progress bar (the CLI's way)."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="it", disable=disable, dynamic_ncols=True)
    try:
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            if p.total is not None and bar.total != p.total:
                bar.total = p.total
                bar.refresh()
            bar.n = p.done
            if p.message:
                bar.set_postfix_str(p.message, refresh=False)
            bar.refresh()
    finally:
        bar.close()
