"""The algorithm registry: one signature for every classical segmentation method.

``fn(image_rgb8, prompt, params) -> label map`` where ``image_rgb8`` is HxWx3 uint8 (never
modified), ``prompt`` a :class:`Prompt` (box, clicks, scribbles, region of interest) and
``params`` the method's frozen params dataclass (see :mod:`segstudio.algorithms.params`). The
label map is HxW int32: 0 = background, 1..n = regions (instances) or classes, as the spec's
``output`` says. :func:`run_method` validates the parameters and prompt, crops to the ROI and
pastes the result back, so methods only ever see the region they work on.

Pure: numpy + the family modules (OpenCV, scikit-image, PyMaxflow). No Qt, no torch.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import cv2
import numpy as np

from segstudio.algorithms.params import ParamError, ParamInfo, describe, make_params, validate

FAMILIES = ("threshold", "edges", "watershed", "clustering", "graphcut", "regions")

#: what a method needs from the prompt
NEEDS = {
    "none": "nothing",
    "box": "a box",
    "seed": "a click (foreground point)",
    "scribbles": "foreground and background scribbles or clicks",
    "box_or_scribbles": "a box or foreground and background scribbles",
    "anchors": "at least 3 clicks along the outline",
}
Box = tuple[float, float, float, float]
Stroke = tuple[np.ndarray, float]   # (N, 2) x, y path and its radius (px)


@dataclass
class Prompt:
    """What the user gave besides the image, in image pixel coordinates.

    ``box`` and ``roi`` are ``(x0, y0, x1, y1)`` (x1/y1 exclusive for the ROI); points are
    ``(x, y)``; scribbles are full-image boolean masks (None = none) and/or strokes: ``(path,
    radius)`` with ``path`` an (N, 2) array of (x, y). The canvas sends strokes — a few hundred
    numbers instead of a full-size mask per stroke built on the GUI thread; they are
    rasterised by :meth:`seed_masks`, in the worker, with the brush footprint of
    ``segstudio.core.geometry.stroke_mask``.
    """

    box: Box | None = None
    fg_points: list[tuple[float, float]] = field(default_factory=list)
    bg_points: list[tuple[float, float]] = field(default_factory=list)
    fg_scribble: np.ndarray | None = None
    bg_scribble: np.ndarray | None = None
    roi: Box | None = None
    fg_strokes: list[Stroke] = field(default_factory=list)
    bg_strokes: list[Stroke] = field(default_factory=list)

    def has_fg(self) -> bool:
        return (bool(self.fg_points) or bool(self.fg_strokes)
                or (self.fg_scribble is not None and bool(self.fg_scribble.any())))

    def has_bg(self) -> bool:
        return (bool(self.bg_points) or bool(self.bg_strokes)
                or (self.bg_scribble is not None and bool(self.bg_scribble.any())))

    def seed_masks(self, height: int, width: int, radius: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """(fg, bg) boolean masks: scribbles and strokes plus a small disk at each click."""
        out = []
        for pts, scr, strokes in ((self.fg_points, self.fg_scribble, self.fg_strokes),
                                  (self.bg_points, self.bg_scribble, self.bg_strokes)):
            m = np.zeros((height, width), np.uint8)
            if scr is not None:
                m[np.asarray(scr, dtype=bool)[:height, :width]] = 1
            for path, r in strokes:
                draw_stroke(m, path, r)
            for x, y in pts:
                cv2.circle(m, (int(round(x)), int(round(y))), radius, 1, -1)
            out.append(m.astype(bool))
        return out[0], out[1]

    def cropped(self, x0: int, y0: int, x1: int, y1: int) -> Prompt:
        """The prompt in the coordinates of the crop ``[y0:y1, x0:x1]`` (roi dropped)."""
        def pts(p: list[tuple[float, float]]) -> list[tuple[float, float]]:
            return [(x - x0, y - y0) for x, y in p]

        def crop(m: np.ndarray | None) -> np.ndarray | None:
            return None if m is None else np.asarray(m, dtype=bool)[y0:y1, x0:x1]

        def strokes(items: list[Stroke]) -> list[Stroke]:
            out = []
            for path, r in items:
                # rounded before the shift, as the full-image rasterisation rounds: same pixels
                p = np.round(np.asarray(path, np.float64).reshape(-1, 2)) - (x0, y0)
                lo, hi = p.min(axis=0) - r - 1, p.max(axis=0) + r + 1
                if len(p) and hi[0] >= 0 and hi[1] >= 0 and lo[0] < x1 - x0 and lo[1] < y1 - y0:
                    out.append((p, r))   # strokes wholly outside the crop are dropped
            return out

        box = None
        if self.box is not None:
            bx0, by0, bx1, by1 = self.box
            box = (max(bx0, x0) - x0, max(by0, y0) - y0, min(bx1, x1) - x0, min(by1, y1) - y0)
        return Prompt(box, pts(self.fg_points), pts(self.bg_points), crop(self.fg_scribble),
                      crop(self.bg_scribble), None, strokes(self.fg_strokes), strokes(self.bg_strokes))


def draw_stroke(mask: np.ndarray, path: np.ndarray, radius: float) -> None:
    """Sets the footprint of a brush stroke through ``path`` ((N, 2) x, y) with round tips to 1
    in the uint8 ``mask``, in place — the pixels of ``core.geometry.stroke_mask``.

    Drawn on a canvas around the stroke and then copied: OpenCV clips a thick line at the
    image border before drawing it, which moves border pixels; this way a stroke cropped by a
    region of interest gives exactly the crop of the full-image footprint.
    """
    pts = np.round(np.asarray(path, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    if len(pts) == 0:
        return
    r = max(0, int(round(radius)))
    thickness = max(1, int(round(2 * radius)))
    pad = r + thickness + 2
    (bx0, by0), (bx1, by1) = pts.min(axis=0) - pad, pts.max(axis=0) + pad + 1
    h, w = mask.shape
    cx0, cy0, cx1, cy1 = max(bx0, 0), max(by0, 0), min(bx1, w), min(by1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return   # wholly outside
    canvas = np.zeros((int(by1 - by0), int(bx1 - bx0)), np.uint8)
    local = (pts - (bx0, by0)).astype(np.int32)
    if len(local) == 1:
        cv2.circle(canvas, (int(local[0, 0]), int(local[0, 1])), r, 1, -1)
    else:
        cv2.polylines(canvas, [local.reshape(-1, 1, 2)], False, 1, thickness=thickness, lineType=cv2.LINE_8)
        for x, y in local[[0, -1]]:
            cv2.circle(canvas, (int(x), int(y)), r, 1, -1)
    mask[cy0:cy1, cx0:cx1] |= canvas[cy0 - by0:cy1 - by0, cx0 - bx0:cx1 - bx0]


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    fn: Callable[[np.ndarray, Prompt, Any], np.ndarray]
    params_cls: type
    title: str
    family: str
    needs: str = "none"       # a key of NEEDS
    output: str = "binary"    # binary (0/1) | classes (0..n-1 by value) | regions (instances)
    description: str = ""
    #: the app runs it in a worker process (:func:`run_method_isolated`) when its work area
    #: (ROI, else box, else image; pixels) is at least this (0: never): its library code holds
    #: the GIL for stretches that grow with the area, which in a thread would stall the GUI
    isolate_px: int = 0

    def params_info(self) -> list[ParamInfo]:
        return describe(self.params_cls)

    def make_params(self, values: dict[str, Any] | None = None) -> Any:
        return make_params(self.name, self.params_cls, values)


_REGISTRY: dict[str, AlgorithmSpec] = {}
_loaded = False


def register(name: str, params_cls: type, title: str, family: str, *, needs: str = "none",
             output: str = "binary", description: str = "", isolate_px: int = 0) -> Callable:
    """Decorator registering ``fn(image_rgb8, prompt, params) -> label map`` under ``name``."""
    if needs not in NEEDS:
        raise ValueError(f"unknown prompt requirement {needs!r}")

    def deco(fn: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"algorithm {name!r} is registered twice")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = AlgorithmSpec(name, fn, params_cls, title, family, needs, output, doc, isolate_px)
        return fn

    return deco


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for fam in FAMILIES:
            importlib.import_module(f"segstudio.algorithms.{fam}")
        _loaded = True


def list_methods() -> list[AlgorithmSpec]:
    """Every registered method, by family then registration order."""
    _load_all()
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(_REGISTRY.values(), key=lambda s: order.get(s.family, 99))


def get_method(name: str) -> AlgorithmSpec:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParamError(f"unknown method {name!r} (known: {', '.join(_REGISTRY)})") from None


def check_prompt(spec: AlgorithmSpec, prompt: Prompt) -> None:
    """Raises :class:`ParamError` naming what is missing from the prompt."""
    ok = {
        "none": True,
        "box": prompt.box is not None,
        "seed": bool(prompt.fg_points),
        "scribbles": prompt.has_fg() and prompt.has_bg(),
        "box_or_scribbles": prompt.box is not None or (prompt.has_fg() and prompt.has_bg()),
        "anchors": len(prompt.fg_points) >= 3,
    }[spec.needs]
    if not ok:
        raise ParamError(f"method {spec.name!r} needs {NEEDS[spec.needs]}")
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise ParamError(f"method {spec.name!r}: the box is empty or inverted: {prompt.box}")


def _roi_bounds(roi: Box | None, height: int, width: int) -> tuple[int, int, int, int]:
    if roi is None:
        return 0, 0, width, height
    x0, y0, x1, y1 = (int(round(v)) for v in roi)
    x0, x1 = max(0, min(x0, x1)), min(width, max(x0, x1))
    y0, y1 = max(0, min(y0, y1)), min(height, max(y0, y1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ParamError(f"region of interest {roi} is empty or outside the {width}x{height} image")
    return x0, y0, x1, y1


#: in the app every method runs in the worker process from this work area on: numpy and
#: scikit-image steps on arrays this big stalled the GUI thread 20–70 ms from a worker thread
#: (sampled: watershed's padding and input checks on 81 Mpixel)
HUGE_PX = 40_000_000


def needs_isolation(spec: AlgorithmSpec, hw: tuple[int, ...], prompt: Prompt | None) -> bool:
    """True when ``spec`` runs in a worker process for an image of size ``hw`` and ``prompt``."""
    if len(hw) < 2:
        return False
    limit = min(spec.isolate_px or HUGE_PX, HUGE_PX)
    h, w = int(hw[0]), int(hw[1])
    region = None if prompt is None else (prompt.roi if prompt.roi is not None else prompt.box)
    try:
        x0, y0, x1, y1 = _roi_bounds(region, h, w)
    except ParamError:   # run_method reports it, in this thread
        return False
    return (x1 - x0) * (y1 - y0) >= limit


def run_method_isolated(name: str, image_rgb8: np.ndarray, prompt: Prompt | None = None,
                        params: Any = None, *, dtype: Any = np.int32) -> np.ndarray:
    """:func:`run_method`, in a worker process when the method's ``isolate_px`` says so for
    this work area (see :mod:`segstudio.core.isolated`); in this thread otherwise. Same result."""
    if not needs_isolation(get_method(name), np.shape(image_rgb8)[:2], prompt):
        return run_method(name, image_rgb8, prompt, params, dtype=dtype)
    from segstudio.core.isolated import call_in_process

    return call_in_process(partial(run_method, dtype=dtype), name, image_rgb8, prompt, params)


def run_method(name: str, image_rgb8: np.ndarray, prompt: Prompt | None = None,
               params: Any = None, *, dtype: Any = np.int32) -> np.ndarray:
    """Runs method ``name`` (params: dataclass, dict of values, or None = defaults).

    Returns the full-image HxW int32 label map; outside the ROI it is 0. ``dtype=None`` keeps
    the method's own integer type (uint8 for binary methods): on a 24-megapixel image that
    saves a 96 MB conversion, which the app's own path (label map → shapes) does not need.
    """
    spec = get_method(name)
    if params is None or isinstance(params, dict):
        params = spec.make_params(params)
    elif not isinstance(params, spec.params_cls):
        raise ParamError(f"method {name!r}: params must be {spec.params_cls.__name__}, "
                         f"got {type(params).__name__}")
    else:
        validate(name, params)
    image = np.asarray(image_rgb8)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ParamError(f"method {name!r}: expected an HxWx3 uint8 image, got "
                         f"{image.shape} {image.dtype}")
    prompt = prompt or Prompt()
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _roi_bounds(prompt.roi, h, w)
    if (x0, y0, x1, y1) == (0, 0, w, h):
        sub_prompt = dataclasses.replace(prompt, roi=None)
        check_prompt(spec, sub_prompt)
        return np.asarray(spec.fn(image, sub_prompt, params), dtype=dtype)
    sub_prompt = prompt.cropped(x0, y0, x1, y1)
    check_prompt(spec, sub_prompt)
    sub = np.asarray(spec.fn(np.ascontiguousarray(image[y0:y1, x0:x1]), sub_prompt, params), dtype=dtype)
    out = np.zeros((h, w), sub.dtype)
    out[y0:y1, x0:x1] = sub
    return out
