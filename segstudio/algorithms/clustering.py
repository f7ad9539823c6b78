"""Clustering: k-means on colour (RGB or Lab, optionally with position) and mean shift.

Both fit on a deterministic pixel sample (big images stay fast) and then assign every pixel;
clusters are numbered by decreasing size, and with ``drop_largest`` the largest one (usually the
background) becomes 0. Pure: numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import max_side_scale, relabel_by_size, resize_labels
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register


@dataclass(frozen=True)
class KMeansParams:
    k: int = param(3, "Clusters (k)", "Number of colour clusters.", min=2, max=32, step=1)
    color_space: str = param("lab", "Colour space", "Distances in RGB or CIE Lab.", choices=("rgb", "lab"))
    position_weight: float = param(0.0, "Position weight", "0 = colour only; larger values make clusters "
                                   "spatially compact.", min=0, max=10, step=0.1)
    blur_sigma: float = param(1.0, "Blur σ", "Blur before clustering (px).", min=0, max=20, step=0.5)
    drop_largest: bool = param(True, "Largest is background", "The largest cluster becomes background (0).")
    sample: int = param(200_000, "Sample size", "Pixels used to fit the centres.", min=1000, max=10**7, step=1000)


@dataclass(frozen=True)
class MeanShiftParams:
    bandwidth: float = param(24.0, "Colour bandwidth", "Colour distance that merges into one mode.",
                             min=2, max=200, step=1)
    spatial_radius: int = param(0, "Spatial radius", "If > 0, mean-shift filter the image first "
                                "(edge-preserving smoothing) with this radius (px).", min=0, max=50, step=1)
    color_space: str = param("lab", "Colour space", "Distances in RGB or CIE Lab.", choices=("rgb", "lab"))
    drop_largest: bool = param(True, "Largest is background", "The largest cluster becomes background (0).")
    max_side: int = param(1024, "Working size", "Images are processed at most this long (px); 0 = full size.",
                          min=0, max=20000, step=64)


def _colours(image: np.ndarray, space: str, sigma: float) -> np.ndarray:
    """HxWx3 uint8 colours the clustering works on (blurred, optionally CIE Lab)."""
    src = image if sigma <= 0 else cv2.GaussianBlur(image, (0, 0), sigma)
    if space == "lab":
        src = cv2.cvtColor(src, cv2.COLOR_RGB2LAB)
    return np.ascontiguousarray(src)


def _features(image: np.ndarray, space: str, sigma: float) -> np.ndarray:
    return _colours(image, space, sigma).reshape(-1, 3).astype(np.float32)


_TABLE_MIN_PIXELS = 1 << 22


def _sample_index(n: int, size: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.random.default_rng(0).choice(n, size, replace=False)


def _nearest(feats: np.ndarray, centres: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    out = np.empty(len(feats), np.int32)
    c2 = (centres ** 2).sum(axis=1)
    for s in range(0, len(feats), chunk):
        f = feats[s:s + chunk]
        d = c2[None, :] - 2.0 * (f @ centres.T)   # ‖f‖² is the same for every centre
        out[s:s + chunk] = np.argmin(d, axis=1)
    return out


def _nearest_by_colour(colours: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """:func:`_nearest` for every pixel of an HxWx3 uint8 image, computed once per distinct colour.

    A 24-bit key per pixel indexes a table of the distinct colours (a blurred photo has ~10⁵ of
    them), so the float distances run on those only and the pixels get one table look-up: on
    24 megapixels this avoids a 288 MB float copy and 24M×k distance evaluations. Same
    arithmetic on the same colour values as :func:`_nearest`, so the same labels.
    """
    rgba = cv2.cvtColor(colours, cv2.COLOR_RGB2RGBA)
    key = rgba.view("<u4").reshape(-1)   # bytes c0 c1 c2 a, read little-endian
    np.bitwise_and(key, 0xFFFFFF, out=key)
    seen = np.zeros(1 << 24, np.uint8)
    seen[key] = 1
    uniq = np.flatnonzero(seen).astype(np.uint32)
    cols = np.stack([uniq & 255, (uniq >> 8) & 255, uniq >> 16], axis=1).astype(np.float32)
    table = seen   # reused: only entries of seen colours are read back
    table[uniq] = _nearest(cols, centres)
    return np.take(table, key)


@register("kmeans", KMeansParams, "K-means (colour)", "clustering", output="classes")
def kmeans(image: np.ndarray, prompt: Prompt, params: KMeansParams) -> np.ndarray:
    """k colour clusters (optionally with pixel position as extra features)."""
    h, w = image.shape[:2]
    colours = _colours(image, params.color_space, params.blur_sigma)
    idx = _sample_index(h * w, params.sample)
    if params.position_weight > 0:
        feats = colours.reshape(-1, 3).astype(np.float32)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        scale = params.position_weight * 255.0 / max(h, w)
        feats = np.concatenate([feats, (xx.reshape(-1, 1) * scale), (yy.reshape(-1, 1) * scale)], axis=1)
        sample = np.ascontiguousarray(feats[idx])
    else:
        feats = None   # colour only: pixels are assigned through a table of distinct colours
        sample = colours.reshape(-1, 3)[idx].astype(np.float32)
    cv2.setRNGSeed(12345)   # kmeans++ seeding uses OpenCV's RNG; fixed → deterministic
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.1)
    k = min(params.k, len(idx))
    _, _, centres = cv2.kmeans(sample, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    if feats is not None:
        labels = _nearest(feats, centres)
    elif h * w >= _TABLE_MIN_PIXELS:
        labels = _nearest_by_colour(colours, centres)
    else:   # a 16M-entry colour table does not pay off on small images
        labels = _nearest(colours.reshape(-1, 3).astype(np.float32), centres)
    return relabel_by_size(labels.reshape(h, w), params.drop_largest)


def _mean_shift_modes(points: np.ndarray, weights: np.ndarray, bandwidth: float) -> np.ndarray:
    """Flat-kernel mean shift of weighted points to their modes; returns each point's mode."""
    modes = points.copy()
    p2 = (points ** 2).sum(1)
    for _ in range(50):
        d2 = (modes ** 2).sum(1)[:, None] + p2[None, :] - 2.0 * (modes @ points.T)
        k = (d2 <= bandwidth ** 2) * weights[None, :]
        new = (k @ points) / np.maximum(k.sum(axis=1, keepdims=True), 1e-9)
        shift = np.abs(new - modes).max()
        modes = new
        if shift < 0.1:
            break
    return modes


