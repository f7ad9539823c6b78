"""Graph cuts: GrabCut (OpenCV), a fast box/scribble max-flow cut, Felzenszwalb and SLIC.

* ``grabcut``: OpenCV's GrabCut from a box, refinable with foreground/background scribbles.
* ``box_cut``: the same energy solved coarse-to-fine (:mod:`maxflow_cut`) — interactive speed.
* ``scribble_cut``: s-t max-flow from fg/bg scribbles or clicks with colour models.
* ``felzenszwalb`` / ``slic``: graph-based regions and superpixels (scikit-image).

Pure: numpy, OpenCV, scikit-image, PyMaxflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.algorithms.common import fill_holes
from segstudio.algorithms.maxflow_cut import CutSettings, graph_cut
from segstudio.algorithms.params import param
from segstudio.algorithms.registry import Prompt, register


@dataclass(frozen=True)
class GrabCutParams:
    iterations: int = param(5, "Iterations", "GrabCut iterations.", min=1, max=20, step=1)
    scribble_radius: int = param(3, "Click radius", "Radius of the seed placed at each click (px).",
                                 min=1, max=50, step=1)


@dataclass(frozen=True)
class FastCutParams:
    # 25, not GrabCut's 50: on real photos (VOC, CamVid) 50 cuts off thin parts more often
    smoothness: float = param(25.0, "Smoothness", "Weight of the contrast-sensitive boundary term (γ).",
                              min=0, max=500, step=5)
    iterations: int = param(4, "Iterations", "Colour-model re-estimations.", min=1, max=20, step=1)
    work_side: int = param(160, "Working size", "Iterations run with the longer side at most this (px); "
                           "the boundary is then refined at full resolution.", min=32, max=4096, step=16)
    components: int = param(5, "Colour components", "Gaussians per colour model.", min=1, max=10, step=1)
    fill_holes: bool = param(False, "Fill holes", "Fill holes inside the result.")
    scribble_radius: int = param(3, "Click radius", "Radius of the seed placed at each click (px).",
                                 min=1, max=50, step=1)


@dataclass(frozen=True)
class ScribbleCutParams:
    smoothness: float = param(50.0, "Smoothness", "Weight of the contrast-sensitive boundary term (γ).",
                              min=0, max=500, step=5)
    iterations: int = param(2, "Iterations", "Colour-model re-estimations.", min=1, max=20, step=1)
    work_side: int = param(160, "Working size", "Iterations run with the longer side at most this (px).",
                           min=32, max=4096, step=16)
    components: int = param(5, "Colour components", "Gaussians per colour model.", min=1, max=10, step=1)
    scribble_radius: int = param(3, "Click radius", "Radius of the seed placed at each click (px).",
                                 min=1, max=50, step=1)


@dataclass(frozen=True)
class FelzenszwalbParams:
    scale: float = param(200.0, "Scale", "Higher means larger regions.", min=1, max=10000, step=10)
    sigma: float = param(0.8, "σ", "Gaussian pre-smoothing (px).", min=0, max=10, step=0.1)
    min_size: int = param(50, "Minimum size", "Regions smaller than this are merged (px).",
                          min=1, max=10**6, step=10)


@dataclass(frozen=True)
class SlicParams:
    n_segments: int = param(200, "Segments", "Approximate number of superpixels.", min=2, max=100000, step=10)
    compactness: float = param(10.0, "Compactness", "Higher gives squarer superpixels.",
                               min=0.01, max=1000, step=1)
    sigma: float = param(1.0, "σ", "Gaussian pre-smoothing (px).", min=0, max=10, step=0.1)


def _box_mask(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = shape
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    m = np.zeros((h, w), bool)
    m[max(0, y0):min(h, y1), max(0, x0):min(w, x1)] = True
    return m


@register("grabcut", GrabCutParams, "GrabCut (OpenCV)", "graphcut", needs="box")
def grabcut(image: np.ndarray, prompt: Prompt, params: GrabCutParams) -> np.ndarray:
    """OpenCV GrabCut from a box; fg/bg scribbles fix pixels to their side."""
    h, w = image.shape[:2]
    assert prompt.box is not None
    fg, bg = prompt.seed_masks(h, w, params.scribble_radius)
    inside = _box_mask((h, w), prompt.box)
    if not (~inside).any():
        # GrabCut needs background pixels: leave a 1-px frame outside
        inside[[0, -1], :] = False
        inside[:, [0, -1]] = False
    mask = np.where(inside, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    mask[fg] = cv2.GC_FGD
    mask[bg] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(image[:, :, ::-1]), mask, None, bgd, fgd, params.iterations,
                cv2.GC_INIT_WITH_MASK)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.int32)


def _settings(p: FastCutParams | ScribbleCutParams) -> CutSettings:
    return CutSettings(smoothness=p.smoothness, iterations=p.iterations, work_side=p.work_side,
                       components=p.components)


@register("box_cut", FastCutParams, "Box graph cut (fast GrabCut)", "graphcut", needs="box_or_scribbles",
          isolate_px=2_000_000)
def box_cut(image: np.ndarray, prompt: Prompt, params: FastCutParams) -> np.ndarray:
    """GrabCut's energy from a box (and scribbles), solved coarse-to-fine with max-flow."""
    h, w = image.shape[:2]
    fg, bg = prompt.seed_masks(h, w, params.scribble_radius)
    if prompt.box is not None:
        inside = _box_mask((h, w), prompt.box)
        if not (~inside).any():
            inside[[0, -1], :] = False
            inside[:, [0, -1]] = False
        bg_hard = (~inside | bg) & ~fg
        seg = graph_cut(image, fg, bg_hard, inside, settings=_settings(params))
    else:
        seg = graph_cut(image, fg, bg & ~fg, fg, settings=_settings(params), model_fg=fg, model_bg=bg)
    if params.fill_holes:
        seg = fill_holes(seg)
    return seg.astype(np.int32)


