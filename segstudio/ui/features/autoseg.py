"""Auto-segment feature: a dock with a method picker, a generated parameter form, prompt tools,
a debounced live preview overlay, Apply (one undoable Edit) and a batch run with progress.

Every computation runs off the GUI thread through :func:`segstudio.ui.workers.start_job`; a new
preview request cancels the stale one and a result that arrives for an older request or another
image is dropped. Workers get the controller's cached image array (never written to, so it is
shared rather than copied: copying 72 MB on the GUI thread would itself stall it). Errors show in the panel (and the status bar); the app keeps working.
Apply pushes ``AddShapes`` for the current image; the batch pushes one ``ApplyPrediction`` per
image, which marks it "pre-annotated" until a person edits or accepts it.

The widgets are made in :mod:`.autoseg_layout`, the batch run in :mod:`.autoseg_batch`.

May import: PySide6, segstudio.core, segstudio.algorithms, segstudio.tools, segstudio.ui.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QWidget,
)

from segstudio.algorithms.apply import ApplyOptions
from segstudio.algorithms.registry import NEEDS, AlgorithmSpec, check_prompt, list_methods
from segstudio.core.edits import AddShapes
from segstudio.tools.prompts import PromptState, prompt_tools
from segstudio.ui.actions import ActionSpec
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.features.autoseg_batch import BatchMixin
from segstudio.ui.features.autoseg_jobs import apply_edit_job, call_job, preview_job
from segstudio.ui.features.autoseg_layout import build_panel
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

PREVIEW_DELAY_MS = 250
#: the canvas tool a method's prompt is drawn with
TOOL_FOR_NEEDS = {"box": "seg_box", "box_or_scribbles": "seg_box", "seed": "seg_click",
                  "scribbles": "seg_scribble", "anchors": "seg_scissors", "none": "seg_roi"}


def preview_image_job(method: str, image: Any, prompt: Any, params: Any) -> Any:
    """:func:`preview_job` plus the overlay as a QImage, made here in the worker (QImage, unlike
    QPixmap, may be built off the GUI thread): the GUI thread only uploads it."""
    result = yield from preview_job(method, image, prompt, params)
    ov = result["overlay"]
    h, w = ov.shape[:2]
    result["qimage"] = QImage(ov.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()
    return result


class AutoSegPanel(BatchMixin, QWidget):
    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window.widget)
        self.setObjectName("AutoSegPanel")
        self.host, self.controller, self.canvas = window, window.controller, window.canvas
        self.methods: dict[str, AlgorithmSpec] = {s.name: s for s in list_methods()}
        self.state = PromptState()
        self.state.image_provider = self.controller.current_image
        self.state.run_async = self._run_tool_job   # e.g. the scissors' live-wire cost map
        self.state.subscribe(self._prompt_changed)
        for tool in prompt_tools(self.state):
            self.canvas.register_tool(tool)
        self._preview: JobHandle | None = None
        self._apply: JobHandle | None = None
        self._batch: JobHandle | None = None
        self._tool_job: JobHandle | None = None
        self._request = 0
        self._result: dict | None = None        # last preview: label map + its signature
        self._result_sig: tuple | None = None
        self._last_error = ""
        self._closed = False
        self._ready = False
        self.overlay = QGraphicsPixmapItem()
        self.overlay.setZValue(50)
        self.overlay.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        # hit tests must not build a mask of the 2048 px overlay's alpha on the GUI thread
        self.overlay.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.canvas.scene().addItem(self.overlay)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.run_preview)
        build_panel(self)
        self.controller.current_changed.connect(self._image_changed)
        self.controller.project_changed.connect(self.refresh_classes)
        self.set_method("otsu")
        # from here on, changes made by the user trigger the live preview (never at start-up:
        # opening a project must not start work nobody asked for)
        self._ready = True

    # -- state -------------------------------------------------------------------------------
    @property
    def spec(self) -> AlgorithmSpec:
        return self.methods[self.method_combo.currentData()]

    def set_method(self, name: str) -> None:
        spec = self.methods[name]
        if self.method_combo.currentData() != name:
            self.method_combo.setCurrentIndex(self.method_combo.findData(name))   # re-enters here
            return
        self.form.set_params_class(spec.params_cls)
        needs = "" if spec.needs == "none" else f" Needs {NEEDS[spec.needs]}."
        self.description.setText(f"{spec.description}{needs}")
        self.batch_button.setEnabled(spec.needs == "none")
        self.clear_overlay()
        tool = "seg_wand" if name == "magic_wand" else TOOL_FOR_NEEDS[spec.needs]
        if spec.needs != "none" or self.canvas.tool_name.startswith("seg_"):
            self.canvas.set_tool(tool)
        self._schedule()

    def params(self) -> Any:
        """The current params dataclass (raises ParamError with a clear message)."""
        return self.spec.make_params(self.form.values())

    def options(self) -> ApplyOptions:
        label = self.class_combo.currentText().strip() or self.controller.selected_class() or "object"
        return ApplyOptions(label=label, mode=self.mode_combo.currentText(),
                            tolerance=self.tolerance.value(), min_area=self.min_area.value(),
                            max_polygons=self.max_polygons.value())

    def refresh_classes(self) -> None:
        current = self.class_combo.currentText()
        names = self.controller.project.class_names() if self.controller.project else []
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(names)
        chosen = current or self.controller.selected_class() or (names[0] if names else "object")
        self.class_combo.setCurrentText(chosen)
        self.class_combo.blockSignals(False)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #d33;" if error else "")
        self.message.setText(text)
        if error:
            self._last_error = text
            self.host.status(text)

    # -- reactions ---------------------------------------------------------------------------
    def _tool_changed(self, name: str) -> None:
        for n, b in self.tool_buttons.items():
            b.setChecked(n == name)

    def _image_changed(self, _key: str) -> None:
        if self._preview is not None:
            self._preview.cancel()
        self._request += 1
        self.clear_overlay()
        self.state.clear(keep_roi=False, notify=False)
        self.refresh_classes()
        if self.isVisible():   # the panel is open: the new image gets its live preview too
            self._schedule()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        """The panel opened (its dock shown or its tab raised): live-preview what it shows."""
        super().showEvent(event)
        if self._result is None:
            self._schedule()

    def _params_changed(self) -> None:
        self._schedule()

    def _prompt_changed(self, prompt: Any, final: bool) -> None:
        if self.state.tolerance is not None and "tolerance" in self.form.editors:
            self.form.set_value("tolerance", self.state.tolerance)
        self._schedule(0 if final else 30)

    def _schedule(self, delay: int = PREVIEW_DELAY_MS) -> None:
        if self.live.isChecked() and self._ready and not self._closed:
            self._timer.start(delay)

    def _inputs(self) -> tuple | None:
        """(key, image, prompt, params) for a run, or None with the reason shown."""
        key = self.controller.current_key
        image = self.controller.current_image() if key else None
        if image is None:
            self.show_message("Open an image first.")
            return None
        try:
            params = self.params()
            prompt = self.state.prompt()
            check_prompt(self.spec, prompt)
        except ValueError as exc:
            self.show_message(str(exc), error=self.spec.needs == "none")
            return None
        return key, image, prompt, params

    # -- preview -----------------------------------------------------------------------------
    def run_preview(self) -> None:
        if self._closed:
            return
        inputs = self._inputs()
        if inputs is None:
            self.clear_overlay()
            return
        key, image, prompt, params = inputs
        if self._preview is not None and self._preview.is_running:
            self._preview.cancel()   # stale: its result will be dropped
        self._request += 1
        request, sig = self._request, (key, self.spec.name, params, self.state.version)
        self.show_message(f"Running {self.spec.title}…")
        self._preview = start_job(
            preview_image_job, self.spec.name, image, prompt, params,
            on_result=lambda r: self._preview_done(request, sig, r),
            on_error=lambda exc, tb: self._failed(request, exc))

    def _preview_done(self, request: int, sig: tuple, result: dict) -> None:
        if request != self._request or sig[0] != self.controller.current_key:
            return
        self._result, self._result_sig = result, sig
        # the QImage was made in the worker: all that is left here is the pixmap upload
        self.overlay.setPixmap(QPixmap.fromImage(result["qimage"]))
        self.overlay.setScale(result["scale"])
        self.overlay.setVisible(True)
        self.show_message(f"Preview ready ({self.spec.title}); Apply to keep it." if result["found"] else
                          "Preview: nothing found with these parameters.")

    def _failed(self, request: int, exc: BaseException) -> None:
        if request == self._request:
            self.show_message(f"{self.spec.title} failed: {exc}", error=True)

    def clear_overlay(self) -> None:
        self.overlay.setVisible(False)
        self.overlay.setPixmap(QPixmap())
        self._result = self._result_sig = None

    # -- apply -------------------------------------------------------------------------------
    def apply(self) -> None:
        inputs = self._inputs()
        if inputs is None:
            return
        key, image, prompt, params = inputs
        sig = (key, self.spec.name, params, self.state.version)
        cached = self._result["label_map"] if self._result is not None and self._result_sig == sig else None
        options = self.options()
        self.apply_button.setEnabled(False)
        title = self.spec.title
        self._apply = start_job(
            apply_edit_job, key, f"Auto-segment ({title})",
            self.spec.name, None if cached is not None else image, prompt, params, options=options,
            label_map=cached,
            on_result=lambda result: self._apply_done(key, *result),
            on_error=lambda exc, tb: self.show_message(f"{title} failed: {exc}", error=True),
            on_finished=lambda: self.apply_button.setEnabled(True))

    def _apply_done(self, key: str, edit: AddShapes | None, over: int = 0) -> None:
        if key != self.controller.current_key:
            return   # the image changed meanwhile: drop it
        if edit is None:
            self.show_message("Nothing to apply: no region large enough.")
            return
        shapes = edit.shapes
        self.controller.push(edit)
        self.clear_overlay()
        self.state.clear(keep_roi=True, notify=False)
        if self.canvas.tool_name.startswith("seg_"):
            self.state.draw(self.canvas.tool())
        if over:
            self.show_message(f"{over:,} regions are more than the {self.max_polygons.value():,} polygons "
                              f"allowed: added {len(shapes)} mask layer(s) instead (raise 'Minimum area' "
                              f"or 'Max polygons' for polygons).")
        else:
            self.show_message(f"Added {len(shapes)} shape(s) of class '{shapes[0].label}'.")

    def shutdown(self) -> None:
        """Stops the pending preview timer and cancels running jobs; called by
        ``MainWindow.closeEvent`` once the window really closes (after the unsaved-work
        question, so a cancelled close leaves the panel working). Safe to call twice."""
        self._closed = True
        self._timer.stop()
        for job in (self._preview, self._apply, self._batch, self._tool_job):
            if job is not None and job.is_running:
                job.cancel()

    def _run_tool_job(self, fn: Any, done: Any) -> None:
        """``PromptState.run_async``: a prompt tool's slow step in a worker; ``done`` on this thread."""
        if self._closed:
            return
        if self._tool_job is not None and self._tool_job.is_running:
            self._tool_job.cancel()   # superseded (the tool drops its result anyway)
        self._tool_job = start_job(call_job, fn, on_result=done,
                                   on_error=lambda exc, tb: log.debug("prompt tool job failed: %s", exc))


#: the feature's rows of the action table
ROWS = (ActionSpec("autoseg_panel", "Tools", "&Auto-segment…", tip="Classical segmentation of this image "
                   "or a batch: pick a method, draw its prompt, preview, apply"),)


def install(host: FeatureHost) -> AutoSegPanel:
    panel = AutoSegPanel(host)
    dock = host.add_dock(panel, "Auto-segment", "right")
    dock.setObjectName("AutoSegmentDock")
    panel.dock = dock
    host.add_actions(ROWS, {"autoseg_panel": lambda: (dock.show(), dock.raise_())})
    panel.refresh_classes()
    return panel
