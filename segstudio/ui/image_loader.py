"""ImageLoader: decodes project images for display — a small LRU cache plus background decoding.

Why: decoding a 6000×4000 JPEG and scaling it to 8 bits takes a few hundred milliseconds; doing
that on the GUI thread freezes the window each time the user presses D. The controller asks
:meth:`ImageLoader.request` for images that are large (or not urgent, e.g. prefetching the next
one); the decode runs through :func:`segstudio.ui.workers.start_job` and the result lands in
the cache (``loaded`` signal). :meth:`cancel_except` drops stale requests when the user moves
on before a load finished. Small images are decoded synchronously with :meth:`load_sync` — it
is faster than a thread round trip and keeps simple call sites simple.

Each cache entry keeps the display image (HxWx3 uint8) and, when it differs, the raw pixels
(16-bit, gray, multi-channel…) so the status bar can show the values as stored. The cache is
bounded by a count and by bytes, whichever is reached first.

May import: PySide6.QtCore, numpy, segstudio.core, segstudio.ui.workers.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from segstudio.core import project_io
from segstudio.core.io.images import image_size, to_rgb8
from segstudio.core.jobs import Progress
from segstudio.core.model import Project
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

#: images with more pixels than this are decoded in the background (~2 megapixels decode in
#: about 30 ms here; bigger ones are worth the thread round trip)
SYNC_LOAD_PIXELS = 2_500_000
CACHE_ITEMS = 4
CACHE_BYTES = 600 * 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    rgb8: np.ndarray                 # HxWx3 uint8, what the canvas shows
    raw: np.ndarray | None = None    # the pixels as stored, when they differ from rgb8

    @property
    def nbytes(self) -> int:
        return int(self.rgb8.nbytes + (self.raw.nbytes if self.raw is not None else 0))

    @property
    def pixels(self) -> np.ndarray:
        """The values the status bar reports (raw when available)."""
        return self.raw if self.raw is not None else self.rgb8


def decode(raw: np.ndarray) -> DecodedImage:
    rgb8 = to_rgb8(raw)
    same = raw.dtype == np.uint8 and raw.ndim == 3 and raw.shape[2] == 3
    return DecodedImage(rgb8, None if same else raw)


def error_message(project: Project, key: str, exc: BaseException) -> str:
    """A message that names the file whatever the exception said."""
    entry = project.entry(key)
    msg = str(exc) or f"{entry.image_path}: {type(exc).__name__}"
    if str(entry.image_path) not in msg and str(entry.annotation_path) not in msg:
        msg = f"{entry.image_path}: {msg}"
    return msg


def _decode_job(project: Project, key: str) -> Generator[Progress, None, tuple[str, DecodedImage]]:
    # the project is only read here (entry paths, an embedded imageData): nothing is written
    yield Progress(0, 2, f"Loading {project.entry(key).image_path.name}")
    raw = project_io.load_entry_image(project, key)
    yield Progress(1, 2)   # a chance to drop a stale load before the conversion
    return key, decode(raw)


class ImageLoader(QObject):
    loaded = Signal(str)          # key now in the cache
    failed = Signal(str, str)     # key, message naming the file

    def __init__(self, parent: QObject | None = None, max_items: int = CACHE_ITEMS,
                 max_bytes: int = CACHE_BYTES) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.max_items, self.max_bytes = max_items, max_bytes
        self.sync_load_pixels = SYNC_LOAD_PIXELS
        self._cache: OrderedDict[str, DecodedImage] = OrderedDict()
        self._jobs: dict[str, JobHandle] = {}

    def reset(self, project: Project | None) -> None:
        """A new project: drops the cache and every load in flight."""
        self.cancel_except(())
        self._cache.clear()
        self.project = project

    # -- cache ---------------------------------------------------------------------------------
    def get(self, key: str) -> DecodedImage | None:
        img = self._cache.get(key)
        if img is not None:
            self._cache.move_to_end(key)
        return img

    def put(self, key: str, img: DecodedImage) -> None:
        self._cache[key] = img
        self._cache.move_to_end(key)
        total = sum(v.nbytes for v in self._cache.values())
        while len(self._cache) > 1 and (len(self._cache) > self.max_items or total > self.max_bytes):
            _, old = self._cache.popitem(last=False)
            total -= old.nbytes

    def cached_keys(self) -> list[str]:
        return list(self._cache)

    # -- loading -------------------------------------------------------------------------------
    def is_large(self, key: str) -> bool:
        """True when ``key`` should be decoded in the background (header only; unreadable → False,
        so the synchronous path reports the error at once)."""
        assert self.project is not None
        entry = self.project.entry(key)
        if not entry.image_path.is_file():
            return False
        try:
            w, h = image_size(entry.image_path)
        except Exception:
            return False
        return w * h > self.sync_load_pixels

    def load_sync(self, key: str) -> DecodedImage:
        """Decodes ``key`` now (raises what ``load_entry_image`` raises)."""
        img = self.get(key)
        if img is None:
            assert self.project is not None
            img = decode(project_io.load_entry_image(self.project, key))
            self.put(key, img)
        return img

    def is_loading(self, key: str) -> bool:
        return key in self._jobs

    def request(self, key: str) -> bool:
        """Starts decoding ``key`` in the background; False when it is cached already."""
        if key in self._cache:
            return False
        if key not in self._jobs and self.project is not None:
            project = self.project
            self._jobs[key] = start_job(
                _decode_job, project, key,
                on_result=lambda res, p=project: self._done(p, *res),
                on_error=lambda exc, _tb, p=project, k=key: self._failed(p, k, exc),
                on_finished=lambda k=key: self._finished(k))
        return True

    def cancel_except(self, keep: tuple[str, ...] | list[str]) -> None:
        """Cancels loads of every key not in ``keep`` (the user moved on)."""
        for key in [k for k in self._jobs if k not in keep]:
            self._jobs.pop(key).cancel()

    def _done(self, project: Project, key: str, img: DecodedImage) -> None:
        if project is not self.project:
            return
        self._jobs.pop(key, None)
        self.put(key, img)
        self.loaded.emit(key)

    def _failed(self, project: Project, key: str, exc: BaseException) -> None:
        if project is self.project:
            self._jobs.pop(key, None)
            self.failed.emit(key, error_message(project, key, exc))

    def _finished(self, key: str) -> None:
        job = self._jobs.get(key)
        if job is not None and not job.is_running:
            del self._jobs[key]
