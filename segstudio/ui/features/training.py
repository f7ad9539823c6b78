"""Model ▸ Train…: fine-tune a model in the background while the user keeps labelling.

The Training dock shows a progress bar (epoch, batch, ETA), live pyqtgraph plots of training /
validation loss and validation mIoU, the per-class IoU of the last validation and the device.
Stop ends within a second and keeps the best checkpoint so far. When training ends the best
checkpoint becomes the current model (``controller.set_current_model``; the Model feature loads
it), Label next's scoring of the unlabelled images starts in the background (its action, when the
``score_after_training`` preference is on) and the unlabelled images are re-predicted through the
Model feature's action once ``controller.model_loaded`` says it is loaded (by itself with the
``repredict_after_training`` preference, else one click).

The project is snapshotted on the GUI thread (frozen shape copies); the worker — the same
generator as ``segstudio train`` — loads pixels, trains and writes checkpoints under
``<project>/.segstudio/models/``. It never touches widgets; torch is imported only inside the
worker function, so installing this feature does not import torch.

May import: PySide6, pyqtgraph, segstudio.core, segstudio.ui; segstudio.ml only inside functions
(``segstudio.ml.data`` is torch-free and used on the GUI thread for the snapshot).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QScrollArea,
)

from segstudio.core.jobs import CancelToken, Progress
from segstudio.ui.actions import ActionSpec
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.features.training_dialog import TrainDialog, TrainSettings
from segstudio.ui.features.training_panel import TrainingPanel
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)


def training_worker(config_kwargs: dict[str, Any], spec: Any, cancel: CancelToken):
    """Runs in the worker thread: the only place this feature imports torch."""
    # importing torch + smp the first time takes seconds: say so; train_job checks the token next
    yield Progress(0, None, "importing PyTorch…", {"phase": "setup"})
    from segstudio.ml.train import TrainConfig, train_job

    return (yield from train_job(TrainConfig(**config_kwargs), spec, cancel))


def user_message(exc: BaseException, encoder: str) -> str:
    """What went wrong, in the window's words (the ml layer words its errors for the CLI)."""
    if type(exc).__name__ == "PretrainedWeightsError" and "download" in str(exc):
        return (f"The ImageNet weights for {encoder} could not be downloaded (no internet connection, "
                f"and they are not on this computer). Open Model ▸ Train… and untick “ImageNet "
                f"pre-trained encoder” to start from random weights, or choose a local weights file.")
    return str(exc) or type(exc).__name__


