"""From a label map to editable shapes, and the batch job that pre-annotates many images.

:func:`label_map_shapes` turns a method's label map into shapes of the chosen class: one
polygon per connected piece of every region value (a piece with holes becomes a mask shape,
so holes survive), or one mask shape (``mode="mask"``). Each value is converted inside its own
bounding box, so thousands of small regions (superpixels) stay cheap on big images.
:func:`batch_segment` is a job (generator yielding Progress) that runs a method on a list of
images and returns their shapes — it never touches a project; the caller applies the result.

Pure: numpy, scipy.ndimage, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from segstudio.algorithms.registry import Prompt, get_method, run_method
from segstudio.core.jobs import Job, Progress
from segstudio.core.model import Shape
from segstudio.core.rasterize import mask_to_shapes

log = logging.getLogger(__name__)

MODES = ("polygon", "mask")


@dataclass(frozen=True)
class ApplyOptions:
    """How a label map becomes shapes."""

    label: str = "object"
    mode: str = "polygon"          # polygon | mask
    tolerance: float = 0.5         # polygon simplification (px); the ring is inscribed, keep it small
    min_area: float = 10.0         # pieces smaller than this (px) are dropped
    class_names: tuple[str, ...] = ()   # value v → class_names[v - 1] (else ``label``)

    def name_for(self, value: int) -> str:
        if 0 < value <= len(self.class_names) and self.class_names[value - 1]:
            return self.class_names[value - 1]
        return self.label


def _offset(shape: Shape, x0: int, y0: int, height: int, width: int) -> Shape:
    if shape.shape_type == "mask" and shape.mask is not None:
        full = np.zeros((height, width), bool)
        h, w = shape.mask.shape
        full[y0:y0 + h, x0:x0 + w] = shape.mask
        shape.mask = full
    else:
        shape.points = shape.points + np.array([x0, y0], dtype=np.float64)
    return shape


def label_map_shapes(label_map: np.ndarray, options: ApplyOptions) -> list[Shape]:
    """Shapes for every non-zero value of ``label_map`` (see the module docstring)."""
    if options.mode not in MODES:
        raise ValueError(f"unknown conversion mode {options.mode!r} (polygon or mask)")
    lm = np.asarray(label_map)
    if lm.ndim != 2:
        raise ValueError(f"a label map must be 2-D, got shape {lm.shape}")
    height, width = lm.shape
    if lm.min(initial=0) < 0:
        raise ValueError("a label map must not contain negative values")
    if options.mode == "mask":
        # one mask layer per class name (the brush's per-class layer)
        shapes: list[Shape] = []
        by_name: dict[str, list[int]] = {}
        for v in np.unique(lm):
            if v:
                by_name.setdefault(options.name_for(int(v)), []).append(int(v))
        for name, values in by_name.items():
            m = np.isin(lm, values) if len(values) > 1 else lm == values[0]
            shapes += mask_to_shapes(m, name, "mask", options.tolerance, options.min_area)
        return shapes
    lm = lm.astype(np.int32, copy=False)
    shapes = []
    for i, sl in enumerate(ndimage.find_objects(lm), start=1):
        if sl is None:
            continue
        ys, xs = sl
        if (ys.stop - ys.start) * (xs.stop - xs.start) < options.min_area:
            continue
        crop = lm[sl] == i
        for s in mask_to_shapes(crop, options.name_for(i), "polygon", options.tolerance, options.min_area):
            shapes.append(_offset(s, xs.start, ys.start, height, width))
    return shapes


def segment_to_shapes(method: str, image_rgb8: np.ndarray, prompt: Prompt | None, params: Any,
                      options: ApplyOptions) -> list[Shape]:
    """Runs ``method`` and converts its label map — the app's whole path for one image."""
    return label_map_shapes(run_method(method, image_rgb8, prompt, params), options)


@dataclass
class BatchResult:
    shapes: dict[str, list[Shape]] = field(default_factory=dict)   # key → shapes
    errors: dict[str, str] = field(default_factory=dict)           # key → message


def batch_segment(items: Sequence[tuple[str, Any]], load: Callable[[Any], np.ndarray], method: str,
                  params: Any, options: ApplyOptions, keep_results: bool = True) -> Job[BatchResult]:
    """Segments every ``(key, source)`` in ``items``; ``load(source)`` returns the rgb8 image.

    Yields one Progress per image with ``data={"key", "shapes"}`` or ``{"key", "error"}`` so a
    caller can apply (or write) results as they come; returns a :class:`BatchResult` (with the
    shapes only if ``keep_results``). A failing image is recorded and the batch goes on.
    """
    spec = get_method(method)
    if spec.needs != "none":
        raise ValueError(f"method {method!r} needs {spec.needs} prompts and cannot run in a batch")
    if params is None or isinstance(params, dict):
        params = spec.make_params(params)
    result = BatchResult()
    total = len(items)
    yield Progress(0, total, f"{method}: starting")
    for n, (key, source) in enumerate(items, start=1):
        try:
            image = load(source)
            shapes = segment_to_shapes(method, image, None, params, options)
        except Exception as exc:   # one bad image must not stop the batch
            msg = str(exc) if str(source) in str(exc) else f"{source}: {exc}"
            log.info("segment failed: %s", msg)
            result.errors[key] = msg
            yield Progress(n, total, f"failed: {source}", {"key": key, "error": msg})
            continue
        if keep_results:
            result.shapes[key] = shapes
        yield Progress(n, total, str(source), {"key": key, "shapes": shapes})
    return result
