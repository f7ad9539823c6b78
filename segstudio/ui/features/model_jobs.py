"""The Model feature's work off the GUI thread: load a checkpoint, predict the current image or a
batch (generators run by :func:`segstudio.ui.workers.start_job`), and the confidence overlay.

These functions are the only places the GUI imports torch (through ``segstudio.ml``, inside
the functions), so building the window never imports it.

May import: PySide6.QtGui, numpy, segstudio.core, segstudio.ml (inside functions only).
"""

from __future__ import annotations

from dataclasses import replace as dc_replace

import numpy as np
from PySide6.QtGui import QImage

from segstudio.core.jobs import CancelToken, Progress
from segstudio.ui.features.model_options import ModelOptions

_OVERLAY_MAX_PIXELS = 4_000_000   # the confidence overlay is downsampled beyond this


def load_model_job(path: str, device: str):
    yield Progress(0, None, "Loading model…")
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.device import describe_device, pick_device

    dev = pick_device(device)
    model, meta = load_checkpoint(path, dev)
    return {"path": path, "model": model, "meta": meta, "device": str(dev), "device_name": describe_device(dev)}


def predict_current_job(model, meta, key: str, image: np.ndarray, device: str, options: ModelOptions,
                        cancel: CancelToken, roi: np.ndarray | None):
    from segstudio.ml.batch import predict_one

    config = dc_replace(options.predict_config(meta.classes), keep_maps=True)
    return (yield from predict_one(model, meta, key, image, device, config, cancel, roi))


def predict_batch_job(model, meta, items: list, device: str, options: ModelOptions, cancel: CancelToken):
    from segstudio.ml.batch import predict_batch

    return (yield from predict_batch(model, meta, items, device, options.predict_config(meta.classes), cancel))


def load_pixels(image_path: str, annotation_path: str) -> np.ndarray:
    """rgb8 pixels of an entry, from the image file or else the JSON's embedded imageData."""
    from segstudio.core.io.images import to_rgb8
    from segstudio.core.project_io import read_image_or_embedded

    return to_rgb8(read_image_or_embedded(image_path, annotation_path))


def confidence_image(confidence: np.ndarray) -> tuple[QImage, float]:
    """A translucent heat map (red where the model is unsure) and the scale to show it at."""
    step = 1
    while confidence.size / (step * step) > _OVERLAY_MAX_PIXELS:
        step += 1
    conf = confidence[::step, ::step]
    h, w = conf.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (np.clip(conf, 0, 1) * 200).astype(np.uint8)
    rgba[..., 3] = (np.clip(1.0 - conf, 0, 1) * 220).astype(np.uint8)
    img = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return img, float(step)
