"""Auto-segment panel through the real MainWindow: preview, Apply as one undo step, prompts
drawn with the mouse, parameter errors shown, batch marking images pre-annotated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from segstudio.algorithms import synthetic
from segstudio.core.model import PRE_ANNOTATED, UNLABELLED
from segstudio.core.rasterize import shape_mask
from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow
from tests.support.builders import write_labels

W, H = 128, 96


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    truth = {}
    for i in range(3):
        img, gt = synthetic.two_tone_shapes(H, W, noise=20, seed=i)
        Image.fromarray(img).save(root / f"img_{i}.png")
        truth[f"img_{i}.png"] = gt
    write_labels(root, ["blob"])
    return root, truth


@pytest.fixture
def window(qtbot, project):
    root, _ = project
    win = MainWindow(Preferences(autosave_idle_s=0), features=["autoseg"])
    # closed here rather than by qtbot.addWidget: qtbot closes before fixture teardown, and
    # closing with unsaved work would open the "save changes?" question
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_folder(root)
    win.canvas.zoom_fit()
    yield win
    panel = win.features["autoseg"]
    panel.shutdown()
    for job in (panel._preview, panel._apply, panel._batch, panel._tool_job):
        if job is not None:
            job.wait(10000)
    assert win.controller.save_all(), win.last_error
    win.close()
    win.deleteLater()


def _union(shapes) -> np.ndarray:
    out = np.zeros((H, W), bool)
    for s in shapes:
        out |= shape_mask(s, H, W)
    return out


def _apply_after_preview(qtbot, window, panel):
    """Waits for the live preview, applies it, waits for the shapes; returns the annotation."""
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)
    panel.apply()
    ann = window.controller.current_annotation()
    qtbot.waitUntil(lambda: len(ann.shapes) > 0, timeout=10000)
    return ann


def _truth_for_current(window, project) -> np.ndarray:
    _, truth = project
    return truth[Path(window.controller.project.entry(window.controller.current_key).image_path).name]


def test_apply_otsu_then_undo(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.set_method("otsu")
    panel.class_combo.setCurrentText("blob")
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)   # live preview arrived
    ann = window.controller.current_annotation()
    assert ann.shapes == []
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(ann.shapes) > 0, timeout=10000)
    assert {s.label for s in ann.shapes} == {"blob"}
    assert synthetic.iou(_union(ann.shapes), _truth_for_current(window, project)) >= 0.95
    assert not panel.overlay.isVisible()
    window.controller.undo()   # ONE undo step removes everything the Apply added
    assert ann.shapes == []
    window.controller.redo()
    assert synthetic.iou(_union(ann.shapes), _truth_for_current(window, project)) >= 0.95


def test_apply_over_the_polygon_limit_adds_mask_layers_and_says_so(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.live.setChecked(False)
    panel.set_method("otsu")
    panel.class_combo.setCurrentText("blob")
    panel.min_area.setValue(0)
    panel.max_polygons.setValue(1)            # the synthetic image has several blobs
    ann = window.controller.current_annotation()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(ann.shapes) > 0, timeout=10000)
    assert [s.shape_type for s in ann.shapes] == ["mask"] and ann.shapes[0].label == "blob"
    assert "mask layer" in panel.message.text() and "Max polygons" in panel.message.text()
    assert synthetic.iou(ann.shapes[0].mask, _truth_for_current(window, project)) >= 0.95
    window.controller.undo()
    assert ann.shapes == []


def test_box_drawn_with_the_mouse_then_apply(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.set_method("box_cut")
    assert window.canvas.tool_name == "seg_box"
    gt = _truth_for_current(window, project)
    # the rectangle object of two_tone_shapes lies in the lower right quarter
    ys, xs = np.nonzero(gt[:, W // 2 - 2:] & (np.arange(H)[:, None] >= H // 2 - 2))
    x0, y0, x1, y1 = xs.min() + W // 2 - 2 - 4, ys.min() - 4, xs.max() + W // 2 - 2 + 5, ys.max() + 5
    view = window.canvas.viewport()
    p0 = window.canvas.mapFromScene(QPointF(x0, y0))
    p1 = window.canvas.mapFromScene(QPointF(x1, y1))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(view, p1)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=p1)
    assert panel.state.box is not None
    ann = _apply_after_preview(qtbot, window, panel)
    target = np.zeros_like(gt)
    target[y0:y1, x0:x1] = gt[y0:y1, x0:x1]
    assert synthetic.iou(_union(ann.shapes), target) >= 0.9


def test_parameter_error_is_shown_and_app_keeps_working(qtbot, window):
    panel = window.features["autoseg"]
    panel.set_method("adaptive")
    panel.form.editors["block_size"].setValue(4)   # typed by hand: the spin box allows it
    panel.run_preview()
    assert "parameter 'block_size' must be odd, got 4" in panel.message.text()
    panel.form.editors["block_size"].setValue(21)
    panel.run_preview()
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)
    assert "must be odd" not in panel.message.text()

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_an_isolated_method_previews_and_applies_from_a_worker_process(qtbot, window):
    from segstudio.core import isolated

    panel = window.features["autoseg"]
    panel.set_method("felzenszwalb")            # runs in a worker process (holds the GIL)
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=30000)
    assert isolated.worker_count() >= 1
    ann = window.controller.current_annotation()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(ann.shapes) > 1, timeout=30000)
    window.controller.undo()
    assert ann.shapes == []


def test_method_error_shows_message(qtbot, window, monkeypatch):
    panel = window.features["autoseg"]
    from segstudio.ui.features import autoseg_jobs

    def boom(*args, **kwargs):
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(autoseg_jobs, "run_method_isolated", boom)
    panel.set_method("otsu")
    panel.run_preview()
    qtbot.waitUntil(lambda: "synthetic failure" in panel.message.text(), timeout=10000)
    assert window.controller.current_annotation().shapes == []


def test_batch_pre_annotates_unlabelled_images(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.set_method("otsu")
    panel.class_combo.setCurrentText("blob")
    c = window.controller
    assert all(e.state == UNLABELLED for e in c.project.entries)
    panel.batch_scope.setCurrentIndex(panel.batch_scope.findData("unlabelled"))
    qtbot.mouseClick(panel.batch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._batch.is_running, timeout=20000)
    _, truth = project
    for e in c.project.entries:
        assert e.state == PRE_ANNOTATED
        ann = c.annotation_for(e.key)
        assert synthetic.iou(_union(ann.shapes), truth[Path(e.image_path).name]) >= 0.95
    assert "Batch done" in panel.message.text()


def test_magic_wand_click_then_apply(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.set_method("magic_wand")
    assert window.canvas.tool_name == "seg_wand"
    panel.form.set_value("blur_sigma", 1.5)
    gt = _truth_for_current(window, project)
    import cv2

    _, comp = cv2.connectedComponents(gt.astype(np.uint8))
    x, y = W // 3, H // 3   # inside the ellipse of two_tone_shapes
    target = comp == comp[y, x]
    view = window.canvas.viewport()
    pos = window.canvas.mapFromScene(QPointF(x, y))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pos)
    assert panel.state.fg_points
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)
    panel.form.set_value("tolerance", 70)
    panel.apply()
    ann = window.controller.current_annotation()
    qtbot.waitUntil(lambda: len(ann.shapes) > 0, timeout=10000)
    assert synthetic.iou(_union(ann.shapes), target) >= 0.9


def test_a_new_request_replaces_the_stale_one(qtbot, window):
    panel = window.features["autoseg"]
    panel.live.setChecked(False)
    panel.set_method("threshold")
    panel.form.set_value("level", 255)    # finds nothing
    panel.run_preview()
    first = panel._preview
    panel.form.set_value("level", 128)
    panel.run_preview()
    assert first.cancelled
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)
    first.wait(5000)
    assert panel._result["label_map"].any()   # the result of the second request


def test_cancelled_close_keeps_live_preview_working(qtbot, window, monkeypatch):
    """Closing with unsaved work and answering Cancel must leave the panel alive (regression:
    an event filter used to shut it down before the question was asked)."""
    from PySide6.QtWidgets import QMessageBox

    panel = window.features["autoseg"]
    panel.set_method("otsu")
    panel.class_combo.setCurrentText("blob")
    _apply_after_preview(qtbot, window, panel)
    assert window.controller.has_unsaved()
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert asked and window.isVisible()
    # the live preview still reacts to a parameter change
    panel.set_method("threshold")
    assert not panel.overlay.isVisible()
    panel.form.set_value("level", 128)
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)
    assert panel._result is not None and panel._result["label_map"].any()


def _drag(qtbot, window, points, button=Qt.MouseButton.LeftButton):
    view = window.canvas.viewport()
    pos = [window.canvas.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(view, button, pos=pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, button, pos=pos[-1])


def test_scribbles_drawn_with_the_mouse_then_apply(qtbot, window, project):
    panel = window.features["autoseg"]
    panel.set_method("scribble_cut")
    assert window.canvas.tool_name == "seg_scribble"
    gt = _truth_for_current(window, project)   # the bright objects: one colour model takes them all
    x, y = W // 3, H // 3   # inside the ellipse of two_tone_shapes
    _drag(qtbot, window, [(x - 4, y), (x + 4, y)])
    _drag(qtbot, window, [(2, 2), (W - 3, 2), (W - 3, H - 3)], Qt.MouseButton.RightButton)
    prompt = panel.state.prompt()
    assert prompt.fg_scribble is None and prompt.fg_strokes and prompt.bg_strokes
    ann = _apply_after_preview(qtbot, window, panel)
    assert synthetic.iou(_union(ann.shapes), gt) >= 0.9


def test_scissors_wire_arrives_from_a_worker(qtbot, window):
    panel = window.features["autoseg"]
    panel.set_method("intelligent_scissors")
    assert window.canvas.tool_name == "seg_scissors"
    view = window.canvas.viewport()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=window.canvas.mapFromScene(QPointF(20, 20)))
    assert panel._tool_job is not None   # the cost map is built off the GUI thread
    qtbot.waitUntil(lambda: not panel._tool_job.is_running, timeout=10000)
    qtbot.mouseMove(view, window.canvas.mapFromScene(QPointF(90, 70)))
    qtbot.waitUntil(lambda: panel.state.wire is not None and len(panel.state.wire) > 2, timeout=10000)
    wire = panel.state.wire
    assert tuple(wire[0]) == (20, 20) and tuple(wire[-1]) == (90, 70)


def _person_json(root: Path, name: str) -> bytes:
    """A person's labelme file (labelme's own: no segstudio key); returns its bytes."""
    import json

    path = root / f"{name}.json"
    path.write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "imagePath": f"{name}.png", "imageData": None,
        "imageHeight": H, "imageWidth": W,
        "shapes": [{"label": "cell", "points": [[1, 1], [30, 1], [30, 30]], "group_id": None,
                    "description": "mine", "shape_type": "polygon", "flags": {}}]}))
    return path.read_bytes()


def test_batch_on_all_images_skips_labelled_ones_unless_included(qtbot, window, project):
    from segstudio.core.io.labelme import read_labelme
    from tests.support.questions import answer_include_labelled

    root, _ = project
    mine = _person_json(root, "img_0")
    c = window.controller
    assert window.open_folder(root)
    panel = window.features["autoseg"]
    panel.set_method("otsu")
    panel.class_combo.setCurrentText("blob")
    panel.batch_scope.setCurrentIndex(panel.batch_scope.findData("all"))
    steps = len(c.history)

    asked = answer_include_labelled("Skip")
    qtbot.mouseClick(panel.batch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel._batch is not None and not panel._batch.is_running, timeout=20000)
    assert asked and "1 of the 3 images were labelled by a person" in asked[0]
    assert "1 skipped (labelled by a person)" in panel.message.text()
    assert len(c.history) == steps + 1
    c.save_all()
    assert (root / "img_0.json").read_bytes() == mine
    assert [e.state for e in c.project.entries] == ["labelled", PRE_ANNOTATED, PRE_ANNOTATED]
    c.undo()
    assert [e.state for e in c.project.entries] == ["labelled", UNLABELLED, UNLABELLED]

    asked = answer_include_labelled("Include")
    qtbot.mouseClick(panel.batch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._batch.is_running, timeout=20000)
    assert asked and len(c.history) == steps + 1
    c.save_all()
    person = read_labelme(root / "img_0.json")
    assert person.state == "labelled" and person.shapes[0].description == "mine"
    assert {s.label for s in person.shapes[1:]} == {"blob"}


def test_undo_of_an_applied_result_restores_the_file_after_autosave(qtbot, window, project):
    """Apply on an image without a JSON, let autosave write it, undo, let autosave run again:
    the image has no JSON again (not an empty 'labelled' file that training would count as
    all background), and the folder reopens with the image unlabelled."""
    root, _ = project
    c = window.controller
    c.prefs.autosave_idle_s = 0.05
    key = c.current_key
    path = Path(c.project.entry(key).annotation_path)
    assert not path.exists()
    panel = window.features["autoseg"]
    panel.set_method("otsu")
    _apply_after_preview(qtbot, window, panel)
    qtbot.waitUntil(lambda: path.exists(), timeout=5000)
    assert c.project.entry(key).state == "labelled"
    c.undo()
    assert c.project.entry(key).state == UNLABELLED and c.current_annotation().shapes == []
    qtbot.waitUntil(lambda: not c.has_unsaved(), timeout=5000)
    assert not path.exists()
    from segstudio.core.project_io import open_project

    assert open_project(root).entry(key).state == UNLABELLED
    c.redo()                                   # and redo brings the work back, saved again
    qtbot.waitUntil(lambda: path.exists() and not c.has_unsaved(), timeout=5000)
    from segstudio.core.io.labelme import read_labelme

    assert read_labelme(path).state == "labelled" and read_labelme(path).shapes
