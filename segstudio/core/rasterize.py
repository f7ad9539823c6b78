"""Shapes ↔ label maps with labelme's semantics — the one rasteriser used by export, training,
evaluation and pre-annotation.

* a polygon is filled including its outline; later shapes paint over earlier ones;
* instances are grouped by ``(label, group_id)`` (a shape without group id is its own instance);
* ``__ignore__`` → ``ignore_value`` (255 in class PNGs), ``_background_`` → 0.

Pure: numpy + shape_kinds (each shape's footprint). No Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from segstudio.core import label_shapes
from segstudio.core.label_shapes import LabelShapeOptions
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, Shape

IGNORE_VALUE = 255


def class_value_map(class_names: Sequence[str], ignore_value: int = IGNORE_VALUE) -> dict[str, int]:
    """labelme's convention: ``_background_`` = 0, then the classes in order; ``__ignore__`` → ignore.

    ``class_names`` may or may not contain ``_background_`` / ``__ignore__`` (labels.txt style).
    """
    names = [n for n in class_names if n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    out = {BACKGROUND_LABEL: 0, IGNORE_LABEL: ignore_value}
    for i, n in enumerate(names, start=1):
        out[n] = i
    return out


def shape_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """Full-image boolean mask of ``shape``."""
    out = np.zeros((height, width), dtype=bool)
    fp = shape.kind.footprint(shape.points, height, width, shape.mask)
    if fp is not None:
        (y0, y1, x0, x1), patch = fp
        out[y0:y1, x0:x1] = patch
    return out


def shapes_to_label(shapes: Iterable[Shape], height: int, width: int, value_of: dict[str, int],
                    *, unknown: str = "error", dtype=np.int32) -> tuple[np.ndarray, np.ndarray]:
    """Class map and instance map (0 = none, 1.. in order of first appearance).

    ``value_of`` maps label → class value (see :func:`class_value_map`). A label not in it
    raises ``KeyError`` (``unknown="error"``) or is skipped (``unknown="skip"``).
    """
    cls = np.zeros((height, width), dtype=dtype)
    ins = np.zeros((height, width), dtype=np.int32)
    # instance key → id; a dict, not a list search, so 20k shapes cost 20k lookups, not 20k²/2
    instances: dict[tuple[str, object], int] = {}
    for s in shapes:
        if s.label not in value_of:
            if unknown == "skip":
                continue
            raise KeyError(f"label {s.label!r} is not in the class list")
        fp = s.kind.footprint(s.points, height, width, s.mask)
        key = (s.label, s.group_id if s.group_id is not None else ("uid", s.uid))
        ident = instances.setdefault(key, len(instances) + 1)
        if fp is None:
            continue
        (y0, y1, x0, x1), patch = fp
        cls[y0:y1, x0:x1][patch] = value_of[s.label]
        ins[y0:y1, x0:x1][patch] = ident
    return cls, ins


def mask_to_shapes(mask: np.ndarray, label: str, mode: str = "polygon", *, tolerance: float = 1.0,
                   min_area: float = 0.0, group_id: int | None = None,
                   description: str = "") -> list[Shape]:
    """Editable shapes for a boolean mask (:func:`segstudio.core.label_shapes.mask_to_shapes`).

    ``mode="polygon"``: one polygon per connected piece; pieces with holes go into one mask
    shape so the holes survive exactly (a polygon cannot carry holes in labelme's format).
    ``mode="mask"``: one mask shape holding every piece at least ``min_area`` large.
    """
    return label_shapes.mask_to_shapes(mask, label, LabelShapeOptions(
        mode, tolerance, min_area, description=description, group_id=group_id))


def label_map_to_shapes(label_map: np.ndarray, class_names: Sequence[str], mode: str = "polygon",
                        *, tolerance: float = 1.0, min_area: float = 0.0,
                        skip_values: Iterable[int] = (0,)) -> list[Shape]:
    """Shapes for every class value in ``label_map`` (value v → ``class_names[v]``; values
    without a name are skipped) — :func:`segstudio.core.label_shapes.label_map_to_shapes`."""
    lm = np.asarray(label_map)
    unnamed = tuple(int(v) for v in np.unique(lm) if v >= len(class_names))
    return label_shapes.label_map_to_shapes(lm, LabelShapeOptions(
        mode, tolerance, min_area, class_names=tuple(class_names[1:]),
        skip_values=tuple(int(v) for v in skip_values) + unnamed))
