"""Model ▸ Show confidence overlay: a heat map over the canvas of where the model is unsure.

Uncertainty is ``1 − p`` of the predicted class, scaled so 0 = certain and 1 = every class
equally likely (``(1 − p) / (1 − 1/C)``; for two classes it equals the margin ``1 − (p₁ − p₂)``
that Label next ranks by). Sure pixels are transparent; unsure ones glow from translucent yellow
to opaque red, so the regions worth a person's look stand out. The map comes from the Model
feature's jobs (auto-segment of the current image, or a prediction made only for the overlay).

May import: PySide6, numpy.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene

_OVERLAY_MAX_PIXELS = 4_000_000   # the overlay is downsampled beyond this


#: opacity where the model is most unsure: the photo and the shapes stay visible under it (at 230
#: a barely trained model, unsure everywhere, hid the whole image — seen under Xvfb)
OVERLAY_MAX_ALPHA = 160


def uncertainty(confidence: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-pixel uncertainty in 0..1 from the predicted class's probability."""
    floor = 1.0 / max(2, num_classes)   # the lowest top probability there can be
    return np.clip((1.0 - confidence) / (1.0 - floor), 0.0, 1.0)


def uncertainty_image(confidence: np.ndarray, num_classes: int) -> tuple[QImage, float]:
    """The heat map (strong red where the model is unsure, clear where it is sure) and the
    scale to show it at."""
    step = 1
    while confidence.size / (step * step) > _OVERLAY_MAX_PIXELS:
        step += 1
    u = uncertainty(confidence[::step, ::step], num_classes)
    h, w = u.shape
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = ((1.0 - u) * 220).astype(np.uint8)   # yellow → red as doubt grows
    rgba[..., 2] = 0
    rgba[..., 3] = (u * OVERLAY_MAX_ALPHA).astype(np.uint8)
    img = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return img, float(step)


class ConfidenceOverlay:
    """The overlay's canvas item, the image it belongs to and the image last computed for."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(60)
        self.item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.item.setVisible(False)
        scene.addItem(self.item)
        self.key: str | None = None     # the image the heat map shows
        self.tried: str | None = None   # the image a map was last asked for (no retry loop on failure)

    def set(self, key: str, confidence: np.ndarray, num_classes: int, visible: bool) -> None:
        img, scale = uncertainty_image(confidence, num_classes)
        self.item.setPixmap(QPixmap.fromImage(img))
        self.item.setScale(scale)
        self.key = key
        self.item.setVisible(visible)

    def follow(self, current_key: str | None, on: bool) -> None:
        """Shown only over its own image; another image's map is dropped."""
        if current_key != self.key:
            self.item.setPixmap(QPixmap())
            self.key = None
        if current_key != self.tried:
            self.tried = None
        self.item.setVisible(on and self.key is not None)

    def wants(self, current_key: str | None) -> bool:
        """Whether a map for ``current_key`` should be computed now."""
        return current_key is not None and current_key not in (self.key, self.tried)
