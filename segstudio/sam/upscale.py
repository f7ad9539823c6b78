"""Low-resolution mask logits → a full-size mask, computed only where the mask can be positive.

The decoder's mask is 256×256 logits; the old path resized it to the whole image (24 Mpixel:
~0.1–0.9 s a click) and thresholded everything. A bilinear pixel is a convex combination of its
2×2 source neighbours, so it can only be positive next to a positive source pixel: the output
window is the bounding box of the positive source pixels mapped to the output (plus a margin),
and the values inside it are computed with OpenCV's own ``INTER_LINEAR`` coefficients
(``(dx + 0.5) * scale - 0.5`` in double, clamped at the borders, float32 weights), so they are
those of a whole-image ``cv2.resize`` up to float32 rounding (OpenCV's SIMD order of operations
differs by a few ulps: a pixel can differ only where the logit is within ~1e-5 of 0), and
everything outside the window is zero.

Pure: numpy + OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np

from segstudio.sam.families import Family, Frame

MARGIN = 2   # output pixels beyond the mapped bounding box (rounding of the mapping)


def _coeffs(d0: int, d1: int, src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Left source index and right weight of output pixels d0..d1-1, as cv2.resize computes them."""
    scale = 1.0 / (dst / src)                       # cv2: scale_x = 1. / inv_scale_x
    f = (np.arange(d0, d1, dtype=np.float64) + 0.5) * scale - 0.5
    i = np.floor(f).astype(np.int64)
    w = (f - i).astype(np.float32)
    low = i < 0
    i[low], w[low] = 0, 0.0
    high = i >= src - 1
    i[high], w[high] = src - 1, 0.0
    return i, w


def _span(lo: int, hi: int, src: int, dst: int) -> tuple[int, int]:
    """Output range [a, b) whose pixels may read source pixels lo..hi (inclusive)."""
    s = dst / src
    a = int(np.floor((lo - 1 + 0.5) * s - 0.5)) - MARGIN
    b = int(np.ceil((hi + 1 + 0.5) * s - 0.5)) + MARGIN + 1
    return max(0, a), min(dst, b)


def resize_window(m: np.ndarray, size: tuple[int, int], window: tuple[int, int, int, int]) -> np.ndarray:
    """``cv2.resize(m, (w, h), INTER_LINEAR)[y0:y1, x0:x1]`` without computing the rest."""
    h, w = size
    x0, y0, x1, y1 = window
    sh, sw = m.shape
    xi, xw = _coeffs(x0, x1, sw, w)
    yi, yw = _coeffs(y0, y1, sh, h)
    xj = np.minimum(xi + 1, sw - 1)
    rows = np.unique(np.concatenate([yi, np.minimum(yi + 1, sh - 1)]))
    sub = m[rows].astype(np.float32, copy=False)
    horiz = sub[:, xi] * (np.float32(1) - xw) + sub[:, xj] * xw        # the horizontal pass
    pos = {int(r): k for k, r in enumerate(rows)}
    top = horiz[[pos[int(r)] for r in yi]]
    bot = horiz[[pos[int(min(r + 1, sh - 1))] for r in yi]]
    b1 = yw[:, None]
    return top * (np.float32(1) - b1) + bot * b1                       # the vertical pass


def _intermediate(family: Family, frame: Frame, m: np.ndarray) -> np.ndarray:
    """The source of the last resize: SAM's 256 logits go to the padded 1024 frame and are cropped
    to the image part first (cheap, fixed size); SAM 2's stretched frame is resized directly."""
    m = m.astype(np.float32, copy=False)
    if family.frame == "longest_side":
        m = cv2.resize(m, (frame.size, frame.size), interpolation=cv2.INTER_LINEAR)
        m = m[:frame.resized[0], :frame.resized[1]]
    return m


def mask_window(family: Family, frame: Frame, m: np.ndarray
                ) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """(x0, y0, x1, y1) window over the original image and the logits inside it, for one
    decoder mask ``m`` (low-resolution, or already at the original size)."""
    h, w = frame.orig
    if m.shape[-2:] == (h, w):          # the graph upscaled it itself: only a crop is saved
        src, direct = m, True
    else:
        src, direct = _intermediate(family, frame, m), False
    ys, xs = np.nonzero(np.any(src > 0, axis=1)), np.nonzero(np.any(src > 0, axis=0))
    if not len(ys[0]):
        return (0, 0, 0, 0), np.zeros((0, 0), np.float32)
    r0, r1, c0, c1 = ys[0][0], ys[0][-1], xs[0][0], xs[0][-1]
    if direct:
        return (int(c0), int(r0), int(c1) + 1, int(r1) + 1), np.asarray(src[r0:r1 + 1, c0:c1 + 1], np.float32)
    sh, sw = src.shape
    y0, y1 = _span(int(r0), int(r1), sh, h)
    x0, x1 = _span(int(c0), int(c1), sw, w)
    return (x0, y0, x1, y1), resize_window(src, (h, w), (x0, y0, x1, y1))
