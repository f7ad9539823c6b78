"""The dialog frame the dataset dialogs share: a folder/file row with Browse…, and
:class:`JobDialog` — options above, a progress bar and Cancel below, the core job run through
:func:`segstudio.ui.workers.start_job`, and Close / Open folder at the end.

May import: PySide6, segstudio.core, segstudio.ui.workers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segstudio.core.jobs import Progress
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)


def folder_row(parent: QWidget, line: QLineEdit, title: str, file_ok: bool = False) -> QWidget:
    row = QWidget(parent)
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(line, 1)
    button = QPushButton("Browse…", row)

    def browse() -> None:
        path = QFileDialog.getExistingDirectory(parent, title, line.text() or str(Path.home()))
        if not path and file_ok:
            path, _ = QFileDialog.getOpenFileName(parent, title, line.text() or str(Path.home()))
        if path:
            line.setText(path)

    button.clicked.connect(browse)
    lay.addWidget(button)
    return row


class JobDialog(QDialog):
    """A dialog with a progress bar, Run and Cancel; subclasses provide ``make_job``."""

    run_text = "Run"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.handle: JobHandle | None = None
        self.result: Any = None
        self.form = QFormLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel("", self)
        self.buttons = QDialogButtonBox(self)
        self.run_button = self.buttons.addButton(self.run_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        # after a finished job: Close, and Open folder where the job wrote a folder
        self.open_button = self.buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.hide()
        self.open_button.clicked.connect(self.open_folder)
        self.folder: Path | None = None
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        self.extra = QVBoxLayout()
        lay.addLayout(self.extra)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

    def make_job(self) -> tuple[Any, tuple] | None:   # (gen_fn, args) or None after an error
        raise NotImplementedError

    def start(self) -> None:
        if self.handle is not None and self.handle.is_running:
            return
        try:
            job = self.make_job()
        except (OSError, ValueError) as exc:
            self.window_.show_error(self.windowTitle(), str(exc))
            return
        if job is None:
            return
        gen_fn, args = job
        self.run_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.open_button.hide()
        self.progress.setRange(0, 0)
        self.result = None
        self.handle = start_job(gen_fn, *args, on_progress=self._progress, on_result=self._done,
                                on_error=self._failed, on_finished=self._finished)

    def _progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        self.message.setText(p.message)

    def _done(self, result: Any) -> None:
        self.result = result
        self.on_result(result)
        self.folder = self.result_folder(result)
        self.open_button.setVisible(self.folder is not None)

    def on_result(self, result: Any) -> None:
        pass

    def result_folder(self, result: Any) -> Path | None:
        """The folder the finished job wrote (offered by Open folder); None: nothing to open."""
        return None

    def open_folder(self) -> None:
        if self.folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.message.setText(f"Failed: {exc}")
        self.window_.show_error(self.windowTitle(), str(exc))

    def _finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if self.handle is not None and self.handle.cancelled:
            self.message.setText("Cancelled")
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def cancel_or_close(self) -> None:
        if self.handle is not None and self.handle.is_running:
            self.handle.cancel()
        else:
            self.reject()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.handle is not None and self.handle.is_running:
            self.handle.cancel()
            self.handle.wait(3000)
        super().closeEvent(event)
