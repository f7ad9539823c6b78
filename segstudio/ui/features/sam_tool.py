"""The AI tools in the window (AI polygon / AI mask, :mod:`segstudio.tools.sam_click`) and
Model ▸ Segment-Anything models….

The GUI thread never runs a model: opening the ONNX sessions, the image encoder and each click's
decoder run in workers (:func:`segstudio.ui.workers.start_job`). The embedding of the open image
starts as soon as an AI tool is active on it (or at the first click), the next image's is
prefetched after it, and both stay in the predictor's memory-bounded LRU (and on disk under the
project's ``.segstudio/sam/``). A click while the embedding is still running waits for it in
the worker queue, not on the GUI thread; a decode whose prompt or image changed meanwhile is
dropped. When the view is zoomed into part of a big image, that region is embedded at the
encoder's full resolution (small objects keep their detail); the status bar says which.

May import: PySide6, segstudio.core, segstudio.sam, segstudio.tools, segstudio.ui.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from segstudio.core.io.display import to_rgb8
from segstudio.core.io.images import load_image
from segstudio.sam.models import ModelMissing, missing_message, status_rows
from segstudio.sam.predictor import Predictor, image_key
from segstudio.tools.sam_click import AiTool
from segstudio.ui.actions import ActionSpec
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.workers import JobHandle, start_job

log = logging.getLogger(__name__)

ZOOM_ROI_FRACTION = 0.5    # the view shows less than half the image's area → embed that region
ZOOM_ROI_MIN_SIDE = 1536   # ...of an image whose long side is above this (else: whole image)


def open_job(name: str, project_dir: Any):
    yield from ()
    # ONNX Runtime's intra-op pool on every core starves the GUI thread while the encoder runs
    # (379 ms gaps on the loaded 2-core machine, benchmarks/bench_sam.py --gui-stall): leave one
    return Predictor.open(name, project_dir, threads=max(1, (os.cpu_count() or 2) - 1))


def embed_job(predictor: Predictor, base: str, image: Any, roi: Any, *, path: Any = None):
    """The embedding of ``image`` (or, when None, of the file ``path``: a prefetch) in a worker."""
    yield from ()
    if image is None:
        image = to_rgb8(load_image(path))
    emb = predictor.embed(base, image, roi)
    return emb, threading.get_ident()


def decode_job(predictor: Predictor, emb: Any, prompt: dict):
    yield from ()
    pred = predictor.predict(emb, prompt["fg"], prompt["bg"], prompt["box"])
    return pred.window, pred.window_mask


class SamTool:
    """Owns the predictor and runs the AI tools' model work off the GUI thread."""

    def __init__(self, host: FeatureHost) -> None:
        self.host, self.controller, self.canvas = host, host.controller, host.canvas
        self.tools = [AiTool("polygon"), AiTool("mask")]
        for t in self.tools:
            t.on_prompt = self._prompt_changed
            self.canvas.register_tool(t)
        self.model_name: str | None = None
        self.predictor: Predictor | None = None
        self.encoder_threads: list[int] = []     # thread ids the encoder ran on (never the GUI's)
        self.prompts_sent: list[dict] = []       # what each decode was asked (tests, debugging)
        self.mode_text = ""
        self._emb: tuple[str, Any, Any] | None = None     # (key, roi, Embedding) of the open image
        self._embedding: tuple[str, Any] | None = None    # (key, roi) being embedded
        self._jobs: dict[str, JobHandle | None] = {"open": None, "embed": None, "decode": None, "prefetch": None}
        self._prefetching: str | None = None             # the image key the prefetch job encodes
        self._request = 0
        self._pending_decode = False
        self.canvas.tool_changed.connect(lambda _n: self._maybe_embed())
        self.controller.current_changed.connect(lambda _k: self._image_changed())

    # -- model ---------------------------------------------------------------------------------
    def default_model(self) -> str | None:
        present = [r["name"] for r in status_rows() if r["status"] == "present"]
        return present[0] if present else None

    def use_model(self, name: str) -> None:
        if name != self.model_name:
            self.model_name, self.predictor, self._emb = name, None, None

    def _with_predictor(self, then) -> None:
        if self.predictor is not None:
            then()
            return
        name = self.model_name or self.default_model()
        if name is None:
            self.host.status("AI tool: no Segment-Anything model on this machine — Model ▸ "
                             "Segment-Anything models… to download or import one.", 10000)
            return
        self.model_name = name
        if self._jobs["open"] is not None and self._jobs["open"].is_running:
            return
        project = self.controller.project
        root = getattr(project, "root", None) if project is not None else None

        def opened(p: Predictor) -> None:
            self.predictor = p
            then()

        def failed(exc: BaseException, _tb: str) -> None:
            text = str(exc) if isinstance(exc, ModelMissing) else f"{name}: {exc}"
            self.host.status(f"AI tool: {text}", 10000)

        self._jobs["open"] = start_job(open_job, name, root, on_result=opened, on_error=failed)

    # -- embedding -----------------------------------------------------------------------------
    def active_tool(self) -> AiTool | None:
        t = self.canvas.tool()
        return t if isinstance(t, AiTool) else None

    def _image_changed(self) -> None:
        self._request += 1
        self._emb = None
        self._maybe_embed()

    def wanted_roi(self) -> tuple[int, int, int, int] | None:
        """The visible region when zoomed into a big image, else None (the whole image)."""
        img = self.controller.current_image()
        if img is None:
            return None
        h, w = img.shape[:2]
        if max(h, w) <= ZOOM_ROI_MIN_SIDE:
            return None
        r = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        x0, y0 = max(0, int(r.left())), max(0, int(r.top()))
        x1, y1 = min(w, int(r.right()) + 1), min(h, int(r.bottom()) + 1)
        if x1 - x0 < 16 or y1 - y0 < 16 or (x1 - x0) * (y1 - y0) > ZOOM_ROI_FRACTION * w * h:
            return None
        return x0, y0, x1, y1

    def _maybe_embed(self) -> None:
        if self.active_tool() is not None and self.controller.current_key:
            self._with_predictor(lambda: self._embed(self.wanted_roi()))

    def _base(self, key: str) -> str:
        try:
            return image_key(self.controller.project.entry(key).image_path)
        except (OSError, AttributeError):
            return key

    def _embed(self, roi: Any) -> None:
        key, image = self.controller.current_key, self.controller.current_image()
        if key is None or image is None or self.predictor is None:
            return
        if self._emb is not None and self._emb[:2] == (key, roi):
            self._decode_if_pending()
            return
        if self._embedding == (key, roi) and self._jobs["embed"] is not None and self._jobs["embed"].is_running:
            return
        if self._jobs["embed"] is not None and self._jobs["embed"].is_running:
            self._jobs["embed"].cancel()
        if roi is None and self._prefetching == self._base(key) and self._jobs["prefetch"] is not None \
                and self._jobs["prefetch"].is_running:
            self._embedding = (key, roi)   # the prefetch is encoding this image: wait for it, not twice
            return
        h, w = image.shape[:2]
        self.mode_text = (f"AI: zoomed region {roi[2] - roi[0]}×{roi[3] - roi[1]} px embedded at full "
                          f"encoder resolution" if roi else f"AI: whole image ({w}×{h}) embedded")
        self.host.status(f"{self.mode_text}…", 10000)
        self._embedding = (key, roi)
        self._jobs["embed"] = start_job(embed_job, self.predictor, self._base(key), image, roi,
                                        on_result=lambda r: self._embedded(key, roi, r),
                                        on_error=lambda exc, tb: self.host.status(f"AI tool: {exc}", 10000))

    def _embedded(self, key: str, roi: Any, result: tuple) -> None:
        emb, thread = result
        self.encoder_threads.append(thread)
        self._embedding = None
        if key != self.controller.current_key:
            return
        self._emb = (key, roi, emb)
        self.host.status(f"{self.mode_text}: ready", 6000)
        self._decode_if_pending()
        self._prefetch_next(key)

    def _prefetch_next(self, key: str) -> None:
        keys = self.controller.keys()
        i = keys.index(key) if key in keys else -1
        if not 0 <= i < len(keys) - 1 or self.predictor is None:
            return
        nxt = keys[i + 1]
        try:
            path = self.controller.project.entry(nxt).image_path
            base = self._base(nxt)
        except (AttributeError, OSError):
            return
        if self.predictor.cached(base):
            return
        self._prefetching = base
        self._jobs["prefetch"] = start_job(embed_job, self.predictor, base, None, None, path=path,
                                           on_result=lambda r: self.encoder_threads.append(r[1]),
                                           on_error=lambda exc, tb: log.info("prefetch failed: %s", exc),
                                           on_finished=self._prefetched)

    def _prefetched(self) -> None:
        self._prefetching = None
        key = self.controller.current_key
        if key is not None and self._embedding == (key, None) and self._emb is None:
            self._embedding = None   # the image opened while it was prefetched: now a cache hit
            self._embed(None)

    # -- decoding ------------------------------------------------------------------------------
    def _prompt_changed(self, tool: AiTool) -> None:
        self._request += 1
        if self._jobs["decode"] is not None and self._jobs["decode"].is_running:
            self._jobs["decode"].cancel()   # stale: its result is dropped anyway
        if not tool.has_prompt():
            tool.set_result((0, 0, 0, 0), None)
            self._refresh()
            return
        self._pending_decode = True
        if self._emb is not None and self._emb[0] == self.controller.current_key:
            self._decode_if_pending()
        else:
            self._maybe_embed() if self.predictor is not None else self._with_predictor(
                lambda: self._embed(self.wanted_roi()))

    def _decode_if_pending(self) -> None:
        tool = self.active_tool()
        if not self._pending_decode or tool is None or self._emb is None or self.predictor is None:
            return
        self._pending_decode = False
        if not tool.has_prompt():   # Esc or another image while the embedding ran: nothing to decode
            return
        key, _roi, emb = self._emb
        prompt = tool.prompt()
        self.prompts_sent.append(prompt)
        request, version = self._request, tool.version
        self._jobs["decode"] = start_job(
            decode_job, self.predictor, emb, prompt,
            on_result=lambda r: self._decoded(request, key, tool, version, result=r),
            on_error=lambda exc, tb: self.host.status(f"AI tool: {exc}", 10000))

    def _decoded(self, request: int, key: str, tool: AiTool, version: int, *, result: tuple) -> None:
        if request != self._request or key != self.controller.current_key or tool.version != version:
            return   # a newer click, another image or an Escape: this mask is stale
        tool.set_result(*result)
        self._refresh()

    def _refresh(self) -> None:
        # the canvas redraws a tool's preview after its own events; this one came from a worker
        self.canvas._sync_tool()

    def shutdown(self) -> None:
        for job in self._jobs.values():
            if job is not None and job.is_running:
                job.cancel()


