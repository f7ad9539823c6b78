"""The status bar's permanent fields: current tool, image position ("3 / 40"), cursor position
with the pixel's stored values, and zoom.

May import: PySide6, numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtWidgets import QLabel, QStatusBar


def pixel_text(value: np.ndarray) -> str:
    """One pixel's values for the status bar: integers as they are, floats to 4 digits."""
    v = np.atleast_1d(value)
    items = [f"{float(c):.4g}" if v.dtype.kind == "f" else str(int(c)) for c in v[:8]]
    return ", ".join(items) + (", …" if len(v) > 8 else "")


class StatusFields:
    def __init__(self, bar: QStatusBar, raw_image: Callable[[], np.ndarray | None]) -> None:
        self._raw_image = raw_image
        self.tool_label, self.position_label = QLabel(), QLabel()
        self.cursor_label, self.zoom_label = QLabel(), QLabel()
        for w in (self.tool_label, self.position_label, self.cursor_label, self.zoom_label):
            w.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(w)

    def set_position(self, index: int, count: int) -> None:
        self.position_label.setText(f"{index + 1} / {count}" if index >= 0 else f"– / {count}")

    def set_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def set_tool(self, name: str) -> None:
        self.tool_label.setText(f"Tool: {name}")

    def cursor_moved(self, x: float, y: float, value: str) -> None:
        raw = self._raw_image()
        if raw is not None:   # the stored values (16-bit, gray, >3 channels), not the display ones
            ix, iy = int(np.floor(x)), int(np.floor(y))
            value = ""
            if 0 <= iy < raw.shape[0] and 0 <= ix < raw.shape[1]:
                value = pixel_text(raw[iy, ix])
        self.cursor_label.setText(f"x {x:.0f}  y {y:.0f}  {value}" if value else "")
