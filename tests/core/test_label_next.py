"""Label next's pick: most uncertain first, never a labelled or recently served image, and no
near-duplicate of one just picked or served while a different image is left."""

from __future__ import annotations

import numpy as np

from segstudio.core.label_next import (
    Candidate,
    ServedHistory,
    descriptor_from_text,
    descriptor_to_text,
    pick_next,
    thumbnail_descriptor,
)


def _scene(seed: int, h: int = 120, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    import cv2

    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_descriptor_matches_the_same_scene_at_other_sizes_and_brightness():
    a = _scene(0)
    same = np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8)   # a brighter frame
    bigger = np.kron(a, np.ones((3, 3, 1), np.uint8))                # the same scene, 9× the pixels
    other = _scene(1)
    d = thumbnail_descriptor(a)
    assert d.shape == (256,) and abs(float(np.linalg.norm(d)) - 1) < 1e-5
    assert float(d @ thumbnail_descriptor(same)) > 0.97
    assert float(d @ thumbnail_descriptor(bigger)) > 0.97
    assert float(d @ thumbnail_descriptor(other)) < 0.8
    back = descriptor_from_text(descriptor_to_text(d))
    assert back is not None and float(back @ d) > 0.999
    assert descriptor_from_text("zz") is None and descriptor_from_text("00") is None


def test_pick_skips_labelled_and_recently_served_images_most_uncertain_first():
    cands = [Candidate("a", 0.9), Candidate("b", 0.8), Candidate("c", 0.7), Candidate("d", 0.2)]
    assert pick_next(cands, 2) == ["a", "b"]
    assert pick_next(cands, 2, exclude=["a"]) == ["b", "c"]
    assert pick_next(cands, 3, exclude=["a"], recent=["c"]) == ["b", "d"]
    assert pick_next(cands, 1, exclude=["a", "b", "c", "d"]) == []


def test_near_duplicates_are_passed_over_while_another_image_is_left():
    frame = _scene(0)
    next_frame = np.roll(frame, 1, axis=1)          # the following video frame
    other = _scene(5)
    d = {k: thumbnail_descriptor(im) for k, im in (("f1", frame), ("f2", next_frame), ("x", other))}
    cands = [Candidate("f1", 0.9, d["f1"]), Candidate("f2", 0.85, d["f2"]), Candidate("x", 0.3, d["x"])]
    assert pick_next(cands, 2) == ["f1", "x"]
    assert pick_next(cands, 3) == ["f1", "x", "f2"]           # diversity never empties the list
    # f1 was just served: its neighbour f2 is not served next, x is
    assert pick_next(cands, 1, recent=["f1"], descriptors=d) == ["x"]
    assert pick_next(cands, 1, recent=["f1", "x"], descriptors=d) == ["f2"]


def test_served_history_is_bounded_and_moves_a_revisit_to_the_end():
    h = ServedHistory(3)
    for k in "abcb":
        h.add(k)
    assert list(h) == ["a", "c", "b"]
    h.add("d")
    assert list(h) == ["c", "b", "d"] and "a" not in h and len(h) == 3
