"""The Segment-Anything actions beyond clicking: Model ▸ Segment everything, Model ▸ Selected
rectangles → masks, and the AI polygon's Detail slider (status bar). Part of the ``sam_tool``
feature (installed by it, sharing its predictor and embedding cache).

Both actions run the model in a worker (embedding, decoder, mask → shapes) and apply the result
on the GUI thread as ONE edit — dropped if the image changed meanwhile:

- *Segment everything*: the open image's instances (:mod:`segstudio.sam.everything`) are added
  as pre-annotation of the current class (existing shapes kept; the image becomes
  pre-annotated). On an image a person labelled it asks first, and the image stays labelled.
- *Selected rectangles → masks*: each selected rectangle is replaced by the mask of the object
  it frames, same class, group id and description — the rectangle was the prompt, keeping both
  would leave a duplicate object in every export. A rectangle where the model finds nothing
  stays. Undo brings the rectangles back.

May import: PySide6, segstudio.core, segstudio.sam, segstudio.tools, segstudio.ui.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QSlider, QWidget

from segstudio.core.edits import AddShapes, ApplyPrediction, Compound, DeleteShapes
from segstudio.core.jobs import Progress
from segstudio.core.model import LABELLED
from segstudio.sam.everything import EverythingParams, instance_shapes, segment_everything
from segstudio.sam.predictor import mask_shapes
from segstudio.tools.sam_click import AiTool
from segstudio.ui.actions import ActionSpec
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

DETAIL_STEPS = 40          # slider positions; tolerance = (DETAIL_STEPS - value) / 8 px: 0 … 5 px
DEFAULT_LABEL = "object"   # the class of "everything" when none is selected


def everything_job(predictor: Any, base: str, image: np.ndarray, params: EverythingParams,
                   *, label: str, mode: str, tolerance: float):
    emb = predictor.embed(base, image)
    instances = yield from segment_everything(predictor.model, emb, params)
    return instance_shapes(instances, label, image.shape[:2], mode=mode, tolerance=tolerance)


def rectangles_job(predictor: Any, base: str, image: np.ndarray, boxes: list, *, tolerance: float):
    """One list of polygons per box (empty: the model found nothing there)."""
    emb = predictor.embed(base, image)
    out = []
    for n, box in enumerate(boxes, start=1):
        pred = predictor.predict(emb, [], [], box)
        shapes = mask_shapes(pred.window_mask, "x", "polygon", tolerance=tolerance, largest_only=True)
        for s in shapes:
            s.points = np.asarray(s.points, np.float64) + pred.window[:2]
        out.append(shapes)
        yield Progress(n, len(boxes), "rectangles → masks")
    return out


class DetailSlider(QWidget):
    """AI polygon detail: right = more vertices (smaller simplification tolerance)."""

    def __init__(self, tools: list[AiTool]) -> None:
        super().__init__()
        self.tools = tools
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, DETAIL_STEPS)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("AI polygon detail: fewer (left) or more (right) polygon points")
        self.slider.setValue(self.value_for(tools[0].tolerance))
        self.slider.valueChanged.connect(self._changed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Detail"))
        lay.addWidget(self.slider)

    @staticmethod
    def value_for(tolerance: float) -> int:
        return int(round(DETAIL_STEPS - 8 * tolerance))

    def _changed(self, value: int) -> None:
        for t in self.tools:
            t.tolerance = (DETAIL_STEPS - value) / 8.0


class SamActions:
    def __init__(self, feature: Any) -> None:
        # feature: the SamTool (sam_tool imports this module, so not imported here: no cycle)
        self.feature = feature
        self.host, self.controller, self.canvas = feature.host, feature.controller, feature.canvas
        self.params = EverythingParams()
        self.job: JobHandle | None = None
        # asked before an automatic result goes onto a person's labelled image (tests replace it)
        self.confirm_labelled: Callable[[], bool] = self._ask_labelled
        self.detail = DetailSlider(feature.tools)
        self.detail.setVisible(False)
        self.canvas.tool_changed.connect(lambda name: self.detail.setVisible(name == "ai_polygon"))

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.is_running

    def _ask_labelled(self) -> bool:
        return QMessageBox.question(
            self.host.widget, "Segment everything",
            "A person labelled this image. Add the model's instances to it anyway?\n"
            "(Its shapes are kept and it stays labelled.)") == QMessageBox.StandardButton.Yes

    def _current(self) -> tuple[str, np.ndarray] | None:
        key, image = self.controller.current_key, self.controller.current_image()
        if key is None or image is None:
            return None
        if self.busy:
            self.host.status("Segment-Anything: still working on the last request.")
            return None
        return key, image

    # -- segment everything --------------------------------------------------------------------------
    def segment_everything(self) -> None:
        cur = self._current()
        if cur is None:
            return
        key, image = cur
        if self.controller.annotation_for(key).state == LABELLED and not self.confirm_labelled():
            return
        label = self.controller.selected_class() or DEFAULT_LABEL
        self.feature._with_predictor(lambda: self._start_everything(key, image, label))

    def _start_everything(self, key: str, image: np.ndarray, label: str) -> None:
        self.host.status("Segment everything: running…", 0)
        self.job = start_job(
            everything_job, self.feature.predictor, self.feature._base(key), image.copy(), self.params,
            label=label, mode="polygon", tolerance=self.feature.tools[0].tolerance,
            on_progress=lambda p: p is not None and self.host.status(f"{p.message} ({p.done}/{p.total})", 0),
            on_result=lambda shapes: self._everything_done(key, shapes),
            on_error=lambda exc, tb: self.host.status(f"Segment everything: {exc}", 10000))

    def _everything_done(self, key: str, shapes: list) -> None:
        if key != self.controller.current_key:
            self.host.status("Segment everything: result dropped, the image changed meanwhile.")
            return
        ann = self.controller.annotation_for(key)
        self.controller.push(ApplyPrediction(key, ann, shapes, replace=False,
                                             text=f"Segment everything ({len(shapes)} shapes)"))
        self.host.status(f"Segment everything: {len(shapes)} instance(s) added as pre-annotation.", 8000)

    # -- rectangles → masks --------------------------------------------------------------------------
    def rectangles_to_masks(self) -> None:
        rects = [s for s in self.canvas.selected_shapes() if s.shape_type == "rectangle"]
        if not rects:
            self.host.status("Select one or more rectangles first (their class is kept).")
            return
        cur = self._current()
        if cur is None:
            return
        key, image = cur
        boxes = []
        for s in rects:
            (x0, y0), (x1, y1) = np.asarray(s.points, float)[:2]
            boxes.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        self.feature._with_predictor(lambda: self._start_rectangles(key, image, rects, boxes))

    def _start_rectangles(self, key: str, image: np.ndarray, rects: list, boxes: list) -> None:
        self.job = start_job(
            rectangles_job, self.feature.predictor, self.feature._base(key), image.copy(), boxes,
            tolerance=self.feature.tools[0].tolerance,
            on_result=lambda got: self._rectangles_done(key, rects, got),
            on_error=lambda exc, tb: self.host.status(f"Rectangles → masks: {exc}", 10000))

    def _rectangles_done(self, key: str, rects: list, got: list) -> None:
        ann = self.controller.annotation_for(key)
        present = {id(s) for s in ann.shapes}
        if key != self.controller.current_key or any(id(r) not in present for r in rects):
            self.host.status("Rectangles → masks: dropped, the image or its rectangles changed meanwhile.")
            return
        done, new = [], []
        for rect, shapes in zip(rects, got):
            if not shapes:
                continue
            for s in shapes:
                s.label, s.group_id, s.description = rect.label, rect.group_id, rect.description
            done.append(rect)
            new += shapes
        if not done:
            self.host.status("Rectangles → masks: the model found nothing in the selected rectangles.")
            return
        self.controller.push(Compound(f"Rectangles → masks ({len(done)})",
                                      [DeleteShapes(key, done), AddShapes(key, new, None, "Rectangles → masks")]))
        kept = len(rects) - len(done)
        self.host.status(f"{len(done)} rectangle(s) replaced by masks"
                         + (f", {kept} kept (nothing found)" if kept else "") + ".", 8000)


ROWS = (
    ActionSpec("sam_everything", "Model", "Segment e&verything (Segment-Anything)", (),
               "A grid of clicks over the open image → one shape per distinct object, as pre-annotation "
               "(one undo step)"),
    ActionSpec("sam_rectangles", "Model", "Selected rectangles → &masks (Segment-Anything)", (),
               "Each selected rectangle becomes the mask of the object it frames, same class "
               "(one undo step)"),
)


def install(feature: Any) -> SamActions:
    actions = SamActions(feature)
    feature.host.add_status_widget(actions.detail)
    feature.host.add_actions(ROWS, {"sam_everything": actions.segment_everything,
                                    "sam_rectangles": actions.rectangles_to_masks})
    return actions