@register("mean_shift", MeanShiftParams, "Mean shift (colour)", "clustering", output="classes")
def mean_shift(image: np.ndarray, prompt: Prompt, params: MeanShiftParams) -> np.ndarray:
    """Colour modes found by mean shift (bin-seeded), optionally after mean-shift filtering."""
    h, w = image.shape[:2]
    s = max_side_scale(h, w, params.max_side)
    small = image if s >= 1 else cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                            interpolation=cv2.INTER_AREA)
    if params.spatial_radius > 0:
        small = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(small), params.spatial_radius,
                                          params.bandwidth)
    feats = _features(small, params.color_space, 0)
    # bin the colours (bins of bandwidth/2) and shift the occupied bins, weighted by count
    bin_size = max(1.0, params.bandwidth / 2)
    q = np.floor(feats / bin_size).astype(np.int32)
    keys = (q[:, 0] * 1024 + q[:, 1]) * 1024 + q[:, 2]
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    centres = np.zeros((len(uniq), 3), np.float64)
    np.add.at(centres, inverse, feats)
    centres /= counts[:, None]
    if len(uniq) > 2000:   # keep the O(n²) shift small: seed from the most populated bins
        top = np.argsort(-counts, kind="stable")[:2000]
        seeds, sw = centres[top], counts[top].astype(np.float64)
    else:
        seeds, sw = centres, counts.astype(np.float64)
    modes = _mean_shift_modes(seeds, sw, params.bandwidth)
    # merge modes closer than half a bandwidth (greedy, by support, deterministic)
    order = np.argsort(-sw, kind="stable")
    final: list[np.ndarray] = []
    for i in order:
        if all(np.linalg.norm(modes[i] - f) > params.bandwidth / 2 for f in final):
            final.append(modes[i])
    bin_label = _nearest(centres.astype(np.float32), np.array(final, np.float32))
    labels = bin_label[inverse.ravel()].reshape(small.shape[:2])
    return resize_labels(relabel_by_size(labels, params.drop_largest), h, w)
