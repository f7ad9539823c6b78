"""The AI tool's background work in the real window on the tiny ONNX pair (disk around the click):
the next image's embedding is prefetched (pressing D runs no encoder), a stale decode never
lands (a newer click, or another image), and Esc or a switch of image while the embedding runs
leaves nothing running and the tool working. The encoder and decoder are the real ONNX runs,
wrapped only to count them and to hold one back (as a slow model would be)."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from segstudio.core.io.display import to_rgb8
from segstudio.core.io.images import load_image
from segstudio.core.rasterize import shape_mask
from segstudio.sam.predictor import Predictor
from segstudio.sam.runtime import SamModel
from tests.support.sam_windows import H, W, click, disk, feature, sam_window


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    """Images a.png, b.png, the tiny model imported."""
    return sam_window(qtbot, tmp_path, monkeypatch)


def digest(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class Spy:
    """Counts real encoder runs (by image) and decoder runs; ``hold`` makes the next run wait."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.encoded: list[str] = []
        self.decoded: list[dict] = []
        self.enc_gate, self.dec_gate = threading.Event(), threading.Event()
        self.enc_gate.set()
        self.dec_gate.set()
        encode, predict = SamModel.encode, Predictor.predict

        def counted_encode(model, image, roi=None):
            self.encoded.append(digest(image))
            assert self.enc_gate.wait(20)
            return encode(model, image, roi)

        def counted_predict(pred, emb, fg=(), bg=(), box=None):
            self.decoded.append({"fg": list(fg), "bg": list(bg)})
            assert self.dec_gate.wait(20)
            return predict(pred, emb, fg, bg, box)

        monkeypatch.setattr(SamModel, "encode", counted_encode)
        monkeypatch.setattr(Predictor, "predict", counted_predict)


def image_digest(w, key: str) -> str:
    return digest(to_rgb8(load_image(w.controller.project.entry(key).image_path)))


def idle(f) -> bool:
    return not any(j is not None and j.is_running for j in f._jobs.values())


def ready(f, w) -> bool:
    return f._emb is not None and f._emb[0] == w.controller.current_key


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / max(1, (a | b).sum())


def preview_mask(tool) -> np.ndarray:
    (x0, y0, x1, y1), m = tool.result
    full = np.zeros((H, W), bool)
    full[y0:y1, x0:x1] = m
    return full


def accept_and_check(qtbot, w, cx: float, cy: float) -> None:
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)
    shapes = w.controller.current_annotation().shapes
    assert len(shapes) == 1
    assert iou(shape_mask(shapes[0], H, W), disk(cx, cy)) >= 0.9


def test_next_image_is_prefetched_so_pressing_d_runs_no_encoder(qtbot, win, monkeypatch) -> None:
    spy, f, w = Spy(monkeypatch), feature(win), win
    a, b = w.controller.keys()[:2]
    w.canvas.set_tool("ai_polygon")
    qtbot.waitUntil(lambda: ready(f, w) and len(spy.encoded) == 2 and idle(f), timeout=30000)
    assert spy.encoded == [image_digest(w, a), image_digest(w, b)]   # this image, then the next
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)
    assert w.controller.current_key == b
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    assert len(spy.encoded) == 2          # b's embedding came from the prefetch
    click(qtbot, w, 120.0, 100.0)
    qtbot.waitUntil(lambda: w.canvas.tool().result is not None, timeout=10000)
    accept_and_check(qtbot, w, 120.0, 100.0)


def test_pressing_d_while_the_prefetch_runs_waits_for_it(qtbot, win, monkeypatch) -> None:
    spy, f, w = Spy(monkeypatch), feature(win), win
    b = w.controller.keys()[1]
    w.canvas.set_tool("ai_polygon")
    qtbot.waitUntil(lambda: ready(f, w), timeout=30000)
    spy.enc_gate.clear()                  # the prefetch of b is slow
    qtbot.waitUntil(lambda: len(spy.encoded) == 2, timeout=30000)
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)
    assert w.controller.current_key == b and not ready(f, w)
    qtbot.wait(200)
    spy.enc_gate.set()
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    assert len(spy.encoded) == 2          # not a second encoder run for b


