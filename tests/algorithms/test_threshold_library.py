"""The threshold methods equal their raw library calls pixel for pixel, through the function and
through ``segstudio segment --format masks`` (the path a user compares against OpenCV)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.filters import threshold_multiotsu

from segstudio.algorithms.registry import Prompt, get_method, run_method
from segstudio.cli import main


def _nuclei_gray(seed: int = 3, h: int = 96, w: int = 120) -> np.ndarray:
    """Gray 'nuclei': bright blobs of many sizes (some of 1–6 px, thin bridges, ragged edges) on a
    noisy dark background, so the Otsu level has many pixels exactly at it and pieces below any
    area filter — what a polygon round trip or a size filter would change."""
    rng = np.random.default_rng(seed)
    img = rng.normal(70, 18, (h, w))
    yy, xx = np.mgrid[:h, :w]
    for _ in range(25):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.7, 9)
        img += 110 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    img[40, 10:90] = 190   # a 1-px bridge
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture()
def gray_png(tmp_path: Path) -> tuple[Path, np.ndarray]:
    gray = _nuclei_gray()
    path = tmp_path / "in" / "nuclei.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), gray)
    return path, gray


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def test_otsu_has_pixels_at_its_level(gray_png) -> None:
    _, gray = gray_png
    t, _ = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    assert np.count_nonzero(gray == int(t)) > 20   # the comparison at the level matters here


@pytest.mark.parametrize("name,params,raw", [
    ("otsu", {"blur_sigma": 0},
     lambda g: cv2.threshold(g, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]),
    ("otsu", {"blur_sigma": 0, "invert": True},
     lambda g: cv2.threshold(g, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]),
    ("threshold", {"level": 120},
     lambda g: cv2.threshold(g, 120, 1, cv2.THRESH_BINARY)[1]),
    ("adaptive", {"block_size": 31, "c": 4},
     lambda g: cv2.adaptiveThreshold(g, 1, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 4)),
    ("adaptive", {"method": "mean", "block_size": 15, "c": -2},
     lambda g: cv2.adaptiveThreshold(g, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -2)),
    ("multi_otsu", {"classes": 3, "blur_sigma": 0},
     lambda g: np.digitize(g, threshold_multiotsu(g, classes=3))),
])
def test_method_and_cli_masks_equal_the_library(gray_png, tmp_path, name, params, raw) -> None:
    path, gray = gray_png
    want = raw(gray).astype(np.int64)
    spec = get_method(name)
    got = run_method(name, _rgb(gray), Prompt(), spec.make_params(params))
    assert np.array_equal(got, want)
    out = tmp_path / "masks"
    args = [f"{k}={v}" for k, v in params.items()]
    argv = ["segment", "-m", name, "--format", "masks", "-q", str(path.parent), str(out)]
    for a in args:
        argv[3:3] = ["--param", a]
    assert main(argv) == 0
    mask = cv2.imread(str(out / "nuclei.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8
    assert int(np.count_nonzero(mask != want)) == 0, f"{np.count_nonzero(mask)} vs {np.count_nonzero(want)} px"


def test_masks_min_area_is_applied_only_when_asked(gray_png, tmp_path) -> None:
    path, gray = gray_png
    _, ref = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ref, connectivity=8)
    small = np.isin(lab, np.nonzero(stats[:, cv2.CC_STAT_AREA] < 10)[0]) & (ref == 1)
    assert small.any()
    out = tmp_path / "m"
    assert main(["segment", "-m", "otsu", "-p", "blur_sigma=0", "--format", "masks", "--min-area", "10",
                 "-q", str(path), str(out)]) == 0
    mask = cv2.imread(str(out / "nuclei.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(mask, np.where(small, 0, ref))


def _blobs_gray(seed: int, h: int = 64, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.normal(rng.uniform(30, 90), rng.uniform(5, 30), (h, w))
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(3, 15))):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 12)
        img += rng.uniform(40, 150) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [57, 210, 232, 241])
def test_multi_otsu_levels_equal_scikit_image(seed) -> None:
    # images where a histogram other than scikit-image's own (0..255, raw counts) moves a level
    gray = _blobs_gray(seed)
    want = np.digitize(gray, threshold_multiotsu(gray, classes=4))
    got = run_method("multi_otsu", _rgb(gray), Prompt(), {"classes": 4, "blur_sigma": 0})
    assert int(np.count_nonzero(got != want)) == 0