class TrainingFeature(QObject):
    """Owns the Train… action, the Training dock and the running training job."""

    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window.widget)
        self.window, self.controller = window, window.controller
        self.settings = TrainSettings()
        self.job: JobHandle | None = None
        self.token: CancelToken | None = None
        self.result: Any = None
        self.out_path: Path | None = None
        self.last_error: str | None = None
        self.panel = TrainingPanel()
        # a short dock scrolls the panel rather than squeezing the plots or growing the dock
        scroll = QScrollArea()
        scroll.setObjectName("TrainingScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        self.dock = window.add_dock(scroll, "Training", "right")
        self.dock.setObjectName("TrainingDock")
        self.dock.hide()
        self.panel.stop_button.clicked.connect(self.stop)
        self.panel.repredict_button.clicked.connect(self.repredict_unlabelled)
        made = window.add_actions(ROWS, {"model_train": self.open_dialog, "model_stop_training": self.stop})
        self.train_action, self.stop_action = made["model_train"], made["model_stop_training"]
        self.stop_action.setEnabled(False)
        # the loaded model (its classes head a continued training), announced by the Model feature
        self._model_classes: list[str] | None = None
        self._loaded_path: str | None = None
        self._repredict_path: str | None = None   # re-predict once this checkpoint is loaded
        self.controller.model_loaded.connect(self._model_loaded)
        self.controller.model_load_failed.connect(self._model_load_failed)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.is_running

    # -- starting ----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        if self.busy:
            self.dock.show()
            self.window.status("Training is already running.")
            return
        project = self.controller.project
        names = [n for n in project.class_names() if n not in ("__ignore__", "_background_")]
        dialog = TrainDialog(self.settings, names, self.controller.current_model_path, self.window.widget)
        self.dialog = dialog   # reachable from tests while it is open
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        settings = dialog.settings()
        # unticked by the dialog only because we are offline now: ticked again next time
        self.settings = (dataclasses.replace(settings, encoder_weights="imagenet")
                         if dialog.auto_unticked else settings)
        self.start(settings)

    def start(self, settings: TrainSettings) -> JobHandle | None:
        from segstudio.core.project_io import meta_dir
        from segstudio.ml.data import snapshot_project

        project = self.controller.project
        if project.root is None:
            self.window.show_error("Cannot train", "Open a folder of images first.")
            return None
        init_from = self.controller.current_model_path if settings.continue_from_current else None
        classes = None
        if init_from is None and settings.classes:
            classes = ["_background_"] + list(settings.classes)
        try:
            spec = snapshot_project(project, classes)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable annotation folder
            self.window.show_error("Cannot train", str(exc))
            return None
        if not spec.samples:
            self.window.show_error("Cannot train", "No labelled images yet: label a few images (or accept "
                                   "pre-annotations) and save them, then train.")
            return None
        if init_from is not None:
            from segstudio.ml.data import DatasetSpec

            # continuing: the model's classes first (same head), new project classes after
            model_classes = self._model_classes
            if model_classes:
                extra = [c for c in spec.classes if c not in model_classes]
                spec = DatasetSpec(tuple(model_classes + extra), spec.samples, spec.skipped)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = meta_dir(project) / ".segstudio" / "models" / f"{settings.arch}-{settings.encoder}-{stamp}"
        self.out_path = folder / "best.safetensors"
        kwargs = settings.config_kwargs()
        kwargs.update(out=str(self.out_path), init_from=init_from)
        self.token = CancelToken()
        self.result, self.last_error = None, None
        self.panel.reset()
        self.panel.status_label.setText(f"Starting: {len(spec.samples)} labelled images, "
                                        f"{len(spec.classes) - 1} classes…")
        for msg in spec.skipped:
            self.panel.log(f"skipped: {msg}")
        self.panel.stop_button.setEnabled(True)
        self.stop_action.setEnabled(True)
        self.train_action.setEnabled(False)
        self.dock.show()
        self.dock.raise_()
        self.job = start_job(training_worker, kwargs, spec, self.token, on_progress=self.panel.show_progress,
                             on_result=self._done, on_error=self._failed, on_finished=self._finished)
        return self.job

    # -- stopping / finishing ----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop: the job raises Cancelled at the next layer, saves and returns its result."""
        if self.token is not None:
            self.token.cancel()
            self.panel.status_label.setText("Stopping… (keeping the best checkpoint)")
            self.panel.stop_button.setEnabled(False)

    def _done(self, result: Any) -> None:
        self.result = result
        best = f"{result.best_miou:.3f}" if result.best_miou is not None else "—"
        verb = {"cancelled": "Stopped", "early-stopped": "Early-stopped"}.get(result.stopped, "Finished")
        text = (f"{verb} after {result.epochs_run} epoch(s); best validation mIoU {best} "
                f"(epoch {result.best_epoch}).")
        if result.stopped == "cancelled" and not result.best_path:
            text = "Stopped before training began; no model was written."
        self.panel.status_label.setText(text)
        self.panel.log(text)
        if result.best_path:
            self.panel.log(f"best model: {result.best_path}")
            self.controller.set_current_model(result.best_path)   # the Model feature loads it
            self.panel.repredict_button.setVisible(True)
            self.panel.repredict_button.setEnabled(True)
            score = self.window.actions.get("label_next_score")
            if score is not None and self.controller.prefs.score_after_training:
                score.trigger()   # Label next: rank the unlabelled images by the new model's doubt
            if self.controller.prefs.repredict_after_training and result.stopped != "cancelled":
                self.repredict_unlabelled()   # fresh pre-annotations; a person's images are skipped
        self.window.status(text)

    def _failed(self, exc: BaseException, tb: str) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        text = user_message(exc, self.settings.encoder)
        log.error("training failed: %s\n%s", exc, tb)
        self.panel.status_label.setText(f"Training failed: {text}")
        self.panel.log(f"Training failed: {text}")
        # words for the user in the box; the traceback only behind "Show Details…"
        self.window.show_error("Training failed", text, details=tb)

    def _finished(self) -> None:
        if self.panel.progress.maximum() == 0:   # still the start-up busy indicator
            self.panel.progress.setRange(0, 1)
        self.panel.stop_button.setEnabled(False)
        self.stop_action.setEnabled(False)
        self.train_action.setEnabled(True)
        self.token = None

    # -- after training ----------------------------------------------------------------------------
    def repredict_unlabelled(self) -> None:
        """Auto-segments the unlabelled images with the new model: the Model feature's action,
        once ``controller.model_loaded`` says the new checkpoint is loaded."""
        if self.window.actions.get("model_segment_unlabelled") is None:
            self.window.show_error("Re-predict", "The Model feature is not available in this build.")
            return
        if self.result is None or not self.result.best_path:
            return
        self.panel.repredict_button.setEnabled(False)
        self._repredict_path = str(self.result.best_path)
        if self._loaded_path == self._repredict_path:
            self._model_loaded(self._loaded_path, None)
        elif self.controller.current_model_path != self._repredict_path:
            self.controller.set_current_model(self._repredict_path)   # the Model feature loads it
        # else it is being loaded since training finished: model_loaded / _failed come

    def _model_loaded(self, path: str, meta: Any) -> None:
        if meta is not None:
            self._loaded_path, self._model_classes = path, list(meta.classes)
        if self._repredict_path == path:
            self._repredict_path = None
            self.window.actions["model_segment_unlabelled"].trigger()

    def _model_load_failed(self, path: str, message: str) -> None:
        if self._repredict_path == path:
            self._repredict_path = None
            self.panel.repredict_button.setEnabled(True)
            self.window.show_error("Re-predict", f"The new model could not be loaded: {message}")

    def shutdown(self) -> None:
        self.stop()


#: the feature's rows of the action table
ROWS = (ActionSpec("-", "Model", ""),
        ActionSpec("model_train", "Model", "&Train…", tip="Fine-tune a model on the labelled images"),
        ActionSpec("model_stop_training", "Model", "Stop training", tip="Stop and keep the best checkpoint"))


def install(window: FeatureHost) -> TrainingFeature:
    return TrainingFeature(window)