ROWS = (
    ActionSpec("tool_ai_polygon", "Tools", "AI &polygon", ("I",),
               "Segment-Anything: click the object (right click: not this), drag a box; Enter adds a "
               "polygon, Esc drops it", "", False, True, "tools"),
    ActionSpec("tool_ai_mask", "Tools", "AI &mask", ("Shift+I",),
               "Segment-Anything: as AI polygon, Enter adds a mask shape", "", False, True, "tools"),
    ActionSpec("sam_models", "Model", "Segment-&Anything models…", (),
               "Segment-Anything models: status, licence, download, import"),
)


def install(host: FeatureHost) -> SamTool:
    feature = SamTool(host)

    def models_dialog() -> None:
        from segstudio.ui.features.sam_models_dialog import SamModelsDialog

        SamModelsDialog(host, feature).exec()

    host.add_actions(ROWS, {"tool_ai_polygon": lambda: host.canvas.set_tool("ai_polygon"),
                            "tool_ai_mask": lambda: host.canvas.set_tool("ai_mask"),
                            "sam_models": models_dialog})
    from segstudio.ui.features import sam_actions

    feature.actions = sam_actions.install(feature)   # Segment everything, rectangles → masks, Detail
    return feature


__all__ = ["SamTool", "install", "missing_message"]
