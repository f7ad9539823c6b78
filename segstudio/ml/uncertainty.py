"""Per-image uncertainty of a segmentation model: what Label next and ``segstudio rank`` sort by.

Per pixel, from the softmax of the blended logits of the tiled predictor (so any image size
works, in the predictor's bounded memory — the statistics are reduced band by band through its
``row_hook``, never as a C×H×W array):

* **entropy** — ``−Σ p log p / log C`` (0 = sure, 1 = uniform);
* **margin** — ``1 − (p₁ − p₂)`` (1 = the two best classes tie).

Per image they are averaged with a weighting: ``none`` (every pixel alike), ``foreground``
(pixels predicted as a class other than index 0 count ``foreground_weight`` times) or
``balanced`` (the mean over predicted classes of their mean, so a rare class's few pixels count
as much as the sky). ``tta=True`` also predicts the horizontally flipped image and adds the
fraction of pixels whose class changes (smp models mostly have no dropout, so flips stand in
for Monte-Carlo samples). The image's **score** (higher = label it sooner) is the chosen
metric's mean, plus that disagreement with ``tta``.

May import: torch (via segstudio.ml.predict), numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from segstudio.core.io.images import ImageReadError, load_image, to_rgb8
from segstudio.core.jobs import CancelToken, Progress, relabelled
from segstudio.core.label_next import descriptor_to_text, thumbnail_descriptor
from segstudio.core.score_cache import ScoreCache, file_stamp
from segstudio.ml.checkpoint import ModelMeta
from segstudio.ml.predict import PredictionError, predict_image

log = logging.getLogger(__name__)

METRICS = ("margin", "entropy")
WEIGHTINGS = ("none", "foreground", "balanced")


@dataclass(frozen=True)
class ScoreOptions:
    """How images are scored; everything but ``batch_size`` is part of the cache's identity."""

    metric: str = "margin"
    weighting: str = "none"
    foreground_weight: float = 4.0
    tta: bool = False
    tile: int = 1024
    overlap: int = 128
    batch_size: int = 4
    amp: bool | str = True

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown uncertainty metric {self.metric!r}; one of {', '.join(METRICS)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}; one of {', '.join(WEIGHTINGS)}")

    def cache_identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("batch_size")   # changes speed, not the numbers
        return d


@dataclass
class ImageScore:
    score: float
    entropy: float
    margin: float
    disagreement: float | None = None

    def record(self) -> dict[str, Any]:
        return {"score": self.score, "entropy": self.entropy, "margin": self.margin,
                "disagreement": self.disagreement}


class _PixelStats:
    """Sums of per-pixel entropy and margin per predicted class, fed band by band."""

    def __init__(self, num_classes: int) -> None:
        self.c = num_classes
        self.count = np.zeros(num_classes, np.float64)
        self.entropy = np.zeros(num_classes, np.float64)
        self.margin = np.zeros(num_classes, np.float64)

    def __call__(self, _row: int, logits: np.ndarray) -> None:
        z = logits - logits.max(axis=0, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=0, keepdims=True)
        cls = logits.argmax(axis=0).ravel()
        if self.c > 1:
            ent = -(p * np.log(np.maximum(p, 1e-12))).sum(axis=0) / math.log(self.c)
            top2 = np.partition(p, self.c - 2, axis=0)[self.c - 2:]
            margin = 1.0 - (top2[1] - top2[0])
        else:
            ent = margin = np.zeros(p.shape[1:], np.float32)
        self.count += np.bincount(cls, minlength=self.c)
        self.entropy += np.bincount(cls, weights=ent.ravel(), minlength=self.c)
        self.margin += np.bincount(cls, weights=margin.ravel(), minlength=self.c)

    def mean(self, sums: np.ndarray, options: ScoreOptions) -> float:
        if options.weighting == "balanced":
            present = self.count > 0
            return float((sums[present] / self.count[present]).mean()) if present.any() else 0.0
        w = np.ones(self.c)
        if options.weighting == "foreground":
            w[1:] = options.foreground_weight
        total = float((w * self.count).sum())
        return float((w * sums).sum() / total) if total > 0 else 0.0


def score_image(model: nn.Module, meta: ModelMeta, image_rgb8: np.ndarray, device="cpu",
                *, options: ScoreOptions = ScoreOptions(), cancel: CancelToken | None = None
                ) -> Generator[Progress, None, ImageScore]:
    """The uncertainty of ``model`` on one image; yields the predictor's Progress per tile."""
    stats = _PixelStats(meta.num_classes)
    result = yield from predict_image(model, meta, image_rgb8, device, tile=options.tile,
                                      overlap=options.overlap,
                                      batch_size=options.batch_size, amp=options.amp, cancel=cancel,
                                      row_hook=stats)
    ent, mar = stats.mean(stats.entropy, options), stats.mean(stats.margin, options)
    score = ent if options.metric == "entropy" else mar
    disagreement = None
    if options.tta:
        flipped = yield from predict_image(model, meta, np.ascontiguousarray(image_rgb8[:, ::-1]), device,
                                           tile=options.tile, overlap=options.overlap,
                                           batch_size=options.batch_size, amp=options.amp,
                                           cancel=cancel)
        disagreement = float(np.mean(result.label_map != flipped.label_map[:, ::-1]))
        score += disagreement
    return ImageScore(float(score), ent, mar, disagreement)


def score_images(model: nn.Module, meta: ModelMeta, items: Sequence[tuple[str, str | Path]], device="cpu",
                 *, options: ScoreOptions = ScoreOptions(), cache: ScoreCache | None = None,
                 cancel: CancelToken | None = None
                 ) -> Generator[Progress, None, tuple[dict[str, dict[str, Any]], list[str]]]:
    """Scores ``items`` (key, image file), reusing ``cache`` records of unchanged files.

    Returns (key → record with score, entropy, margin, disagreement, descriptor, "cached"),
    messages naming each file that could not be scored). The cache is saved at the end (also
    when cancelled, so finished images are not scored again).
    """
    n = len(items)
    records: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    yield Progress(0, n, f"scoring {n} images")
    try:
        for i, (key, path) in enumerate(items):
            name = Path(path).name
            try:
                stamp = file_stamp(path)
                rec = cache.get(key, stamp) if cache is not None else None
                if rec is not None:
                    records[key] = {**rec, "cached": True}
                    yield Progress(i + 1, n, f"{name}: cached")
                    continue
                img = to_rgb8(load_image(path))
                inner = score_image(model, meta, img, device, options=options, cancel=cancel)
                s = yield from relabelled(inner, lambda p, i=i, name=name: Progress(
                    i, n, f"{name} ({i + 1}/{n}): {p.message}"))
            except (OSError, ValueError, PredictionError) as exc:   # ImageReadError is an OSError
                msg = str(exc) if isinstance(exc, ImageReadError) else f"{path}: {exc}"
                log.warning("%s", msg)
                errors.append(msg)
                yield Progress(i + 1, n, f"{name}: failed")
                continue
            rec = {**s.record(), "descriptor": descriptor_to_text(thumbnail_descriptor(img))}
            if cache is not None:
                cache.put(key, stamp, rec)
            records[key] = {**rec, "cached": False}
            yield Progress(i + 1, n, f"{name}: {s.score:.3f}", data={"key": key, "record": records[key]})
    finally:
        if cache is not None:
            try:
                cache.save()
            except OSError as exc:   # a read-only project still gets its ranking
                log.warning("score cache not written: %s", exc)
    return records, errors
