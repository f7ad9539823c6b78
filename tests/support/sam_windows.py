"""The real window with the AI polygon tool on the tiny ONNX pair of tests/sam/onnx_graphs.py
(its decoder answers a disk around the prompt), and the gestures and expected masks of the
SAM GUI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from segstudio.sam.download import import_model
from segstudio.ui.main_window import MainWindow
from tests.sam import onnx_graphs as g
from tests.support.windows import open_window

#: size of the images :func:`sam_window` writes
H, W = 240, 320
RADIUS = g.R * W / 1024   # the disk's radius in image pixels (SAM: long side → 1024)


def sam_window(qtbot, tmp_path: Path, monkeypatch, *, images=("a.png", "b.png"),
               **decoder_kw) -> MainWindow:
    """The tiny model imported as "tiny", random images ``images`` (one seeded stream, in order)
    opened in a shown, focused window with the ``sam_tool`` feature, class "cell" selected."""
    monkeypatch.setenv("SEGSTUDIO_SAM_DIR", str(tmp_path / "models"))
    g.model_pair(tmp_path / "export", "sam", **decoder_kw)
    import_model(tmp_path / "export", "tiny", "sam")
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in images:
        Image.fromarray(rng.integers(0, 255, (H, W, 3), np.uint8)).save(folder / name)
    w = open_window(qtbot, folder, features=["sam_tool"])
    w.controller.set_selected_class("cell")
    return w


def feature(w: MainWindow):
    """The window's SamTool feature."""
    return w.features["sam_tool"] if isinstance(w.features, dict) else next(
        f for f in w.features if type(f).__name__ == "SamTool")


def click(qtbot, w: MainWindow, x: float, y: float, button=Qt.MouseButton.LeftButton) -> None:
    pos = w.canvas.mapFromScene(QPointF(x, y))
    qtbot.mouseClick(w.canvas.viewport(), button, pos=pos)


def disk(cx: float, cy: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= RADIUS ** 2
