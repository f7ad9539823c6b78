"""Regenerates ``resources/sample_project``: small synthetic photos with coloured shapes.

Run from the repository root: ``.venv/bin/python resources/make_sample.py``. Deterministic
(fixed seed). Images are 640×480 JPEG/PNG with textured backgrounds; two images come
with labelme JSONs (one "labelled", one "pre-annotated"), the rest are unlabelled.
Needs numpy + Pillow only, so it runs without the app installed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "sample_project"
W, H = 640, 480
CLASSES = ["disc", "box", "triangle"]
COLORS = {"disc": (214, 60, 50), "box": (40, 110, 200), "triangle": (240, 190, 40)}


def texture(rng: np.random.Generator, base: tuple[int, int, int]) -> Image.Image:
    """A soft, mostly luminance noise + gradient background, like a table top or a field."""
    def blob(cells: int) -> np.ndarray:
        small = rng.normal(0, 1, (max(2, H // cells), max(2, W // cells))).astype(np.float32)
        return np.asarray(Image.fromarray(small, mode="F").resize((W, H), Image.BICUBIC))

    lum = 0.6 * blob(60) + 0.3 * blob(16) + 0.1 * rng.normal(0, 1, (H, W))
    yy, xx = np.mgrid[0:H, 0:W]
    grad = 0.75 + 0.25 * (xx / W) * (1 - yy / H)
    out = np.array(base, np.float32)[None, None, :] * grad[..., None] + 18 * lum[..., None]
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def polygon_of(kind: str, cx: float, cy: float, r: float, angle: float) -> list[list[float]]:
    if kind == "disc":
        n = 24
        return [[cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)]
                for i in range(n)]
    n = 4 if kind == "box" else 3
    return [[cx + r * math.cos(angle + 2 * math.pi * i / n), cy + r * math.sin(angle + 2 * math.pi * i / n)]
            for i in range(n)]


def make_image(rng: np.random.Generator, n_shapes: int) -> tuple[Image.Image, list[dict]]:
    base = tuple(int(v) for v in rng.integers(90, 200, 3))
    img = texture(rng, base)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(img)
    shapes: list[dict] = []
    placed: list[tuple[float, float, float]] = []
    while len(shapes) < n_shapes:
        kind = CLASSES[int(rng.integers(0, len(CLASSES)))]
        r = float(rng.uniform(35, 80))
        cx, cy = float(rng.uniform(r + 5, W - r - 5)), float(rng.uniform(r + 5, H - r - 5))
        if any(math.hypot(cx - x, cy - y) < r + rr + 10 for x, y, rr in placed):
            continue
        placed.append((cx, cy, r))
        pts = polygon_of(kind, cx, cy, r, float(rng.uniform(0, math.pi)))
        color = np.array(COLORS[kind]) + rng.integers(-25, 25, 3)
        # a darker rim and a highlight make the objects look less flat
        draw.polygon([tuple(p) for p in pts], fill=tuple(int(c) for c in color),
                     outline=tuple(int(c * 0.6) for c in color), width=3)
        hx, hy = cx - r * 0.3, cy - r * 0.3
        draw.ellipse([hx - r * 0.15, hy - r * 0.15, hx + r * 0.15, hy + r * 0.15],
                     fill=tuple(int(min(255, c + 50)) for c in color))
        shapes.append({"label": kind, "points": [[round(x, 1), round(y, 1)] for x, y in pts],
                       "group_id": None, "description": "", "shape_type": "polygon", "flags": {},
                       "mask": None})
    return img.filter(ImageFilter.GaussianBlur(0.8)), shapes


def labelme(image_name: str, shapes: list[dict], state: str | None) -> dict:
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_name,
           "imageData": None, "imageHeight": H, "imageWidth": W}
    if state:
        doc["segstudio"] = {"state": state}
    return doc


def main() -> None:
    rng = np.random.default_rng(20240611)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    specs = [("shapes_01.jpg", 4, "labelled"), ("shapes_02.jpg", 3, "pre-annotated"),
             ("shapes_03.jpg", 5, None), ("shapes_04.png", 3, None), ("shapes_05.jpg", 4, None)]
    for name, n, state in specs:
        img, shapes = make_image(rng, n)
        path = OUT / name
        if name.endswith(".png"):
            img.quantize(64).save(path, optimize=True)
        else:
            img.save(path, quality=85)
        if state == "labelled":
            out = shapes
        elif state == "pre-annotated":
            # a rough "model" guess: the first shapes only, with jittered outlines
            out = [dict(s, points=[[round(x + rng.normal(0, 2), 1), round(y + rng.normal(0, 2), 1)]
                                   for x, y in s["points"]]) for s in shapes[:-1]]
        else:
            continue
        (OUT / name).with_suffix(".json").write_text(
            json.dumps(labelme(name, out, state), indent=2) + "\n", encoding="utf-8")
    (OUT / "labels.txt").write_text("\n".join(["__ignore__", "_background_", *CLASSES]) + "\n",
                                    encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
