"""Segment everything on tiny ONNX graphs whose decoder draws a disk around the object nearest to
the click: a grid of clicks finds each object many times, and exactly the distinct disks come
out (duplicates suppressed by mask IoU); the predicted-IoU, stability and area thresholds
filter; headless on a folder, a person's labelled image is left alone."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme
from segstudio.core.rasterize import shape_mask
from segstudio.sam.everything import EverythingParams, Instance, instance_shapes, mask_iou, segment_everything
from segstudio.sam.families import get_family
from segstudio.sam.runtime import SamModel
from tests.sam import onnx_graphs as g

H, W = 240, 320
OBJECTS = [(200.0, 200.0), (600.0, 300.0), (400.0, 600.0), (470.0, 600.0)]   # encoder frame (1024 / 320 = 3.2)
SCALE = 1024 / W


def disk(cx: float, cy: float, h: int = H, w: int = W, scale: float = SCALE) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= (g.R / scale) ** 2


def run(model: SamModel, params: EverythingParams, h: int = H, w: int = W) -> list[Instance]:
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    job = segment_everything(model, model.encode(img), params)
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


@pytest.fixture(scope="module")
def sam_model(tmp_path_factory):
    enc, dec = g.model_pair(tmp_path_factory.mktemp("sam"), "sam", objects=OBJECTS)
    return SamModel(get_family("sam"), enc, dec)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def test_grid_gives_each_object_once(sam_model) -> None:
    got = run(sam_model, EverythingParams(points_per_side=8))
    assert len(got) == len(OBJECTS)
    for ox, oy in OBJECTS:
        want = disk(ox / SCALE, oy / SCALE)
        best = max(iou(i.full(H, W), want) for i in got)
        assert best >= 0.9
    # the last two disks overlap (IoU ~0.1): distinct objects, both kept
    a, b = (next(i for i in got if iou(i.full(H, W), disk(x / SCALE, y / SCALE)) > 0.9) for x, y in OBJECTS[2:])
    assert 0.0 < mask_iou(a, b) < 0.7

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_without_suppression_duplicates_remain(sam_model) -> None:
    # nms_iou 1.0: nothing counts as a duplicate → one instance per grid point (64)
    assert len(run(sam_model, EverythingParams(points_per_side=8, nms_iou=1.0))) == 64


@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out
@pytest.mark.parametrize("params", [EverythingParams(points_per_side=4, pred_iou=0.95),        # disk's IoU is 0.9
                                    EverythingParams(points_per_side=4, stability_offset=1000.0),  # logits R²-d²
                                    EverythingParams(points_per_side=4, min_area=600)])            # disk ≈ 491 px
def test_thresholds_filter(sam_model, params) -> None:
    assert run(sam_model, EverythingParams(points_per_side=4))   # passes at the defaults
    assert run(sam_model, params) == []

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_full_size_masks_of_a_sam2_decoder(tmp_path) -> None:
    enc, dec = g.model_pair(tmp_path, "sam2", orig_size="int64", objects=OBJECTS[:2])
    model = SamModel(get_family("sam2"), enc, dec)
    got = run(model, EverythingParams(points_per_side=6), 300, 400)
    assert len(got) == 2
    # SAM 2 stretches: x by 1024/400, y by 1024/300 — an ellipse; compare with its centre
    for (ox, oy), inst in zip(sorted(OBJECTS[:2]), sorted(got, key=lambda i: i.box[0])):
        ys, xs = np.nonzero(inst.full(300, 400))
        assert abs(xs.mean() + 0.5 - ox * 400 / 1024) < 1 and abs(ys.mean() + 0.5 - oy * 300 / 1024) < 1

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_instance_shapes_are_distinct_polygons(sam_model) -> None:
    got = run(sam_model, EverythingParams(points_per_side=8))
    shapes = instance_shapes(got, "object", (H, W))
    assert len(shapes) == len(OBJECTS) and len({s.group_id for s in shapes}) == len(OBJECTS)
    for s, inst in zip(shapes, got):
        assert iou(shape_mask(s, H, W), inst.full(H, W)) >= 0.9

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_cli_folder_everything_skips_labelled(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SEGSTUDIO_SAM_DIR", str(tmp_path / "models"))
    g.model_pair(tmp_path / "export", "sam", objects=OBJECTS)
    assert main(["sam", "import", "tiny", str(tmp_path / "export"), "--family", "sam"]) == 0
    src = tmp_path / "in"
    src.mkdir()
    for stem in ("a", "b", "mine"):
        Image.fromarray(np.full((H, W, 3), 80, np.uint8)).save(src / f"{stem}.png")
    mine = {"version": "5.5.0", "flags": {}, "shapes": [], "imagePath": "mine.png", "imageData": None,
            "imageHeight": H, "imageWidth": W}
    (src / "mine.json").write_text(json.dumps(mine))
    before = hashlib.sha256((src / "mine.json").read_bytes()).hexdigest()
    out = src   # sidecars next to the images, as a user pre-annotates a folder
    assert main(["segment", "--method", "sam", "--param", "model=tiny", "--param", "everything=1",
                 "--param", "points_per_side=8", "--label", "thing", "-q", str(src), str(out)]) == 0
    for stem in ("a", "b"):
        ann = read_labelme(out / f"{stem}.json")
        assert ann.state == "pre-annotated" and len(ann.shapes) == len(OBJECTS)
        assert {s.label for s in ann.shapes} == {"thing"}
    assert hashlib.sha256((src / "mine.json").read_bytes()).hexdigest() == before
