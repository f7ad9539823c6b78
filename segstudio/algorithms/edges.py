"""Edges turned into regions: Canny → morphological closing → hole filling → components.

The result is regions (instances), not an edge image: closed outlines become filled objects.
Pure: numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import CHANNELS, channel, fill_holes, label_components, smooth
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register


@dataclass(frozen=True)
class CannyRegionsParams:
    low: float = param(50.0, "Low threshold", "Hysteresis low threshold on the gradient.", min=0, max=1000, step=5)
    high: float = param(150.0, "High threshold", "Hysteresis high threshold on the gradient.",
                        min=0, max=1000, step=5)
    sigma: float = param(1.5, "Gaussian σ", "Blur before edge detection (px).", min=0, max=20, step=0.5)
    closing: int = param(2, "Closing radius", "Closes gaps in outlines up to about twice this (px).",
                         min=0, max=50, step=1)
    fill_holes: bool = param(True, "Fill holes", "Fill the inside of closed outlines.")
    min_area: int = param(50, "Minimum area", "Drop regions smaller than this (px).", min=0, max=10**7, step=10)
    channel: str = param("luminance", "Channel", "Channel the edges are detected on.", choices=CHANNELS)

    def check(self) -> str | None:
        if self.low > self.high:
            return f"parameter 'low' ({self.low}) must not exceed 'high' ({self.high})"
        return None


@register("canny_regions", CannyRegionsParams, "Canny edges → regions", "edges", output="regions")
def canny_regions(image: np.ndarray, prompt: Prompt, params: CannyRegionsParams) -> np.ndarray:
    """Regions enclosed by Canny edges (closing + hole filling + connected components)."""
    gray = smooth(channel(image, params.channel), params.sigma)
    edges = cv2.Canny(gray, params.low, params.high, L2gradient=True)
    if params.closing > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * params.closing + 1,) * 2)
        edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, k)
    mask = fill_holes(edges) if params.fill_holes else edges.astype(bool)
    if params.fill_holes and params.closing > 0:
        # the outline was thickened by the closing; an opening of the same size takes that back
        # off thin spurs while keeping filled objects
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * params.closing + 1,) * 2)
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, k).astype(bool)
    return label_components(mask, params.min_area)
