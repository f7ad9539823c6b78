"""Tiled inference (agreement, seams, OOM fallback, cancel), shapes from predictions, batch job."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.core.jobs import Cancelled, CancelToken, run_to_end  # noqa: E402
from segstudio.core.rasterize import shape_mask  # noqa: E402
from segstudio.ml.checkpoint import ModelMeta  # noqa: E402
from segstudio.ml.models import build_model  # noqa: E402
from segstudio.ml.postprocess import ShapeOptions, prediction_to_shapes  # noqa: E402
from segstudio.ml.predict import PredictionError, plan_tiles, predict_image  # noqa: E402

TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
CLASSES = ["_background_", "a", "b"]


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_model("Unet", "resnet18", 3, 3, **TINY).eval()


@pytest.fixture(scope="module")
def meta():
    return ModelMeta("Unet", "resnet18", 3, list(CLASSES), model_kwargs=dict(TINY))


def direct_logits(model, meta, img):
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    x = (x - torch.tensor(meta.mean).view(1, 3, 1, 1)) / torch.tensor(meta.std).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(x)[0].numpy()


def smooth_image(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([128 + 100 * np.sin(yy / 23), 128 + 100 * np.cos(xx / 31),
                     (xx + yy) * 255 / (h + w)], -1).astype(np.uint8)


def test_one_tile_matches_the_bare_network(unet, meta):
    img = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    res = run_to_end(predict_image(unet, meta, img, "cpu", tile=128, overlap=32, keep_logits=True))
    ref = direct_logits(unet, meta, img)
    assert res.info["tiles"] == 1
    assert np.abs(res.logits - ref).max() < 1e-4
    np.testing.assert_array_equal(res.label_map, ref.argmax(0))
    soft = torch.softmax(torch.from_numpy(ref), 0).max(0).values.numpy()
    np.testing.assert_allclose(res.confidence, soft, atol=1e-5)
    assert res.label_map.shape == (96, 128) and res.confidence.dtype == np.float32


def test_small_odd_sized_image_is_padded_not_cropped(unet, meta):
    img = smooth_image(50, 77)
    res = run_to_end(predict_image(unet, meta, img, "cpu", tile=1024, overlap=128))
    assert res.label_map.shape == (50, 77) and res.info["tile_size"] == (64, 96)
    assert set(np.unique(res.label_map)) <= {0, 1, 2}
    assert (res.confidence >= 1 / 3 - 1e-6).all() and (res.confidence <= 1).all()


@pytest.mark.parametrize("tile,overlap", [(32, 8), (64, 0), (64, 24), (96, 40)])
def test_blending_reassembles_a_pointwise_network_exactly(tile, overlap):
    # a 1×1 convolution sees no context, so any tiling must give the whole-image answer
    torch.manual_seed(1)
    net = torch.nn.Conv2d(3, 3, 1).eval()
    meta = ModelMeta("Unet", "resnet18", 3, list(CLASSES))
    img = smooth_image(150, 190)
    res = run_to_end(predict_image(net, meta, img, "cpu", tile=tile, overlap=overlap, batch_size=3,
                                   keep_logits=True))
    assert res.info["tiles"] > 4
    np.testing.assert_allclose(res.logits, direct_logits(net, meta, img), atol=1e-4)


def _seam_ratio(logits, boundaries):
    jump = np.abs(np.diff(logits, axis=2)).mean(axis=(0, 1))   # per column step
    typical = np.median(jump[8:-8])
    return max(jump[b - 1] for b in boundaries) / typical


def test_tiled_prediction_has_no_seams(unet, meta):
    img = smooth_image(256, 256)
    _, _, pos = plan_tiles(256, 256, 128, 32)
    starts = sorted({x for _, x in pos})          # 0, 96, 128
    boundaries = [s for s in starts[1:]] + [s + 128 for s in starts[:-1]]
    whole = direct_logits(unet, meta, img)
    blended = run_to_end(predict_image(unet, meta, img, "cpu", tile=128, overlap=32, keep_logits=True))
    hard = run_to_end(predict_image(unet, meta, img, "cpu", tile=128, overlap=0, keep_logits=True))
    # without overlap the tile borders show (this is what the metric detects) …
    assert _seam_ratio(hard.logits, [128]) > 5 * _seam_ratio(whole, [128])
    # … with blending the steps at tile borders look like any other column step
    assert _seam_ratio(blended.logits, boundaries) < 2 * max(_seam_ratio(whole, boundaries), 1.5)
    assert np.abs(blended.logits - whole).mean() < np.abs(hard.logits - whole).mean()


class _OomWhenBatched(torch.nn.Module):
    """Wraps a network; raises CUDA's out-of-memory error for batches above ``limit``."""

    def __init__(self, inner, limit):
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, x):
        self.sizes.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


def test_out_of_memory_halves_the_batch_instead_of_crashing(unet, meta):
    img = smooth_image(128, 192)
    ref = run_to_end(predict_image(unet, meta, img, "cpu", tile=64, overlap=16, batch_size=1,
                                   keep_logits=True))
    flaky = _OomWhenBatched(unet, limit=2).eval()
    messages = []
    res = run_to_end(predict_image(flaky, meta, img, "cpu", tile=64, overlap=16, batch_size=8,
                                   keep_logits=True), lambda p: messages.append(p.message))
    assert any("out of memory: batch size reduced to 4" in m for m in messages)
    assert any("batch size reduced to 2" in m for m in messages)
    assert res.info["batch_size"] == 2 and max(flaky.sizes[2:]) == 2
    np.testing.assert_allclose(res.logits, ref.logits, atol=1e-4)
    with pytest.raises(PredictionError, match="out of memory.*smaller tile"):
        run_to_end(predict_image(_OomWhenBatched(unet, limit=0), meta, img, "cpu", tile=64, batch_size=2))


