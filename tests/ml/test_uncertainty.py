"""Uncertainty scores: right per-pixel maths through the tiled predictor, highest where the model
is wrong (a model trained on half the classes), and a cache that is reused only while the
checkpoint, the image files and the options are unchanged."""

from __future__ import annotations

import colorsys
import json
import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.core.jobs import run_to_end  # noqa: E402
from segstudio.core.score_cache import ScoreCache, file_sha256, scores_file  # noqa: E402
from segstudio.ml.checkpoint import ModelMeta, save_checkpoint  # noqa: E402
from segstudio.ml.models import build_model  # noqa: E402
from segstudio.ml.predict import predict_image  # noqa: E402
from segstudio.ml.uncertainty import ScoreOptions, score_image, score_images  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_two_threads")

TINY = {"encoder_depth": 3, "decoder_channels": [16, 8, 4]}


def _reference(logits: np.ndarray, weighting: str = "none", fg: float = 4.0) -> tuple[float, float]:
    """Mean normalised entropy and margin straight from full (C, H, W) logits."""
    p = torch.softmax(torch.from_numpy(logits), 0).numpy().astype(np.float64)
    c = p.shape[0]
    ent = -(p * np.log(np.maximum(p, 1e-12))).sum(0) / math.log(c)
    s = np.sort(p, axis=0)
    margin = 1 - (s[-1] - s[-2])
    cls = logits.argmax(0)
    if weighting == "balanced":
        return (float(np.mean([ent[cls == k].mean() for k in np.unique(cls)])),
                float(np.mean([margin[cls == k].mean() for k in np.unique(cls)])))
    w = np.where(cls > 0, fg, 1.0) if weighting == "foreground" else np.ones_like(ent)
    return float((w * ent).sum() / w.sum()), float((w * margin).sum() / w.sum())


@pytest.mark.parametrize("weighting", ["none", "foreground", "balanced"])
def test_scores_over_many_tiles_equal_the_full_probability_maps(weighting):
    torch.manual_seed(0)
    model = build_model("Unet", "tu-resnet10t", 3, 4, **TINY).eval()
    meta = ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "a", "b", "c"], model_kwargs=dict(TINY))
    img = (np.random.default_rng(0).random((150, 130, 3)) * 255).astype(np.uint8)
    full = run_to_end(predict_image(model, meta, img, "cpu", tile=64, overlap=16, keep_logits=True))
    assert full.info["tiles"] > 4
    opts = ScoreOptions(weighting=weighting, tile=64, overlap=16)
    s = run_to_end(score_image(model, meta, img, "cpu", options=opts))
    ent, margin = _reference(full.logits, weighting)
    assert s.entropy == pytest.approx(ent, abs=1e-5)
    assert s.margin == pytest.approx(margin, abs=1e-5)
    assert s.score == s.margin and s.disagreement is None
    assert run_to_end(score_image(model, meta, img, "cpu", options=ScoreOptions(metric="entropy", tile=64,
                                                                        overlap=16, weighting=weighting))
                      ).score == pytest.approx(ent, abs=1e-5)


# -- a model trained on half the classes -----------------------------------------------------------
SIDE = 32


def _hue_images(rng: np.random.Generator, hues: list[int], n: int):
    """Dark noisy images with two discs, each in one of ``hues`` (class k + 1 = hues[k])."""
    imgs, labels = [], []
    yy, xx = np.mgrid[:SIDE, :SIDE]
    for _ in range(n):
        img = rng.normal(60, 12, (SIDE, SIDE, 3))
        lab = np.zeros((SIDE, SIDE), np.int64)
        for _ in range(2):
            k = int(rng.integers(len(hues)))
            r = int(rng.integers(5, 9))
            cy, cx = rng.integers(r, SIDE - r, 2)
            m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            rgb = np.array(colorsys.hsv_to_rgb(hues[k] / 360, 0.9, 0.9)) * 255
            img[m] = rgb + rng.normal(0, 12, (int(m.sum()), 3))
            lab[m] = k + 1
        imgs.append(np.clip(img, 0, 255).astype(np.uint8))
        labels.append(lab)
    return np.stack(imgs), np.stack(labels)


def _pixel_net(num_classes: int) -> torch.nn.Module:
    # a tiny fully convolutional net (two 3×3 convs): trains in a second on two cores
    return torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(16, num_classes, 1))