@register("scribble_cut", ScribbleCutParams, "Scribble graph cut (max-flow)", "graphcut", needs="scribbles",
          isolate_px=2_000_000)
def scribble_cut(image: np.ndarray, prompt: Prompt, params: ScribbleCutParams) -> np.ndarray:
    """s-t max-flow from fg/bg scribbles: colour GMMs from the strokes + contrast edges."""
    h, w = image.shape[:2]
    fg, bg = prompt.seed_masks(h, w, params.scribble_radius)
    bg &= ~fg
    seg = graph_cut(image, fg, bg, fg, settings=_settings(params), model_fg=fg, model_bg=bg)
    return seg.astype(np.int32)


# isolate_px: scikit-image's felzenszwalb holds the GIL 40-80 ms at a stretch (a GUI stall in a
# thread); PyMaxflow's maxflow holds it ~27 ms on 4 Mpixel, ~70 ms on 9 Mpixel (box/scribble cut);
# slic up to ~46 ms on 9 Mpixel (`bench_gui_stall.py --gil`)
@register("felzenszwalb", FelzenszwalbParams, "Felzenszwalb regions", "graphcut", output="regions", isolate_px=1)
def felzenszwalb(image: np.ndarray, prompt: Prompt, params: FelzenszwalbParams) -> np.ndarray:
    """Efficient graph-based segmentation into regions (every pixel belongs to one)."""
    from skimage.segmentation import felzenszwalb as fz

    seg = fz(image, scale=params.scale, sigma=params.sigma, min_size=params.min_size)
    return seg.astype(np.int32) + 1


@register("slic", SlicParams, "SLIC superpixels", "graphcut", output="regions", isolate_px=4_000_000)
def slic(image: np.ndarray, prompt: Prompt, params: SlicParams) -> np.ndarray:
    """SLIC superpixels (k-means in Lab + position), numbered from 1."""
    from skimage.segmentation import slic as sk_slic

    seg = sk_slic(image, n_segments=params.n_segments, compactness=params.compactness,
                  sigma=params.sigma, start_label=1, channel_axis=-1)
    return seg.astype(np.int32)
