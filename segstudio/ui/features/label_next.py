"""Label next (Tools ▸ Label next, Ctrl+L): open the most uncertain image a person has not
labelled, not served recently, passing over near-duplicates of what was just served; and
Tools ▸ Score images for Label next, which scores the unlabelled images with the current model
in the background (also started by itself when a training ends, preference
``score_after_training``).

Scores live in the project's score cache (``.segstudio/scores/<checkpoint sha>.json``, the file
``segstudio rank`` writes too): scoring is a generator job (:func:`score_job`, run with
:func:`segstudio.ui.workers.start_job`, progress and Cancel in the status bar) calling
:func:`segstudio.ml.uncertainty.score_images`; torch is imported only inside it. A job whose
model is no longer the current one when it ends (or whose folder was closed) is dropped. Reading
scores needs no torch: the cache of the model scored last in this session, else the newest cache
file (e.g. from ``segstudio rank``); an image whose file changed since it was scored is left out.
Each image's score is put on its entry (``ImageEntry.uncertainty``, one ``entry_changed`` per
changed image), which the Images dock's "Uncertainty" column shows and sorts by. Selection is
:func:`segstudio.core.label_next.pick_next`. The first image Label next serves with a model
loaded turns on Model ▸ Show confidence overlay, which shows where in it the model is unsure.

May import: PySide6, segstudio.core, segstudio.ui; segstudio.ml only inside :func:`score_job`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QProgressBar, QPushButton

from segstudio.core.jobs import CancelToken, Progress
from segstudio.core.label_next import Candidate, ServedHistory, descriptor_from_text, pick_next
from segstudio.core.model import LABELLED
from segstudio.core.project_io import meta_dir
from segstudio.core.score_cache import file_stamp, latest_scores, read_scores
from segstudio.ui.actions import ActionSpec
from segstudio.ui.docks.image_columns import ImageColumn
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

ROWS = (ActionSpec("label_next", "Tools", "&Label next", ("Ctrl+L",),
                   "Open the most uncertain image not labelled yet"),
        ActionSpec("label_next_score", "Tools", "&Score images for Label next",
                   tip="Score the images not labelled yet with the current model (in the background)"))


def score_job(model_path: str, items: list[tuple[str, str]], project_dir: str, device: str,
              *, cancel: CancelToken):
    """Runs in a worker thread: loads the checkpoint, scores ``items`` (relative path, file) into
    the project's score cache — the same file and options as ``segstudio rank`` — and returns
    {"model_path", "cache", "records", "errors"}."""
    yield Progress(0, None, "Label next: loading the model…")
    from segstudio.core.score_cache import ScoreCache, file_sha256, scores_file
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.device import pick_device
    from segstudio.ml.uncertainty import ScoreOptions, score_images

    dev = pick_device(device)
    model, meta = load_checkpoint(model_path, dev)
    sha = file_sha256(model_path)
    options = ScoreOptions()   # `segstudio rank`'s defaults: one cache for both
    cache = ScoreCache(scores_file(project_dir, sha), sha, options.cache_identity())
    yield Progress(0, None, "Label next: scoring…", data={"cache": str(cache.path)})
    records, errors = yield from score_images(model, meta, items, dev, options=options, cache=cache,
                                              cancel=cancel)
    return {"model_path": model_path, "cache": str(cache.path), "records": records, "errors": errors}


class LabelNextFeature(QObject):
    def __init__(self, host: FeatureHost) -> None:
        super().__init__(host.widget)
        self.host, self.controller = host, host.controller
        self.served = ServedHistory(20)
        self.job: JobHandle | None = None
        self._token: CancelToken | None = None
        self._job_model: str | None = None     # the checkpoint the running job scores with
        self._job_root: Path | None = None
        self._job_cache: Path | None = None    # the score cache the running job writes
        self._caches: dict[str, Path] = {}     # model path → its score cache (scored this session)
        self._dropped: set[Path] = set()       # caches of stale jobs: never the "latest" scores
        self._overlay_offered = False
        self.last_result: dict[str, Any] | None = None
        self.dock = getattr(host, "file_dock", None)   # the window's Images dock, if it has one
        if self.dock is not None:
            self.dock.add_column(ImageColumn(
                "Uncertainty", lambda e, _: (None if e.uncertainty is None or e.state == LABELLED
                                             else f"{e.uncertainty:.3f}"),
                sort_key=lambda e, _: None if e.state == LABELLED else e.uncertainty, width=80,
                numeric=True, help="How unsure the current model is about this image (Tools ▸ Score "
                                   "images for Label next, segstudio rank); Ctrl+L opens the most uncertain"))
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setFormat("scoring %v/%m")
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel scoring")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        host.add_status_widget(self.progress)
        host.add_status_widget(self.cancel_button)
        self.controller.project_changed.connect(self.refresh)
        self.controller.model_changed.connect(self._model_changed)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.is_running

    # -- reading scores ----------------------------------------------------------------------------
    def _records(self) -> dict[str, dict]:
        project = self.controller.project
        cache = self._caches.get(self.controller.current_model_path or "")
        if cache is not None:
            return read_scores(cache)
        return latest_scores(meta_dir(project), exclude=self._dropped)[1]

    def refresh(self) -> tuple[list[Candidate], dict]:
        """Re-reads the scores onto the entries (the dock repaints the rows that changed);
        returns :meth:`candidates`."""
        found = self.candidates()
        project = self.controller.project
        scores = {c.key: c.score for c in found[0]}
        for e in list(project.entries):
            project.update_entry(e.key, uncertainty=scores.get(e.key))
        return found

    def candidates(self) -> tuple[list[Candidate], dict]:
        project = self.controller.project
        if project.root is None:
            return [], {}
        records = self._records()
        cands, descs = [], {}
        for e in project.entries:
            if e.error is not None or e.state == LABELLED:
                continue
            try:
                rel = e.image_path.relative_to(project.root).as_posix()
                rec = records.get(rel)
                if rec is None or {k: rec.get(k) for k in ("mtime_ns", "size")} != file_stamp(e.image_path):
                    continue   # not scored, or the file changed since
            except (ValueError, OSError):
                continue
            desc = descriptor_from_text(str(rec.get("descriptor", "")))
            cands.append(Candidate(e.key, float(rec["score"]), desc))
            descs[e.key] = desc
        return cands, descs

    def go(self) -> str | None:
        cands, descs = self.refresh()
        if self.controller.current_key:
            self.served.add(self.controller.current_key)   # the image on screen is being labelled
        picks = pick_next(cands, 1, recent=list(self.served), descriptors=descs)
        if not picks:
            self.host.status("Label next: no scored image left to label — Tools ▸ Score images for "
                             "Label next (or `segstudio rank --model CKPT FOLDER`)", 8000)
            return None
        key = picks[0]
        self.served.add(key)
        self.controller.go_to(key)
        self._offer_overlay()
        score = next(c.score for c in cands if c.key == key)
        self.host.status(f"Label next: {Path(key).stem} (uncertainty {score:.3f})")
        return key

    def _offer_overlay(self) -> None:
        """Once a session: the confidence overlay on, so the served image shows where the model
        is unsure (the person's own choice is respected afterwards)."""
        overlay = self.host.actions.get("model_overlay")
        if self._overlay_offered or overlay is None or not overlay.isEnabled():
            return
        self._overlay_offered = True
        if not overlay.isChecked():
            overlay.trigger()

    # -- scoring -----------------------------------------------------------------------------------
    def score(self) -> JobHandle | None:
        """Scores the images not labelled yet with the current model, in the background."""
        project, model_path = self.controller.project, self.controller.current_model_path
        if project.root is None:
            self.host.status("Label next: open a folder of images first.")
            return None
        if not model_path:
            self.host.status("Label next: no model — train one (Model ▸ Train…) or load one (Model ▸ Load model…).")
            return None
        if self.busy:
            if self._job_model == model_path and self._job_root == project.root:
                self.host.status("Label next: scoring is already running.")
                return self.job
            self.cancel()
        items = []
        for e in project.entries:
            if e.error is None and e.state != LABELLED:
                try:
                    items.append((e.image_path.relative_to(project.root).as_posix(), str(e.image_path)))
                except ValueError:
                    continue   # an image outside the folder has no cache key
        self._job_model, self._job_root = model_path, project.root
        self._token = CancelToken()
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        job = start_job(score_job, model_path, items, str(meta_dir(project)), "auto", cancel=self._token,
                        on_progress=self._progress,
                        on_result=lambda r, root=project.root: self._scored(r, root),
                        on_error=self._failed, on_finished=lambda: self._finished(job))
        self.job = job
        return job

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
        if self.job is not None:
            self.job.cancel()

    def _progress(self, p: Progress) -> None:
        if p.data and "cache" in p.data:
            self._job_cache = Path(p.data["cache"])
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        if p.message:
            self.host.status(p.message, 2000)

    def _model_changed(self, path: object) -> None:
        if self.busy and str(path or "") != self._job_model:
            self.cancel()   # its scores would be another model's
            if self._job_cache is not None and self._job_cache not in self._caches.values():
                self._dropped.add(self._job_cache)   # what it saved is no "latest" for the dock
        self.refresh()

    def _scored(self, result: dict[str, Any], root: Path | None) -> None:
        cache = Path(result["cache"])
        if result["model_path"] != self.controller.current_model_path or root != self.controller.project.root:
            self._dropped.add(cache)
            self.host.status("Label next: scores dropped — the model or the folder changed while scoring.")
            return
        self._caches[result["model_path"]] = cache
        self._dropped.discard(cache)
        self.last_result = result
        cands, _ = self.refresh()
        errors = result["errors"]
        text = f"Label next: {len(cands)} image(s) scored" + (f", {len(errors)} failed" if errors else "")
        self.host.status(text + ("; Ctrl+L opens the most uncertain." if cands else "."), 8000)
        if errors:
            self.host.show_error("Score images for Label next", "\n".join(errors[:10]))

    def _failed(self, exc: BaseException, tb: str) -> None:
        log.error("scoring failed: %s\n%s", exc, tb)
        self.host.show_error("Score images for Label next", str(exc), details=tb)

    def _finished(self, job: JobHandle) -> None:
        if job is not self.job:
            return   # a cancelled job ending after a newer one started
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._token = None
        self._job_model = self._job_root = self._job_cache = None

    def shutdown(self) -> None:
        self.cancel()


def install(host: FeatureHost) -> LabelNextFeature:
    feature = LabelNextFeature(host)
    host.add_actions(ROWS, {"label_next": feature.go, "label_next_score": feature.score})
    return feature
