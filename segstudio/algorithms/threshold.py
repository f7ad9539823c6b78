"""Thresholding: manual global, Otsu, multi-Otsu (n classes) and adaptive (mean / Gaussian).

Each works on one channel (luminance by default) after an optional Gaussian blur; foreground is
the bright side unless ``invert``. Pure: numpy, OpenCV, scikit-image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import CHANNELS, channel, smooth
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register

_CHANNEL_HELP = "Image channel to threshold (luminance, R/G/B, HSV or Lab plane)."


@dataclass(frozen=True)
class ManualThresholdParams:
    level: int = param(128, "Level", "Pixels above this value are foreground.", min=0, max=255, step=1)
    channel: str = param("luminance", "Channel", _CHANNEL_HELP, choices=CHANNELS)
    blur_sigma: float = param(0.0, "Blur σ", "Gaussian blur before thresholding (px).", min=0, max=20, step=0.5)
    invert: bool = param(False, "Invert", "Dark pixels are foreground.")


@dataclass(frozen=True)
class OtsuParams:
    channel: str = param("luminance", "Channel", _CHANNEL_HELP, choices=CHANNELS)
    blur_sigma: float = param(1.0, "Blur σ", "Gaussian blur before thresholding (px); helps on noise.",
                              min=0, max=20, step=0.5)
    invert: bool = param(False, "Invert", "Dark pixels are foreground.")


@dataclass(frozen=True)
class MultiOtsuParams:
    classes: int = param(3, "Classes", "Number of intensity classes (value 0 = darkest).", min=2, max=5, step=1)
    channel: str = param("luminance", "Channel", _CHANNEL_HELP, choices=CHANNELS)
    blur_sigma: float = param(1.0, "Blur σ", "Gaussian blur before thresholding (px).", min=0, max=20, step=0.5)


@dataclass(frozen=True)
class AdaptiveParams:
    method: str = param("gaussian", "Method", "Local mean or Gaussian-weighted mean.", choices=("mean", "gaussian"))
    block_size: int = param(51, "Block size", "Neighbourhood size in pixels (odd).", min=3, max=1001, step=2, odd=True)
    c: float = param(5.0, "C", "Constant subtracted from the local mean.", min=-100, max=100, step=1)
    channel: str = param("luminance", "Channel", _CHANNEL_HELP, choices=CHANNELS)
    blur_sigma: float = param(0.0, "Blur σ", "Gaussian blur before thresholding (px).", min=0, max=20, step=0.5)
    invert: bool = param(False, "Invert", "Dark pixels (below the local mean) are foreground.")


def _gray(image: np.ndarray, name: str, sigma: float) -> np.ndarray:
    return smooth(channel(image, name), sigma)


@register("threshold", ManualThresholdParams, "Threshold (manual)", "threshold")
def manual_threshold(image: np.ndarray, prompt: Prompt, params: ManualThresholdParams) -> np.ndarray:
    """Global threshold at a chosen level."""
    gray = _gray(image, params.channel, params.blur_sigma)
    kind = cv2.THRESH_BINARY_INV if params.invert else cv2.THRESH_BINARY
    # THRESH_BINARY keeps > level; the inverse keeps <= level
    _, out = cv2.threshold(gray, params.level, 1, kind)
    return out   # uint8 0/1: run_method gives int32 unless the caller asks for the native type


@register("otsu", OtsuParams, "Otsu threshold", "threshold")
def otsu(image: np.ndarray, prompt: Prompt, params: OtsuParams) -> np.ndarray:
    """Global threshold chosen by Otsu's method (maximises between-class variance)."""
    gray = _gray(image, params.channel, params.blur_sigma)
    kind = (cv2.THRESH_BINARY_INV if params.invert else cv2.THRESH_BINARY) | cv2.THRESH_OTSU
    _, out = cv2.threshold(gray, 0, 1, kind)
    return out   # uint8 0/1: run_method gives int32 unless the caller asks for the native type


@register("multi_otsu", MultiOtsuParams, "Multi-Otsu (n classes)", "threshold", output="classes")
def multi_otsu(image: np.ndarray, prompt: Prompt, params: MultiOtsuParams) -> np.ndarray:
    """n intensity classes by multi-level Otsu; value 0 is the darkest class."""
    from skimage.filters import threshold_multiotsu

    gray = _gray(image, params.channel, params.blur_sigma)
    hist = np.bincount(gray.ravel(), minlength=256)
    if np.count_nonzero(hist) < params.classes:
        return np.zeros(gray.shape, np.int32)   # fewer grey levels than classes: nothing to split
    # computing on the histogram avoids a pass over all pixels inside scikit-image; it must be the
    # histogram scikit-image makes from the image (its min..max, normalised): raw counts or empty
    # end bins change its float32 sums enough to move a threshold by one grey level
    nz = np.flatnonzero(hist)
    lo, hi = int(nz[0]), int(nz[-1])
    part = hist[lo:hi + 1]
    thresholds = threshold_multiotsu(hist=(part / part.sum(), np.arange(lo, hi + 1)), classes=params.classes)
    # same classes as scikit-image's np.digitize(gray, thresholds): v >= t goes up a class
    lut = np.searchsorted(thresholds, np.arange(256), side="right").astype(np.uint8)
    return cv2.LUT(gray, lut)


@register("adaptive", AdaptiveParams, "Adaptive threshold", "threshold")
def adaptive(image: np.ndarray, prompt: Prompt, params: AdaptiveParams) -> np.ndarray:
    """Threshold against the local (mean or Gaussian) neighbourhood average minus C."""
    gray = _gray(image, params.channel, params.blur_sigma)
    method = cv2.ADAPTIVE_THRESH_MEAN_C if params.method == "mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
    kind = cv2.THRESH_BINARY_INV if params.invert else cv2.THRESH_BINARY
    block = min(params.block_size, (min(gray.shape) // 2) * 2 + 1)   # OpenCV needs block ≤ image
    out = cv2.adaptiveThreshold(gray, 1, method, kind, max(3, block), params.c)
    return out   # uint8 0/1: run_method gives int32 unless the caller asks for the native type
