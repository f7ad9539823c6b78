"""Click-to-segment: one embedding per image (cached), then points/box → mask → shapes.

:class:`Predictor` owns one :class:`~segstudio.sam.runtime.SamModel` and an
:class:`EmbeddingCache` — memory-bounded LRU by bytes, optionally backed by ``.npz`` files
under a project's ``.segstudio/sam/<model>/`` so reopening an image costs no encoder run. A
cache key is the image's identity (path, size on disk, mtime — or a caller's key) plus the
region embedded. :meth:`Predictor.embed` is the slow call (run it in a worker);
:meth:`Predictor.predict` is the per-click decoder call. :func:`mask_shapes` turns a mask into
shapes through the one converter (:mod:`segstudio.core.label_shapes`).

Pure: numpy, segstudio.core, segstudio.sam.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from segstudio.core.io.atomic import atomic_write_bytes
from segstudio.core.label_shapes import LabelShapeOptions, mask_to_shapes
from segstudio.core.model import Shape
from segstudio.sam.families import Frame, get_family
from segstudio.sam.models import LocalModel, require
from segstudio.sam.runtime import Embedding, Prediction, SamModel

log = logging.getLogger(__name__)

Roi = tuple[int, int, int, int]


def image_key(path: str | Path) -> str:
    """An image file's identity for the cache: path, size and mtime (edited file → new key)."""
    p = Path(path)
    st = p.stat()
    return f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"


class EmbeddingCache:
    """LRU of embeddings bounded by ``max_bytes``; with ``folder``, also kept on disk."""

    def __init__(self, max_bytes: int = 512 << 20, folder: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.folder = folder
        self._items: OrderedDict[str, Embedding] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.disk_hits = 0

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._items.values())

    def __contains__(self, key: str) -> bool:
        return key in self._items or (self._file(key) is not None and self._file(key).is_file())

    def _file(self, key: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha1(key.encode()).hexdigest() + ".npz")

    def get(self, key: str) -> Embedding | None:
        with self._lock:
            emb = self._items.get(key)
            if emb is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return emb
        emb = self._load(key)
        if emb is None:
            self.misses += 1
            return None
        self.disk_hits += 1
        self.put(key, emb, to_disk=False)
        return emb

    def put(self, key: str, emb: Embedding, to_disk: bool = True) -> None:
        with self._lock:
            self._items[key] = emb
            self._items.move_to_end(key)
            while len(self._items) > 1 and self.nbytes > self.max_bytes:
                self._items.popitem(last=False)
        if to_disk:
            self._save(key, emb)

    def _save(self, key: str, emb: Embedding) -> None:
        f = self._file(key)
        if f is None:
            return
        buf = io.BytesIO()
        meta = np.asarray([*emb.frame.orig, *emb.frame.resized, emb.frame.size, *emb.offset, *emb.full_size])
        np.savez(buf, __meta__=meta, **{f"f_{k}": v for k, v in emb.features.items()})
        try:
            atomic_write_bytes(f, buf.getvalue())
        except OSError as exc:   # a read-only project still segments, just without the disk cache
            log.info("embedding not cached on disk: %s", exc)

    def _load(self, key: str) -> Embedding | None:
        f = self._file(key)
        if f is None or not f.is_file():
            return None
        try:
            with np.load(f) as z:
                m = [int(v) for v in z["__meta__"]]
                feats = {k[2:]: z[k] for k in z.files if k.startswith("f_")}
        except (OSError, ValueError, KeyError) as exc:   # a damaged cache file is recomputed
            log.info("%s: unreadable embedding cache (%s)", f, exc)
            return None
        return Embedding(feats, Frame((m[0], m[1]), (m[2], m[3]), m[4]), (m[5], m[6]), (m[7], m[8]))


class Predictor:
    """A model plus its embedding cache."""

    def __init__(self, model: SamModel, name: str = "", cache: EmbeddingCache | None = None) -> None:
        self.model = model
        self.name = name
        self.cache = cache or EmbeddingCache()

    @classmethod
    def open(cls, name: str, project_dir: Path | None = None, max_bytes: int = 512 << 20,
             threads: int = 0) -> Predictor:
        """The predictor of model ``name`` (raises ModelMissing naming what to do);
        ``project_dir``: also cache embeddings on disk under ``.segstudio/sam/<name>/``;
        ``threads``: ONNX Runtime's intra-op threads (0: all cores)."""
        local: LocalModel = require(name)
        model = SamModel(get_family(local.family), local.files["encoder"], local.files["decoder"],
                         threads=threads)
        folder = None if project_dir is None else Path(project_dir) / ".segstudio" / "sam" / name
        return cls(model, name, EmbeddingCache(max_bytes, folder))

    @staticmethod
    def key(base: str, roi: Roi | None) -> str:
        return base if roi is None else f"{base}|roi={tuple(int(v) for v in roi)}"

    def cached(self, base: str, roi: Roi | None = None) -> bool:
        return self.key(base, roi) in self.cache

    def embed(self, base: str, image_rgb8: np.ndarray, roi: Roi | None = None) -> Embedding:
        """The embedding of the image (or its region ``roi``), from the cache or the encoder."""
        k = self.key(base, roi)
        emb = self.cache.get(k)
        if emb is None:
            emb = self.model.encode(image_rgb8, roi)
            self.cache.put(k, emb)
        return emb

    def predict(self, emb: Embedding, fg: list = (), bg: list = (), box: tuple | None = None) -> Prediction:
        return self.model.decode(emb, list(fg), list(bg), box)

    def segment(self, base: str, image_rgb8: np.ndarray, fg: list = (), bg: list = (),
                *, box: tuple | None = None, roi: Roi | None = None) -> Prediction:
        return self.predict(self.embed(base, image_rgb8, roi), fg, bg, box)


def mask_shapes(mask: np.ndarray, label: str, mode: str = "polygon", *, tolerance: float = 1.0,
                min_area: float = 10.0, largest_only: bool = False) -> list[Shape]:
    """Shapes of a predicted mask (polygons simplified by ``tolerance`` px, or one mask shape);
    ``largest_only``: a click means one object, so stray specks are dropped."""
    opts = LabelShapeOptions(mode=mode, tolerance=tolerance, min_area=min_area, label=label)
    shapes = mask_to_shapes(mask, label, opts)
    if largest_only and mode == "polygon" and len(shapes) > 1:
        from segstudio.core.geometry import polygon_area

        shapes = [max(shapes, key=lambda s: abs(polygon_area(np.asarray(s.points))))]
    return shapes
