"""ProblemBanner: one non-modal summary above the canvas of the files in the open folder that
cannot be read ("2 files cannot be read …", each named with its problem), with a close button.

It replaces a popup per file: a folder with broken files opens on its first readable image and
says once what is wrong. Closed, it stays closed until a file it did not list turns out bad.

May import: PySide6.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

SHOWN = 5   # problems listed in the banner itself; all of them are in its tooltip


class ProblemBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProblemBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#ProblemBanner { background: #fff3cd; color: #533f03; }")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("ProblemBannerClose")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide this message (the files stay marked red in Images)")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._shown: set[str] = set()      # the problems listed now
        self._dismissed: set[str] = set()  # the problems listed when the user closed the banner
        self.hide()

    def above(self, widget: QWidget) -> QWidget:
        """A container with this banner above ``widget`` (the window's central widget)."""
        box = QWidget(self.parentWidget())
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self)
        lay.addWidget(widget, 1)
        return box

    @staticmethod
    def summary(problems: dict[str, str]) -> str:
        n = len(problems)
        head = (f"{n} file{'s' if n != 1 else ''} in this folder cannot be read and "
                f"{'are' if n != 1 else 'is'} skipped (red in Images); the rest is open:")
        lines = [f"• {msg}" if Path(key).name in msg else f"• {Path(key).name}: {msg}"
                 for key, msg in list(problems.items())[:SHOWN]]
        if n > SHOWN:
            lines.append(f"… and {n - SHOWN} more (hover for the full list)")
        return "\n".join([head, *lines])

    def set_problems(self, problems: dict[str, str]) -> None:
        keys = set(problems)
        if not keys:
            self.reset()
            return
        self.label.setText(self.summary(problems))
        self.setToolTip("\n".join(problems.values()))
        self._shown = keys
        if not keys <= self._dismissed:   # something the user has not seen yet
            self.show()

    def reset(self) -> None:
        """Another folder: what was closed for the last one counts no more."""
        self._shown, self._dismissed = set(), set()
        self.hide()

    def dismiss(self) -> None:
        self._dismissed |= self._shown
        self.hide()