def test_cancel_stops_between_and_inside_forward_passes(unet, meta):
    img = smooth_image(128, 128)
    token = CancelToken()
    gen = predict_image(unet, meta, img, "cpu", tile=64, overlap=0, batch_size=1, cancel=token)
    next(gen)
    next(gen)
    token.cancel()
    with pytest.raises(Cancelled):
        run_to_end(gen)

    # a click during a long forward pass: the token is set while the encoder runs
    token2 = CancelToken()
    decoder_done = []
    unet.encoder.register_forward_hook(lambda *_: token2.cancel())
    hook = unet.decoder.register_forward_hook(lambda *_: decoder_done.append(True))
    try:
        with pytest.raises(Cancelled):
            run_to_end(predict_image(unet, meta, img, "cpu", tile=128, cancel=token2))
        assert not decoder_done
    finally:
        hook.remove()
        unet.encoder._forward_hooks.clear()


def test_bad_input_is_explained(unet, meta):
    with pytest.raises(PredictionError, match="8-bit"):
        run_to_end(predict_image(unet, meta, np.zeros((64, 64, 3), np.float32), "cpu"))
    with pytest.raises(PredictionError, match="expects 3 input channels; the image has 2"):
        run_to_end(predict_image(unet, meta, np.zeros((64, 64, 2), np.uint8), "cpu"))


# -- shapes from predictions ---------------------------------------------------------------------
def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def _label_map():
    lm = np.zeros((100, 120), np.uint8)
    lm[10:40, 10:50] = 1          # class a: 30×40 box
    lm[60:90, 70:110] = 2         # class b
    lm[5:8, 100:103] = 2          # a 9-pixel speck of b
    conf = np.full(lm.shape, 0.9, np.float32)
    conf[60:90, 70:90] = 0.4      # left half of b is unsure
    return lm, conf


def test_prediction_to_shapes_per_class_with_filters():
    lm, conf = _label_map()
    shapes = prediction_to_shapes(lm, conf, CLASSES, ShapeOptions(min_area=20))
    by = {s.label: [x for x in shapes if x.label == s.label] for s in shapes}
    assert set(by) == {"a", "b"} and len(by["b"]) == 1        # speck dropped by min_area
    assert _iou(shape_mask(by["a"][0], 100, 120), lm == 1) > 0.95
    only_b = prediction_to_shapes(lm, conf, CLASSES, ShapeOptions(classes=("b",), min_confidence=0.5))
    assert {s.label for s in only_b} == {"b"}
    sure = np.zeros_like(lm, bool)
    sure[60:90, 90:110] = True
    big = max(only_b, key=lambda s: shape_mask(s, 100, 120).sum())
    assert _iou(shape_mask(big, 100, 120), sure) > 0.9
    in_roi = prediction_to_shapes(lm, conf, CLASSES, ShapeOptions(roi=(0, 0, 60, 50)))
    assert {s.label for s in in_roi} == {"a"}
    masks = prediction_to_shapes(lm, None, CLASSES, ShapeOptions(mode="mask", min_area=0))
    assert [s.shape_type for s in masks] == ["mask", "mask"]
    np.testing.assert_array_equal(masks[1].mask, lm == 2)


def test_batch_job_reports_every_image_and_names_bad_files(tmp_path, unet, meta):
    import cv2

    from segstudio.ml.batch import PredictConfig, predict_batch

    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        cv2.imwrite(str(p), smooth_image(64, 96))
        paths.append(p)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    items = [(str(p), p) for p in (paths[0], bad, paths[1])]
    got = []
    failed = run_to_end(predict_batch(unet, meta, items, "cpu", config=PredictConfig(tile=64,
                                                                                     keep_maps=True)),
                        lambda p: got.append(p.data["prediction"]) if p.data else None)
    assert failed == [str(bad)]
    assert [g.key for g in got] == [str(paths[0]), str(bad), str(paths[1])]
    assert "broken.png" in got[1].error
    for g in (got[0], got[2]):
        assert g.error is None and (g.width, g.height) == (96, 64)
        assert g.result.label_map.shape == (64, 96)


def test_cli_merge_into_a_json_written_for_an_image_of_another_size(tmp_path):
    """The image was replaced (now 64x48) after its JSON was written for 32x24: the merged file
    used to keep the old size while the predicted masks have the new one."""
    import json
    from types import SimpleNamespace

    from segstudio.commands.predict import _Writer
    from segstudio.core.io.labelme import read_labelme
    from segstudio.core.model import Shape

    target = tmp_path / "a.json"
    target.write_text(json.dumps({
        "shapes": [{"label": "old", "points": [[1, 1], [9, 1], [9, 9]], "shape_type": "polygon"}],
        "imagePath": "a.png", "imageHeight": 24, "imageWidth": 32, "custom": 3}))
    mask = np.zeros((48, 64), bool)
    mask[30:40, 50:60] = True
    pred = SimpleNamespace(width=64, height=48, shapes=[Shape("new", np.zeros((0, 2)), "mask", mask=mask)])
    args = SimpleNamespace(existing="merge", classes_only=None, format="labelme")
    _Writer(args, SimpleNamespace(classes=["_background_", "new"]), {})._write_json(
        target, tmp_path / "a.png", pred)
    doc = json.loads(target.read_text())
    assert (doc["imageWidth"], doc["imageHeight"], doc["custom"]) == (64, 48, 3)
    ann = read_labelme(target)
    assert [s.label for s in ann.shapes] == ["old", "new"]
    assert np.array_equal(ann.shapes[1].mask, mask)
