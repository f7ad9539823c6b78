"""A synthetic segmentation dataset — coloured discs and boxes on textured backgrounds — for
tests, benchmarks and trying the training loop without real data.

Shapes are real :class:`~segstudio.core.model.Shape` polygons (optionally a mask shape and an
``__ignore__`` region) and the pixels are painted from their rasterisation, so the label maps
that training builds from the written labelme files are exactly the painted regions.

May import: numpy, cv2, segstudio.core.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segstudio.core.model import IGNORE_LABEL, LABELLED, ImageAnnotation, Shape
from segstudio.core.rasterize import class_value_map, shape_mask, shapes_to_label

CLASSES = ("_background_", "disc", "box")
_COLOURS = {"disc": (215, 50, 45), "box": (40, 70, 210)}


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    base = rng.uniform(70, 170, 3)
    stripes = 25 * np.sin(xx / rng.uniform(2, 6) + yy / rng.uniform(3, 9) + rng.uniform(0, 6))
    img = base[None, None, :] + stripes[..., None] + rng.normal(0, 10, (h, w, 3))
    return img


def synthetic_image(rng: np.random.Generator, h: int, w: int, n_shapes: int = 3,
                    *, with_mask: bool = False, with_ignore: bool = False) -> tuple[np.ndarray, list[Shape]]:
    """(HxWx3 uint8 image, shapes) with ``n_shapes`` discs/boxes painted where the shapes are."""
    img = _background(rng, h, w)
    shapes: list[Shape] = []
    r_max = max(4, min(h, w) // 5)
    for _ in range(n_shapes):
        label = "disc" if rng.random() < 0.5 else "box"
        r = int(rng.integers(max(3, r_max // 2), r_max + 1))
        cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
        if label == "disc":
            a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
        else:
            pts = np.array([[cx - r, cy - r * 0.6], [cx + r, cy - r * 0.6], [cx + r, cy + r * 0.6],
                            [cx - r, cy + r * 0.6]])
        shapes.append(Shape(label, pts, "polygon"))
    if with_mask:   # a brush-painted blob stored as a mask shape
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, (w // 3, h // 3), (max(2, w // 10), max(2, h // 14)), 30, 0, 360, 1, -1)
        shapes.append(Shape("disc", np.zeros((0, 2)), "mask", mask=m.astype(bool)))
    for s in shapes:
        sel = shape_mask(s, h, w)
        img[sel] = np.array(_COLOURS[s.label]) + rng.normal(0, 12, (int(sel.sum()), 3))
    if with_ignore:   # a region the labeller could not decide: left out of the loss
        shapes.append(Shape(IGNORE_LABEL, np.array([[0, 0], [w // 4, 0], [w // 4, h // 4], [0, h // 4]]),
                            "polygon"))
    return np.clip(img, 0, 255).astype(np.uint8), shapes


def synthetic_samples(n: int, size: int = 64, seed: int = 0):
    """A :class:`~segstudio.ml.data.LoadedData` of ``n`` RGB images (for tests and benchmarks)."""
    from segstudio.ml.data import LoadedData, TrainSample

    rng = np.random.default_rng(seed)
    value_of = class_value_map(list(CLASSES))
    out = []
    for i in range(n):
        img, shapes = synthetic_image(rng, size, size, int(rng.integers(1, 4)))
        lab, _ = shapes_to_label(shapes, size, size, value_of, dtype=np.uint8)
        out.append(TrainSample(img, lab, f"synthetic{i}"))
    return LoadedData(list(CLASSES), out)


def write_synthetic_project(folder: str | Path, n: int, *, size: int = 64, seed: int = 0,
                            mixed: bool = True) -> list[Path]:
    """Writes ``n`` PNGs with labelme JSON sidecars (state "labelled") into ``folder``.

    ``mixed``: every third image is grayscale, sizes vary by up to ±25 %, one image has a mask
    shape and an ``__ignore__`` region. Returns the image paths.
    """
    from segstudio.core.io.labelme import write_labelme

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        h = w = size
        if mixed:
            h, w = (int(size * rng.uniform(0.75, 1.25)) for _ in range(2))
        special = mixed and i == 1
        img, shapes = synthetic_image(rng, h, w, int(rng.integers(1, 4)), with_mask=special,
                                      with_ignore=special)
        gray = mixed and i % 3 == 2
        path = folder / f"img{i:03d}.png"
        if gray:
            cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
        else:
            cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        ann = ImageAnnotation(path.name, w, h, shapes=shapes, state=LABELLED)
        write_labelme(path.with_suffix(".json"), ann)
        paths.append(path)
    return paths