def test_a_stale_decode_is_dropped_for_a_newer_click(qtbot, win, monkeypatch) -> None:
    spy, f, w = Spy(monkeypatch), feature(win), win
    w.canvas.set_tool("ai_polygon")
    tool = w.canvas.tool()
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    shown: list[np.ndarray] = []          # every mask the preview was given
    set_result = tool.set_result

    def record(win, m) -> None:
        set_result(win, m)
        if tool.result is not None:
            shown.append(preview_mask(tool))

    monkeypatch.setattr(tool, "set_result", record)
    spy.dec_gate.clear()                  # the first click's decode is slow
    click(qtbot, w, 80.0, 80.0)
    qtbot.waitUntil(lambda: len(spy.decoded) == 1, timeout=10000)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Backspace)   # a newer prompt: undo that click...
    click(qtbot, w, 220.0, 150.0)                    # ...and click elsewhere
    spy.dec_gate.set()
    qtbot.waitUntil(lambda: tool.result is not None and idle(f), timeout=10000)
    qtbot.wait(100)
    assert iou(preview_mask(tool), disk(220.0, 150.0)) >= 0.9
    assert shown and all(iou(m, disk(220.0, 150.0)) >= 0.9 for m in shown)   # never the first click's
    accept_and_check(qtbot, w, 220.0, 150.0)


def test_a_decode_in_flight_never_lands_on_the_next_image(qtbot, win, monkeypatch) -> None:
    spy, f, w = Spy(monkeypatch), feature(win), win
    a, b = w.controller.keys()[:2]
    w.canvas.set_tool("ai_mask")
    tool = w.canvas.tool()
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    spy.dec_gate.clear()
    click(qtbot, w, 100.0, 100.0)
    qtbot.waitUntil(lambda: len(spy.decoded) == 1, timeout=10000)
    assert w.controller.go_to(b)          # a click in the Images list (D waits for Enter/Esc)
    spy.dec_gate.set()
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    qtbot.wait(100)
    assert tool.result is None and tool.preview.mask_patch is None
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)
    assert w.controller.current_annotation().shapes == []
    assert w.controller.annotation_for(a).shapes == []
    click(qtbot, w, 200.0, 120.0)     # and the tool keeps working on b
    qtbot.waitUntil(lambda: tool.result is not None, timeout=10000)
    accept_and_check(qtbot, w, 200.0, 120.0)


@pytest.mark.parametrize("how", ["escape", "switch"])
def test_cancel_while_the_embedding_runs_leaves_nothing_running(qtbot, win, monkeypatch, how) -> None:
    spy, f, w = Spy(monkeypatch), feature(win), win
    spy.enc_gate.clear()                  # a slow encoder
    w.canvas.set_tool("ai_polygon")
    tool = w.canvas.tool()
    qtbot.waitUntil(lambda: len(spy.encoded) == 1, timeout=30000)
    click(qtbot, w, 100.0, 100.0)         # a click while the embedding runs waits for it
    if how == "escape":
        qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    else:                                 # a click in the Images list
        assert w.controller.go_to(w.controller.keys()[1])
    spy.enc_gate.set()
    qtbot.waitUntil(lambda: ready(f, w) and idle(f), timeout=30000)
    qtbot.wait(100)
    assert spy.decoded == []              # the dropped click is never decoded
    assert tool.result is None
    assert "AI tool:" not in w.statusBar().currentMessage()   # no error either
    click(qtbot, w, 150.0, 110.0)
    qtbot.waitUntil(lambda: tool.result is not None and idle(f), timeout=10000)
    accept_and_check(qtbot, w, 150.0, 110.0)
