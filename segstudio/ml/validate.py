"""The validation pass that scores each training epoch: loss and the
:mod:`segstudio.core.metrics` scores (mIoU, pixel accuracy, Dice, per-class IoU) of a confusion
matrix summed over the batches, and over the processes under torchrun — the same metrics code as
``segstudio evaluate``.

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import torch

from segstudio.core.jobs import CancelToken, Progress
from segstudio.core.metrics import confusion_matrix, scores_from_confusion
from segstudio.core.rasterize import IGNORE_VALUE
from segstudio.ml import distributed as D


def validate(net, loader, criterion, prep, *, amp_dtype, device, nc: int, classes: list[str],
             info: D.DistInfo, cancel: CancelToken | None,
             base: dict[str, Any]) -> Generator[Progress, None, dict[str, Any]]:
    """One validation pass (a job yielding per batch): loss and :mod:`segstudio.core.metrics`
    scores of a confusion matrix summed over the batches (and over processes under torchrun)."""
    net.eval()
    cm = np.zeros((nc, nc), dtype=np.int64)
    sums = np.zeros(2, dtype=np.float64)   # loss × batches, batches
    n = len(loader) if loader is not None else 0
    with torch.inference_mode():
        for b, (x, y) in enumerate(loader or []):
            if cancel is not None:
                cancel.check()
            x, y = prep(x, y)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = net(x)
            if (y != IGNORE_VALUE).any():
                sums += (float(criterion(logits, y)), 1.0)
            pred = logits.argmax(1).to(torch.uint8).cpu().numpy()
            cm += confusion_matrix(y.cpu().numpy(), pred, nc, IGNORE_VALUE)
            yield Progress(b + 1, n, f"validating {b + 1}/{n}", {**base, "phase": "val", "batch": b + 1})
    cm = D.all_reduce_sum(cm, info, device).astype(np.int64)
    sums = D.all_reduce_sum(sums, info, device)
    sc = scores_from_confusion(cm, classes)
    return {"val_loss": float(sums[0] / sums[1]) if sums[1] else None, "miou": sc["miou"],
            "pixel_accuracy": sc["pixel_accuracy"], "mean_dice": sc["mean_dice"],
            "per_class_iou": sc["per_class_iou"]}
