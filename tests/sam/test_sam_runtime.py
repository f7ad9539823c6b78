"""Segment-Anything runtime on tiny ONNX graphs with each family's exact tensor names: the
predicted disk must land on the clicked pixel whatever the image shape, prompt and region."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.sam.families import get_family
from segstudio.sam.predictor import EmbeddingCache, Predictor, mask_shapes
from segstudio.sam.runtime import ModelError, SamModel
from tests.sam import onnx_graphs as g

VARIANTS = {
    # SAM: masks at original size (float orig_im_size) + low_res_masks (the path used)
    "sam": ("sam", {}),
    # SAM without low_res_masks: the in-graph original-size masks are used
    "sam-masks-only": ("sam", {"low_res": False}),
    # SAM 2.1 as samexporter exports it without orig_im_size: 256x256 masks over the stretched frame
    "sam2-lowres": ("sam2", {"orig_size": None, "low_res": False}),
    # SAM 2.1 with an int64 orig_im_size, as osam's decoder takes it
    "sam2-int64": ("sam2", {"orig_size": "int64"}),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def model(request, tmp_path_factory) -> SamModel:
    family, kw = VARIANTS[request.param]
    enc, dec = g.model_pair(tmp_path_factory.mktemp(request.param), family, **kw)
    return SamModel(get_family(family), enc, dec)


def centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    assert len(xs), "empty mask"
    # pixel i covers [i, i+1): its centre is i + 0.5 in click coordinates
    return float(xs.mean() + 0.5), float(ys.mean() + 0.5)


def image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("hw", [(300, 500), (700, 240), (1500, 1500), (230, 2400)])
def test_disk_lands_on_the_click(model: SamModel, hw) -> None:
    h, w = hw
    click = (w * 0.37, h * 0.45)   # the disk stays inside the image
    pred = model.decode(model.encode(image(h, w)), [click])
    assert pred.mask.shape == (h, w)
    cx, cy = centroid(pred.mask)
    assert abs(cx - click[0]) < 0.75 and abs(cy - click[1]) < 0.75
    assert pred.mask[int(click[1]), int(click[0])]
    assert pred.score == pytest.approx(0.9)   # the disk, not the empty mask (IoU 0.1)


def test_box_gives_the_box_centre_and_background_clicks_are_not_positive(model: SamModel) -> None:
    emb = model.encode(image(400, 640))
    pred = model.decode(emb, [], [(20.0, 30.0)], box=(100, 80, 300, 200))
    cx, cy = centroid(pred.mask)
    assert abs(cx - 200) < 0.75 and abs(cy - 140) < 0.75


def test_region_embedding_pastes_back_at_the_right_place(model: SamModel) -> None:
    img = image(900, 1600)
    emb = model.encode(img, roi=(1000, 500, 1400, 800))
    assert emb.offset == (1000, 500) and emb.frame.orig == (300, 400)
    pred = model.decode(emb, [(1234.0, 678.0)])
    assert pred.mask.shape == (900, 1600)
    cx, cy = centroid(pred.mask)
    assert abs(cx - 1234) < 0.75 and abs(cy - 678) < 0.75
    assert not pred.mask[:500].any() and not pred.mask[:, :1000].any()


def test_region_embedding_is_finer_than_whole_image(model: SamModel) -> None:
    # the disk is R encoder pixels: over a 300x400 region it covers far fewer image pixels
    img = image(900, 1600)
    whole = model.decode(model.encode(img), [(1234.0, 678.0)]).mask.sum()
    zoomed = model.decode(model.encode(img, roi=(1000, 500, 1400, 800)), [(1234.0, 678.0)]).mask.sum()
    assert zoomed < whole / 4


def test_decoder_of_another_convention_is_refused_naming_the_file(tmp_path) -> None:
    enc = g.encoder(tmp_path / "e.onnx", "sam")
    wrong = g.encoder(tmp_path / "not_a_decoder.onnx", "sam")   # its input "image" is no decoder input
    with pytest.raises(ModelError, match="not_a_decoder.onnx.*'image'"):
        SamModel(get_family("sam"), enc, wrong)


def test_unknown_feature_names_are_matched_by_channel_count(tmp_path) -> None:
    enc = g.encoder(tmp_path / "e.onnx", "sam", names={"image_embeddings": "embeddings_v2"})
    dec = g.decoder(tmp_path / "d.onnx", "sam", names={"image_embeddings": "embeddings_v2"})
    m = SamModel(get_family("sam"), enc, dec)
    cx, cy = centroid(m.decode(m.encode(image(240, 320)), [(100.0, 50.0)]).mask)
    assert abs(cx - 100) < 0.75 and abs(cy - 50) < 0.75


def test_osam_tensor_names_are_understood(tmp_path) -> None:
    # osam's SAM 2.1 blobs: encoder input "input", outputs image_embeddings/high_res_features1/2
    ren = {"image_embed": "image_embeddings", "high_res_feats_0": "high_res_features1",
           "high_res_feats_1": "high_res_features2"}
    enc = g.encoder(tmp_path / "e.onnx", "sam2", input_name="input", names=ren)
    dec = g.decoder(tmp_path / "d.onnx", "sam2", orig_size="int64", names=ren)
    m = SamModel(get_family("sam2-osam"), enc, dec)
    cx, cy = centroid(m.decode(m.encode(image(240, 320)), [(100.0, 50.0)]).mask)
    assert abs(cx - 100) < 0.75 and abs(cy - 50) < 0.75


def test_cache_encodes_once_and_stays_within_its_memory_bound(tmp_path) -> None:
    enc, dec = g.model_pair(tmp_path / "m", "sam")
    model = SamModel(get_family("sam"), enc, dec)
    calls = []
    real = model.encode
    model.encode = lambda img, roi=None: calls.append(roi) or real(img, roi)   # count encoder runs
    one = 256 * 64 * 64 * 4
    pred = Predictor(model, "t", EmbeddingCache(max_bytes=2 * one, folder=tmp_path / "disk"))
    img = image(120, 160)
    for _ in range(3):
        pred.segment("a", img, [(50, 60)])
    assert len(calls) == 1
    pred.embed("b", img)
    pred.embed("c", img)
    assert pred.cache.nbytes <= 2 * one and len(pred.cache._items) == 2   # "a" evicted from memory
    # ...but found on disk: no encoder run, same mask
    again = pred.segment("a", img, [(50, 60)])
    assert len(calls) == 3 and pred.cache.disk_hits == 1
    assert np.array_equal(again.mask, model.decode(real(img), [(50, 60)]).mask)


def test_mask_becomes_one_simplified_polygon(model: SamModel) -> None:
    pred = model.decode(model.encode(image(512, 512)), [(200.0, 300.0)])
    fine = mask_shapes(pred.mask, "cell", tolerance=0.5)
    coarse = mask_shapes(pred.mask, "cell", tolerance=3.0)
    assert len(fine) == 1 and fine[0].label == "cell" and fine[0].shape_type == "polygon"
    assert len(coarse[0].points) < len(fine[0].points)
    masks = mask_shapes(pred.mask, "cell", mode="mask")
    assert masks[0].shape_type == "mask"
