"""Project folders the tests build on disk (images, labelme JSONs, labels.txt), shared by every
test module: parametrised by size and classes rather than copied per module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.io.labelme import write_labelme
from segstudio.core.model import ImageAnnotation

#: size of the images :func:`make_project` writes
W, H = 160, 120


def make_project(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = (rng.integers(0, 60, (H, W, 3)) + 80).astype(np.uint8)
        img[30:70, 40:100] = (200, 40, 40)
        Image.fromarray(img).save(root / f"img_{i}.png")
    write_labels(root, ["cat", "dog"])
    return root


def write_labels(root: Path, classes, *, special: bool = True) -> Path:
    """labels.txt with ``classes`` (after ``__ignore__`` and ``_background_`` when ``special``)."""
    lines = (["__ignore__", "_background_"] if special else []) + list(classes)
    path = root / "labels.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def noise_images(root: Path, names, *, size: tuple[int, int], seed: int = 0) -> Path:
    """Random RGB images ``names`` of ``size`` (width, height), drawn in order from one stream."""
    root.mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(seed)
    for name in names:
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / name)
    return root


def labelled_project(root: Path, shapes_by_name: dict, *, size: tuple[int, int], classes,
                     fill: int = 120) -> Path:
    """One flat gray ``<name>.png`` of ``size`` (width, height) and a labelled ``<name>.json``
    holding its shapes per entry of ``shapes_by_name``, and labels.txt with ``classes``."""
    root.mkdir(parents=True, exist_ok=True)
    w, h = size
    for name, shapes in shapes_by_name.items():
        Image.fromarray(np.full((h, w, 3), fill, np.uint8)).save(root / f"{name}.png")
        write_labelme(root / f"{name}.json", ImageAnnotation(f"{name}.png", w, h, shapes, state="labelled"))
    write_labels(root, classes)
    return root
