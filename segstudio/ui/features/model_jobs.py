"""The Model feature's work off the GUI thread: load a checkpoint, predict the current image or a
batch, or only the confidence map for the overlay (generators run by
:func:`segstudio.ui.workers.start_job`).

These functions are the only places the GUI imports torch (through ``segstudio.ml``, inside
the functions), so building the window never imports it.

May import: numpy, segstudio.core, segstudio.ml (inside functions only).
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any

import numpy as np

from segstudio.core.jobs import CancelToken, Progress
from segstudio.ui.features.model_options import ModelOptions


def load_model_job(path: str, device: str):
    yield Progress(0, None, "Loading model…")
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.device import describe_device, pick_device

    dev = pick_device(device)
    model, meta = load_checkpoint(path, dev)
    return {"path": path, "model": model, "meta": meta, "device": str(dev), "device_name": describe_device(dev)}


def predict_current_job(model, meta, key: str, image: np.ndarray, *, device: str, options: ModelOptions,
                        cancel: CancelToken, roi: np.ndarray | None):
    from segstudio.ml.batch import predict_one

    config = dc_replace(options.predict_config(meta.classes), keep_maps=True)
    return (yield from predict_one(model, meta, key, image, device=device, config=config, cancel=cancel,
                                   roi=roi))


def predict_batch_job(model, meta, items: list, device: str, *, options: ModelOptions, cancel: CancelToken):
    from segstudio.ml.batch import predict_batch

    return (yield from predict_batch(model, meta, items, device, config=options.predict_config(meta.classes),
                                     cancel=cancel))


def confidence_job(model, meta, image: np.ndarray, device: str, *, options: ModelOptions,
                   cancel: CancelToken):
    """The predicted class's probability per pixel, for the confidence overlay only (no shapes)."""
    from segstudio.ml.batch import predict_one

    config = dc_replace(options.predict_config(meta.classes), keep_maps=True, make_shapes=False)
    pred = yield from predict_one(model, meta, "", image, device=device, config=config, cancel=cancel,
                                  roi=None)
    return pred.result.confidence


def load_pixels(image_path: str, annotation_path: str) -> np.ndarray:
    """rgb8 pixels of an entry, from the image file or else the JSON's embedded imageData."""
    from segstudio.core.io.images import to_rgb8
    from segstudio.core.project_io import read_image_or_embedded

    return to_rgb8(read_image_or_embedded(image_path, annotation_path))


def model_info_text(m: Any, path: str | None, device_name: str) -> str:
    """Model ▸ Model info: what the checkpoint says about itself, and where it runs."""
    training = "\n".join(f"  {k}: {v}" for k, v in (m.training or {}).items()) or "  (none recorded)"
    return (f"File: {path}\nArchitecture: {m.arch}\nEncoder: {m.encoder}\n"
            f"Input channels: {m.in_channels}\nClasses ({len(m.classes)}): {', '.join(m.classes)}\n"
            f"Training size: {m.train_size}\nEpoch: {m.epoch}\nsegstudio version: {m.segstudio_version}\n"
            f"Device: {device_name}\nTraining:\n{training}")


def selection_roi(selected: list, height: int, width: int) -> np.ndarray | None:
    """"Only inside the selected shapes": their union as a mask (None: the whole image)."""
    if not selected:
        return None
    from segstudio.core.rasterize import shape_mask

    roi = np.zeros((height, width), bool)
    for s in selected:
        roi |= shape_mask(s, height, width)
    return roi
