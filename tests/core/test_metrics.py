"""Metrics against hand-computed values on tiny arrays and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.metrics import (
    InstanceStats,
    confusion_matrix,
    panoptic_quality,
    scores_from_confusion,
)

GT = np.array([[0, 0, 1, 1],
               [0, 0, 1, 1],
               [2, 2, 255, 255]])
PRED = np.array([[0, 1, 1, 1],
                 [0, 0, 1, 0],
                 [2, 1, 2, 0]])


def test_confusion_matrix_by_hand() -> None:
    cm = confusion_matrix(GT, PRED, 4)
    # rows = gt, cols = pred; the two 255 pixels are skipped
    expected = np.array([[3, 1, 0, 0],
                         [1, 3, 0, 0],
                         [0, 1, 1, 0],
                         [0, 0, 0, 0]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_confusion_matrix_matches_sklearn() -> None:
    from sklearn.metrics import confusion_matrix as sk_cm

    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, size=(17, 23))
    pred = rng.integers(0, 5, size=(17, 23))
    gt[3:6, 4:9] = 255
    keep = gt != 255
    expected = sk_cm(gt[keep], pred[keep], labels=list(range(5)))
    np.testing.assert_array_equal(confusion_matrix(gt, pred, 5), expected)


def test_confusion_matrix_rejects_out_of_range_and_shape() -> None:
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([0, 1]), np.array([0, 7]), 3)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 3)


def test_scores_by_hand() -> None:
    names = ["_background_", "cat", "dog", "bird"]
    s = scores_from_confusion(confusion_matrix(GT, PRED, 4), names)
    # background: tp 3, fp 1, fn 1 → 3/5; cat: tp 3, fp 2 (1 bg, 1 dog), fn 1 → 3/6; dog: tp 1, fn 1 → 1/2
    assert s["per_class_iou"]["_background_"] == pytest.approx(3 / 5)
    assert s["per_class_iou"]["cat"] == pytest.approx(3 / 6)
    assert s["per_class_iou"]["dog"] == pytest.approx(1 / 2)
    assert s["per_class_iou"]["bird"] is None
    assert s["excluded"] == ["bird"]
    assert s["miou"] == pytest.approx((3 / 5 + 3 / 6 + 1 / 2) / 3)
    assert s["per_class_dice"]["cat"] == pytest.approx(6 / 9)
    assert s["mean_dice"] == pytest.approx((6 / 8 + 6 / 9 + 2 / 3) / 3)
    assert s["pixel_accuracy"] == pytest.approx(7 / 10)
    assert s["mean_pixel_accuracy"] == pytest.approx((3 / 4 + 3 / 4 + 1 / 2) / 3)
    assert s["num_pixels"] == 10


def test_class_only_predicted_counts_in_iou_but_not_accuracy() -> None:
    cm = confusion_matrix(np.array([0, 0, 0, 0]), np.array([0, 0, 1, 1]), 2)
    s = scores_from_confusion(cm, ["a", "b"])
    assert s["per_class_iou"] == {"a": 0.5, "b": 0.0}
    assert s["excluded"] == []
    assert s["per_class_accuracy"]["b"] is None
    assert s["mean_pixel_accuracy"] == pytest.approx(0.5)


def test_dice_matches_smp_style_f1() -> None:
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 3, size=(30, 30))
    pred = np.where(rng.random((30, 30)) < 0.7, gt, rng.integers(0, 3, size=(30, 30)))
    s = scores_from_confusion(confusion_matrix(gt, pred, 3), ["a", "b", "c"])
    for c, name in enumerate("abc"):
        tp = np.sum((gt == c) & (pred == c))
        fp = np.sum((gt != c) & (pred == c))
        fn = np.sum((gt == c) & (pred != c))
        assert s["per_class_dice"][name] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert s["per_class_iou"][name] == pytest.approx(tp / (tp + fp + fn))


def _square(canvas: np.ndarray, y: int, x: int, size: int, value: int) -> None:
    canvas[y:y + size, x:x + size] = value


def test_panoptic_quality_by_hand() -> None:
    names = ["_background_", "cell"]
    h, w = 20, 20
    gt_inst = np.zeros((h, w), np.int32)
    _square(gt_inst, 0, 0, 4, 1)      # 16 px
    _square(gt_inst, 10, 10, 4, 2)    # 16 px, missed
    gt_cls = (gt_inst > 0).astype(np.int32)
    pred_inst = np.zeros((h, w), np.int32)
    pred_inst[0:4, 0:3] = 1           # 12 px inside gt 1 → IoU 12/16
    _square(pred_inst, 15, 0, 3, 2)   # spurious → FP
    pred_cls = (pred_inst > 0).astype(np.int32)
    s = panoptic_quality(gt_cls, gt_inst, pred_cls, pred_inst, class_names=names)
    cell = s["per_class"]["cell"]
    assert (cell["tp"], cell["fp"], cell["fn"]) == (1, 1, 1)
    assert cell["sq"] == pytest.approx(0.75)
    assert cell["rq"] == pytest.approx(1 / 2)
    assert cell["pq"] == pytest.approx(0.75 / 2)
    assert cell["matched_iou"] == pytest.approx((0.75 + 0.0) / 2)
    assert s["pq"] == pytest.approx(0.375)
    assert "_background_" not in s["per_class"]


def test_panoptic_needs_iou_above_half_and_same_class() -> None:
    names = ["_background_", "a", "b"]
    gt_inst = np.zeros((10, 10), np.int32)
    gt_inst[0:4, 0:4] = 1
    gt_cls = np.where(gt_inst > 0, 1, 0)
    pred_inst = np.zeros((10, 10), np.int32)
    pred_inst[0:2, 0:4] = 1                 # IoU exactly 0.5 → no match
    pred_cls = np.where(pred_inst > 0, 1, 0)
    s = panoptic_quality(gt_cls, gt_inst, pred_cls, pred_inst, class_names=names)
    assert s["per_class"]["a"]["tp"] == 0 and s["pq"] == 0.0
    assert s["excluded"] == ["b"]
    # perfect overlap but the wrong class: FN for a, FP for b
    s = panoptic_quality(gt_cls, gt_inst, np.where(gt_inst > 0, 2, 0), gt_inst, class_names=names)
    assert (s["per_class"]["a"]["fn"], s["per_class"]["b"]["fp"]) == (1, 1)
    assert s["pq"] == 0.0


def test_panoptic_ignore_region_is_not_penalised() -> None:
    names = ["_background_", "a"]
    gt_cls = np.zeros((10, 10), np.int32)
    gt_inst = np.zeros((10, 10), np.int32)
    gt_cls[0:4, 0:4] = 1
    gt_inst[0:4, 0:4] = 1
    gt_cls[0:4, 4:6] = 255                  # ignore strip next to the object
    gt_cls[8:10, 8:10] = 255
    pred_inst = np.zeros((10, 10), np.int32)
    pred_inst[0:4, 0:6] = 1                 # spills only into the ignore strip → IoU 1
    pred_inst[8:10, 8:10] = 2               # entirely in ignore → not a FP
    pred_cls = np.where(pred_inst > 0, 1, 0)
    s = panoptic_quality(gt_cls, gt_inst, pred_cls, pred_inst, class_names=names)
    assert s["per_class"]["a"] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "matched_iou": 1.0,
                                   "tp": 1, "fp": 0, "fn": 0}


def test_instance_stats_accumulate_over_images() -> None:
    names = ["_background_", "a"]
    stats = InstanceStats(2)
    one = np.zeros((6, 6), np.int32)
    one[1:3, 1:3] = 1
    stats.update(one, one, one, one)                       # TP with IoU 1
    stats.update(one, one, np.zeros_like(one), np.zeros_like(one))   # FN
    s = stats.scores(names)
    assert s["per_class"]["a"]["pq"] == pytest.approx(1 / 1.5)
    assert s["per_class"]["a"]["matched_iou"] == pytest.approx(0.5)

@pytest.mark.slow   # imports torch and smp (≥ 2 s on a 2-core machine)

def test_per_class_iou_and_f1_match_smp() -> None:
    smp = pytest.importorskip("segmentation_models_pytorch")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 4, size=(2, 24, 24))
    pred = np.where(rng.random(gt.shape) < 0.6, gt, rng.integers(0, 4, size=gt.shape))
    gt[:, :3] = 255
    tp, fp, fn, tn = smp.metrics.get_stats(torch.from_numpy(pred), torch.from_numpy(gt),
                                           mode="multiclass", num_classes=4, ignore_index=255)
    iou = smp.metrics.iou_score(tp.sum(0, keepdim=True), fp.sum(0, keepdim=True),
                                fn.sum(0, keepdim=True), tn.sum(0, keepdim=True), reduction="none")[0]
    f1 = smp.metrics.f1_score(tp.sum(0, keepdim=True), fp.sum(0, keepdim=True),
                              fn.sum(0, keepdim=True), tn.sum(0, keepdim=True), reduction="none")[0]
    s = scores_from_confusion(confusion_matrix(gt, pred, 4), list("abcd"))
    np.testing.assert_allclose([s["per_class_iou"][c] for c in "abcd"], iou.numpy(), rtol=1e-6)
    np.testing.assert_allclose([s["per_class_dice"][c] for c in "abcd"], f1.numpy(), rtol=1e-6)
