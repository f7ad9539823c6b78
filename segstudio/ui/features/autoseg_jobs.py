"""Worker-side jobs of the Auto-segment panel: preview, apply, batch loading (no Qt, no widgets).

Each is a generator (see :mod:`segstudio.core.jobs`) that gets frozen inputs — method name,
params dataclass, a Prompt, an image array — and returns plain data; the panel applies results
on the GUI thread. The preview overlay is coloured and downscaled here so the GUI thread only
wraps a small RGBA array in a pixmap.

May import: numpy, OpenCV, segstudio.core, segstudio.algorithms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from segstudio.algorithms.apply import ApplyOptions, convert_label_map
from segstudio.algorithms.registry import Prompt, run_method_isolated
from segstudio.core.edits import AddShapes
from segstudio.core.io.images import to_rgb8
from segstudio.core.jobs import Job, Progress
from segstudio.core.model import Shape, default_color
from segstudio.core.project_io import read_image_or_embedded

OVERLAY_MAX_SIDE = 2048
OVERLAY_ALPHA = 110


def colorize(label_map: np.ndarray, max_side: int = OVERLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """(overlay at most ``max_side`` long, scale of overlay px → image px).

    The overlay is premultiplied BGRA bytes — QImage's ARGB32_Premultiplied on little-endian
    machines — the format QPixmap takes without a conversion pass on the GUI thread.
    """
    h, w = label_map.shape
    s = min(1.0, max_side / max(h, w))
    lm = label_map
    if s < 1.0:
        lm = cv2.resize(label_map.astype(np.int32), (max(1, round(w * s)), max(1, round(h * s))),
                        interpolation=cv2.INTER_NEAREST)
    a = OVERLAY_ALPHA / 255.0
    palette = np.array([(0, 0, 0, 0)] + [(round(b * a), round(g * a), round(r * a), OVERLAY_ALPHA)
                                         for r, g, b in (default_color(i) for i in range(20))], np.uint8)
    idx = np.where(lm > 0, (lm - 1) % 20 + 1, 0)
    return np.ascontiguousarray(palette[idx]), (w / lm.shape[1])


def preview_job(method: str, image: np.ndarray, prompt: Prompt, params: Any) -> Job[dict]:
    """Runs the method; returns {"label_map", "overlay", "scale", "found"} (found: any region)."""
    yield Progress(0, 2, f"{method}…")
    lm = run_method_isolated(method, image, prompt, params, dtype=None)
    yield Progress(1, 2, "colouring")
    overlay, scale = colorize(lm)
    found = bool(cv2.minMaxLoc(overlay[:, :, 3])[1] > 0)   # alpha > 0 where a region is
    yield Progress(2, 2, "done")
    return {"label_map": lm, "overlay": overlay, "scale": scale, "found": found}


def apply_job(method: str, image: np.ndarray | None, prompt: Prompt, params: Any, *, options: ApplyOptions,
              label_map: np.ndarray | None = None) -> Job[tuple[list[Shape], int]]:
    """(shapes, polygons over the limit — see :func:`convert_label_map`) for the image: from
    ``label_map`` when the preview already has it, else runs the method."""
    yield Progress(0, 2, f"{method}…")
    if label_map is None:
        assert image is not None
        label_map = run_method_isolated(method, image, prompt, params, dtype=None)
    yield Progress(1, 2, "shapes")
    shapes, over = convert_label_map(label_map, options)
    yield Progress(2, 2, "done")
    return shapes, over


def apply_edit_job(key: str, text: str, *args: Any, **kwargs: Any) -> Job[tuple[AddShapes | None, int]]:
    """:func:`apply_job` as (one ``AddShapes`` for ``key`` or None when no region qualified,
    polygons over ``max_polygons``), the edit's bookkeeping done here: pushing 10⁴ shapes then
    costs the GUI thread no per-shape pass."""
    shapes, over = yield from apply_job(*args, **kwargs)
    return (AddShapes(key, shapes, None, text).prepare() if shapes else None), over


def call_job(fn: Callable[[], Any]) -> Job[Any]:
    """A job around one call (a prompt tool's slow step, e.g. a live-wire cost map)."""
    yield Progress(0, 1, "")
    return fn()


def load_entry_pixels(source: tuple[str, str]) -> np.ndarray:
    """rgb8 pixels of a batch item ``(image path, annotation path)`` — from the file, else the
    JSON's embedded imageData (read here, in the worker, so the project is never touched)."""
    return to_rgb8(read_image_or_embedded(*source))
