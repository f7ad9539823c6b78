"""Region tools: magic wand (flood fill with a colour tolerance) and intelligent scissors.

The magic wand grows a region from the clicked pixel(s) over neighbours whose colour is within
``tolerance`` of the seed (per channel), or selects every such pixel with ``contiguous=False``.
Intelligent scissors (OpenCV's IntelligentScissorsMB live-wire) follow image edges between
consecutive clicks; the closed outline is filled. :class:`LiveWire` (one anchor, a window around
it) is what the canvas tool uses while the pointer moves. Pure: numpy + OpenCV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import fill_holes
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MagicWandParams:
    tolerance: float = param(32.0, "Tolerance", "Largest per-channel colour difference to the seed.",
                             min=0, max=255, step=1)
    connectivity: int = param(8, "Connectivity", "Neighbours a region grows through.", choices=(4, 8))
    contiguous: bool = param(True, "Contiguous", "Only pixels connected to the seed; off = every "
                             "pixel of similar colour.")
    blur_sigma: float = param(0.0, "Blur σ", "Blur before filling (px); helps on noise.", min=0, max=20, step=0.5)
    fill_holes: bool = param(False, "Fill holes", "Fill holes inside the region.")


@dataclass(frozen=True)
class ScissorsParams:
    edge_feature: str = param("zero_crossing", "Edge feature", "Edges the wire snaps to.",
                              choices=("zero_crossing", "canny"))
    canny_low: float = param(32.0, "Canny low", "Canny low threshold (edge feature canny).", min=0, max=1000, step=1)
    canny_high: float = param(100.0, "Canny high", "Canny high threshold (edge feature canny).",
                              min=0, max=1000, step=1)
    gradient_limit: float = param(150.0, "Gradient limit", "Gradient magnitudes above this count the same "
                                  "(0 = no limit).", min=0, max=1000, step=10)
    weight_edge: float = param(0.43, "Edge weight", "Weight of the edge feature.", min=0, max=1, step=0.01)
    weight_direction: float = param(0.14, "Direction weight", "Weight of the gradient direction.",
                                    min=0, max=1, step=0.01)
    weight_magnitude: float = param(0.43, "Magnitude weight", "Weight of the gradient magnitude.",
                                    min=0, max=1, step=0.01)

    def check(self) -> str | None:
        if self.weight_edge + self.weight_direction + self.weight_magnitude <= 0:
            return "the three weights must not all be 0"
        return None


def wand_mask(image: np.ndarray, seeds: list[tuple[float, float]], params: MagicWandParams) -> np.ndarray:
    """Boolean region of the magic wand for ``seeds`` (union over seeds)."""
    h, w = image.shape[:2]
    src = image if params.blur_sigma <= 0 else cv2.GaussianBlur(image, (0, 0), params.blur_sigma)
    src = np.ascontiguousarray(src)
    out = np.zeros((h, w), bool)
    tol = (float(params.tolerance),) * 3
    for x, y in seeds:
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h):
            continue
        if params.contiguous:
            m = np.zeros((h + 2, w + 2), np.uint8)
            flags = params.connectivity | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
            cv2.floodFill(src, m, (xi, yi), 0, tol, tol, flags)
            out |= m[1:-1, 1:-1].astype(bool)
        else:
            diff = np.abs(src.astype(np.int16) - src[yi, xi].astype(np.int16)).max(axis=2)
            out |= diff <= params.tolerance
    return fill_holes(out) if params.fill_holes else out


@register("magic_wand", MagicWandParams, "Magic wand", "regions", needs="seed")
def magic_wand(image: np.ndarray, prompt: Prompt, params: MagicWandParams) -> np.ndarray:
    """Flood fill from the clicked pixel(s) within a colour tolerance."""
    return wand_mask(image, list(prompt.fg_points), params).astype(np.int32)


#: half the side of the live-wire window around an anchor (px). OpenCV's applyImage + buildMap
#: cost grows with the area (about 0.1-0.2 s for 640x640 on a 2-core machine, many seconds for a
#: whole 24-megapixel image), so each anchor gets a window; the canvas builds it in a worker.
WIRE_HALF = 320


class LiveWire:
    """Intelligent scissors from one anchor: edge costs and shortest paths in a window around it.

    The window spans ``half`` px around the anchor (more with ``reach``: a point it must also
    contain), clipped to the image. :meth:`path_to` a target inside the window follows edges;
    a target outside gets the path to the nearest window point, then a straight segment.
    Building one costs the cost-map work (do it off the GUI thread on big images); each
    :meth:`path_to` afterwards is a fraction of a millisecond.
    """

    def __init__(self, image: np.ndarray, anchor: tuple[float, float], params: ScissorsParams | None = None,
                 *, half: int | None = None, reach: tuple[float, float] | None = None) -> None:
        p = params or ScissorsParams()
        half = WIRE_HALF if half is None else half
        self.height, self.width = image.shape[:2]
        self.anchor = self._clip(*anchor)
        ax, ay = self.anchor
        hx = hy = half
        if reach is not None:
            rx, ry = self._clip(*reach)
            hx, hy = max(half, abs(rx - ax) + 16), max(half, abs(ry - ay) + 16)
        self.x0, self.y0 = max(0, ax - hx), max(0, ay - hy)
        self.x1, self.y1 = min(self.width, ax + hx + 1), min(self.height, ay + hy + 1)
        crop = image[self.y0:self.y1, self.x0:self.x1]
        self._tool = cv2.segmentation.IntelligentScissorsMB()
        if p.edge_feature == "canny":
            self._tool.setEdgeFeatureCannyParameters(p.canny_low, p.canny_high)
        else:
            self._tool.setEdgeFeatureZeroCrossingParameters()
        self._tool.setGradientMagnitudeMaxLimit(p.gradient_limit)
        self._tool.setWeights(p.weight_edge, p.weight_direction, p.weight_magnitude)
        # a ±1 deterministic dither: on perfectly flat areas OpenCV's cost map has ties that can
        # make getContour fail with "contour loop detected"
        dither = np.random.default_rng(0).integers(-1, 2, crop.shape, dtype=np.int16)
        src = np.clip(crop.astype(np.int16) + dither, 0, 255).astype(np.uint8)
        self._tool.applyImage(np.ascontiguousarray(src[:, :, ::-1]))
        self._tool.buildMap((ax - self.x0, ay - self.y0))

    def _clip(self, x: float, y: float) -> tuple[int, int]:
        return (min(self.width - 1, max(0, int(round(x)))), min(self.height - 1, max(0, int(round(y)))))

    def contains(self, x: float, y: float) -> bool:
        tx, ty = self._clip(x, y)
        return self.x0 <= tx < self.x1 and self.y0 <= ty < self.y1

    def path_to(self, x: float, y: float) -> np.ndarray:
        """(N, 2) int (x, y) path along edges from the anchor to (x, y), anchor first."""
        target = self._clip(x, y)
        inside = (min(self.x1 - 1, max(self.x0, target[0])), min(self.y1 - 1, max(self.y0, target[1])))
        try:
            c = np.asarray(self._tool.getContour((inside[0] - self.x0, inside[1] - self.y0)),
                           dtype=np.int32).reshape(-1, 2) + (self.x0, self.y0)
        except cv2.error as exc:   # rare OpenCV failure: fall back to a straight segment
            log.debug("live wire failed (%s); straight segment instead", exc)
            c = np.empty((0, 2), np.int32)
        if len(c) == 0:
            c = np.array([self.anchor, inside], np.int32)
        elif tuple(c[0]) != self.anchor and tuple(c[-1]) == self.anchor:
            c = c[::-1]
        if inside != target:   # beyond the window: straight on to the target
            c = np.concatenate([c, np.array([target], np.int32)])
        return c.astype(np.int32)


def scissors_outline(image: np.ndarray, anchors: list[tuple[float, float]],
                     params: ScissorsParams) -> np.ndarray:
    """The closed live-wire outline through ``anchors`` (in order), as (N, 2) int points.

    Each segment uses a window around its start anchor (:data:`WIRE_HALF`, grown to reach the
    next anchor), the window the canvas tool shows while the user clicks.
    """
    parts = []
    pts = list(anchors) + [anchors[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        parts.append(LiveWire(image, a, params, reach=b).path_to(*b)[:-1])
    outline = np.concatenate(parts, axis=0)
    if len(outline) < 3:   # degenerate (e.g. a 1-px-wide image): the clicked polygon itself
        outline = np.round(np.asarray(anchors, np.float64)).astype(np.int32)
    return outline.astype(np.int32)


@register("intelligent_scissors", ScissorsParams, "Intelligent scissors", "regions", needs="anchors")
def intelligent_scissors(image: np.ndarray, prompt: Prompt, params: ScissorsParams) -> np.ndarray:
    """Fills the outline traced along edges through the clicks (live-wire)."""
    outline = scissors_outline(image, list(prompt.fg_points), params)
    out = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(out, [outline.reshape(-1, 1, 2)], 1)
    cv2.polylines(out, [outline.reshape(-1, 1, 2)], True, 1)
    return out.astype(np.int32)
