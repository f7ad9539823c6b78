"""Driving the real window as a person does — clicks, drags and keys at image pixels, answering
the label dialog — and reading the result back from disk."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication

from segstudio.ui.dialogs.label_dialog import LabelDialog
from segstudio.ui.main_window import MainWindow


def vp(window: MainWindow, x: float, y: float) -> QPoint:
    """Viewport position of image pixel (x, y)."""
    return window.canvas.mapFromScene(QPointF(x, y))


def click(qtbot, window: MainWindow, x: float, y: float) -> None:
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=vp(window, x, y))


def drag(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:
    view = window.canvas.viewport()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=vp(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(view, vp(window, *p))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=vp(window, *points[-1]))


def key(qtbot, window: MainWindow, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    if QApplication.activeWindow() is not window:   # e.g. right after a modal dialog closed
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.canvas, k, mods)


def answer_label_dialog(text: str, group: str = "") -> list[bool]:
    """Answers the next LabelDialog by typing ``text`` and pressing Enter."""
    done: list[bool] = []

    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, LabelDialog):
            dlg.edit.setText(text)
            dlg.group.setText(group)
            from PySide6.QtTest import QTest
            QTest.keyClick(dlg.edit, Qt.Key.Key_Return)
            done.append(True)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return done


def json_of(folder: Path, name: str) -> dict:
    return json.loads((folder / name).with_suffix(".json").read_text(encoding="utf-8"))


def decode_mask(shape: dict, h: int, w: int) -> np.ndarray:
    (x1, y1), _ = shape["points"]
    crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(shape["mask"])))).astype(bool)
    full = np.zeros((h, w), dtype=bool)
    full[int(y1):int(y1) + crop.shape[0], int(x1):int(x1) + crop.shape[1]] = crop
    return full
