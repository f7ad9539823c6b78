"""The per-click mask is upscaled only around its positive area: same mask as the old
whole-image ``cv2.resize`` + threshold, zeros elsewhere, for both families' frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.sam.families import frame_for, get_family, masks_to_original
from segstudio.sam.runtime import SamModel
from segstudio.sam.upscale import mask_window, resize_window
from tests.sam import onnx_graphs as g


def old_full(family, frame, lr: np.ndarray) -> np.ndarray:
    """The previous path: the whole image's logits (masks_to_original = cv2.resize everywhere)."""
    return masks_to_original(family, frame, lr[None])[0]


def low_res(seed: int, frame) -> np.ndarray:
    """An object inside the image part of the frame: a bump with a ragged (noisy) edge,
    negative logits elsewhere."""
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(0.2, 0.8, 2) * np.asarray(frame.resized) / 4
    yy, xx = np.mgrid[:256, :256]
    bump = 20.0 - ((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0
    noise = cv2.GaussianBlur(rng.normal(size=(256, 256)).astype(np.float32), (0, 0), 2) * 8
    return (bump + noise).astype(np.float32)


@pytest.mark.parametrize("family", ["sam", "sam2"])
@pytest.mark.parametrize("hw,seed", [((4000, 6000), 1), ((6000, 4000), 2), ((3000, 4000), 3),
                                     ((231, 2401), 4), ((1023, 1025), 5), ((100, 90), 6)])
def test_window_mask_equals_the_whole_image_upscale(family, hw, seed) -> None:
    fam = get_family(family)
    h, w = hw
    frame = frame_for(fam, h, w)
    lr = low_res(seed, frame)
    old = old_full(fam, frame, lr)
    (x0, y0, x1, y1), win = mask_window(fam, frame, lr)
    assert (x1 - x0) * (y1 - y0) < h * w            # a window, not the whole image
    new = np.zeros((h, w), bool)
    new[y0:y1, x0:x1] = win > 0
    differ = new != (old > 0)
    # nothing positive is lost outside the window, and inside it the logits are cv2's up to
    # float32 rounding: a pixel may only flip where the old logit is ~0
    assert not (old > 0)[~np.pad(np.ones((y1 - y0, x1 - x0), bool),
                                 ((y0, h - y1), (x0, w - x1)))].any()
    assert np.abs(win - old[y0:y1, x0:x1]).max() < 1e-4
    assert np.all(np.abs(old[differ]) < 1e-4)
    assert differ.sum() <= 2


def test_resize_window_is_cv2_resize_on_any_window() -> None:
    m = np.random.default_rng(0).normal(size=(256, 200)).astype(np.float32) * 20
    full = cv2.resize(m, (1777, 2333), interpolation=cv2.INTER_LINEAR)
    for win in [(0, 0, 1777, 2333), (5, 7, 9, 2333), (1700, 2000, 1777, 2333), (333, 444, 1000, 555)]:
        x0, y0, x1, y1 = win
        assert np.abs(resize_window(m, (2333, 1777), win) - full[y0:y1, x0:x1]).max() < 1e-4


def test_empty_mask_gives_an_empty_window() -> None:
    fam = get_family("sam")
    win, logits = mask_window(fam, frame_for(fam, 3000, 4000), np.full((256, 256), -5, np.float32))
    assert win == (0, 0, 0, 0) and logits.size == 0

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_click_on_a_big_image_matches_the_full_upscale(tmp_path) -> None:
    # the real decode path (tiny SAM graph with low_res_masks): the disk is where the full
    # upscale puts it, and Prediction.window bounds it
    enc, dec = g.model_pair(tmp_path, "sam")
    model = SamModel(get_family("sam"), enc, dec)
    img = np.zeros((3000, 4000, 3), np.uint8)
    emb = model.encode(img)
    pred = model.decode(emb, [(1234.0, 2100.0)])
    ref = np.zeros((3000, 4000), bool)
    outs = model.decoder.run(["low_res_masks"], {
        **{n: emb.features[r] for n, (r, _) in model._dec_inputs.items() if r in emb.features},
        **dict(zip(["point_coords", "point_labels"],
                   __import__("segstudio.sam.families", fromlist=["x"]).prompt_arrays(
                       model.family, emb.frame, [(1234.0, 2100.0)], [], box=None))),
        "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
        "orig_im_size": np.asarray([3000, 4000], np.float32)})
    ref = old_full(model.family, emb.frame, outs[0][0, 1]) > 0
    assert (pred.mask != ref).sum() <= 2
    x0, y0, x1, y1 = pred.window
    assert x1 - x0 < 400 and y1 - y0 < 400 and pred.mask[y0:y1, x0:x1].sum() == pred.mask.sum()
    assert np.array_equal(pred.window_mask, pred.mask[y0:y1, x0:x1])
