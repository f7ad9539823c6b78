"""Model ▸ Train… dialog, generated from the training options table (:mod:`segstudio.ml.options`):
one row per option in its group (Model, Data, Optimisation; Advanced behind a button), plus
"Continue from the current model" and the classes to learn.

Returns a :class:`TrainSettings` — the options (a ``TrainOptions``) plus the classes and the
continue choice; the worker builds ``segstudio.ml.options.TrainConfig`` from it. This module must
not import torch: the architectures and encoders offered are listed by segmentation-models-pytorch
in a worker when the dialog opens (importing smp takes seconds the first time; the lists fill in
when it is done, until then the current choice is shown).

Before training starts the dialog knows whether the encoder's ImageNet weights are cached,
downloadable or out of reach (:mod:`segstudio.ml.weights`, torch-free; the network check runs
off the GUI thread and gives up after ~1.5 s) and says so under the checkbox. Offline without
cached weights it unticks the box (random initialisation) and offers a local weights file.

May import: PySide6, stdlib, segstudio.ml.options and segstudio.ml.weights (torch-free),
segstudio.ui.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segstudio.ml import options
from segstudio.ml import weights as weights_info
from segstudio.ui.features.option_form import OptionField, make_field, set_choices
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

#: shorter names the dialog's widgets are also known by (tests, older code)
_WIDGET_ALIASES = {"batch_size": "batch", "crop_size": "crop", "encoder_depth": "depth",
                   "decoder_channels": "decoder"}


@dataclass(frozen=True)
class TrainSettings(options.TrainOptions):
    """What the user chose: the training options plus the dialog's own two choices."""

    classes: tuple[str, ...] = ()          # trained classes (background implied); () = all
    continue_from_current: bool = False

    def config_kwargs(self) -> dict[str, Any]:
        """The TrainConfig keyword arguments (without out / init_from, which the feature sets)."""
        return self.option_values()


