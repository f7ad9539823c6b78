"""Prediction → editable shapes: per class, optionally a class subset, a confidence threshold
and a region of interest; polygons (simplified, minimum area) or mask shapes.

Pure-ish: numpy + segstudio.core (no torch, so the GUI and tests can use it freely).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, Shape
from segstudio.core.rasterize import mask_to_shapes

EXISTING_MODES = ("merge", "replace", "skip")


@dataclass(frozen=True)
class ShapeOptions:
    """How a label map becomes shapes (also the frozen config handed to workers)."""

    mode: str = "polygon"                   # "polygon" or "mask"
    tolerance: float = 1.0                  # polygon simplification, pixels
    min_area: float = 16.0                  # drop components smaller than this, pixels²
    classes: tuple[str, ...] | None = None  # only these class names (None = all but background)
    min_confidence: float = 0.0             # pixels below this confidence are left out
    roi: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1), half-open, image pixels
    description: str = ""                   # written into each new shape
    flags: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in ("polygon", "mask"):
            raise ValueError(f"unknown shape mode {self.mode!r} (polygon or mask)")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {self.min_confidence}")


def roi_mask(roi: tuple[int, int, int, int] | np.ndarray | None, height: int, width: int) -> np.ndarray | None:
    """A boolean HxW mask for a (x0, y0, x1, y1) box or an existing mask; None = everywhere."""
    if roi is None:
        return None
    if isinstance(roi, np.ndarray) and roi.ndim == 2:
        if roi.shape != (height, width):
            raise ValueError(f"region-of-interest mask is {roi.shape}, image is {(height, width)}")
        return roi.astype(bool)
    x0, y0, x1, y1 = (int(round(v)) for v in roi)
    out = np.zeros((height, width), dtype=bool)
    out[max(0, min(y0, y1)):max(0, max(y0, y1)), max(0, min(x0, x1)):max(0, max(x0, x1))] = True
    return out


def prediction_to_shapes(label_map: np.ndarray, confidence: np.ndarray | None, class_names: Sequence[str],
                         options: ShapeOptions | None = None,
                         roi: np.ndarray | None = None) -> list[Shape]:
    """Shapes for every predicted class value (background and ``__ignore__`` are never shapes).

    ``roi`` (a boolean mask) overrides ``options.roi``. Shapes come class by class in the
    order of ``class_names``.
    """
    opts = options or ShapeOptions()
    h, w = label_map.shape
    keep = np.ones((h, w), dtype=bool)
    region = roi_mask(roi if roi is not None else opts.roi, h, w)
    if region is not None:
        keep &= region
    if confidence is not None and opts.min_confidence > 0:
        keep &= confidence >= opts.min_confidence
    wanted = None if opts.classes is None else set(opts.classes)
    present = set(int(v) for v in np.unique(label_map[keep])) if keep.any() else set()
    shapes: list[Shape] = []
    for value, name in enumerate(class_names):
        if value not in present or name in (BACKGROUND_LABEL, IGNORE_LABEL) or value == 0:
            continue
        if wanted is not None and name not in wanted:
            continue
        mask = (label_map == value) & keep
        new = mask_to_shapes(mask, name, opts.mode, opts.tolerance, opts.min_area,
                             description=opts.description)
        for s in new:
            s.flags = dict(opts.flags)
        shapes += new
    return shapes


def predicted_labels(shapes: Sequence[Shape]) -> set[str]:
    return {s.label for s in shapes}
