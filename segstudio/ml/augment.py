"""Joint image/label augmentation for training: flips, 90° and small rotations, scale + crop,
colour jitter and noise — applied identically to the image and its label map.

Written with numpy + OpenCV (no torch) so it runs inside DataLoader workers cheaply and is
reproducible: every random choice comes from a ``numpy.random.Generator`` seeded by the caller
from ``(seed, epoch, sample index)``, so the same seed gives the same batches whatever the number
of workers or processes. Label maps are resampled with nearest neighbour; pixels that come from
outside the image (rotation corners, padding) are ``ignore_value`` so they stay out of the loss.

May import: numpy, cv2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.ml.options import AUGMENT_STRENGTHS as STRENGTHS  # UI names → strength in [0, 1]


@dataclass(frozen=True)
class AugmentParams:
    """How hard to augment; every range is scaled by ``strength`` (0 = crop only)."""

    strength: float = 0.65
    hflip: bool = True
    vflip: bool = True          # aerial / microscopy images have no "up"; set False for street scenes
    rot90: bool = True
    max_rotate_deg: float = 20.0
    scale_range: float = 0.35   # scale ∈ [1 - r·s, 1 + r·s]
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue_deg: float = 8.0
    noise_std: float = 8.0      # in 0–255 units

    @classmethod
    def named(cls, name_or_strength: str | float) -> AugmentParams:
        if isinstance(name_or_strength, str):
            if name_or_strength not in STRENGTHS:
                raise ValueError(f"unknown augmentation {name_or_strength!r}; "
                                 f"choose one of {', '.join(STRENGTHS)}")
            return cls(strength=STRENGTHS[name_or_strength])
        return cls(strength=float(name_or_strength))


def pad_to(image: np.ndarray, label: np.ndarray, height: int, width: int,
           *, ignore_value: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """Pads at the bottom/right to at least ``height × width`` (image with 0, label with ignore)."""
    h, w = label.shape
    ph, pw = max(0, height - h), max(0, width - w)
    if ph == 0 and pw == 0:
        return image, label
    image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="constant")
    label = np.pad(label, ((0, ph), (0, pw)), mode="constant", constant_values=ignore_value)
    return image, label


def random_crop(image: np.ndarray, label: np.ndarray, size: int, rng: np.random.Generator,
                *, ignore_value: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """A ``size × size`` crop at a random place (padding first when the image is smaller)."""
    image, label = pad_to(image, label, size, size, ignore_value=ignore_value)
    h, w = label.shape
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    return image[y:y + size, x:x + size], label[y:y + size, x:x + size]


def _geometric(image: np.ndarray, label: np.ndarray, p: AugmentParams, crop: int,
               *, rng: np.random.Generator, ignore_value: int) -> tuple[np.ndarray, np.ndarray]:
    s = p.strength
    scale = 1.0 + rng.uniform(-1, 1) * p.scale_range * s
    angle = rng.uniform(-1, 1) * p.max_rotate_deg * s
    h, w = label.shape
    if abs(scale - 1.0) > 1e-3 or abs(angle) > 0.5:
        # crop a window big enough to hold the rotated/scaled crop first, so big images are not
        # warped whole (the cost stays proportional to the crop size)
        need = int(np.ceil(crop / scale * (abs(np.cos(np.radians(angle))) + abs(np.sin(np.radians(angle))))))
        need = max(need, 8)
        if h > need or w > need:
            y = int(rng.integers(0, max(1, h - need + 1)))
            x = int(rng.integers(0, max(1, w - need + 1)))
            image, label = image[y:y + need, x:x + need], label[y:y + need, x:x + need]
            h, w = label.shape
        out = max(crop, int(round(max(h, w) * scale)))
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
        m[:, 2] += (out / 2.0 - w / 2.0, out / 2.0 - h / 2.0)
        image = cv2.warpAffine(image, m, (out, out), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if image.ndim == 2:
            image = image[:, :, None]
        label = cv2.warpAffine(label, m, (out, out), flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=ignore_value)
    image, label = random_crop(image, label, crop, rng, ignore_value=ignore_value)
    if p.hflip and rng.random() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    if p.vflip and s > 0 and rng.random() < 0.5:
        image, label = image[::-1], label[::-1]
    if p.rot90 and s > 0:
        k = int(rng.integers(0, 4))
        if k:
            image, label = np.rot90(image, k), np.rot90(label, k)
    return image, label


def _photometric(image: np.ndarray, p: AugmentParams, rng: np.random.Generator) -> np.ndarray:
    s = p.strength
    img = image.astype(np.float32)
    b = 1.0 + rng.uniform(-1, 1) * p.brightness * s
    c = 1.0 + rng.uniform(-1, 1) * p.contrast * s
    mean = img.mean()
    img = (img - mean) * c + mean * b
    if img.shape[2] == 3 and (p.saturation > 0 or p.hue_deg > 0):
        gray = img.mean(axis=2, keepdims=True)
        sat = 1.0 + rng.uniform(-1, 1) * p.saturation * s
        img = gray + (img - gray) * sat
        hue = rng.uniform(-1, 1) * p.hue_deg * s
        if abs(hue) > 0.5:
            # rotate the chroma around the grey axis (a cheap hue shift that needs no HSV round trip)
            a = np.radians(hue)
            cos, sin = np.cos(a), np.sin(a)
            k = (1.0 - cos) / 3.0
            sq = np.sqrt(1.0 / 3.0) * sin
            m = np.array([[cos + k, k - sq, k + sq], [k + sq, cos + k, k - sq], [k - sq, k + sq, cos + k]],
                         dtype=np.float32)
            img = img @ m.T
    if p.noise_std > 0 and s > 0 and rng.random() < 0.5:
        img += rng.normal(0.0, p.noise_std * s, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def augment_pair(image: np.ndarray, label: np.ndarray, params: AugmentParams, crop: int,
                 *, rng: np.random.Generator, ignore_value: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """One augmented ``crop × crop`` sample: ``image`` HxWxC uint8, ``label`` HxW uint8.

    The inputs are not modified; the outputs are contiguous arrays.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    if params.strength <= 0:
        img, lab = random_crop(image, label, crop, rng, ignore_value=ignore_value)
    else:
        img, lab = _geometric(image, label, params, crop, rng=rng, ignore_value=ignore_value)
        img = _photometric(np.ascontiguousarray(img), params, rng)
    return np.ascontiguousarray(img), np.ascontiguousarray(lab)
