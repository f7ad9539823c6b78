"""The one label map → shapes converter, through every caller: the Auto-segment panel
(algorithms.apply), the model (ml.postprocess), the importers (formats.import_driver) and the mask
helper (core.rasterize) give the same shapes, and they reproduce the map."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.algorithms.apply import ApplyOptions, label_map_shapes
from segstudio.core.formats.base import ImportOptions
from segstudio.core.formats.import_driver import label_maps_to_shapes
from segstudio.core.label_shapes import LabelShapeOptions, label_map_to_shapes
from segstudio.core.rasterize import class_value_map, mask_to_shapes, shapes_to_label
from segstudio.ml.postprocess import ShapeOptions, prediction_to_shapes

NAMES = ["_background_", "cell", "debris", "dirt"]


def _instances(h: int = 600, w: int = 800, n: int = 400, seed: int = 0):
    """Class and instance maps with ``n`` blobs (touching, overlapping, a third with holes)."""
    rng = np.random.default_rng(seed)
    cls = np.zeros((h, w), np.uint8)
    ins = np.zeros((h, w), np.uint16)
    for i in range(1, n + 1):
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(6, 24))
        blob = np.zeros((h, w), np.uint8)
        cv2.ellipse(blob, (cx, cy), (r, int(r * rng.uniform(0.5, 1.5))), float(rng.uniform(0, 180)),
                    0, 360, 1, -1)
        if i % 3 == 0 and r > 8:
            cv2.circle(blob, (cx, cy), r // 3, 0, -1)   # a real hole
        cls[blob > 0] = 1 + i % 3
        ins[blob > 0] = i
    return cls, ins


def _fragmented(h: int = 600, w: int = 800, seed: int = 1) -> np.ndarray:
    """A noisy 3-class prediction: smoothed noise cut at two levels (hundreds of pieces,
    islands inside islands, pieces with holes)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 5)
    t = 0.3 * float(noise.std())
    return np.digitize(noise, [-t, t]).astype(np.uint8)   # 0, 1, 2


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def _render(shapes, h, w) -> np.ndarray:
    cls, _ = shapes_to_label(shapes, h, w, class_value_map(NAMES))
    return cls


def _key(shapes):
    return sorted((s.label, s.shape_type, s.points.round(3).tobytes(),
                   None if s.mask is None else np.packbits(s.mask).tobytes()) for s in shapes)


@pytest.mark.parametrize("tolerance", [0.0, 0.5])
def test_every_caller_gives_the_same_shapes_and_they_reproduce_the_map(tolerance):
    cls, _ = _instances()
    h, w = cls.shape
    opts = dict(tolerance=tolerance, min_area=0.0)
    panel = label_map_shapes(cls, ApplyOptions(class_names=tuple(NAMES[1:]), **opts))
    model = prediction_to_shapes(cls, None, NAMES, ShapeOptions(**opts))
    imported = label_maps_to_shapes(cls, NAMES, ImportOptions(tolerance=tolerance))
    per_class = [s for v in (1, 2, 3) for s in mask_to_shapes(cls == v, NAMES[v], "polygon", tolerance=tolerance, min_area=0.0)]
    if tolerance == 0:   # the importer drops collinear vertices (same pixels); compare pixels there
        assert np.array_equal(_render(imported, h, w), _render(panel, h, w))
    else:
        assert _key(imported) == _key(panel)
    assert _key(model) == _key(panel) == _key(per_class)
    got = _render(panel, h, w)
    for v in (1, 2, 3):
        assert _iou(got == v, cls == v) >= 0.99, NAMES[v]
    # holes survive, in one mask shape per class — never one full-size mask per region
    masks = [s for s in panel if s.shape_type == "mask"]
    assert 1 <= len(masks) <= 3 and len({s.label for s in masks}) == len(masks)


def test_fragmented_prediction_round_trips_with_one_mask_per_class():
    lm = _fragmented()
    h, w = lm.shape
    names = ["_background_", "road", "tree"]
    shapes = prediction_to_shapes(lm, None, names, ShapeOptions(tolerance=0.5, min_area=0))
    assert len(shapes) > 200   # really fragmented
    cls, _ = shapes_to_label(shapes, h, w, class_value_map(names))
    for v in (1, 2):
        assert _iou(cls == v, lm == v) >= 0.99, names[v]
    assert len([s for s in shapes if s.shape_type == "mask"]) <= 2


def test_instances_are_grouped_and_pixel_exact_on_import():
    cls, ins = _instances(n=300, seed=3)
    h, w = cls.shape
    shapes = label_maps_to_shapes(cls, NAMES, ImportOptions(tolerance=0), ins_map=ins)
    got_cls, got_ins = shapes_to_label(shapes, h, w, class_value_map(NAMES))
    assert np.array_equal(got_cls, cls)
    # every visible instance is one group, with exactly its pixels
    groups = {s.group_id for s in shapes}
    visible = set(int(i) for i in np.unique(ins) if i)
    assert groups == visible
    for i in list(visible)[:50]:
        mine = [s for s in shapes if s.group_id == i]
        assert _render(mine, h, w).astype(bool).sum() == (ins == i).sum()


def test_filters_roi_confidence_classes_and_skip_values():
    lm = np.zeros((60, 80), np.uint8)
    lm[5:25, 5:25] = 1
    lm[30:55, 40:75] = 2
    lm[40:50, 5:15] = 255
    conf = np.ones(lm.shape, np.float32)
    conf[30:55, 40:60] = 0.2
    opts = LabelShapeOptions(tolerance=0, min_area=0, class_names=("a", "b"), skip_values=(255,),
                             min_confidence=0.5)
    shapes = label_map_to_shapes(lm, opts, confidence=conf)
    assert sorted(s.label for s in shapes) == ["a", "b"]
    b = next(s for s in shapes if s.label == "b")
    assert b.points[:, 0].min() == 60   # the unsure half is left out
    only_a = label_map_to_shapes(lm, LabelShapeOptions(classes=("a",), class_names=("a", "b"),
                                                       skip_values=(255,)))
    assert [s.label for s in only_a] == ["a"]
    roi = np.zeros(lm.shape, bool)
    roi[:, 30:] = True
    assert [s.label for s in label_map_to_shapes(lm, replace_opts(opts, min_confidence=0), roi=roi)] == ["b"]


def replace_opts(opts, **kw):
    from dataclasses import replace

    return replace(opts, **kw)
