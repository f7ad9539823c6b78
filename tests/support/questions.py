"""Answers the "images labelled by a person" question of a batch for real: clicks one of the
box's buttons once it is shown, and records the text the person would read."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


def answer_include_labelled(button_prefix: str) -> list[str]:
    """Clicks the button whose text starts with ``button_prefix`` ("Skip", "Include", "Cancel")
    on the next question box; returns a list that then holds the box's text."""
    seen: list[str] = []

    def poll() -> None:
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "IncludeLabelledQuestion"
                    and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, poll)
            return
        seen.append(box.text())
        button = next(b for b in box.buttons() if b.text().replace("&", "").startswith(button_prefix))
        button.click()

    QTimer.singleShot(0, poll)
    return seen
