"""Image pixels for display: any decoded image (16-bit, float, gray, alpha, multispectral) as
HxWx3 uint8 (:func:`to_rgb8`). Also importable from :mod:`segstudio.core.io.images`.

Pure: numpy. No Qt, no torch.
"""

from __future__ import annotations

import math

import numpy as np


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.unsignedinteger):
        # scale by the bit depth the data fills (12-bit sensors in uint16 are not black),
        # which stays consistent between images of one camera, unlike a min-max stretch
        top = int(arr.max()) if arr.size else 0
        bits = max(8, math.ceil(math.log2(top + 1))) if top > 0 else 8
        if bits == 8:
            return arr.astype(np.uint8)
        return (arr.astype(np.float32) * (255.0 / (2 ** bits - 1)) + 0.5).astype(np.uint8)
    a = arr.astype(np.float32)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, 0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if np.issubdtype(arr.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0   # float images in [0, 1]: keep their absolute brightness
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.clip((a - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)


def to_rgb8(arr: np.ndarray) -> np.ndarray:
    """HxWx3 uint8: gray → 3 channels, gray+alpha / RGBA → colour only, >4 channels → first 3,
    16-bit → scaled by its bit depth, float → [0, 1] or its min–max range."""
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {a.shape}")
    c = a.shape[2]
    if c == 1 or c == 2:
        a = a[:, :, :1]
    elif c >= 3:
        a = a[:, :, :3]
    else:
        raise ValueError("image has no channels")
    a = _scale_to_uint8(a)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)
