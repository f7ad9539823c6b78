"""Segmentation metrics on label maps: confusion matrix, IoU/Dice/accuracies, and instance
metrics (matched IoU, panoptic quality PQ = SQ × RQ).

Shared by evaluation (``segstudio evaluate``, Tools ▸ Evaluate…) and training validation.
Pure numpy (stdlib + numpy only): no Qt, no torch.

Conventions
-----------
* Confusion matrices have rows = ground truth, columns = prediction (as scikit-learn).
* Pixels whose ground truth is ``ignore_index`` (``__ignore__`` regions, 255) are not counted.
* A class absent from both sides (no ground-truth and no predicted pixel / segment) has no
  score (``None``) and is excluded from the means; the names are listed in ``excluded``.
* Panoptic quality follows Kirillov et al. (2019): a predicted and a ground-truth segment of the
  same class match when their IoU > 0.5 (unique by construction), PQ = ΣIoU / (TP + ½FP + ½FN),
  SQ = ΣIoU / TP, RQ = TP / (TP + ½FP + ½FN); statistics are summed over images per class and
  the dataset PQ/SQ/RQ is the mean over classes that occur on either side. Predicted pixels that
  fall in the ground truth's ignore region are left out of the union, and an unmatched predicted
  segment lying mostly (> 50 %) in the ignore region is not a false positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MATCH_IOU = 0.5


# -- semantic ---------------------------------------------------------------------------------
def confusion_matrix(gt: np.ndarray, pred: np.ndarray, num_classes: int,
                     ignore_index: int | None = 255) -> np.ndarray:
    """``(C, C)`` int64 confusion matrix, rows = ground truth, columns = prediction.

    Pixels where ``gt == ignore_index`` are skipped. Any other value outside ``[0, C)`` on either
    side is an error (it would silently change the scores otherwise).
    """
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    gt = gt.ravel().astype(np.int64, copy=False)
    pred = pred.ravel().astype(np.int64, copy=False)
    if ignore_index is not None:
        keep = gt != ignore_index
        if not keep.all():
            gt, pred = gt[keep], pred[keep]
    for name, arr in (("ground truth", gt), ("prediction", pred)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            bad = np.unique(arr[(arr < 0) | (arr >= num_classes)])[:10].tolist()
            raise ValueError(f"{name} has values {bad} outside the {num_classes} classes")
    cm = np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes)
    return cm.reshape(num_classes, num_classes).astype(np.int64, copy=False)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def scores_from_confusion(cm: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Per-class IoU and Dice, their means, pixel accuracy and mean pixel accuracy.

    Returns a dict with ``per_class_iou``, ``miou``, ``per_class_dice``, ``mean_dice``,
    ``pixel_accuracy``, ``mean_pixel_accuracy``, ``per_class_accuracy``, ``excluded`` (classes
    absent from both sides, left out of every mean), ``num_pixels`` and ``confusion_matrix``
    (a nested list). Mean pixel accuracy averages recall over classes that have ground-truth
    pixels (recall is undefined otherwise).
    """
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got {cm.shape}")
    if len(class_names) != cm.shape[0]:
        raise ValueError(f"{len(class_names)} class names for a {cm.shape[0]}-class confusion matrix")
    tp = np.diag(cm)
    gt_count = cm.sum(axis=1)
    pred_count = cm.sum(axis=0)
    fp = pred_count - tp
    fn = gt_count - tp
    names = list(class_names)
    iou: dict[str, float | None] = {}
    dice: dict[str, float | None] = {}
    acc: dict[str, float | None] = {}
    excluded: list[str] = []
    for i, name in enumerate(names):
        if gt_count[i] == 0 and pred_count[i] == 0:
            excluded.append(name)
        iou[name] = _ratio(tp[i], tp[i] + fp[i] + fn[i])
        dice[name] = _ratio(2 * tp[i], 2 * tp[i] + fp[i] + fn[i])
        acc[name] = _ratio(tp[i], gt_count[i])
    total = int(cm.sum())
    return {
        "per_class_iou": iou,
        "miou": _mean(iou.values()),
        "per_class_dice": dice,
        "mean_dice": _mean(dice.values()),
        "pixel_accuracy": _ratio(tp.sum(), total),
        "mean_pixel_accuracy": _mean(acc.values()),
        "per_class_accuracy": acc,
        "excluded": excluded,
        "num_pixels": total,
        "confusion_matrix": cm.tolist(),
    }


