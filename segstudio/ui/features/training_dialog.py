"""Model ▸ Train… dialog: architecture, encoder (or continue from the current model), classes,
epochs, batch size, learning rate, crop size, augmentation, loss, validation split, device.

Returns a :class:`TrainSettings` — plain values whose names are those of
``segstudio.ml.train.TrainConfig``, which the worker builds (this module must not import torch).

Before training starts the dialog knows whether the encoder's ImageNet weights are cached,
downloadable or out of reach (:mod:`segstudio.ml.weights`, torch-free; the network check runs
off the GUI thread and gives up after ~1.5 s) and says so under the checkbox. Offline without
cached weights it unticks the box (random initialisation) and offers a local weights file.

May import: PySide6, stdlib, segstudio.ml.weights (torch-free), segstudio.ui.workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from segstudio.ml import weights as weights_info
from segstudio.ui.workers import JobHandle, start_job

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
        local = s.encoder_weights not in (None, "imagenet")
        self.local_weights: str | None = s.encoder_weights if local else None
        self.weights_note = QLabel("")
        self.weights_note.setObjectName("WeightsNote")
        self.weights_note.setWordWrap(True)
        self.local_button = QPushButton("Local weights file…")
        self.local_button.setToolTip("Encoder (or whole smp model) weights: .safetensors or .pth")
        self.local_button.clicked.connect(self.choose_local_weights)
        form.addRow(self.weights_note)
        form.addRow(self.local_button)
        self.availability: weights_info.WeightsAvailability | None = None
        self.auto_unticked = False     # unticked by the dialog (offline), not by the user
        self._check_job: JobHandle | None = None
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(300)   # the encoder box is editable: check when typing pauses
        self._check_timer.timeout.connect(self.check_weights)
        self.encoder.currentTextChanged.connect(lambda _t: self._check_timer.start())
        self.pretrained.toggled.connect(self._pretrained_toggled)
        self.pretrained.clicked.connect(lambda _c: setattr(self, "auto_unticked", False))   # the user decided
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
        self.check_weights()

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
        for w in (self.arch, self.encoder, self.pretrained, self.depth, self.decoder, self.local_button):
            w.setEnabled(fresh)
        self._show_weights()

    # -- encoder weights ---------------------------------------------------------------------------
    def check_weights(self) -> None:
        """Looks in the cache now; asks the network (≤ 1.5 s) in a worker when not cached."""
        encoder = self.encoder.currentText().strip()
        self.availability = None
        if not encoder:
            self._show_weights()
            return
        path = weights_info.cached_weights(encoder)
        if path is not None:
            self._weights_known(weights_info.WeightsAvailability(weights_info.CACHED, encoder, str(path)))
            return
        self.weights_note.setText(f"Checking whether ImageNet weights for {encoder} can be downloaded…")
        self._check_job = start_job(_availability_job, encoder, on_result=self._weights_known)

    def _weights_known(self, av: weights_info.WeightsAvailability) -> None:
        if av.encoder != self.encoder.currentText().strip():
            return   # an answer for an encoder the user has since replaced
        self.availability = av
        if av.state == weights_info.OFFLINE and self.pretrained.isChecked() and self.local_weights is None:
            self.auto_unticked = True
            self.pretrained.setChecked(False)
        self._show_weights()

    def _pretrained_toggled(self, on: bool) -> None:
        if on:
            self.local_weights = None
        self._show_weights()

    def choose_local_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Encoder weights file", "",
                                              "Weights (*.safetensors *.pth *.pt *.bin);;All files (*)")
        if path:
            self.set_local_weights(path)

    def set_local_weights(self, path: str) -> None:
        self.auto_unticked = False
        self.pretrained.setChecked(False)
        self.local_weights = path
        self._show_weights()

    def _show_weights(self) -> None:
        av, warn = self.availability, False
        if self.continue_check.isChecked():
            text = "The network and its weights come from the current model."
        elif self.local_weights:
            text = f"Encoder weights from {self.local_weights}."
        elif av is None:
            text = self.weights_note.text() if self._check_job is not None and self._check_job.is_running else ""
        elif av.state == weights_info.OFFLINE and self.pretrained.isChecked():
            warn = True
            text = (f"ImageNet weights for {av.encoder} cannot be downloaded now (no internet) and are "
                    f"not on this computer: untick to start from random weights, or choose a local file.")
        elif av.state == weights_info.OFFLINE:
            text = (f"No internet and no ImageNet weights for {av.encoder} on this computer: training "
                    f"starts from random weights. Choose a local weights file to start from ImageNet.")
        elif not self.pretrained.isChecked():
            text = weights_info.describe(av) + " Unticked: training starts from random weights."
        else:
            text = weights_info.describe(av)
        self.weights_note.setText(text)
        self.weights_note.setStyleSheet("color: #b03000;" if warn else "")

    def done(self, result: int) -> None:  # noqa: D401 - Qt API
        self._check_timer.stop()   # no check may start after the dialog closed
        if self._check_job is not None:
            self._check_job.wait(3000)   # the network check gives up after ~1.5 s
        super().done(result)

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
            encoder_weights=self.local_weights or ("imagenet" if self.pretrained.isChecked() else None),
            model_kwargs=model_kwargs,
            continue_from_current=self.continue_check.isChecked(), classes=classes,
            epochs=self.epochs.value(), batch_size=self.batch.value(), lr=self.lr.value(),
            crop_size=self.crop.value(), augment=self.augment.currentText(), loss=self.loss.currentText(),
            class_weights="balanced" if self.balanced.isChecked() else "none", val_split=self.val_split.value(),
            device=self.device.currentData(), seed=self.seed.value(), patience=self.patience.value(),
            min_samples_per_epoch=self._min_samples)


def _availability_job(encoder: str):
    """Worker: the network half of the weights check (a generator, as start_job expects)."""
    if False:   # pragma: no cover - makes this a generator without a progress step
        yield None
    return weights_info.weights_availability(encoder)
