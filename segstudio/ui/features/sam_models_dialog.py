"""Model ▸ Segment-Anything models…: the registry (name, family, status, licence, where), Use,
Import… (a file or a folder of ``.onnx`` files copied from another machine) and Download (a
background job with progress and cancel; offline, the clear message from
:mod:`segstudio.sam.download` at once).

May import: PySide6, segstudio.sam, segstudio.ui.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from segstudio.sam.download import download_job, import_model
from segstudio.sam.families import FAMILIES
from segstudio.sam.models import status_rows
from segstudio.ui.workers import JobHandle, start_job

COLUMNS = ("name", "family", "status", "licence", "size", "where")


class SamModelsDialog(QDialog):
    def __init__(self, host: Any, feature: Any) -> None:
        super().__init__(host.widget)
        self.setObjectName("SamModelsDialog")
        self.setWindowTitle("Segment-Anything models")
        self.feature = feature
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        buttons = QHBoxLayout()
        self.use_button = QPushButton("Use")
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.import_file = QPushButton("Import file…")
        self.import_folder = QPushButton("Import folder…")
        close = QPushButton("Close")
        for b in (self.use_button, self.download_button, self.cancel_button, self.import_file,
                  self.import_folder, close):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.use_button.clicked.connect(self.use)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel)
        self.import_file.clicked.connect(lambda: self.import_from(False))
        self.import_folder.clicked.connect(lambda: self.import_from(True))
        close.clicked.connect(self.reject)
        self._job: JobHandle | None = None
        self.resize(820, 360)
        self.refresh()

    def refresh(self) -> None:
        rows = status_rows()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            values = {**r, "size": f"{r['size'] / 1e6:.0f} MB" if r["size"] else ""}
            if r["name"] == self.feature.model_name:
                values["status"] = f"{r['status']} (in use)"
            for j, c in enumerate(COLUMNS):
                self.table.setItem(i, j, QTableWidgetItem(str(values.get(c, ""))))
        self.table.resizeColumnsToContents()

    def selected(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.text() if item is not None else None

    def use(self) -> None:
        name = self.selected()
        if name:
            self.feature.use_model(name)
            self.message.setText(f"The AI tools now use {name}.")
            self.refresh()

    def download(self) -> None:
        name = self.selected()
        if not name or (self._job is not None and self._job.is_running):
            return
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.message.setText(f"Downloading {name}…")
        self._job = start_job(download_job, name, on_progress=self._progressed,
                              on_result=lambda folder: self.message.setText(f"{name}: ready in {folder}"),
                              on_error=lambda exc, tb: self.message.setText(str(exc)),
                              on_finished=self._finished)

    def _progressed(self, p: Any) -> None:
        if getattr(p, "total", 0):
            self.progress.setMaximum(int(p.total))
            self.progress.setValue(int(p.done))

    def _finished(self) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setVisible(False)
        self.refresh()

    def cancel(self) -> None:
        if self._job is not None and self._job.is_running:
            self._job.cancel()
            self.message.setText("Download cancelled.")

    def import_from(self, folder: bool) -> None:
        src = (QFileDialog.getExistingDirectory(self, "Folder with the encoder and decoder .onnx files")
               if folder else QFileDialog.getOpenFileName(self, "ONNX model file", "", "ONNX (*.onnx)")[0])
        if not src:
            return
        name, ok = QInputDialog.getText(self, "Import", "Model name:", text=Path(src).stem)
        if not ok or not name.strip():
            return
        fam, ok = QInputDialog.getItem(self, "Import", "Family:", list(FAMILIES), 0, False)
        if not ok:
            return
        try:
            placed = import_model(Path(src), name.strip(), fam)
        except (OSError, ValueError, LookupError) as exc:
            self.message.setText(f"{src}: {exc}")
            return
        self.message.setText(f"Imported {placed}.")
        self.refresh()

    def reject(self) -> None:
        self.cancel()
        super().reject()
