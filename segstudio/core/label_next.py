"""Label next: which unlabelled image to send the annotator to, from per-image uncertainty scores.

Pure selection logic shared by the GUI (Label next, the Images dock's score column), ``segstudio
rank`` and the simulated-annotator benchmark: a tiny image descriptor (a 16×16 grey thumbnail,
zero mean, unit norm) and a greedy pick — most uncertain first, skipping images a person labelled,
images served recently and images too similar to one already picked or served (so near-duplicate
video frames are not served back to back). Scores themselves come from
:mod:`segstudio.ml.uncertainty`; their cache file is :mod:`segstudio.core.score_cache`.

May import: numpy, cv2, stdlib. No Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

DESCRIPTOR_SIDE = 16
#: cosine similarity of two thumbnails above which they count as the same scene
DEFAULT_MAX_SIMILARITY = 0.95


def thumbnail_descriptor(image: np.ndarray) -> np.ndarray:
    """A 16×16 grey thumbnail of ``image`` (HxW or HxWxC, any dtype), zero-mean and unit-norm
    (float32, 256 values), so its dot product with another is their cosine similarity and
    a change in brightness alone does not make two frames look different."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 3:
        img = img[:, :, :3].mean(axis=2) if img.shape[2] > 1 else img[:, :, 0]
    # INTER_AREA averages all pixels, so a 24-Mpixel photo gives the same thumbnail as a copy
    small = cv2.resize(img, (DESCRIPTOR_SIDE, DESCRIPTOR_SIDE), interpolation=cv2.INTER_AREA)
    v = small.ravel() - small.mean()
    norm = float(np.linalg.norm(v))
    return (v / norm if norm > 1e-6 else np.zeros_like(v)).astype(np.float32)


def descriptor_to_text(desc: np.ndarray) -> str:
    """Compact text form of a descriptor for the JSON cache (256 bytes of hex)."""
    q = np.clip(np.round(np.asarray(desc, np.float32) * 127 + 128), 0, 255).astype(np.uint8)
    return q.tobytes().hex()


def descriptor_from_text(text: str) -> np.ndarray | None:
    """Inverse of :func:`descriptor_to_text` (renormalised); None for text that is not one."""
    try:
        raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    except (ValueError, TypeError):
        return None
    if raw.size != DESCRIPTOR_SIDE * DESCRIPTOR_SIDE:
        return None
    v = (raw.astype(np.float32) - 128) / 127
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else v


@dataclass(frozen=True)
class Candidate:
    """An image that may be served: its key, uncertainty score (higher = label it sooner) and
    descriptor (None: never counts as a duplicate)."""

    key: str
    score: float
    descriptor: np.ndarray | None = None


def _too_similar(desc: np.ndarray | None, others: Sequence[np.ndarray], max_similarity: float) -> bool:
    if desc is None or not others:
        return False
    return bool(np.max(np.stack(others) @ desc) > max_similarity)


def pick_next(candidates: Iterable[Candidate], k: int = 1, *, exclude: Iterable[str] = (),
              recent: Iterable[str] = (), descriptors: Mapping[str, np.ndarray | None] | None = None,
              max_similarity: float = DEFAULT_MAX_SIMILARITY) -> list[str]:
    """Up to ``k`` keys to label next, most uncertain first.

    ``exclude`` (e.g. labelled images) and ``recent`` (served lately) are never picked; a
    candidate whose descriptor is more similar than ``max_similarity`` to one already picked or
    to a recent one (looked up in ``descriptors``) is passed over while dissimilar ones remain,
    then taken in score order to fill ``k``: diversity breaks ties, it never empties the list.
    """
    banned = set(exclude) | set(recent)
    pool = sorted((c for c in candidates if c.key not in banned), key=lambda c: (-c.score, c.key))
    descriptors = descriptors or {}
    seen = [d for d in (descriptors.get(r) for r in recent) if d is not None]
    picked: list[str] = []
    passed: list[Candidate] = []
    for c in pool:
        if len(picked) >= k:
            break
        if _too_similar(c.descriptor, seen, max_similarity):
            passed.append(c)
            continue
        picked.append(c.key)
        if c.descriptor is not None:
            seen.append(c.descriptor)
    picked += [c.key for c in passed[:max(0, k - len(picked))]]
    return picked


class ServedHistory:
    """The images Label next served lately (most recent last), so it does not serve them again
    before the annotator has moved on; bounded so old visits are forgotten."""

    def __init__(self, size: int = 20) -> None:
        self.size = max(1, int(size))
        self._keys: list[str] = []

    def add(self, key: str) -> None:
        if key in self._keys:
            self._keys.remove(key)
        self._keys.append(key)
        del self._keys[:-self.size]

    def __iter__(self):
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
