"""The Training dock's panel: progress (epoch, batch, ETA), live pyqtgraph curves of training /
validation loss and validation mIoU in epochs, the per-class IoU of the last validation, the
device and a log. It only shows what :class:`~segstudio.ui.features.training.TrainingFeature`
hands it.

May import: PySide6, pyqtgraph, segstudio.core.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segstudio.core.jobs import Progress

log = logging.getLogger(__name__)


def _eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "—"
    s = int(round(seconds))
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


class TrainingPanel(QWidget):
    """The Training dock's contents; fed by :meth:`show_progress` (GUI thread only)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        layout = QVBoxLayout(self)
        self.status_label = QLabel("No training yet (Model ▸ Train…)")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.device_label = QLabel("")
        layout.addWidget(self.device_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.loss_plot.addLegend(offset=(5, 5))
        self.loss_plot.setMinimumHeight(120)
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen((60, 120, 220), width=2), name="train")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen((230, 120, 30), width=2), symbol="o",
                                             symbolSize=5, name="validation")
        layout.addWidget(self.loss_plot)
        self.miou_plot = pg.PlotWidget(title="Validation mIoU")
        self.miou_plot.setYRange(0, 1)
        self.miou_plot.setMinimumHeight(100)
        self.miou_curve = self.miou_plot.plot([], [], pen=pg.mkPen((40, 170, 80), width=2), symbol="o",
                                              symbolSize=5)
        layout.addWidget(self.miou_plot)
        for plot in (self.loss_plot, self.miou_plot):
            plot.setLabel("bottom", "epoch")
            for side in ("bottom", "left"):
                # pyqtgraph rescales small ranges with an SI prefix ("epoch (x0.001)", 70…700):
                # axes read in plain epochs and loss values
                plot.getAxis(side).enableAutoSIPrefix(False)
            # a plot asks for ~600 px; the dock must keep the width of the docks it shares a
            # tab group with, the curves shrink to fit instead of pushing the canvas aside
            plot.setMinimumWidth(120)
        self.iou_table = QTableWidget(0, 2)
        self.iou_table.setHorizontalHeaderLabels(["Class", "IoU (last validation)"])
        self.iou_table.horizontalHeader().setStretchLastSection(True)
        self.iou_table.verticalHeader().setVisible(False)
        self.iou_table.setMaximumHeight(140)
        layout.addWidget(self.iou_table)
        row = QHBoxLayout()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop training and keep the best checkpoint so far")
        row.addWidget(self.stop_button)
        self.repredict_button = QPushButton("Re-predict unlabelled images")
        self.repredict_button.setVisible(False)
        row.addWidget(self.repredict_button)
        layout.addLayout(row)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        self.log_view.setMaximumHeight(110)
        layout.addWidget(self.log_view)
        self.reset()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(260, 480)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(160, 300)

    def reset(self) -> None:
        self.train_x: list[float] = []
        self.train_y: list[float] = []
        self.val_x: list[float] = []
        self.val_y: list[float] = []
        self.miou_x: list[float] = []
        self.miou_y: list[float] = []
        self._epoch_loss: dict[int, float] = {}
        for c in (self.train_curve, self.val_curve, self.miou_curve):
            c.setData([], [])
        self.iou_table.setRowCount(0)
        self.log_view.clear()
        self.repredict_button.setVisible(False)

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(text)

    def show_progress(self, p: Progress) -> None:
        d = p.data or {}
        phase = d.get("phase")
        if d.get("device"):
            self.device_label.setText(f"Device: {d['device']}")
        if phase == "setup":
            self.status_label.setText(f"Starting: {p.message}")
            self.progress.setRange(0, 0)   # busy indicator: start-up steps have no known length
            return
        if phase == "load":
            self.status_label.setText(f"Loading images… {p.message}")
            if p.total:
                self.progress.setRange(0, p.total)
                self.progress.setValue(p.done)
            return
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        if phase == "batch":
            self.status_label.setText(f"Epoch {d['epoch']}/{d['epochs']} · batch {d['batch']}/{d['batches']} · "
                                      f"loss {d['loss']:.4f} · ETA {_eta(d.get('eta_s'))}")
            loss = d.get("loss")
            if loss is not None and loss == loss:
                self.train_x.append(d["epoch"] - 1 + d["batch"] / max(1, d["batches"]))
                self.train_y.append(float(loss))
                self.train_curve.setData(self.train_x, self.train_y)
        elif phase == "val":
            self.status_label.setText(f"Epoch {d['epoch']}: validating {p.message.split()[-1]}")
        elif phase == "epoch":
            self.status_label.setText(f"Epoch {d['epoch']}/{d['epochs']} done · ETA {_eta(d.get('eta_s'))}")
            if d.get("val_loss") is not None:
                self.val_x.append(d["epoch"])
                self.val_y.append(float(d["val_loss"]))
                self.val_curve.setData(self.val_x, self.val_y)
            if d.get("miou") is not None:
                self.miou_x.append(d["epoch"])
                self.miou_y.append(float(d["miou"]))
                self.miou_curve.setData(self.miou_x, self.miou_y)
            self._fill_iou(d.get("per_class_iou") or {})
            self.log(p.message + ("  (best so far)" if d.get("improved") and d.get("miou") is not None else ""))

    def _fill_iou(self, per_class: dict[str, float | None]) -> None:
        self.iou_table.setRowCount(len(per_class))
        for r, (name, iou) in enumerate(per_class.items()):
            self.iou_table.setItem(r, 0, QTableWidgetItem(name))
            item = QTableWidgetItem("—" if iou is None else f"{iou:.3f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.iou_table.setItem(r, 1, item)
