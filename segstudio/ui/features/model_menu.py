"""Model menu: load a trained model, show its info, auto-segment the current image or a batch,
and an overlay of where the model is unsure. Menu entries: rows of the action table (:data:`ROWS`);
a loaded model is announced with ``controller.model_loaded`` (training listens to it).

Deep pre-annotation runs off the GUI thread (:func:`segstudio.ui.workers.start_job`); torch and
``segstudio.ml`` are imported only inside worker functions, so building the window never imports
torch. The current image's result is ONE undoable ``ApplyPrediction`` (dropped if stale). A batch skips images a person
labelled unless the person includes them (a question that says how many would change; they
stay "labelled") and applies all results as ONE undo step when it ends or is cancelled (an
image edited meanwhile is left out; the others become "pre-annotated"). Cancel stops within a
second, even inside the network's forward pass.

May import: PySide6, segstudio.core, segstudio.ui (segstudio.ml only inside worker functions).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressBar, QPushButton

from segstudio.core.edits import ApplyPrediction, Compound
from segstudio.core.jobs import CancelToken, Progress
from segstudio.core.labelled_guard import skipped_message
from segstudio.core.model import LABELLED
from segstudio.ui.actions import ActionSpec
from segstudio.ui.dialogs.include_labelled import choose_batch_entries
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.features.model_jobs import (
    confidence_job,
    load_model_job,
    load_pixels,
    model_info_text,
    predict_batch_job,
    predict_current_job,
    selection_roi,
)
from segstudio.ui.features.model_options import ModelOptions, ModelOptionsDialog
from segstudio.ui.features.model_overlay import ConfidenceOverlay
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

DEVICES = (("auto", "Automatic (CUDA, MPS, CPU)"), ("cuda", "CUDA GPU"), ("mps", "Apple MPS"), ("cpu", "CPU"))
#: the Model menu's rows of the action table. Ctrl+Shift+A ("Auto-segment"): Ctrl+M is our
#: polygon → mask and X-AnyLabeling's run (Ctrl+M) / auto-label (Ctrl+A) keys are taken or mean
#: "select all" elsewhere; labelme has no model key.
ROWS: tuple[ActionSpec, ...] = (
    ActionSpec("model_load", "Model", "&Load model…", tip="Load a trained segstudio model (.safetensors)"),
    ActionSpec("model_info", "Model", "Model &info…", tip="Architecture, classes and training of the model"),
    *(ActionSpec(f"model_device_{value}", "Model/&Device", text, checkable=True, group="model_device")
      for value, text in DEVICES),
    ActionSpec("-", "Model", ""),
    ActionSpec("model_segment_current", "Model", "Auto-segment &current image", ("Ctrl+Shift+A",),
               "Pre-annotate this image with the model (one undo step)"),
    ActionSpec("model_segment_all", "Model", "Auto-segment &all images"),
    ActionSpec("model_segment_unlabelled", "Model", "Auto-segment &unlabelled images"),
    ActionSpec("model_cancel", "Model", "Cancel auto-segment"),
    ActionSpec("model_options", "Model", "Auto-segment &options…"),
    ActionSpec("-", "Model", ""),
    ActionSpec("model_overlay", "Model", "Show confidence &overlay", checkable=True),
)


class ModelFeature(QObject):
    """Owns the loaded model and the Model menu's actions."""

    def __init__(self, host: FeatureHost) -> None:
        super().__init__(host.widget)
        self.host, self.controller = host, host.controller
        self._loading_path: str | None = None   # the checkpoint being loaded, for model_load_failed
        self._wanted: str | None = None         # the checkpoint last asked for (load, or model path)
        self._announce: tuple[Any, tuple] | None = None   # model_loaded/_failed, sent once the job ended
        self.model: Any = None
        self.meta: Any = None
        self.model_path: str | None = None
        self.device = "auto"
        self.device_name = ""
        self.options = ModelOptions()
        self.job: JobHandle | None = None
        self.job_kind: str | None = None
        self._token: CancelToken | None = None
        self._batch_errors: list[str] = []
        self._batch_keys: list[str] = []
        self._batch_results: list[Any] = []      # finished ImagePredictions, applied at the end
        self._batch_snapshot: dict[str, list[int]] = {}
        self._batch_include_labelled = False
        self._batch_skipped = 0
        self.last_job_error: str | None = None
        self.overlay_view = ConfidenceOverlay(host.canvas.scene())
        self.overlay = self.overlay_view.item
        self._build_menu(host)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        host.add_status_widget(self.progress)
        host.add_status_widget(self.cancel_button)
        self.controller.current_changed.connect(self._image_changed)
        self.controller.model_changed.connect(self._model_path_changed)
        self._update_actions()

    # -- menu --------------------------------------------------------------------------------------
    def _build_menu(self, host: FeatureHost) -> None:
        handlers = {
            "model_load": self.load_dialog, "model_info": self.show_info,
            "model_segment_current": self.segment_current,
            "model_segment_all": functools.partial(self.segment_batch, False),
            "model_segment_unlabelled": functools.partial(self.segment_batch, True),
            "model_cancel": self.cancel, "model_options": self.edit_options,
            "model_overlay": lambda: self._image_changed(self.controller.current_key),
            **{f"model_device_{v}": functools.partial(self.set_device, v) for v, _ in DEVICES},
        }
        made = host.add_actions(ROWS, handlers)
        made[f"model_device_{self.device}"].setChecked(True)
        self.actions: dict[str, QAction] = {k.removeprefix("model_"): a for k, a in made.items()}

    def _update_actions(self) -> None:
        busy = self.busy
        has_model = self.model is not None
        has_project = bool(self.controller.project.entries)
        self.actions["load"].setEnabled(not busy)
        self.actions["info"].setEnabled(has_model)
        self.actions["segment_current"].setEnabled(has_model and not busy and self.controller.current_key is not None)
        self.actions["segment_all"].setEnabled(has_model and not busy and has_project)
        self.actions["segment_unlabelled"].setEnabled(has_model and not busy and has_project)
        self.actions["cancel"].setEnabled(busy)
        self.actions["overlay"].setEnabled(has_model or self.overlay_view.key is not None)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.is_running

    # -- loading -------------------------------------------------------------------------------------
    def load_dialog(self) -> None:
        start = str(Path(self.model_path).parent if self.model_path else (self.controller.project.root or Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.host.widget, "Load a segstudio model", start,
                                              "segstudio models (*.safetensors);;All files (*)")
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> JobHandle | None:
        if self.busy:
            self.host.status("Busy: wait for the running model job or cancel it.")
            return None
        self._loading_path = self._wanted = str(path)
        self._start(load_model_job, str(path), self.device, on_result=self._loaded,
                    title="Cannot load model")
        return self.job

    def _loaded(self, result: dict) -> None:
        self.model, self.meta = result["model"], result["meta"]
        self.model_path, self.device_name = result["path"], result["device_name"]
        for name in self.meta.classes[1:]:
            self.controller.project.ensure_class(name)
        if self.controller.current_model_path != self.model_path and self._wanted == self.model_path:
            self.controller.set_current_model(self.model_path)
        self._loading_path = None
        self._announce = (self.controller.model_loaded, (self.model_path, self.meta))
        self.host.status(f"Model loaded: {Path(self.model_path).name} ({self.meta.arch}/{self.meta.encoder}, "
                           f"{len(self.meta.classes) - 1} classes) on {self.device_name}")

    def _model_path_changed(self, path: object) -> None:
        # e.g. training finished and published its checkpoint: load it unless it is ours already;
        # while a job runs, the latest ask is remembered and loaded when it ends (_finished)
        if path and str(path) != self.model_path:
            self._wanted = str(path)
            if not self.busy:
                self.load_model(self._wanted)

    def set_device(self, device: str) -> None:
        self.device = device
        if self.model_path and not self.busy:
            self.load_model(self.model_path)

    def show_info(self) -> None:
        if self.meta is None:
            return
        text = model_info_text(self.meta, self.model_path, self.device_name)
        box = QMessageBox(QMessageBox.Icon.Information, "Model info", text, QMessageBox.StandardButton.Ok,
                          self.host.widget)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()
        self.info_box = box

    def edit_options(self) -> None:
        classes = list(self.meta.classes[1:]) if self.meta is not None else []
        new = ModelOptionsDialog.ask(self.options, classes, self.host.widget)
        if new is not None:
            self.options = new

    # -- jobs ----------------------------------------------------------------------------------------
    def _start(self, fn, *args, on_result, title: str, on_progress=None, **kwargs) -> None:
        self.last_job_error = None
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.job = start_job(fn, *args, on_progress=on_progress or self._progress, on_result=on_result,
                             on_error=lambda exc, tb: self._failed(title, exc, tb),
                             on_finished=self._finished, **kwargs)
        self._update_actions()

    def _progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        if p.message:
            self.host.status(p.message, 2000)

    def _failed(self, title: str, exc: BaseException, _tb: str) -> None:
        self.last_job_error = f"{exc}"
        self.host.show_error(title, str(exc))
        if self._loading_path is not None:
            path, self._loading_path = self._loading_path, None
            self._wanted = None if self._wanted == path else self._wanted   # no retry loop
            self._announce = (self.controller.model_load_failed, (path, str(exc)))

    def _finished(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._token = None
        if self.job_kind == "batch":
            self._batch_report()
        self.job_kind = None
        self._update_actions()
        if self._wanted not in (None, self.model_path):   # another model was asked for meanwhile
            self._announce = None
            self.load_model(self._wanted)
            return
        if self._announce is not None:   # now that the actions are enabled again (listeners may use them)
            (signal, args), self._announce = self._announce, None
            signal.emit(*args)
        self._compute_overlay()   # e.g. a model just loaded with the overlay on

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
        if self.job is not None:
            self.job.cancel()

    # -- current image -------------------------------------------------------------------------------
    def _roi(self, height: int, width: int) -> np.ndarray | None:
        selected = self.host.canvas.selected_shapes() if self.options.inside_selection else []
        return selection_roi(selected, height, width)

    def segment_current(self) -> None:
        key = self.controller.current_key
        image = self.controller.current_image()
        if self.model is None or key is None or image is None or self.busy:
            return
        self._token = CancelToken()
        roi = self._roi(*image.shape[:2])
        self._start(predict_current_job, self.model, self.meta, key, image.copy(),
                    device=self.model_device, options=self.options, cancel=self._token, roi=roi,
                    on_result=functools.partial(self._current_done, key), title="Auto-segment failed")

    @property
    def model_device(self) -> str:
        """The torch device string the model lives on (set at load)."""
        return str(next(self.model.parameters()).device) if self.model is not None else "cpu"

    def _replace_labels(self) -> set[str] | None:
        wanted = self.options.classes
        return set(wanted) if wanted else set(self.meta.classes[1:])

    def _current_done(self, key: str, pred: Any) -> None:
        if key != self.controller.current_key:
            self.host.status("Auto-segment result dropped: the image changed meanwhile.")
            return
        ann = self.controller.annotation_for(key)
        self.controller.push(ApplyPrediction(key, ann, pred.shapes, replace=self.options.replace,
                                             replace_labels=self._replace_labels(),
                                             text=f"Auto-segment with model ({len(pred.shapes)} shapes)"))
        if pred.result is not None:
            self._set_overlay(key, pred.result.confidence)
        self.host.status(f"Model added {len(pred.shapes)} shape(s) in {pred.info.get('seconds', 0):.1f} s "
                           f"on {pred.info.get('device', '?')}.")

    # -- batch ---------------------------------------------------------------------------------------
    def segment_batch(self, only_unlabelled: bool = False) -> None:
        project = self.controller.project
        if self.model is None or self.busy:
            return
        chosen = choose_batch_entries(self.host.widget, project.entries, only_unlabelled, "Auto-segment",
                                      merge=not self.options.replace)
        if chosen is None:
            return
        entries, include, self._batch_skipped, n_labelled = chosen
        if not entries:
            self.host.status("No images to auto-segment"
                             + (f": {skipped_message(n_labelled)}." if n_labelled else "."))
            return
        items = [(e.key, functools.partial(load_pixels, str(e.image_path), str(e.annotation_path)))
                 for e in entries]
        self._batch_errors, self._batch_keys, self._batch_results = [], [], []
        self._batch_include_labelled = include
        self._batch_snapshot = {k: [s.uid for s in a.shapes] for k, a in project.annotations.items()}
        self._token = CancelToken()
        self.job_kind = "batch"
        self._start(predict_batch_job, self.model, self.meta, items, self.model_device,
                    options=self.options, cancel=self._token, on_progress=self._batch_progress,
                    on_result=lambda _failed: None, title="Batch auto-segment failed")

    def _batch_progress(self, p: Progress) -> None:
        self._progress(p)
        pred = p.data.get("prediction") if p.data else None
        if pred is None:
            return
        if pred.error is not None:
            self._batch_errors.append(pred.error)
            return
        try:
            ann = self.controller.annotation_for(pred.key)
        except Exception as exc:   # the JSON cannot be read: report, never overwrite
            self._batch_errors.append(str(exc))
            return
        # an image first loaded now: later edits by the person are measured from here
        self._batch_snapshot.setdefault(pred.key, [s.uid for s in ann.shapes])
        self._batch_results.append(pred)

    def _apply_batch(self) -> None:
        """The finished results as ONE undo step; an image edited during the batch is left alone."""
        edits = []
        for pred in self._batch_results:
            key = pred.key
            if not self.controller.project.has_entry(key):
                continue   # another folder was opened meanwhile
            ann = self.controller.annotation_for(key)
            if ([s.uid for s in ann.shapes] != self._batch_snapshot.get(key)
                    or (ann.state == LABELLED and not self._batch_include_labelled)):
                self._batch_errors.append(f"{Path(key).name}: edited during the batch, left as it is")
                continue
            edits.append(ApplyPrediction(key, ann, pred.shapes, replace=self.options.replace,
                                         replace_labels=self._replace_labels(),
                                         text=f"Pre-annotate with model ({len(pred.shapes)} shapes)"))
            self._batch_keys.append(key)
        self._batch_results = []
        if edits:
            self.controller.push(Compound(f"Auto-segment {len(edits)} image(s) with model", edits))

    def _batch_report(self) -> None:
        self._apply_batch()
        n = len(self._batch_keys)
        if n and self.controller.prefs.autosave:
            self.controller.save_all()
        cancelled = self.job is not None and self.job.cancelled
        text = f"Auto-segment {'cancelled' if cancelled else 'done'}: {n} image(s) pre-annotated"
        text += f", {skipped_message(self._batch_skipped)}." if self._batch_skipped else "."
        if self._batch_errors:
            text += f" {len(self._batch_errors)} problem(s): " + "; ".join(self._batch_errors[:3])
            self.host.show_error("Auto-segment", text)
        self.host.status(text)

    # -- confidence overlay (where the model is unsure) ----------------------------------------------
    def _set_overlay(self, key: str, confidence: np.ndarray) -> None:
        classes = self.meta.num_classes if self.meta is not None else 2
        self.overlay_view.set(key, confidence, classes, self.actions["overlay"].isChecked())
        self._update_actions()

    def _image_changed(self, key: str | None) -> None:   # also the overlay's toggle
        self.overlay_view.follow(key, self.actions["overlay"].isChecked())
        self._update_actions()
        self._compute_overlay()

    def _compute_overlay(self) -> None:
        """With the overlay on, the image on screen gets a map from the model (no shapes change)."""
        key, image = self.controller.current_key, self.controller.current_image()
        if (self.actions["overlay"].isChecked() and self.model is not None and not self.busy
                and image is not None and self.overlay_view.wants(key)):
            self.overlay_view.tried = key   # not again (e.g. after a failure) until the image changes
            self._token = CancelToken()
            self._start(confidence_job, self.model, self.meta, image.copy(), self.model_device, options=self.options,
                        cancel=self._token, title="Confidence overlay failed",
                        on_result=lambda conf: key == self.controller.current_key and self._set_overlay(key, conf))

    def shutdown(self) -> None:
        self.cancel()


def install(host: FeatureHost) -> ModelFeature:
    return ModelFeature(host)
