"""Synthetic images with known ground truth, for tests, benchmarks and demos.

Deterministic for a given seed. Pure: numpy + OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np


def two_tone_shapes(height: int = 128, width: int = 128, noise: float = 25.0,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bright ellipses/rectangles on a dark background plus Gaussian noise → (rgb8, gt bool)."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((height, width), np.uint8)
    s = min(height, width)
    cv2.ellipse(gt, (width // 3, height // 3), (s // 6, s // 9), 30, 0, 360, 1, -1)
    cv2.rectangle(gt, (width // 2, height // 2), (width // 2 + s // 4, height // 2 + s // 5), 1, -1)
    cv2.circle(gt, (width // 4, 3 * height // 4), s // 10, 1, -1)
    base = np.where(gt[..., None] > 0, np.array([200, 180, 160]), np.array([60, 70, 80])).astype(np.float64)
    img = base + rng.normal(0, noise, base.shape)
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool)


def touching_disks(height: int = 128, width: int = 160, *, radius: int = 30, noise: float = 10.0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping bright disks (centres 1.6 r apart) → (rgb8, instance map 0/1/2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    cy = height // 2
    c1, c2 = width // 2 - int(0.8 * radius), width // 2 + int(0.8 * radius)
    d1 = np.hypot(xx - c1, yy - cy)
    d2 = np.hypot(xx - c2, yy - cy)
    inst = np.zeros((height, width), np.int32)
    inst[(d1 <= radius) & (d1 <= d2)] = 1
    inst[(d2 <= radius) & (d2 < d1)] = 2
    img = np.where(inst[..., None] > 0, 210.0, 40.0) + rng.normal(0, noise, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8), inst


def _texture(height: int, width: int, colors: np.ndarray, rng: np.random.Generator, *,
             cell: int) -> np.ndarray:
    """A blotchy texture mixing ``colors`` (K, 3) at cell scale, plus fine noise."""
    k = len(colors)
    gh, gw = height // cell + 2, width // cell + 2
    choice = rng.integers(0, k, (gh, gw))
    coarse = colors[choice].astype(np.float32)
    tex = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    tex = tex + rng.normal(0, 18, tex.shape)
    return tex


def textured_object(height: int = 128, width: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                                                   tuple[int, int, int, int]]:
    """A textured blob (warm colours) on a textured background (cool colours) → (rgb8, gt, box).

    The box is the object's bounding box plus a margin of ~6 % of the image, as a user draws it.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    ang = np.arctan2(yy - cy, xx - cx)
    r0 = min(height, width) * rng.uniform(0.22, 0.3)
    wobble = 1 + 0.18 * np.sin(3 * ang + rng.uniform(0, 6)) + 0.08 * np.sin(5 * ang + rng.uniform(0, 6))
    gt = np.hypot(xx - cx, yy - cy) <= r0 * wobble
    cell = max(4, min(height, width) // 16)
    fg = _texture(height, width, np.array([[190, 100, 60], [210, 150, 80], [150, 70, 60], [125, 135, 115]]),
                  rng, cell=cell)
    bg = _texture(height, width, np.array([[40, 110, 60], [70, 90, 160], [120, 140, 120]]), rng, cell=cell)
    img = np.where(gt[..., None], fg, bg)
    ys, xs = np.nonzero(gt)
    m = int(0.06 * min(height, width))
    box = (max(0, xs.min() - m), max(0, ys.min() - m), min(width, xs.max() + 1 + m), min(height, ys.max() + 1 + m))
    return np.clip(img, 0, 255).astype(np.uint8), gt, box


def photo_like_object(height: int = 240, width: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                                                   tuple[int, int, int, int]]:
    """A street-photo-like scene → (rgb8, gt, box): smooth shading, cluttered bars and disks of
    many colours with strong edges, and a low-contrast textured ellipse half-blended into what
    lies under it, so its colours also occur around it. Box: the bbox plus 10 % (≥ 4 px)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32) + (110 + 40 * yy / height)[..., None]
    for _ in range(60):
        c = rng.uniform(40, 220, 3).tolist()
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(5, 60)), y0 + int(rng.integers(3, 20))), c, -1)
        else:
            cv2.circle(img, (x0, y0), int(rng.integers(3, 18)), c, -1)
    cx, cy, ax, ay = 0.53 * width, 0.52 * height, 0.22 * width, 0.21 * height
    gt = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1
    obj = np.array([150, 125, 105], np.float32) + 25 * np.sin(xx / 5)[..., None] * np.array([1, 0.8, 0.6])
    img[gt] = 0.5 * img[gt] + 0.5 * obj[gt]
    img += rng.normal(0, 12, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    ys, xs = np.nonzero(gt)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    mx, my = max(4, round(0.1 * (x1 - x0))), max(4, round(0.1 * (y1 - y0)))
    box = (max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my))
    return np.clip(img, 0, 255).astype(np.uint8), gt, box


def color_blobs(height: int = 128, width: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three flat-coloured regions (grey background, red disk, blue square) plus noise → (rgb8, class map 0..2)."""
    rng = np.random.default_rng(seed)
    cls = np.zeros((height, width), np.int32)
    s = min(height, width)
    cv2.circle(cls, (width // 3, height // 3), s // 5, 1, -1)
    cv2.rectangle(cls, (width // 2, height // 2), (width // 2 + s // 3, height // 2 + s // 3), 2, -1)
    colors = np.array([[128, 128, 128], [200, 40, 40], [40, 60, 200]], np.float64)
    img = colors[cls] + rng.normal(0, 10, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8), cls


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def cross_and_frame_scribbles(gt: np.ndarray, arm: int, thickness: int, margin: int):
    """A person's scribbles for ``gt``: a foreground cross of half-length ``arm`` at the object's
    centroid and a background frame ``margin`` px inside the image border."""
    from segstudio.algorithms.registry import Prompt

    fg = np.zeros(gt.shape, np.uint8)
    bg = np.zeros(gt.shape, np.uint8)
    ys, xs = np.nonzero(gt)
    cy, cx = int(ys.mean()), int(xs.mean())
    cv2.line(fg, (cx - arm, cy), (cx + arm, cy), 1, thickness)
    cv2.line(fg, (cx, cy - arm), (cx, cy + arm), 1, thickness)
    h, w = gt.shape
    cv2.rectangle(bg, (margin, margin), (w - 1 - margin, h - 1 - margin), 1, thickness)
    return Prompt(fg_scribble=fg.astype(bool), bg_scribble=bg.astype(bool))


def default_prompt(needs: str, height: int, width: int):
    """A plausible prompt for a method needing ``needs`` (see registry.NEEDS) on an image of this
    size: a centred box, a centre click, a centre stroke vs. top/bottom strokes, or 4 anchors."""
    from segstudio.algorithms.registry import Prompt

    cy, cx = height // 2, width // 2
    if needs in ("box", "box_or_scribbles"):
        return Prompt(box=(width * 0.2, height * 0.2, width * 0.8, height * 0.8))
    if needs == "seed":
        return Prompt(fg_points=[(cx, cy)])
    if needs == "scribbles":
        fg = np.zeros((height, width), bool)
        fg[cy - 2:cy + 3, max(0, cx - 10):cx + 10] = True
        bg = np.zeros((height, width), bool)
        bg[1:3, :] = True
        bg[-3:-1, :] = True
        return Prompt(fg_scribble=fg, bg_scribble=bg)
    if needs == "anchors":
        r = min(height, width) * 0.3
        return Prompt(fg_points=[(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)])
    return Prompt()
