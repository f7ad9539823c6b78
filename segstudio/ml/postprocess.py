"""Prediction → editable shapes: per class, optionally a class subset, a confidence threshold
and a region of interest; polygons (simplified, minimum area) or mask shapes.

A thin caller of :mod:`segstudio.core.label_shapes` (the one label map → shapes converter):
here the model's class list (value v → ``class_names[v]``, background first) becomes the
converter's options.

Pure-ish: numpy + segstudio.core (no torch, so the GUI and tests can use it freely).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from segstudio.core.label_shapes import LabelShapeOptions, label_map_to_shapes
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, Shape

EXISTING_MODES = ("merge", "replace", "skip")

#: how a prediction becomes shapes (the one converter's options; ``classes`` keeps a subset)
ShapeOptions = LabelShapeOptions


def prediction_to_shapes(label_map: np.ndarray, confidence: np.ndarray | None, class_names: Sequence[str],
                         options: ShapeOptions | None = None,
                         *, roi: np.ndarray | None = None) -> list[Shape]:
    """Shapes for every predicted class value (background and ``__ignore__`` are never shapes).

    ``roi`` (a boolean mask) overrides ``options.roi``. Shapes come class by class in the
    order of ``class_names``.
    """
    opts = options or ShapeOptions()
    names = list(class_names)
    top = int(np.max(label_map)) if label_map.size else 0
    skip = [v for v, n in enumerate(names) if n in (BACKGROUND_LABEL, IGNORE_LABEL)]
    skip += range(len(names), top + 1)   # values the model has no name for
    opts = replace(opts, class_names=tuple(names[1:]), skip_values=tuple(skip))
    return label_map_to_shapes(label_map, opts, confidence, roi)


def predicted_labels(shapes: Sequence[Shape]) -> set[str]:
    return {s.label for s in shapes}