class TrainDialog(QDialog):
    def __init__(self, settings: TrainSettings, class_names: list[str], current_model: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("TrainDialog")
        s = settings
        layout = QVBoxLayout(self)
        self.fields: dict[str, OptionField] = {}
        self.forms: dict[str, QFormLayout] = {}
        self.boxes: dict[str, QGroupBox] = {}
        for group in options.GROUPS:
            box = QGroupBox(group)
            self.boxes[group], self.forms[group] = box, QFormLayout(box)
        self.continue_check = QCheckBox("Continue from the current model")
        self.continue_check.setEnabled(bool(current_model))
        self.continue_check.setChecked(bool(current_model) and s.continue_from_current)
        self.continue_check.setToolTip(current_model or "no model loaded")
        self.forms["Model"].addRow(self.continue_check)
        self.class_list = QListWidget()
        self.class_list.setMaximumHeight(110)
        for name in class_names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if not s.classes or name in s.classes
                               else Qt.CheckState.Unchecked)
            self.class_list.addItem(item)
        self.class_list.setToolTip("Unchecked classes are not learned: their pixels count as background")
        self.forms["Data"].addRow("Classes", self.class_list)

        for opt in options.describe():
            if opt.meta.get("widget") == "weights":
                self._add_weights_row(opt, getattr(s, opt.name))
                continue
            f = make_field(opt, getattr(s, opt.name))
            self.fields[opt.name] = f
            if f.label:
                self.forms[opt.group].addRow(f.label, f.widget)
            else:
                self.forms[opt.group].addRow(f.widget)
            assert not hasattr(QDialog, opt.name), f"option {opt.name!r} would hide a QDialog attribute"
            setattr(self, opt.name, f.widget)
            if opt.name in _WIDGET_ALIASES:   # "depth" hides QPaintDevice.depth(), as it always did
                setattr(self, _WIDGET_ALIASES[opt.name], f.widget)
        # two columns (the network and its data | how it learns) keep the dialog on a laptop screen
        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        for group in options.GROUPS:
            column = left if group in ("Model", "Data") else right
            if group == "Advanced":
                self.advanced_button = QPushButton("Advanced options")
                self.advanced_button.setCheckable(True)
                self.advanced_button.toggled.connect(self.boxes[group].setVisible)
                column.addWidget(self.advanced_button)
                self.boxes[group].setVisible(False)
            column.addWidget(self.boxes[group])
        for column in (left, right):
            column.addStretch(1)
            columns.addLayout(column)
        layout.addLayout(columns)
        self.continue_check.toggled.connect(self._sync)
        self.fields["encoder"].widget.currentTextChanged.connect(lambda _t: self._check_timer.start())

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._catalogue_job: JobHandle | None = None
        self._list_catalogues()
        self._sync()
        self.check_weights()

    def _add_weights_row(self, opt: options.OptionInfo, value: str | None) -> None:
        """encoder_weights: a check box for ImageNet, a local file, and what is available."""
        form = self.forms[opt.group]
        self.pretrained = QCheckBox(opt.label)
        self.pretrained.setToolTip(opt.help)
        self.pretrained.setChecked(value == "imagenet")
        form.addRow(self.pretrained)
        local = value not in (None, "imagenet")
        self.local_weights: str | None = value if local else None
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
        self.pretrained.toggled.connect(self._pretrained_toggled)
        self.pretrained.clicked.connect(lambda _c: setattr(self, "auto_unticked", False))   # the user decided

    def _sync(self) -> None:
        fresh = not self.continue_check.isChecked()
        model_widgets = [f.widget for f in self.fields.values() if f.info.group == "Model"]
        for w in (*model_widgets, self.pretrained, self.local_button):
            w.setEnabled(fresh)
        self._show_weights()

    # -- what smp offers ---------------------------------------------------------------------------
    def _list_catalogues(self) -> None:
        """Fills the catalogue fields (architectures, encoders) from smp: now when it was listed
        before in this process, else from a worker (importing smp takes seconds)."""
        if options.catalogues_listed():
            self._fill_catalogues(_read_catalogues())
            return
        for f in self._catalogue_fields():
            f.widget.setToolTip(f"{f.info.help} (listing what segmentation-models-pytorch offers…)")
        self._catalogue_job = start_job(_catalogue_job, on_result=self._fill_catalogues,
                                        on_error=self._catalogues_failed)

    def _catalogue_fields(self) -> list[OptionField]:
        return [f for f in self.fields.values() if f.info.meta.get("catalogue")]

    def _fill_catalogues(self, lists: dict[str, tuple[str, ...]]) -> None:
        for f in self._catalogue_fields():
            set_choices(f, lists[f.info.meta["catalogue"]])
            f.widget.setToolTip(f.info.help)

    def _catalogues_failed(self, exc: BaseException, tb: str) -> None:
        log.warning("could not list smp's architectures and encoders: %s\n%s", exc, tb)
        for f in self._catalogue_fields():
            f.widget.setToolTip(f"{f.info.help} (segmentation-models-pytorch could not be loaded: {exc})")

    # -- encoder weights ---------------------------------------------------------------------------
    def check_weights(self) -> None:
        """Looks in the cache now; asks the network (≤ 1.5 s) in a worker when not cached."""
        encoder = self.fields["encoder"].value()
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
        if av.encoder != self.fields["encoder"].value():
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
        if self._catalogue_job is not None:
            # an import cannot be cut short; it is needed for training anyway (seconds, once)
            self._catalogue_job.wait(120_000)
        self._check_timer.stop()   # no check may start after the dialog closed
        if self._check_job is not None:
            self._check_job.wait(3000)   # the network check gives up after ~1.5 s
        super().done(result)

    def accept(self) -> None:
        try:
            self.settings()
        except ValueError as exc:   # e.g. decoder channels that are not numbers
            QMessageBox.warning(self, "Train a model", str(exc))
            return
        super().accept()

    def settings(self) -> TrainSettings:
        """What the dialog shows; ValueError names a field whose text cannot be read."""
        values: dict[str, Any] = {}
        for name, f in self.fields.items():
            try:
                values[name] = f.value()
            except ValueError as exc:
                raise ValueError(f"{f.info.label}: {exc}") from None
        values["encoder_weights"] = self.local_weights or ("imagenet" if self.pretrained.isChecked() else None)
        classes = tuple(self.class_list.item(i).text() for i in range(self.class_list.count())
                        if self.class_list.item(i).checkState() == Qt.CheckState.Checked)
        return TrainSettings(**values, classes=classes, continue_from_current=self.continue_check.isChecked())


def _read_catalogues() -> dict[str, tuple[str, ...]]:
    return {name: listing() for name, listing in options.CATALOGUES.items()}


def _catalogue_job():
    """Worker: imports smp and lists its architectures and encoders."""
    if False:   # pragma: no cover - makes this a generator without a progress step
        yield None
    return _read_catalogues()


def _availability_job(encoder: str):
    """Worker: the network half of the weights check (a generator, as start_job expects)."""
    if False:   # pragma: no cover - makes this a generator without a progress step
        yield None
    return weights_info.weights_availability(encoder)
