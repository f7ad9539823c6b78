"""A method's label map → editable shapes, and the batch job that pre-annotates many images.

The conversion itself is :mod:`segstudio.core.label_shapes` (the one converter the panel, the
model, the importers and the CLI share); :class:`ApplyOptions` is its options dataclass with
the panel's defaults. :func:`batch_segment` is a job (generator yielding Progress) that runs a
method on a list of images and returns their shapes — it never touches a project; the caller
applies the result.

Pure: numpy, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segstudio.algorithms.registry import Prompt, get_method, run_method, run_method_isolated
from segstudio.core.jobs import Job, Progress
from segstudio.core.label_shapes import MODES, LabelShapeOptions, convert_label_map, label_map_to_shapes
from segstudio.core.model import Shape

__all__ = ["MODES", "ApplyOptions", "BatchResult", "batch_segment", "convert_label_map",
           "label_map_shapes", "segment_to_shapes"]

log = logging.getLogger(__name__)

#: how a method's label map becomes shapes: value v → ``class_names[v - 1]`` (else ``label``)
ApplyOptions = LabelShapeOptions
label_map_shapes = label_map_to_shapes


def segment_to_shapes(method: str, image_rgb8: np.ndarray, prompt: Prompt | None, params: Any,
                      *, options: ApplyOptions, isolate: bool = False) -> list[Shape]:
    """Runs ``method`` and converts its label map — the app's whole path for one image
    (``isolate``: through :func:`run_method_isolated`, as the app does)."""
    run = run_method_isolated if isolate else run_method
    return convert_label_map(run(method, image_rgb8, prompt, params, dtype=None), options)[0]


@dataclass
class BatchResult:
    shapes: dict[str, list[Shape]] = field(default_factory=dict)   # key → shapes
    errors: dict[str, str] = field(default_factory=dict)           # key → message


def batch_segment(items: Sequence[tuple[str, Any]], load: Callable[[Any], np.ndarray], method: str,
                  params: Any, *, options: ApplyOptions, keep_results: bool = True,
                  isolate: bool = False) -> Job[BatchResult]:
    """Segments every ``(key, source)`` in ``items``; ``load(source)`` returns the rgb8 image
    (``isolate``: see :func:`segment_to_shapes`).

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
            shapes = segment_to_shapes(method, image, None, params, options=options, isolate=isolate)
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
