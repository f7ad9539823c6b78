"""Options of model auto-segmentation (tiling, shapes, filters, replace/merge) and their dialog.

:class:`ModelOptions` is a frozen dataclass handed to worker jobs; ``predict_config`` turns it
into ``segstudio.ml.batch.PredictConfig`` (imported lazily: it pulls in torch).

May import: PySide6, segstudio.core (segstudio.ml only inside functions).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)


@dataclass(frozen=True)
class ModelOptions:
    tile: int = 1024
    overlap: int = 128
    batch_size: int = 4
    precision: str = "auto"            # auto | fp16 | bf16 | fp32 (CUDA only)
    mode: str = "polygon"              # polygon | mask
    tolerance: float = 1.0
    min_area: float = 16.0
    min_confidence: float = 0.0
    classes: tuple[str, ...] | None = None   # None: every class of the model
    replace: bool = False              # replace existing shapes of the model's classes (else merge)
    inside_selection: bool = False     # current image: only inside the selected shapes

    def predict_config(self, class_names: list[str]) -> Any:
        from segstudio.ml.batch import PredictConfig
        from segstudio.ml.postprocess import ShapeOptions

        amp = {"auto": True, "fp32": False}.get(self.precision, self.precision)
        shapes = ShapeOptions(self.mode, self.tolerance, self.min_area, self.classes, self.min_confidence)
        return PredictConfig(self.tile, self.overlap, self.batch_size, amp, shapes)


class ModelOptionsDialog(QDialog):
    def __init__(self, options: ModelOptions, classes: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Auto-segment options")
        self._base = options
        form = QFormLayout(self)
        self.tile = QSpinBox(minimum=64, maximum=8192, singleStep=64, value=options.tile)
        self.overlap = QSpinBox(minimum=0, maximum=2048, singleStep=16, value=options.overlap)
        self.batch = QSpinBox(minimum=1, maximum=64, value=options.batch_size)
        self.precision = QComboBox()
        self.precision.addItems(["auto", "fp16", "bf16", "fp32"])
        self.precision.setCurrentText(options.precision)
        self.mode = QComboBox()
        self.mode.addItem("Polygons", "polygon")
        self.mode.addItem("Mask shapes", "mask")
        self.mode.setCurrentIndex(0 if options.mode == "polygon" else 1)
        self.tolerance = QDoubleSpinBox(minimum=0.0, maximum=20.0, singleStep=0.5, value=options.tolerance)
        self.min_area = QDoubleSpinBox(minimum=0.0, maximum=1e7, singleStep=10, value=options.min_area)
        self.min_conf = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=options.min_confidence)
        self.replace = QComboBox()
        self.replace.addItem("Keep existing shapes (merge)", False)
        self.replace.addItem("Replace shapes of the model's classes", True)
        self.replace.setCurrentIndex(1 if options.replace else 0)
        self.inside = QCheckBox("Only inside the selected shapes (current image)")
        self.inside.setChecked(options.inside_selection)
        self.class_list = QListWidget()
        for name in classes:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = options.classes is None or name in options.classes
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.class_list.addItem(item)
        for label, w in (("Tile size (px)", self.tile), ("Tile overlap (px)", self.overlap),
                         ("Tiles per batch", self.batch), ("GPU precision", self.precision),
                         ("Shapes as", self.mode), ("Simplify (px)", self.tolerance),
                         ("Minimum area (px²)", self.min_area), ("Minimum confidence", self.min_conf),
                         ("Existing shapes", self.replace), ("", self.inside), ("Classes", self.class_list)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> ModelOptions:
        items = [self.class_list.item(i) for i in range(self.class_list.count())]
        checked = tuple(i.text() for i in items if i.checkState() == Qt.CheckState.Checked)
        classes = None if len(checked) == len(items) else checked
        return replace(self._base, tile=self.tile.value(), overlap=self.overlap.value(),
                       batch_size=self.batch.value(), precision=self.precision.currentText(),
                       mode=self.mode.currentData(), tolerance=self.tolerance.value(),
                       min_area=self.min_area.value(), min_confidence=self.min_conf.value(),
                       classes=classes, replace=bool(self.replace.currentData()),
                       inside_selection=self.inside.isChecked())

    @classmethod
    def ask(cls, options: ModelOptions, classes: list[str], parent: QWidget | None = None) -> ModelOptions | None:
        dlg = cls(options, classes, parent)
        return dlg.value() if dlg.exec() == QDialog.DialogCode.Accepted else None
