"""Project folders the tests build on disk (images + labels.txt), shared by every test module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

#: size of the images :func:`make_project` writes
W, H = 160, 120


def make_project(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = (rng.integers(0, 60, (H, W, 3)) + 80).astype(np.uint8)
        img[30:70, 40:100] = (200, 40, 40)
        Image.fromarray(img).save(root / f"img_{i}.png")
    (root / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n", encoding="utf-8")
    return root
