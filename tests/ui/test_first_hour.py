"""The first hour of an annotator in segstudio (issue 11), scripted: one test drives the real
window with keys and mouse clicks/drags on the canvas, from opening a folder of labelme files
(one of them broken) to training a tiny model and exporting VOC, and checks at each step what
the user sees and what is on disk.

The folder is made here and shaped like real data: photo-like JPEGs (gradients, blobs, noise),
labelme JSONs written "by another tool" (labelme's own keys, no segstudio key), one JSON that
does not parse and a labels.txt. Offline: the ImageNet weights are not cached and the network
is unreachable, so the Train dialog must say so and start from random weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel

from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED
from segstudio.core.settings import Preferences
from segstudio.ui.dialogs.label_dialog import LabelDialog
from segstudio.ui.main_window import MainWindow

pytest.importorskip("torch")

W, H = 128, 96
CLASSES = ["__ignore__", "_background_", "person", "potted plant", "car", "dog"]
# the polygon the annotator clicks (image pixels) and the rectangle they drag, apart from it
POLYGON = [(20, 18), (58, 14), (66, 52), (28, 60)]
RECT = ((80, 56), (116, 88))


# -- data shaped like a real folder -------------------------------------------------------------------
def photo(seed: int) -> np.ndarray:
    """A photo-like picture: a lit gradient, a few soft coloured objects, sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([60 + 0.5 * xx, 80 + 0.6 * yy, 110 + 0.2 * (xx + yy)], -1)
    for _ in range(3):
        cx, cy, r = rng.uniform(20, W - 20), rng.uniform(20, H - 20), rng.uniform(10, 22)
        blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))[..., None]
        base = base * (1 - blob) + rng.uniform(0, 255, 3) * blob
    base += rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def labelme_doc(name: str, shapes: list[tuple[str, list[tuple[float, float]]]]) -> dict:
    """A labelme 5 file as labelme writes it (no segstudio key)."""
    return {"version": "5.4.1", "flags": {}, "imagePath": name, "imageData": None,
            "imageHeight": H, "imageWidth": W,
            "shapes": [{"label": label, "points": [list(p) for p in pts], "group_id": None,
                        "description": "", "shape_type": "polygon", "flags": {}, "mask": None}
                       for label, pts in shapes]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "garden"
    root.mkdir()
    for i in range(1, 7):
        Image.fromarray(photo(i)).save(root / f"img_0{i}.jpg", quality=90)
    (root / "img_01.json").write_text('{"version": "5.4.1", "shapes": [{"label": "car", "poi',
                                      encoding="utf-8")   # cut off mid-write by another tool
    doc = labelme_doc("img_03.jpg", [("car", [(10, 50), (60, 48), (62, 80), (12, 84)]),
                                     ("person", [(80, 10), (100, 12), (98, 60), (82, 58)])])
    (root / "img_03.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (root / "labels.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    return root


# -- a user's hands --------------------------------------------------------------------------------------
def vp(window: MainWindow, x: float, y: float) -> QPoint:
    return window.canvas.mapFromScene(QPointF(x, y))


def click(qtbot, window: MainWindow, x: float, y: float, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, mods, vp(window, x, y))


def drag(qtbot, window: MainWindow, a: tuple[float, float], b: tuple[float, float]) -> None:
    view = window.canvas.viewport()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=vp(window, *a))
    for t in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(view, vp(window, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=vp(window, *b))


def key(qtbot, window: MainWindow, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    if QApplication.activeWindow() is not window:   # e.g. right after a modal dialog closed
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    if not window.canvas.hasFocus():
        window.canvas.setFocus()
    qtbot.keyClick(window.canvas, k, mods)


def type_into_label_dialog(qtbot, text: str, seen: list[str]) -> None:
    """When the label dialog opens: note its prefilled text, type ``text``, press Enter."""
    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, LabelDialog):
            QTimer.singleShot(20, poll)
            return
        seen.append(dlg.edit.text())
        dlg.edit.selectAll()
        qtbot.keyClicks(dlg.edit, text)
        qtbot.keyClick(dlg.edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, poll)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def on_disk(root: Path, stem: str) -> dict:
    return json.loads((root / f"{stem}.json").read_text(encoding="utf-8"))


def stem(key: str | None) -> str:
    return Path(key or "").stem


def labelme_mask(shapes: list[dict]) -> np.ndarray:
    """What labelme's labelme2voc paints for ``shapes`` (PIL polygon / rectangle, in order)."""
    out = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(out)
    for s in shapes:
        value = CLASSES.index(s["label"]) - 1        # class_names.txt starts at _background_
        xy = [tuple(p) for p in s["points"]]
        if s["shape_type"] == "rectangle":
            draw.rectangle(xy, outline=value, fill=value)
        else:
            draw.polygon(xy, outline=value, fill=value)
    return np.asarray(out)


def _shutdown(window: MainWindow) -> None:
    for name in ("autoseg",):
        feature = window.features.get(name)
        if feature is not None:
            feature.shutdown()
    model = window.features.get("model_menu")
    if model is not None:
        model.cancel()
    from segstudio.ui.workers import cancel_all

    cancel_all(wait_ms=20000)
    window.controller.save_all()


# -- the first hour -----------------------------------------------------------------------------------------
def test_first_hour_from_a_folder_of_labelme_files_to_a_trained_model_and_a_voc_export(
        qtbot, folder, tmp_path, monkeypatch, torch_two_threads):
    from segstudio.ml import weights

    hub = tmp_path / "hub-cache"
    hub.mkdir()
    monkeypatch.setattr(weights, "hub_cache_dir", lambda: hub)
    monkeypatch.setattr(weights, "network_reachable", lambda timeout=1.5: False)
    other_tool = sha(folder / "img_03.json")

    # -- open the folder: one banner naming the broken file, the first readable image ----------------
    window = MainWindow(Preferences(autosave_idle_s=0))
    qtbot.addWidget(window, before_close_func=_shutdown)
    window.resize(1280, 860)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert window.open_folder(folder)
    c = window.controller
    qtbot.waitUntil(lambda: c.pending_key is None)
    assert stem(c.current_key) == "img_02" and window.canvas.image is not None
    banner = window.problem_banner
    assert banner.isVisible()
    assert banner.label.text().startswith("1 file") and "img_01.json" in banner.label.text()
    assert "2 / 6" in [w.text() for w in window.statusBar().findChildren(QLabel)]
    assert [e.state for e in c.project.entries if e.error is None] == \
        [UNLABELLED, LABELLED, UNLABELLED, UNLABELLED, UNLABELLED]   # img_03 is a person's work

    # -- pick a class in the Classes dock: type-to-search, no tool switch -----------------------------
    dock = window.class_dock
    first = dock.list.visualItemRect(dock.list.item(0)).center()
    qtbot.mouseClick(dock.list.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.keyClicks(dock.list, "pers")
    assert window.canvas.tool_name == "edit" and c.selected_class() == "person"

    # -- a polygon with clicks + Enter, the label dialog answered "pot" + Enter -------------------
    key(qtbot, window, Qt.Key.Key_P)
    assert window.canvas.tool_name == "polygon"
    for x, y in POLYGON:
        click(qtbot, window, x, y)
    seen: list[str] = []
    type_into_label_dialog(qtbot, "pot", seen)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(c.current_annotation().shapes) == 1)
    poly = c.current_annotation().shapes[0]
    assert poly.label == "potted plant" and poly.shape_type == "polygon"
    np.testing.assert_allclose(poly.points, POLYGON, atol=1.0)
    assert window.canvas.item_count() == 1

    # -- a rectangle dragged; the dialog offers the last label, the user types another ---------------
    key(qtbot, window, Qt.Key.Key_R)
    seen.clear()
    type_into_label_dialog(qtbot, "person", seen)
    drag(qtbot, window, *RECT)
    qtbot.waitUntil(lambda: len(c.current_annotation().shapes) == 2)
    assert seen == ["potted plant"]                       # labelme: the last label is prefilled
    rect = c.current_annotation().shapes[1]
    assert (rect.label, rect.shape_type) == ("person", "rectangle")
    np.testing.assert_allclose(rect.points, RECT, atol=1.0)

    # -- edit: select the polygon, drag a vertex; undo / redo with the keys -----------------------------
    key(qtbot, window, Qt.Key.Key_V)
    click(qtbot, window, 40, 36)
    assert window.canvas.selected_shapes() == [poly]
    drag(qtbot, window, POLYGON[2], (72, 58))
    np.testing.assert_allclose(poly.points[2], (72, 58), atol=1.0)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(c.current_annotation().shapes[0].points[2], POLYGON[2], atol=1.0)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(c.current_annotation().shapes[0].points[2], (72, 58), atol=1.0)
    drawn = [s.copy() for s in c.current_annotation().shapes]

    # -- D / A: the image is saved on the way, labelled; the other tool's file is left as it was ---------
    key(qtbot, window, Qt.Key.Key_D)
    assert stem(c.current_key) == "img_03"
    doc = on_disk(folder, "img_02")
    assert doc["segstudio"]["state"] == LABELLED
    assert [(s["label"], s["shape_type"]) for s in doc["shapes"]] == [("potted plant", "polygon"),
                                                                     ("person", "rectangle")]
    np.testing.assert_allclose(doc["shapes"][0]["points"], drawn[0].points, atol=1e-6)
    assert window.canvas.item_count() == 2                # the other tool's two polygons
    key(qtbot, window, Qt.Key.Key_A)
    assert stem(c.current_key) == "img_02" and window.canvas.item_count() == 2
    key(qtbot, window, Qt.Key.Key_D)
    key(qtbot, window, Qt.Key.Key_D)
    assert stem(c.current_key) == "img_04"
    assert sha(folder / "img_03.json") == other_tool      # viewing wrote nothing

    # -- Auto-segment panel: live preview by itself, Apply is one undo step ---------------------------
    panel = window.features["autoseg"]
    window.actions["autoseg_panel"].trigger()
    qtbot.waitUntil(panel.isVisible)
    assert panel.live.isChecked()
    panel.class_combo.setCurrentText("dog")
    qtbot.waitUntil(lambda: panel.overlay.isVisible(), timeout=10000)   # Preview never pressed
    steps = len(c.history)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(c.current_annotation().shapes) > 0, timeout=10000)
    applied = len(c.current_annotation().shapes)
    assert len(c.history) == steps + 1 and {s.label for s in c.current_annotation().shapes} == {"dog"}
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert c.current_annotation().shapes == []
    key(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(c.current_annotation().shapes) == applied
    assert c.save_all()
    labelled_before = {s: sha(folder / f"{s}.json") for s in ("img_02", "img_03")}

    # -- classical batch on the unlabelled images: a person's labels untouched -----------------------
    panel.batch_scope.setCurrentIndex(panel.batch_scope.findData("unlabelled"))
    qtbot.mouseClick(panel.batch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel._batch is not None and not panel._batch.is_running, timeout=20000)
    assert "Batch done" in panel.message.text()
    states = {stem(e.key): e.state for e in c.project.entries if e.error is None}
    assert states["img_05"] == states["img_06"] == PRE_ANNOTATED
    assert states["img_02"] == states["img_03"] == LABELLED
    assert c.save_all()
    assert {s: sha(folder / f"{s}.json") for s in ("img_02", "img_03")} == labelled_before
    panel.close()

    # -- accept one pre-annotation (Ctrl+Return) -------------------------------------------------------
    key(qtbot, window, Qt.Key.Key_D)
    assert stem(c.current_key) == "img_05"
    key(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert c.project.entry(c.current_key).state == LABELLED
    key(qtbot, window, Qt.Key.Key_D)
    assert stem(c.current_key) == "img_06" and on_disk(folder, "img_05")["segstudio"]["state"] == LABELLED
    assert c.project.entry(c.current_key).state == PRE_ANNOTATED

    # -- new photos arrive; File > Open recent reopens the folder ---------------------------------------
    Image.fromarray(photo(7)).save(folder / "img_07.jpg", quality=90)
    recent = next(a for a in window.recent.menu.actions() if a.text() == str(folder))
    recent.trigger()
    qtbot.waitUntil(lambda: c.pending_key is None)
    assert stem(c.current_key) == "img_02" and "img_01.json" in banner.label.text()
    assert {stem(e.key): e.state for e in c.project.entries if e.error is None} == {
        "img_02": LABELLED, "img_03": LABELLED, "img_04": LABELLED, "img_05": LABELLED,
        "img_06": PRE_ANNOTATED, "img_07": UNLABELLED}

    # -- Train with a tiny model: offline, the dialog says so and starts from random weights --------------
    training = window.features["training"]
    said: dict[str, object] = {}

    def fill() -> None:
        dlg = training.dialog
        qtbot.waitUntil(lambda: dlg.availability is not None, timeout=5000)
        dlg.encoder.setCurrentText("tu-resnet10t")
        qtbot.waitUntil(lambda: dlg.availability is not None and dlg.availability.encoder == "tu-resnet10t",
                        timeout=5000)
        said.update(note=dlg.weights_note.text(), ticked=dlg.pretrained.isChecked())
        dlg.depth.setValue(3)
        dlg.decoder.setText("32,16,8")
        dlg.epochs.setValue(1)
        dlg.batch.setValue(4)
        dlg.crop.setValue(64)
        dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, fill)
    window.actions["model_train"].trigger()
    assert said["ticked"] is False and "No internet" in str(said["note"]) and "random" in str(said["note"])
    tpanel = training.panel
    assert training.dock.isVisible()
    qtbot.waitUntil(lambda: not training.busy, timeout=50000)
    assert training.last_error is None, training.last_error
    assert tpanel.status_label.text().startswith("Finished after 1 epoch")
    assert len(tpanel.train_x) > 0 and len(tpanel.miou_x) == 1
    best = Path(training.result.best_path)
    assert best.is_file() and c.current_model_path == str(best)

    # -- the unlabelled image is re-predicted with the new model by itself (repredict_after_training) ----
    model = window.features["model_menu"]
    assert tpanel.repredict_button.isVisible() and not tpanel.repredict_button.isEnabled()   # running
    qtbot.waitUntil(lambda: model.model_path == str(best) and not model.busy
                    and model.job is not None and not model.job.is_running, timeout=30000)
    assert c.project.entry(next(e.key for e in c.project.entries if stem(e.key) == "img_07")).state \
        == PRE_ANNOTATED
    assert c.save_all()
    assert {s: sha(folder / f"{s}.json") for s in ("img_02", "img_03")} == labelled_before

    # -- Export VOC through the dialog ------------------------------------------------------------------------
    datasets = window.features["datasets"]
    datasets.export_action.trigger()
    dialog = datasets.export_dialog
    dialog.set_format("voc")
    out = tmp_path / "garden_voc"
    dialog.out.setText(str(out))
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.handle.wait(30000)
    qtbot.waitUntil(lambda: dialog.cancel_button.text() == "Close")
    assert dialog.open_button.isVisible() and dialog.open_button.text() == "Open folder"
    opened: list[str] = []
    monkeypatch.setattr("PySide6.QtGui.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(out)]
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    names = (out / "class_names.txt").read_text(encoding="utf-8").splitlines()
    assert names == CLASSES[1:]                           # labels.txt's order, ids from 0
    png = np.asarray(Image.open(out / "SegmentationClass" / "img_02.png"))
    assert png.shape == (H, W)
    want = labelme_mask(on_disk(folder, "img_02")["shapes"])
    assert (png == want).all(), f"{int((png != want).sum())} pixels differ from the drawn shapes"
    assert sorted(np.unique(png)) == [0, CLASSES.index("person") - 1, CLASSES.index("potted plant") - 1]
    assert not (out / "SegmentationClass" / "img_01.png").exists()   # the broken file is not exported

    # -- Label next (Ctrl+L) once the folder is scored (segstudio rank, in process) ---------------------
    from segstudio.cli import main as cli

    assert cli(["rank", str(folder), "--model", str(best), "--quiet"]) == 0
    key(qtbot, window, Qt.Key.Key_A)
    before = c.current_key
    key(qtbot, window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: c.current_key != before, timeout=5000)
    assert c.project.entry(c.current_key).state != LABELLED
    assert "Label next" in window.statusBar().currentMessage()


# -- what the screenshot of the first hour showed ----------------------------------------------------------
def test_file_names_stay_readable_in_the_images_dock_with_the_uncertainty_column(qtbot, folder):
    """Seen under Xvfb after the first hour: with Label next's Uncertainty column the Images
    dock's Name column shrank to ~10 px and every row read "…"."""
    window = MainWindow(Preferences(autosave_idle_s=0), features=["label_next"])
    qtbot.addWidget(window)
    window.resize(1600, 980)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_folder(folder)
    QApplication.processEvents()
    view = window.file_dock.view
    assert [view.model().headerData(i, Qt.Orientation.Horizontal) for i in range(4)] == \
        ["Name", "State", "Shapes", "Uncertainty"]
    name_width = view.horizontalHeader().sectionSize(0)
    assert name_width >= view.fontMetrics().horizontalAdvance("img_02.jpg") + 8
    # all four columns are on screen, no horizontal scrolling needed
    header = view.horizontalHeader()
    assert header.sectionViewportPosition(3) + header.sectionSize(3) <= view.viewport().width()
