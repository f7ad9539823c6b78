"""Small helpers shared by the algorithm families: channel picking, hole filling, labelling.

Pure: numpy + OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np

CHANNELS = ("luminance", "red", "green", "blue", "hue", "saturation", "value", "lab_l", "lab_a", "lab_b")


def channel(image_rgb8: np.ndarray, name: str) -> np.ndarray:
    """One uint8 channel of an RGB image: luminance (ITU-R 601), R/G/B, HSV or Lab planes."""
    if name == "luminance":
        return cv2.cvtColor(image_rgb8, cv2.COLOR_RGB2GRAY)
    if name in ("red", "green", "blue"):
        return np.ascontiguousarray(image_rgb8[:, :, ("red", "green", "blue").index(name)])
    if name in ("hue", "saturation", "value"):
        hsv = cv2.cvtColor(image_rgb8, cv2.COLOR_RGB2HSV_FULL)
        return np.ascontiguousarray(hsv[:, :, ("hue", "saturation", "value").index(name)])
    if name in ("lab_l", "lab_a", "lab_b"):
        lab = cv2.cvtColor(image_rgb8, cv2.COLOR_RGB2LAB)
        return np.ascontiguousarray(lab[:, :, ("lab_l", "lab_a", "lab_b").index(name)])
    raise ValueError(f"unknown channel {name!r}")


def smooth(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (sigma in pixels; 0 = none)."""
    if sigma <= 0:
        return gray
    return cv2.GaussianBlur(gray, (0, 0), sigma)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region not connected to the image border filled."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = m.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = m
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return m.astype(bool) | holes


def label_components(mask: np.ndarray, min_area: int = 0, connectivity: int = 8) -> np.ndarray:
    """Connected components of a boolean mask as an int32 map 1..n (small ones dropped)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        np.ascontiguousarray(mask, dtype=np.uint8), connectivity=connectivity, ltype=cv2.CV_32S)
    if min_area <= 1 or n <= 1:
        return labels
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    lut = np.zeros(n, np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def class_index_map(label_map: np.ndarray, output: str, min_area: float = 0.0) -> np.ndarray:
    """A method's label map as a class-index mask (uint8, uint16 above 255), taken directly from
    the label map so that it equals the library call pixel for pixel (a round trip through
    polygons moves boundary pixels and loses pieces thinner than a pixel).

    ``output`` is the method's kind: ``classes`` keeps its class values (0..n-1, as the library
    returns them); ``binary`` and ``regions`` give 1 wherever the map is non-zero. With
    ``min_area`` > 1, 8-connected pieces of a value smaller than that become 0.
    """
    lm = np.asarray(label_map)
    if output == "classes":
        out = lm.astype(np.uint16 if lm.size and int(lm.max()) > 255 else np.uint8, copy=False)
    else:
        out = (lm != 0).view(np.uint8)
    if min_area > 1:
        out = out.copy()
        for v in np.unique(out):
            if v == 0:
                continue
            n, lab, stats, _ = cv2.connectedComponentsWithStats((out == v).view(np.uint8), connectivity=8)
            small = stats[:, cv2.CC_STAT_AREA] < min_area
            small[0] = False
            if small.any():
                out[small[lab]] = 0
    return np.ascontiguousarray(out)


def _counts_u8(labels: np.ndarray) -> np.ndarray:
    """np.bincount of a uint8 map with OpenCV's histogram, in chunks of < 2²⁴ pixels so that the
    float32 counts stay exact. np.bincount holds the GIL (tens of ms on a big image: the GUI
    thread would stall while a worker runs it); calcHist releases it and is faster."""
    flat = labels.reshape(-1)
    counts = np.zeros(256, np.int64)
    step = (1 << 24) - 1
    for s in range(0, len(flat), step):
        chunk = flat[s:s + step].reshape(1, -1)
        counts += cv2.calcHist([chunk], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return np.trim_zeros(counts, "b") if counts.any() else counts[:1]


def relabel_by_size(labels: np.ndarray, drop_largest: bool) -> np.ndarray:
    """Renumbers values 0..k-1 of ``labels`` to 1..k by decreasing pixel count (deterministic);
    with ``drop_largest`` the largest becomes 0 (background). A uint8 map stays uint8."""
    small = labels.dtype == np.uint8
    counts = _counts_u8(labels) if small else np.bincount(labels.ravel())
    order = np.argsort(-counts, kind="stable")
    lut = np.zeros(len(counts), np.int32)
    lut[order] = np.arange(1, len(counts) + 1, dtype=np.int32)
    if drop_largest:
        lut -= 1
    lut[counts == 0] = 0
    if small:   # cv2.LUT releases the GIL too; values ≤ 256 do not fit uint8 only with 256 labels
        if len(counts) < 256:
            table = np.zeros(256, np.uint8)
            table[:len(lut)] = lut
            return cv2.LUT(np.ascontiguousarray(labels), table)
    return lut[labels]


def max_side_scale(height: int, width: int, max_side: int) -> float:
    """Scale factor (≤ 1) so that the longer side is at most ``max_side`` (0 = no limit)."""
    if max_side <= 0:
        return 1.0
    return min(1.0, max_side / max(height, width))


def resize_labels(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of an integer label map."""
    if labels.shape == (height, width):
        return labels
    return cv2.resize(labels.astype(np.int32), (width, height), interpolation=cv2.INTER_NEAREST)
