"""Each method on synthetic images with known ground truth reaches a stated IoU."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.algorithms.registry import Prompt, run_method
from segstudio.algorithms.synthetic import iou


def best_match(label_map: np.ndarray, gt: np.ndarray) -> float:
    """IoU of the label value that best matches ``gt``."""
    return max(iou(label_map == v, gt) for v in np.unique(label_map))


@pytest.fixture(scope="module")
def two_tone():
    return synthetic.two_tone_shapes(128, 128, noise=25, seed=1)


def test_otsu_two_tone_noisy(two_tone):
    img, gt = two_tone
    assert iou(run_method("otsu", img) > 0, gt) >= 0.95
    # invert picks the other side
    assert iou(run_method("otsu", img, params={"invert": True}) > 0, ~gt) >= 0.95


def test_manual_threshold(two_tone):
    img, gt = two_tone
    assert iou(run_method("threshold", img, params={"level": 130, "blur_sigma": 1.0}) > 0, gt) >= 0.95
    assert not run_method("threshold", img, params={"level": 255}).any()


def test_threshold_on_a_chosen_channel():
    # the object differs only in the blue channel: luminance barely sees it
    img = np.full((64, 64, 3), 100, np.uint8)
    gt = np.zeros((64, 64), bool)
    gt[16:48, 20:44] = True
    img[gt, 2] = 220
    assert iou(run_method("otsu", img, params={"channel": "blue"}) > 0, gt) == 1.0


def test_multi_otsu_three_levels():
    rng = np.random.default_rng(0)
    cls = np.zeros((96, 96), np.int32)
    cls[10:50, 10:50] = 1
    cls[50:90, 45:90] = 2
    img = np.array([30.0, 120.0, 220.0])[cls][..., None] + rng.normal(0, 12, (96, 96, 3))
    out = run_method("multi_otsu", np.clip(img, 0, 255).astype(np.uint8),
                     params={"classes": 3, "blur_sigma": 0})
    for v in range(3):
        assert iou(out == v, cls == v) >= 0.95


def test_adaptive_handles_uneven_lighting():
    rng = np.random.default_rng(0)
    h, w = 96, 192
    base = np.tile(np.linspace(40, 210, w), (h, 1))
    gt = np.zeros((h, w), bool)
    for x in range(10, w - 20, 24):
        gt[30:60, x:x + 12] = True
    img = base + 35 * gt + rng.normal(0, 4, (h, w))
    img = np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    out = run_method("adaptive", img, params={"block_size": 41, "c": -8, "blur_sigma": 1.0,
                                             "method": "mean"})
    assert iou(out > 0, gt) >= 0.95
    assert iou(run_method("otsu", img) > 0, gt) < 0.6   # why adaptive exists


def test_canny_regions_fills_objects(two_tone):
    img, gt = two_tone
    out = run_method("canny_regions", img, params={"sigma": 2.0})
    assert iou(out > 0, gt) >= 0.9
    # regions, not an edge image: one region per object
    assert len(np.unique(out)) - 1 == 3


def test_watershed_separates_touching_disks():
    img, inst = synthetic.touching_disks(128, 160, radius=30, seed=2)
    assert cv2.connectedComponents((inst > 0).astype(np.uint8))[0] - 1 == 1   # one blob to split
    out = run_method("watershed", img, params={"min_distance": 15})
    assert len(np.unique(out)) - 1 == 2
    for k in (1, 2):
        assert best_match(out, inst == k) >= 0.9


def test_marker_watershed_from_scribbles():
    img, inst = synthetic.touching_disks(128, 160, radius=30, seed=3)
    ys1, xs1 = np.nonzero(inst == 1)
    ys2, xs2 = np.nonzero(inst == 2)
    bg = np.zeros(inst.shape, bool)
    bg[:4, :] = bg[-4:, :] = True
    prompt = Prompt(fg_points=[(xs1.mean(), ys1.mean()), (xs2.mean(), ys2.mean())], bg_scribble=bg)
    out = run_method("watershed_markers", img, prompt)
    assert len(np.unique(out)) - 1 == 2
    for k in (1, 2):
        assert best_match(out, inst == k) >= 0.9


@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_kmeans_colour_regions(space):
    img, cls = synthetic.color_blobs(96, 96, seed=4)
    out = run_method("kmeans", img, params={"k": 3, "color_space": space, "drop_largest": False})
    for v in range(3):
        assert best_match(out, cls == v) >= 0.95


def test_kmeans_position_separates_same_colour_objects():
    img = np.full((64, 128, 3), 90, np.uint8)
    img[20:44, 10:34] = (200, 60, 60)
    img[20:44, 94:118] = (200, 60, 60)
    img = np.clip(img + np.random.default_rng(0).normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    colour_only = run_method("kmeans", img, params={"k": 2})
    assert colour_only[30, 20] == colour_only[30, 100] != 0
    with_pos = run_method("kmeans", img, params={"k": 3, "position_weight": 2.0})
    left, right = np.unique(with_pos[20:44, 10:34]), np.unique(with_pos[20:44, 94:118])
    assert len(left) == 1 and len(right) == 1 and left[0] != right[0]


def test_kmeans_drops_the_background_cluster():
    img, cls = synthetic.color_blobs(96, 96, seed=4)
    out = run_method("kmeans", img, params={"k": 3})
    assert iou(out == 0, cls == 0) >= 0.95


def test_mean_shift_colour_regions():
    img, cls = synthetic.color_blobs(96, 96, seed=5)
    out = run_method("mean_shift", img, params={"drop_largest": False})
    for v in range(3):
        assert best_match(out, cls == v) >= 0.95


def _textured_set(size: int = 128, seeds=range(4)):
    return [synthetic.textured_object(size, size, seed=s) for s in seeds]


def test_grabcut_box_on_textured_object():
    for img, gt, box in _textured_set():
        assert iou(run_method("grabcut", img, Prompt(box=box)), gt) >= 0.9


def test_fast_box_cut_matches_grabcut():
    ours, ref = [], []
    for img, gt, box in _textured_set():
        ours.append(iou(run_method("box_cut", img, Prompt(box=box)), gt))
        ref.append(iou(run_method("grabcut", img, Prompt(box=box)), gt))
        assert ours[-1] >= 0.9
    assert np.mean(ours) >= np.mean(ref) - 0.02


def test_fast_box_cut_downscaled_path_keeps_quality():
    # 320 px > working size: the coarse solve + full-resolution band refinement path
    img, gt, box = synthetic.textured_object(320, 320, seed=6)
    out = run_method("box_cut", img, Prompt(box=box))
    assert iou(out, gt) >= 0.95


def test_box_cut_obeys_scribbles():
    img, gt, box = synthetic.textured_object(128, 128, seed=1)
    fg = np.zeros(gt.shape, bool)
    bg = np.zeros(gt.shape, bool)
    ys, xs = np.nonzero(gt)
    fg[int(ys.mean()) - 2:int(ys.mean()) + 2, int(xs.mean()) - 3:int(xs.mean()) + 3] = True
    bg[ys.min():ys.min() + 15, :] = True   # "the top of the object is not wanted"
    out = run_method("box_cut", img, Prompt(box=box, fg_scribble=fg, bg_scribble=bg)).astype(bool)
    assert out[fg].all() and not out[bg].any()
    assert iou(out, gt & ~bg) >= 0.9


def _scribbles(gt: np.ndarray) -> Prompt:
    return synthetic.cross_and_frame_scribbles(gt, arm=12, thickness=3, margin=2)


def test_scribble_graph_cut():
    for img, gt, _ in _textured_set(seeds=range(3)):
        assert iou(run_method("scribble_cut", img, _scribbles(gt)), gt) >= 0.9


def test_scribble_box_cut_without_box():
    img, gt, _ = synthetic.textured_object(128, 128, seed=2)
    assert iou(run_method("box_cut", img, _scribbles(gt)), gt) >= 0.9


def test_felzenszwalb_regions_follow_colour():
    img, cls = synthetic.color_blobs(96, 96, seed=6)
    out = run_method("felzenszwalb", img, params={"scale": 100, "min_size": 100, "sigma": 0.5})
    for v in (1, 2):
        assert best_match(out, cls == v) >= 0.95


def test_slic_superpixels_respect_boundaries():
    img, cls = synthetic.color_blobs(96, 96, seed=7)
    out = run_method("slic", img, params={"n_segments": 60, "compactness": 20, "sigma": 0})
    n = len(np.unique(out))
    assert 20 <= n <= 120
    pure = 0
    for v in np.unique(out):
        counts = np.bincount(cls[out == v], minlength=3)
        pure += counts.max() >= 0.9 * counts.sum()
    assert pure >= 0.95 * n


def test_magic_wand_fills_the_clicked_object(two_tone):
    img, gt = two_tone
    n, comp = cv2.connectedComponents(gt.astype(np.uint8))
    target = comp == comp[42, 42]   # the ellipse around the click
    params = {"tolerance": 60, "blur_sigma": 1.5}
    out = run_method("magic_wand", img, Prompt(fg_points=[(42, 42)]), params)
    assert iou(out, target) >= 0.95
    every = run_method("magic_wand", img, Prompt(fg_points=[(42, 42)]), {**params, "contiguous": False})
    assert iou(every, gt) >= 0.9
    tiny = run_method("magic_wand", img, Prompt(fg_points=[(42, 42)]), {"tolerance": 0})
    assert tiny.sum() < 0.05 * target.sum()


def test_intelligent_scissors_follow_the_edge():
    rng = np.random.default_rng(0)
    gt = np.zeros((128, 128), np.uint8)
    cv2.circle(gt, (64, 64), 40, 1, -1)
    img = np.where(gt[..., None] > 0, 190.0, 50.0) + rng.normal(0, 6, (128, 128, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    # anchors a few px off the rim: the wire must still snap to the edge
    prompt = Prompt(fg_points=[(64, 26), (102, 64), (64, 103), (27, 64), (37, 37)])
    out = run_method("intelligent_scissors", img, prompt)
    assert iou(out, gt.astype(bool)) >= 0.95
