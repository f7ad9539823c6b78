"""Pre-annotation of many images: load → tiled prediction → shapes, one image at a time.

The job is shared by the GUI's "Auto-segment all / unlabelled images" and by
``segstudio predict``: it yields a plain Progress while tiles run and, when an image is done,
a Progress whose ``data["prediction"]`` is an :class:`ImagePrediction` (shapes, and the class
map when asked for). The caller decides what to do with it (an Edit in the GUI, files in the
CLI), so nothing here touches the project or the disk except reading images.

May import: torch (via segstudio.ml.predict), numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from segstudio.core.io.images import ImageReadError, load_image, to_rgb8
from segstudio.core.jobs import CancelToken, Progress, relabelled
from segstudio.core.model import Shape
from segstudio.ml.checkpoint import ModelMeta
from segstudio.ml.postprocess import ShapeOptions, prediction_to_shapes
from segstudio.ml.predict import PredictionError, PredictionResult, predict_image

log = logging.getLogger(__name__)

#: an image to predict: (key, path of the image or a function returning its pixels)
BatchItem = tuple[str, "Path | str | Callable[[], np.ndarray]"]


@dataclass(frozen=True)
class PredictConfig:
    """Frozen settings of a prediction run (what a worker gets)."""

    tile: int = 1024
    overlap: int = 128
    batch_size: int = 4
    amp: bool | str = True
    shapes: ShapeOptions = field(default_factory=ShapeOptions)
    keep_maps: bool = False      # also hand back label map + confidence (class PNGs, overlay)
    #: False: no shapes at all (class PNG output needs only the map; shapes of a fragmented
    #: 24-Mpixel prediction cost more memory and time than the prediction itself)
    make_shapes: bool = True


@dataclass
class ImagePrediction:
    key: str
    width: int = 0
    height: int = 0
    shapes: list[Shape] = field(default_factory=list)
    result: PredictionResult | None = None   # only with keep_maps
    error: str | None = None                 # message naming the file when it failed
    info: dict = field(default_factory=dict)


def _load(source: Path | str | Callable[[], np.ndarray]) -> np.ndarray:
    arr = source() if callable(source) else load_image(source)
    return to_rgb8(arr)


def predict_one(model: nn.Module, meta: ModelMeta, key: str, image_rgb8: np.ndarray, *, device,
                config: PredictConfig, cancel: CancelToken | None = None,
                roi: np.ndarray | None = None) -> Generator[Progress, None, ImagePrediction]:
    """Prediction + shapes for one image already in memory."""
    # the confidence map is read by the overlay (keep_maps) and by a confidence threshold only
    want_conf = config.keep_maps or (config.make_shapes and config.shapes.min_confidence > 0)
    result = yield from predict_image(model, meta, image_rgb8, device, tile=config.tile,
                                      overlap=config.overlap,
                                      batch_size=config.batch_size, amp=config.amp, cancel=cancel,
                                      confidence=want_conf)
    shapes = (prediction_to_shapes(result.label_map, result.confidence, meta.classes, config.shapes, roi=roi)
              if config.make_shapes else [])
    h, w = result.label_map.shape
    return ImagePrediction(key, w, h, shapes, result if config.keep_maps else None, info=result.info)


def predict_batch(model: nn.Module, meta: ModelMeta, items: Sequence[BatchItem], device,
                  *, config: PredictConfig, cancel: CancelToken | None = None
                  ) -> Generator[Progress, None, list[str]]:
    """Predicts every item; returns the keys that failed (each reported via ``data`` too).

    ``Progress.done`` counts finished images; a bad image is reported and skipped.
    """
    n = len(items)
    failed: list[str] = []
    yield Progress(0, n, f"{n} images")
    for i, (key, source) in enumerate(items):
        name = Path(source).name if not callable(source) else key
        try:
            img = _load(source)
            inner = predict_one(model, meta, key, img, device=device, config=config, cancel=cancel)
            pred = yield from relabelled(inner, lambda p, i=i, name=name: Progress(
                i, n, f"{name} ({i + 1}/{n}): tile {p.done}/{p.total or '?'}"))
        except (OSError, ValueError, PredictionError) as exc:   # ImageReadError is an OSError
            failed.append(key)
            msg = str(exc) if isinstance(exc, ImageReadError) else f"{source if not callable(source) else key}: {exc}"
            log.warning("%s", msg)
            yield Progress(i + 1, n, f"{name}: failed", data={"prediction": ImagePrediction(key, error=msg)})
            continue
        yield Progress(i + 1, n, f"{name}: {len(pred.shapes)} shapes", data={"prediction": pred})
    return failed
