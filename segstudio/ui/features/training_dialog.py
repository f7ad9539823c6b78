"""Model ▸ Train… dialog: architecture, encoder (or continue from the current model), classes,
epochs, batch size, learning rate, crop size, augmentation, loss, validation split, device.

Returns a :class:`TrainSettings` — plain values whose names are those of
``segstudio.ml.train.TrainConfig``, which the worker builds (this module must not import torch).

May import: PySide6, stdlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

# Kept here as text so the dialog opens without importing torch/smp (the worker validates them).
ARCHITECTURES = ("Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus", "DeepLabV3", "Linknet", "MAnet", "PAN",
                 "PSPNet", "UPerNet", "Segformer")
ENCODERS = ("resnet18", "resnet34", "resnet50", "efficientnet-b0", "efficientnet-b2", "efficientnet-b4",
            "mobilenet_v2", "mit_b0", "mit_b2", "tu-convnext_tiny", "tu-resnet10t")
LOSSES = ("ce+dice", "ce", "dice", "focal", "focal+dice", "lovasz", "ce+lovasz", "tversky")
AUGMENTATIONS = ("none", "light", "medium", "strong")
DEVICES = (("auto", "Automatic (CUDA, MPS, CPU)"), ("cuda", "CUDA GPU"), ("mps", "Apple MPS"), ("cpu", "CPU"))


@dataclass
class TrainSettings:
    """What the user chose; field names match ``TrainConfig``."""

    arch: str = "Unet"
    encoder: str = "resnet34"
    encoder_weights: str | None = "imagenet"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    continue_from_current: bool = False
    classes: list[str] = field(default_factory=list)     # trained classes (background implied)
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    crop_size: int = 512
    augment: str = "medium"
    loss: str = "ce+dice"
    class_weights: str = "none"
    val_split: float = 0.2
    device: str = "auto"
    seed: int = 0
    patience: int = 10
    min_samples_per_epoch: int = 64

    def config_kwargs(self) -> dict[str, Any]:
        """The TrainConfig keyword arguments (without out / init_from, which the feature sets)."""
        skip = {"continue_from_current", "classes"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


class TrainDialog(QDialog):
    def __init__(self, settings: TrainSettings, class_names: list[str], current_model: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("TrainDialog")
        s = settings
        layout = QVBoxLayout(self)

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        self.continue_check = QCheckBox("Continue from the current model")
        self.continue_check.setEnabled(bool(current_model))
        self.continue_check.setChecked(bool(current_model) and s.continue_from_current)
        self.continue_check.setToolTip(current_model or "no model loaded")
        form.addRow(self.continue_check)
        self.arch = QComboBox()
        self.arch.addItems(list(ARCHITECTURES))
        self.arch.setCurrentText(s.arch)
        form.addRow("Architecture", self.arch)
        self.encoder = QComboBox()
        self.encoder.setEditable(True)   # any smp / timm ("tu-…") encoder name
        self.encoder.addItems(list(ENCODERS))
        self.encoder.setCurrentText(s.encoder)
        form.addRow("Encoder", self.encoder)
        self.pretrained = QCheckBox("ImageNet pre-trained encoder (downloaded once)")
        self.pretrained.setChecked(s.encoder_weights == "imagenet")
        form.addRow(self.pretrained)
        self.depth = QSpinBox()
        self.depth.setRange(3, 5)
        self.depth.setValue(int(s.model_kwargs.get("encoder_depth", 5)))
        form.addRow("Encoder depth", self.depth)
        self.decoder = QLineEdit(",".join(str(c) for c in s.model_kwargs.get("decoder_channels", [])))
        self.decoder.setPlaceholderText("default (e.g. 256,128,64,32,16)")
        form.addRow("Decoder channels", self.decoder)
        self.continue_check.toggled.connect(self._sync)
        layout.addWidget(model_box)

        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        self.class_list = QListWidget()
        self.class_list.setMaximumHeight(110)
        for name in class_names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if not s.classes or name in s.classes
                               else Qt.CheckState.Unchecked)
            self.class_list.addItem(item)
        self.class_list.setToolTip("Unchecked classes are not learned: their pixels count as background")
        form.addRow("Classes", self.class_list)
        self.val_split = self._dspin(0.0, 0.9, s.val_split, 0.05, 2)
        form.addRow("Validation split", self.val_split)
        self.crop = self._spin(32, 4096, s.crop_size, 32)
        form.addRow("Image / crop size", self.crop)
        self.augment = QComboBox()
        self.augment.addItems(list(AUGMENTATIONS))
        self.augment.setCurrentText(s.augment)
        form.addRow("Augmentation", self.augment)
        layout.addWidget(data_box)

        opt_box = QGroupBox("Optimisation")
        form = QFormLayout(opt_box)
        self.epochs = self._spin(1, 10000, s.epochs)
        form.addRow("Epochs", self.epochs)
        self.batch = self._spin(1, 1024, s.batch_size)
        form.addRow("Batch size", self.batch)
        self.lr = self._dspin(1e-6, 1.0, s.lr, 1e-4, 6)
        form.addRow("Learning rate", self.lr)
        self.loss = QComboBox()
        self.loss.setEditable(True)
        self.loss.addItems(list(LOSSES))
        self.loss.setCurrentText(s.loss)
        form.addRow("Loss", self.loss)
        self.balanced = QCheckBox("Weight rare classes more")
        self.balanced.setChecked(s.class_weights == "balanced")
        form.addRow(self.balanced)
        self.patience = self._spin(0, 1000, s.patience)
        self.patience.setToolTip("Stop when validation mIoU has not improved for this many epochs (0 = never)")
        form.addRow("Early stopping patience", self.patience)
        row = QHBoxLayout()
        self.device = QComboBox()
        for value, text in DEVICES:
            self.device.addItem(text, value)
        self.device.setCurrentIndex(max(0, [v for v, _ in DEVICES].index(s.device) if s.device in
                                        [v for v, _ in DEVICES] else 0))
        row.addWidget(self.device)
        self.seed = self._spin(0, 2**31 - 1, s.seed)
        self.seed.setPrefix("seed ")
        row.addWidget(self.seed)
        form.addRow("Device", row)
        layout.addWidget(opt_box)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._min_samples = s.min_samples_per_epoch
        self._sync()

    @staticmethod
    def _spin(lo: int, hi: int, value: int, step: int = 1) -> QSpinBox:
        w = QSpinBox()
        w.setRange(lo, hi)
        w.setSingleStep(step)
        w.setValue(int(value))
        return w

    @staticmethod
    def _dspin(lo: float, hi: float, value: float, step: float, decimals: int) -> QDoubleSpinBox:
        w = QDoubleSpinBox()
        w.setDecimals(decimals)
        w.setRange(lo, hi)
        w.setSingleStep(step)
        w.setValue(float(value))
        return w

    def _sync(self) -> None:
        fresh = not self.continue_check.isChecked()
        for w in (self.arch, self.encoder, self.pretrained, self.depth, self.decoder):
            w.setEnabled(fresh)

    def settings(self) -> TrainSettings:
        model_kwargs: dict[str, Any] = {}
        if self.depth.value() != 5:
            model_kwargs["encoder_depth"] = self.depth.value()
        channels = [int(c) for c in self.decoder.text().replace(" ", "").split(",") if c.isdigit()]
        if channels:
            model_kwargs["decoder_channels"] = channels
        classes = [self.class_list.item(i).text() for i in range(self.class_list.count())
                   if self.class_list.item(i).checkState() == Qt.CheckState.Checked]
        return TrainSettings(
            arch=self.arch.currentText(), encoder=self.encoder.currentText().strip(),
            encoder_weights="imagenet" if self.pretrained.isChecked() else None, model_kwargs=model_kwargs,
            continue_from_current=self.continue_check.isChecked(), classes=classes,
            epochs=self.epochs.value(), batch_size=self.batch.value(), lr=self.lr.value(),
            crop_size=self.crop.value(), augment=self.augment.currentText(), loss=self.loss.currentText(),
            class_weights="balanced" if self.balanced.isChecked() else "none", val_split=self.val_split.value(),
            device=self.device.currentData(), seed=self.seed.value(), patience=self.patience.value(),
            min_samples_per_epoch=self._min_samples)
