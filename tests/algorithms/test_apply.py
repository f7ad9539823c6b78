"""Label map → editable shapes, and the batch job."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.algorithms.apply import ApplyOptions, batch_segment, convert_label_map, label_map_shapes
from segstudio.core import label_shapes
from segstudio.core.jobs import run_to_end
from segstudio.core.rasterize import shape_mask


def _union(shapes, h, w):
    out = np.zeros((h, w), bool)
    for s in shapes:
        out |= shape_mask(s, h, w)
    return out


def test_touching_regions_stay_separate_polygons():
    lm = np.zeros((40, 60), np.int32)
    lm[5:30, 5:30] = 1
    lm[5:30, 30:55] = 2   # touches region 1
    shapes = label_map_shapes(lm, ApplyOptions(label="cell", tolerance=0))
    assert len(shapes) == 2
    assert {s.label for s in shapes} == {"cell"}
    for s, v in zip(sorted(shapes, key=lambda s: s.points[:, 0].min()), (1, 2)):
        assert s.shape_type == "polygon"
        assert synthetic.iou(shape_mask(s, 40, 60), lm == v) == 1.0


def test_holes_survive_as_mask_shape():
    lm = np.zeros((40, 40), np.int32)
    lm[5:35, 5:35] = 1
    lm[15:25, 15:25] = 0
    (shape,) = label_map_shapes(lm, ApplyOptions(tolerance=0))
    assert shape.shape_type == "mask" and shape.mask.shape == (40, 40)
    assert np.array_equal(shape.mask, lm == 1)


def test_offset_of_cropped_regions_is_right():
    lm = np.zeros((50, 80), np.int32)
    lm[30:45, 60:75] = 3
    (s,) = label_map_shapes(lm, ApplyOptions(tolerance=0))
    assert np.array_equal(shape_mask(s, 50, 80), lm == 3)


def test_min_area_and_simplification():
    lm = np.zeros((60, 60), np.int32)
    lm[10:50, 10:50] = 1
    lm[2:4, 2:4] = 2   # 4 px speck
    shapes = label_map_shapes(lm, ApplyOptions(min_area=10, tolerance=1.0))
    assert len(shapes) == 1 and len(shapes[0].points) == 4   # a square needs 4 vertices


def test_mask_mode_one_layer_per_class():
    lm = np.zeros((30, 30), np.int32)
    lm[2:10, 2:10] = 1
    lm[15:25, 15:25] = 2
    shapes = label_map_shapes(lm, ApplyOptions(mode="mask", class_names=("a", "b")))
    assert sorted(s.label for s in shapes) == ["a", "b"]
    for s in shapes:
        assert np.array_equal(s.mask, lm == (1 if s.label == "a" else 2))
    same = label_map_shapes(lm, ApplyOptions(mode="mask", label="x"))
    assert len(same) == 1 and np.array_equal(same[0].mask, lm > 0)


def test_more_polygons_than_the_limit_become_mask_layers(monkeypatch):
    # 2 classes alternating over a 12x12 grid of separate 6x6-px squares: 144 pieces
    lm = np.zeros((96, 96), np.int32)
    for i in range(12):
        for j in range(12):
            lm[8 * i + 1:8 * i + 7, 8 * j + 1:8 * j + 7] = (i + j) % 2 + 1
    names = ("a", "b")
    shapes, over = convert_label_map(lm, ApplyOptions(class_names=names, tolerance=0, max_polygons=200))
    assert over == 0 and len(shapes) == 144 and {s.shape_type for s in shapes} == {"polygon"}
    shapes, over = convert_label_map(lm, ApplyOptions(class_names=names, tolerance=0, max_polygons=100))
    assert over == 144
    assert sorted(s.label for s in shapes) == ["a", "b"] and {s.shape_type for s in shapes} == {"mask"}
    for s in shapes:   # nothing is lost: each layer is exactly its class
        assert np.array_equal(s.mask, lm == names.index(s.label) + 1)
    # a big class map is counted before any polygon is made: same result, no polygons built
    monkeypatch.setattr(label_shapes, "COUNT_FIRST_PX", 0)
    built = []
    real = label_shapes.label_map_to_shapes
    monkeypatch.setattr(label_shapes, "label_map_to_shapes",
                        lambda lm, o, *rest: built.append(o.mode) or real(lm, o, *rest))
    counted, over = convert_label_map(lm, ApplyOptions(class_names=names, tolerance=0, max_polygons=100))
    assert over == 144 and built == ["mask"]
    assert [np.array_equal(a.mask, b.mask) for a, b in zip(counted, shapes)] == [True, True]
    # 0 = no limit; mask mode is never "over"
    assert convert_label_map(lm, ApplyOptions(max_polygons=0))[1] == 0
    assert convert_label_map(lm, ApplyOptions(mode="mask", max_polygons=1))[1] == 0


def test_bad_mode_and_map():
    with pytest.raises(ValueError, match="unknown conversion mode 'blob'"):
        label_map_shapes(np.zeros((4, 4), np.int32), ApplyOptions(mode="blob"))
    with pytest.raises(ValueError, match="2-D"):
        label_map_shapes(np.zeros((4, 4, 3), np.int32), ApplyOptions())


def test_batch_job_reports_progress_and_errors():
    images = {"a": synthetic.two_tone_shapes(64, 64, seed=1), "c": synthetic.two_tone_shapes(64, 64, seed=2)}

    def load(src):
        if src == "broken":
            raise OSError("broken.png: not an image file")
        return images[src][0]

    progress = []
    result = run_to_end(batch_segment([("a", "a"), ("b", "broken"), ("c", "c")], load, "otsu", None,
                                      options=ApplyOptions(label="blob")), progress.append)
    assert [p.done for p in progress] == [0, 1, 2, 3] and progress[-1].total == 3
    assert set(result.shapes) == {"a", "c"}
    assert result.errors == {"b": "broken.png: not an image file"}
    for key in ("a", "c"):
        gt = images[key][1]
        assert synthetic.iou(_union(result.shapes[key], 64, 64), gt) >= 0.95


def test_batch_refuses_prompted_methods():
    with pytest.raises(ValueError, match="cannot run in a batch"):
        run_to_end(batch_segment([], lambda s: s, "grabcut", None, options=ApplyOptions()))


def test_batch_can_be_cancelled_between_images():
    calls = []

    def load(src):
        calls.append(src)
        return synthetic.two_tone_shapes(32, 32)[0]

    gen = batch_segment([(str(i), i) for i in range(10)], load, "otsu", None, options=ApplyOptions())
    next(gen)
    next(gen)
    gen.close()   # what the GUI worker does on cancel
    assert calls == [0]


def test_small_holes_are_filled_large_ones_kept():
    lm = np.zeros((60, 60), np.int32)
    lm[5:55, 5:55] = 1
    lm[10:12, 10:12] = 0   # 4 px noise hole
    shapes = label_map_shapes(lm, ApplyOptions(min_area=10, tolerance=0))
    assert len(shapes) == 1 and shapes[0].shape_type == "polygon"
    filled = lm.copy()
    filled[10:12, 10:12] = 1
    assert np.array_equal(shape_mask(shapes[0], 60, 60), filled == 1)
    lm[30:40, 30:40] = 0   # a real hole
    (s,) = label_map_shapes(lm, ApplyOptions(min_area=10, tolerance=0))
    assert s.shape_type == "mask"
    assert not s.mask[35, 35] and s.mask[11, 11]   # big hole kept, noise hole filled


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.int64])
def test_label_map_dtypes(dtype):
    lm = np.zeros((20, 20), dtype)
    lm[5:15, 5:15] = 1
    (s,) = label_map_shapes(lm, ApplyOptions(tolerance=0))
    assert np.array_equal(shape_mask(s, 20, 20), lm.astype(bool))
    with pytest.raises(ValueError, match="negative"):
        label_map_shapes(np.full((3, 3), -1, np.int32), ApplyOptions())
