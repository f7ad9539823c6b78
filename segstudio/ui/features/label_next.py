"""Label next (Tools ▸ Label next, Ctrl+L): open the most uncertain image a person has not
labelled, not served recently, passing over near-duplicates of what was just served.

Scores are read from the project's latest score cache (``.segstudio/scores/<sha>.json``, written
by ``segstudio rank`` / :func:`segstudio.ml.uncertainty.score_images`), so this feature needs
no torch; an image whose file changed since it was scored is left out until scored again.
Selection is :func:`segstudio.core.label_next.pick_next`. The Images dock gets an "Uncertainty"
column (sortable; empty for labelled or unscored images), refreshed when a folder opens and on
each Label next.

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from segstudio.core.label_next import Candidate, ServedHistory, descriptor_from_text, pick_next
from segstudio.core.model import LABELLED
from segstudio.core.project_io import meta_dir
from segstudio.core.score_cache import file_stamp, latest_scores
from segstudio.ui.actions import ActionSpec
from segstudio.ui.docks.image_columns import ImageColumn
from segstudio.ui.feature_host import FeatureHost

ROWS = (ActionSpec("label_next", "Tools", "&Label next", ("Ctrl+L",),
                   "Open the most uncertain image not labelled yet (scores: segstudio rank)"),)


class LabelNextFeature(QObject):
    def __init__(self, host: FeatureHost) -> None:
        super().__init__(host.widget)
        self.host, self.controller = host, host.controller
        self.served = ServedHistory(20)
        self.scores: dict[str, float] = {}   # entry key → score of the last look-up
        self.dock = getattr(host, "file_dock", None)   # the window's Images dock, if it has one
        if self.dock is not None:
            self.dock.add_column(ImageColumn(
                "Uncertainty", lambda e, _: (f"{self.scores[e.key]:.3f}" if e.key in self.scores else None),
                sort_key=lambda e, _: self.scores.get(e.key), width=80, numeric=True,
                help="How unsure the model is about this image (segstudio rank); Ctrl+L opens "
                     "the most uncertain one"))
        self.controller.project_changed.connect(self.refresh)

    def refresh(self) -> tuple[list[Candidate], dict]:
        """Re-reads the scores, repaints the dock's rows; returns :meth:`candidates`."""
        found = self.candidates()
        if self.dock is not None:
            model = self.dock.model
            if model.rowCount():
                model.dataChanged.emit(model.index(0, 0),
                                       model.index(model.rowCount() - 1, model.columnCount() - 1))
        return found

    def candidates(self) -> tuple[list[Candidate], dict]:
        project = self.controller.project
        if project.root is None:
            return [], {}
        _, records = latest_scores(meta_dir(project))
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
        self.scores = {c.key: c.score for c in cands}
        return cands, descs

    def go(self) -> str | None:
        cands, descs = self.refresh()
        if self.controller.current_key:
            self.served.add(self.controller.current_key)   # the image on screen is being labelled
        picks = pick_next(cands, 1, recent=list(self.served), descriptors=descs)
        if not picks:
            self.host.status("Label next: no scored image left to label — score the folder with "
                             "`segstudio rank --model CKPT FOLDER`", 8000)
            return None
        key = picks[0]
        self.served.add(key)
        self.controller.go_to(key)
        self.host.status(f"Label next: {Path(key).stem} (uncertainty {self.scores[key]:.3f})")
        return key


def install(host: FeatureHost) -> LabelNextFeature:
    feature = LabelNextFeature(host)
    host.add_actions(ROWS, {"label_next": feature.go})
    return feature