@pytest.mark.parametrize("tta", [False, True])
def test_images_of_classes_the_model_never_saw_score_highest(tta):
    seen, unseen = [0, 120, 240], [60, 180, 300]   # the unseen hues lie between the seen ones
    meta = ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "red", "green", "blue"])
    x_np, y_np = _hue_images(np.random.default_rng(0), seen, 64)
    torch.manual_seed(0)
    model = _pixel_net(4)
    mean, std = torch.tensor(meta.mean).view(1, 3, 1, 1), torch.tensor(meta.std).view(1, 3, 1, 1)
    x = (torch.from_numpy(x_np).permute(0, 3, 1, 2).float() / 255 - mean) / std
    y = torch.from_numpy(y_np)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test_seen, lab_seen = _hue_images(np.random.default_rng(1), seen, 8)
    test_unseen, _ = _hue_images(np.random.default_rng(2), unseen, 8)
    # the model did learn the classes it saw
    pred = [run_to_end(predict_image(model, meta, im, "cpu", tile=64)).label_map for im in test_seen]
    assert np.mean(np.stack(pred) == lab_seen) > 0.95
    opts = ScoreOptions(tile=64, overlap=16, tta=tta)
    s_seen = [run_to_end(score_image(model, meta, im, "cpu", options=opts)).score for im in test_seen]
    s_unseen = [run_to_end(score_image(model, meta, im, "cpu", options=opts)).score for im in test_unseen]
    assert min(s_unseen) > max(s_seen), (s_seen, s_unseen)


# -- the cache ---------------------------------------------------------------------------------------
def _checkpoint(path, seed: int):
    torch.manual_seed(seed)
    model = build_model("Unet", "tu-resnet10t", 3, 3, **TINY)
    meta = ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "a", "b"], model_kwargs=dict(TINY))
    save_checkpoint(path, model, meta)
    return model.eval(), meta


def _write_images(folder, n: int, seed: int = 0):
    import cv2

    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        p = folder / f"img{i}.png"
        cv2.imwrite(str(p), (rng.random((40 + 8 * i, 48, 3)) * 255).astype(np.uint8))
        items.append((p.name, p))
    return items


def test_cache_is_reused_until_an_image_the_checkpoint_or_the_options_change(tmp_path):
    items = _write_images(tmp_path, 3)
    ck = tmp_path / "model.safetensors"
    model, meta = _checkpoint(ck, 0)
    opts = ScoreOptions(tile=64, overlap=16)

    def run(model, meta, opts=opts):
        sha = file_sha256(ck)
        cache = ScoreCache(scores_file(tmp_path, sha), sha, opts.cache_identity())
        recs, errors = run_to_end(score_images(model, meta, items, "cpu", options=opts, cache=cache))
        assert errors == []
        return {k: r["cached"] for k, r in recs.items()}, {k: r["score"] for k, r in recs.items()}

    cached, first = run(model, meta)
    assert cached == {"img0.png": False, "img1.png": False, "img2.png": False}
    path = scores_file(tmp_path, file_sha256(ck))
    assert path.parent == tmp_path / ".segstudio" / "scores"
    stored = json.loads(path.read_text())
    assert stored["images"]["img1.png"]["score"] == pytest.approx(first["img1.png"])
    cached, again = run(model, meta)
    assert all(cached.values()) and again == first
    # another image under the same name: scored again, the others not
    import cv2

    cv2.imwrite(str(items[1][1]), np.full((40, 48, 3), 128, np.uint8))
    os.utime(items[1][1], ns=(1, 1))   # even with an mtime older than the cache
    cached, changed = run(model, meta)
    assert cached == {"img0.png": True, "img1.png": False, "img2.png": True}
    assert changed["img1.png"] != first["img1.png"]
    # other options: everything scored again
    cached, _ = run(model, meta, ScoreOptions(metric="entropy", tile=64, overlap=16))
    assert not any(cached.values())
    # a retrained model (same file name, new weights): a new cache file, everything scored again
    model2, meta2 = _checkpoint(ck, 1)
    assert file_sha256(ck) != stored["model_sha256"]
    cached, other = run(model2, meta2)
    assert not any(cached.values()) and other != changed
    assert len(list((tmp_path / ".segstudio" / "scores").glob("*.json"))) == 2


def test_unreadable_image_and_corrupt_cache_are_reported_not_raised(tmp_path):
    items = _write_images(tmp_path, 2)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    ck = tmp_path / "model.safetensors"
    model, meta = _checkpoint(ck, 0)
    sha = file_sha256(ck)
    scores_file(tmp_path, sha).parent.mkdir(parents=True)
    scores_file(tmp_path, sha).write_text("{ truncated")
    opts = ScoreOptions(tile=64, overlap=16)
    cache = ScoreCache(scores_file(tmp_path, sha), sha, opts.cache_identity())
    recs, errors = run_to_end(score_images(model, meta, [*items, ("broken.png", bad)], "cpu", options=opts,
                                           cache=cache))
    assert set(recs) == {"img0.png", "img1.png"}
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert set(json.loads(scores_file(tmp_path, sha).read_text())["images"]) == {"img0.png", "img1.png"}
