"""Batch part of the Auto-segment panel: run the current method and parameters on all (or all
unlabelled) images with a progress bar and Cancel.

Images a person labelled are skipped unless the person includes them (a question that says how
many would change; included ones stay "labelled" and keep their shapes, the new ones are added).
The worker (:func:`segstudio.algorithms.apply.batch_segment`) gets a frozen list of
``(key, (image path, annotation path))`` and loads pixels itself; results are collected as they
arrive and applied when the batch ends (or is cancelled) as ONE undo step of one
``ApplyPrediction`` per image, leaving out an image edited meanwhile. An image that was not
labelled becomes "pre-annotated" (a previous pre-annotation of it is replaced). A mixin of
:class:`segstudio.ui.features.autoseg.AutoSegPanel`, which owns the widgets it uses.

May import: PySide6, segstudio.core, segstudio.algorithms, segstudio.ui.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segstudio.algorithms.apply import batch_segment
from segstudio.core.edits import ApplyPrediction, Compound
from segstudio.core.labelled_guard import skipped_message
from segstudio.core.model import LABELLED, PRE_ANNOTATED
from segstudio.ui.dialogs.include_labelled import choose_batch_entries
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
        chosen = choose_batch_entries(self.host.widget, project.entries, only_unlabelled,
                                      f"Auto-segment ({self.spec.title})")
        if chosen is None:
            return
        entries, include, self._batch_skipped, n_labelled = chosen
        if not entries:
            self.show_message("No images to run on"
                              + (f": {skipped_message(n_labelled)}." if n_labelled else "."))
            return
        items = [(e.key, (str(e.image_path), str(e.annotation_path))) for e in entries]
        self.progress.setRange(0, len(items))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.batch_button.setEnabled(False)
        self.batch_cancel.setEnabled(True)
        self._batch_errors: list[str] = []
        self._batch_results: list[tuple[str, list, list[int]]] = []   # (key, shapes, uids then)
        self._batch_include_labelled = include
        self._batch_title = self.spec.title
        self._batch = start_job(batch_segment, items, load_entry_pixels, self.spec.name, params,
                                options=self.options(),
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
        except Exception as exc:   # one image's annotation could not be loaded: report, go on
            self._batch_errors.append(str(exc))
            return
        self._batch_results.append((key, p.data["shapes"], [s.uid for s in ann.shapes]))

    def _apply_batch(self) -> int:
        """Pushes the collected results as one undo step; returns how many images changed."""
        edits = []
        keys = {e.key for e in self.controller.project.entries}
        for key, shapes, uids in self._batch_results:
            if key not in keys:
                continue   # another folder was opened meanwhile
            ann = self.controller.annotation_for(key)
            if [s.uid for s in ann.shapes] != uids or (ann.state == LABELLED and not self._batch_include_labelled):
                self._batch_errors.append(f"{Path(key).name}: edited during the batch, left as it is")
                continue
            replace = ann.state == PRE_ANNOTATED   # a new pre-annotation replaces the old one
            edits.append(ApplyPrediction(key, ann, shapes, replace=replace,
                                         text=f"Pre-annotate ({self._batch_title})"))
        self._batch_results = []
        if edits:
            self.controller.push(Compound(f"Auto-segment {len(edits)} image(s) ({self._batch_title})", edits))
        return len(edits)

    def cancel_batch(self) -> None:
        if self._batch is not None:
            self._batch.cancel()

    def _batch_finished(self) -> None:
        cancelled = self._batch is not None and self._batch.cancelled
        n = self._apply_batch() if not self._closed else 0
        self.progress.setVisible(False)
        self.batch_button.setEnabled(self.spec.needs == "none")
        self.batch_cancel.setEnabled(False)
        errs = getattr(self, "_batch_errors", [])
        text = f"Batch {'cancelled' if cancelled else 'done'}: {n} image(s) pre-annotated"
        skipped = getattr(self, "_batch_skipped", 0)
        text += f", {skipped_message(skipped)}." if skipped else "."
        if errs:
            self.show_message(f"{text} {len(errs)} image(s) failed: " + "; ".join(errs[:3]), error=True)
        else:
            self.show_message(text)
