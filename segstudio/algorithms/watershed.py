"""Watershed: automatic (distance-transform markers) and marker-based (user scribbles/clicks).

Automatic: a foreground estimate (Otsu on a channel) → distance transform → one marker per
local maximum at least ``min_distance`` apart → watershed of the inverted distance inside the
foreground, which separates touching round objects. Marker-based: each connected foreground
scribble/click is one object, background scribbles are the background; OpenCV's watershed on
the colour image grows them. Pure: numpy, OpenCV, scikit-image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import CHANNELS, channel, fill_holes, smooth
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register


@dataclass(frozen=True)
class AutoWatershedParams:
    min_distance: int = param(10, "Minimum distance", "Minimum distance between object centres (px).",
                              min=1, max=1000, step=1)
    channel: str = param("luminance", "Channel", "Channel for the foreground estimate (Otsu).", choices=CHANNELS)
    invert: bool = param(False, "Invert", "Objects are darker than the background.")
    blur_sigma: float = param(1.0, "Blur σ", "Blur before the foreground estimate (px).", min=0, max=20, step=0.5)
    fill_holes: bool = param(True, "Fill holes", "Fill holes in the foreground estimate.")
    min_area: int = param(20, "Minimum area", "Foreground specks smaller than this are dropped (px).",
                          min=0, max=10**7, step=10)


@dataclass(frozen=True)
class MarkerWatershedParams:
    blur_sigma: float = param(1.0, "Blur σ", "Blur before flooding (px).", min=0, max=20, step=0.5)
    click_radius: int = param(3, "Click radius", "Radius of the marker placed at each click (px).",
                              min=1, max=50, step=1)


def foreground_otsu(image: np.ndarray, name: str, sigma: float, invert: bool, *, holes: bool,
                    min_area: int) -> np.ndarray:
    gray = smooth(channel(image, name), sigma)
    kind = (cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY) | cv2.THRESH_OTSU
    _, fg = cv2.threshold(gray, 0, 1, kind)
    if min_area > 1:
        n, lab, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= min_area
        keep[0] = False   # label 0 is the background
        if not keep[1:].all():
            fg = np.take(keep.view(np.uint8), lab)   # a table look-up, not np.isin over all pixels
    return fill_holes(fg) if holes else fg.astype(bool)


def distance_markers(fg: np.ndarray, min_distance: int, dist: np.ndarray | None = None) -> np.ndarray:
    """int32 markers 1..n at the plateaus of local maxima of the distance transform (``dist``,
    when the caller has it already)."""
    fg8 = fg.view(np.uint8) if fg.dtype == bool else fg.astype(np.uint8)   # a view: no copy
    if dist is None:
        dist = cv2.distanceTransform(fg8, cv2.DIST_L2, 5)
    size = 2 * min_distance + 1
    dil = cv2.dilate(dist, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    peaks = (dist >= dil - 1e-3) & (dist > 1.0)
    # merge plateau pixels and peaks closer than min_distance into one marker
    peaks = cv2.dilate(peaks.view(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (max(1, min_distance // 2) * 2 + 1,) * 2)) & fg8
    _, markers = cv2.connectedComponents(peaks, connectivity=8, ltype=cv2.CV_32S)
    return markers


@register("watershed", AutoWatershedParams, "Watershed (automatic)", "watershed", output="regions")
def auto_watershed(image: np.ndarray, prompt: Prompt, params: AutoWatershedParams) -> np.ndarray:
    """Splits touching objects of the Otsu foreground along distance-transform ridges."""
    from skimage.segmentation import watershed

    fg = foreground_otsu(image, params.channel, params.blur_sigma, params.invert, holes=params.fill_holes,
                         min_area=params.min_area)
    if not fg.any():
        return np.zeros(fg.shape, np.int32)
    dist = cv2.distanceTransform(fg.view(np.uint8), cv2.DIST_L2, 5)
    markers = distance_markers(fg, params.min_distance, dist)
    return watershed(-dist, markers, mask=fg).astype(np.int32, copy=False)


@register("watershed_markers", MarkerWatershedParams, "Watershed (from scribbles)", "watershed",
          needs="scribbles", output="regions")
def marker_watershed(image: np.ndarray, prompt: Prompt, params: MarkerWatershedParams) -> np.ndarray:
    """Grows each foreground scribble (one object per connected stroke) against the background."""
    h, w = image.shape[:2]
    fg, bg = prompt.seed_masks(h, w, params.click_radius)
    n, objects = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    markers = objects.copy()
    markers[bg & ~fg] = n   # one background label after the objects
    src = image if params.blur_sigma <= 0 else cv2.GaussianBlur(image, (0, 0), params.blur_sigma)
    cv2.watershed(np.ascontiguousarray(src[:, :, ::-1]), markers)
    # watershed lines (-1) go to the neighbouring object so touching objects keep their area
    out = np.where(markers == n, 0, markers)
    lines = out < 0
    if lines.any():
        grown = cv2.dilate(np.where(lines, 0, out).astype(np.float32), np.ones((3, 3), np.uint8))
        out[lines] = grown[lines].astype(np.int32)
    return out.astype(np.int32)
