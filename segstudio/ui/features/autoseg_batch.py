"""Batch part of the Auto-segment panel: run the current method and parameters on all (or all
unlabelled) images with a progress bar and Cancel.

The worker (:func:`segstudio.algorithms.apply.batch_segment`) gets a frozen list of
``(key, (image path, annotation path))`` and loads pixels itself; each image's shapes arrive as
progress and are pushed on the GUI thread as ONE ``ApplyPrediction`` per image, which marks the
image "pre-annotated" (a previous pre-annotation of that image is replaced). A mixin of
:class:`segstudio.ui.features.autoseg.AutoSegPanel`, which owns the widgets it uses.

May import: PySide6, segstudio.core, segstudio.algorithms, segstudio.ui.
"""

from __future__ import annotations

from typing import Any

from segstudio.algorithms.apply import batch_segment
from segstudio.core.edits import ApplyPrediction
from segstudio.core.model import PRE_ANNOTATED, UNLABELLED
from segstudio.ui.features.autoseg_jobs import load_entry_pixels
from segstudio.ui.workers import start_job


class BatchMixin:
    def run_batch(self) -> None:
        project = self.controller.project
        if project is None or self.spec.needs != "none":
            return
        try:
            params = self.params()
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return
        only_unlabelled = self.batch_scope.currentData() == "unlabelled"
        items = [(e.key, (str(e.image_path), str(e.annotation_path))) for e in project.entries
                 if e.error is None and (not only_unlabelled or e.state == UNLABELLED)]
        if not items:
            self.show_message("No images to run on.")
            return
        self.progress.setRange(0, len(items))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.batch_button.setEnabled(False)
        self.batch_cancel.setEnabled(True)
        self._batch_errors: list[str] = []
        self._batch = start_job(batch_segment, items, load_entry_pixels, self.spec.name, params, self.options(),
                                keep_results=False, isolate=True, on_progress=self._batch_progress,
                                on_error=lambda exc, tb: self.show_message(f"Batch failed: {exc}", error=True),
                                on_finished=self._batch_finished)

    def _batch_progress(self, p: Any) -> None:
        self.progress.setValue(p.done)
        key = p.data.get("key")
        if key is None:
            return
        if "error" in p.data:
            self._batch_errors.append(p.data["error"])
            return
        try:
            ann = self.controller.annotation_for(key)
            replace = self.controller.project.entry(key).state == PRE_ANNOTATED
            self.controller.push(ApplyPrediction(key, ann, p.data["shapes"], replace=replace,
                                                 text=f"Pre-annotate ({self.spec.title})"))
        except Exception as exc:   # one image's annotation could not be loaded: report, go on
            self._batch_errors.append(str(exc))

    def cancel_batch(self) -> None:
        if self._batch is not None:
            self._batch.cancel()

    def _batch_finished(self) -> None:
        cancelled = self._batch is not None and self._batch.cancelled
        self.progress.setVisible(False)
        self.batch_button.setEnabled(self.spec.needs == "none")
        self.batch_cancel.setEnabled(False)
        errs = getattr(self, "_batch_errors", [])
        text = "Batch cancelled." if cancelled else "Batch done."
        if errs:
            self.show_message(f"{text} {len(errs)} image(s) failed: " + "; ".join(errs[:3]), error=True)
        else:
            self.show_message(text)