# -- instances / panoptic -----------------------------------------------------------------------
def _segments(inst: np.ndarray, cls: np.ndarray,
              skip_classes: set[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, class of each id, area of each id) for instance ids > 0 (area over all pixels)."""
    ids, inverse, counts = np.unique(inst.ravel(), return_inverse=True, return_counts=True)
    seg_cls = np.zeros(len(ids), dtype=np.int64)
    flat_cls = cls.ravel().astype(np.int64)
    # majority class per instance id: one bincount over (id index, class)
    ncls = int(flat_cls.max()) + 1 if flat_cls.size else 1
    table = np.bincount(inverse * ncls + flat_cls, minlength=len(ids) * ncls).reshape(len(ids), ncls)
    seg_cls[:] = table.argmax(axis=1)
    keep = (ids > 0) & ~np.isin(seg_cls, list(skip_classes))
    return ids[keep], seg_cls[keep], counts[keep]


@dataclass
class InstanceStats:
    """Accumulates per-class panoptic statistics over images (call :meth:`update` per image)."""

    num_classes: int
    ignore_index: int | None = 255
    skip_classes: tuple[int, ...] = (0,)   # background is not a "thing"
    tp: np.ndarray = field(init=False)
    fp: np.ndarray = field(init=False)
    fn: np.ndarray = field(init=False)
    iou_sum: np.ndarray = field(init=False)
    best_iou_sum: np.ndarray = field(init=False)  # Σ over GT segments of best same-class IoU
    num_gt: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        z = lambda dt: np.zeros(self.num_classes, dtype=dt)  # noqa: E731
        self.tp, self.fp, self.fn, self.num_gt = z(np.int64), z(np.int64), z(np.int64), z(np.int64)
        self.iou_sum, self.best_iou_sum = z(np.float64), z(np.float64)

    def update(self, gt_cls: np.ndarray, gt_inst: np.ndarray, pred_cls: np.ndarray,
               pred_inst: np.ndarray) -> None:
        """Adds one image: class maps and instance maps (0 = no instance) of both sides."""
        shapes = {a.shape for a in (gt_cls, gt_inst, pred_cls, pred_inst)}
        if len(shapes) != 1:
            raise ValueError(f"class and instance maps differ in shape: {sorted(shapes)}")
        skip = set(self.skip_classes)
        if self.ignore_index is not None:
            skip.add(self.ignore_index)
            void = gt_cls == self.ignore_index
        else:
            void = np.zeros(gt_cls.shape, dtype=bool)
        g_ids, g_cls, g_area = _segments(gt_inst, gt_cls, skip)
        p_ids, p_cls, p_area = _segments(pred_inst, pred_cls, skip)
        # pixels of each predicted segment inside the void region
        p_void = np.zeros(len(p_ids), dtype=np.int64)
        if void.any() and len(p_ids):
            in_void = np.bincount(pred_inst[void].ravel().astype(np.int64),
                                  minlength=int(pred_inst.max()) + 1)
            p_void = in_void[p_ids]
        inter = np.zeros((len(g_ids), len(p_ids)), dtype=np.int64)
        if len(g_ids) and len(p_ids):
            g_index = np.full(int(gt_inst.max()) + 1, -1, dtype=np.int64)
            g_index[g_ids] = np.arange(len(g_ids))
            p_index = np.full(int(pred_inst.max()) + 1, -1, dtype=np.int64)
            p_index[p_ids] = np.arange(len(p_ids))
            gi = g_index[gt_inst.ravel()]
            pi = p_index[pred_inst.ravel()]
            both = (gi >= 0) & (pi >= 0)
            pairs = np.bincount(gi[both] * len(p_ids) + pi[both], minlength=inter.size)
            inter = pairs.reshape(inter.shape)
        union = g_area[:, None] + p_area[None, :] - inter - p_void[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        iou[g_cls[:, None] != p_cls[None, :]] = 0.0
        matched_g = np.zeros(len(g_ids), dtype=bool)
        matched_p = np.zeros(len(p_ids), dtype=bool)
        for gi_, pi_ in zip(*np.nonzero(iou > MATCH_IOU)):   # unique: IoU > 0.5 cannot repeat
            c = g_cls[gi_]
            self.tp[c] += 1
            self.iou_sum[c] += iou[gi_, pi_]
            matched_g[gi_] = matched_p[pi_] = True
        for k, c in enumerate(g_cls):
            self.num_gt[c] += 1
            self.best_iou_sum[c] += float(iou[k].max()) if len(p_ids) else 0.0
            if not matched_g[k]:
                self.fn[c] += 1
        for k, c in enumerate(p_cls):
            if not matched_p[k] and not (p_void[k] > 0.5 * p_area[k]):
                self.fp[c] += 1

    def scores(self, class_names: Sequence[str]) -> dict[str, Any]:
        """Per-class and mean PQ/SQ/RQ, matched IoU and the counts behind them."""
        per: dict[str, dict[str, Any]] = {}
        excluded: list[str] = []
        for c, name in enumerate(class_names):
            if c in self.skip_classes or c == self.ignore_index:
                continue
            tp, fp, fn = int(self.tp[c]), int(self.fp[c]), int(self.fn[c])
            if tp + fp + fn == 0:
                excluded.append(name)
                per[name] = {"pq": None, "sq": None, "rq": None, "matched_iou": None,
                             "tp": 0, "fp": 0, "fn": 0}
                continue
            den = tp + 0.5 * fp + 0.5 * fn
            per[name] = {
                "pq": float(self.iou_sum[c] / den),
                "sq": _ratio(self.iou_sum[c], tp),
                "rq": float(tp / den),
                "matched_iou": _ratio(self.best_iou_sum[c], self.num_gt[c]),
                "tp": tp, "fp": fp, "fn": fn,
            }
        return {
            "per_class": per,
            "pq": _mean(v["pq"] for v in per.values()),
            "sq": _mean(v["sq"] for v in per.values()),
            "rq": _mean(v["rq"] for v in per.values()),
            "matched_iou": _mean(v["matched_iou"] for v in per.values()),
            "excluded": excluded,
        }


def panoptic_quality(gt_cls: np.ndarray, gt_inst: np.ndarray, pred_cls: np.ndarray,
                     pred_inst: np.ndarray, *, class_names: Sequence[str],
                     ignore_index: int | None = 255, skip_classes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """PQ/SQ/RQ and matched IoU of a single image (see :class:`InstanceStats`)."""
    stats = InstanceStats(len(class_names), ignore_index, skip_classes)
    stats.update(gt_cls, gt_inst, pred_cls, pred_inst)
    return stats.scores(class_names)
