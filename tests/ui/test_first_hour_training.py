"""Issue 11, items 1 and 7, as a user meets them: Model ▸ Train… offline with the default
"ImageNet pre-trained" box, the Training dock's axes and size, and the export dialog's end."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from segstudio.core.jobs import Progress
from segstudio.ml import weights
from segstudio.ui.main_window import MainWindow
from tests.support.windows import make_window


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from segstudio.ml.synthetic import write_synthetic_project

    root = tmp_path / "proj"
    write_synthetic_project(root, 4, size=64, seed=0, mixed=True)
    return root


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch) -> Path:
    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(weights, "hub_cache_dir", lambda: cache)
    return cache


def with_train_dialog(window: MainWindow, act) -> None:
    """Opens Model ▸ Train… and runs ``act(dialog)`` while it is open."""
    feature = window.features["training"]
    errors: list[BaseException] = []

    def run() -> None:
        dlg = feature.dialog
        try:
            act(dlg)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the dialog closed
            errors.append(exc)
        finally:
            if dlg.isVisible():
                dlg.reject()

    QTimer.singleShot(0, run)
    next(a for a in window.menus["Model"].actions() if a.objectName() == "model_train").trigger()
    if errors:
        raise errors[0]


def test_offline_the_dialog_says_so_and_starts_from_random_weights(qtbot, project, empty_cache, monkeypatch):
    monkeypatch.setattr(weights, "network_reachable", lambda timeout=1.5: False)
    window = make_window(qtbot, project, features=["training"], size=(1200, 800))
    seen = {}

    def look(dlg) -> None:
        qtbot.waitUntil(lambda: dlg.availability is not None, timeout=5000)
        seen.update(ticked=dlg.pretrained.isChecked(), note=dlg.weights_note.text(),
                    weights=dlg.settings().encoder_weights, local=dlg.local_button.isEnabled())
        dlg.reject()

    with_train_dialog(window, look)
    assert seen["ticked"] is False and seen["weights"] is None      # random initialisation
    assert "No internet" in seen["note"] and "random weights" in seen["note"]
    assert "local weights file" in seen["note"] and seen["local"]
    # a local file stands in for the download
    seen.clear()

    def pick_local(dlg) -> None:
        qtbot.waitUntil(lambda: dlg.availability is not None, timeout=5000)
        dlg.set_local_weights(str(project / "enc.safetensors"))
        seen.update(weights=dlg.settings().encoder_weights, note=dlg.weights_note.text())
        dlg.reject()

    with_train_dialog(window, pick_local)
    assert seen["weights"] == str(project / "enc.safetensors") and "enc.safetensors" in seen["note"]


def test_cached_weights_are_found_without_the_network(qtbot, project, empty_cache, monkeypatch):
    def no_network(timeout=1.5):
        raise AssertionError("the network must not be asked when the weights are cached")

    monkeypatch.setattr(weights, "network_reachable", no_network)
    snap = empty_cache / "models--smp-hub--resnet34.imagenet" / "snapshots" / "7a57b34f"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").write_bytes(b"x")
    window = make_window(qtbot, project, features=["training"], size=(1200, 800))
    seen = {}

    def look(dlg) -> None:
        dlg.encoder.setCurrentText("resnet34")
        dlg.check_weights()
        seen.update(ticked=dlg.pretrained.isChecked(), note=dlg.weights_note.text(),
                    weights=dlg.settings().encoder_weights)
        dlg.reject()

    with_train_dialog(window, look)
    assert seen == {"ticked": True, "note": "ImageNet weights for resnet34 are on this computer.",
                    "weights": "imagenet"}


def test_training_with_unreachable_weights_fails_fast_without_a_traceback(qtbot, project, empty_cache, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(weights, "network_reachable", lambda timeout=1.5: False)
    window = make_window(qtbot, project, features=["training"], size=(1200, 800))
    feature = window.features["training"]

    def insist(dlg) -> None:
        qtbot.waitUntil(lambda: dlg.availability is not None, timeout=5000)
        dlg.encoder.setCurrentText("resnet18")
        dlg.check_weights()
        qtbot.waitUntil(lambda: dlg.availability is not None and dlg.availability.encoder == "resnet18",
                        timeout=5000)
        qtbot.mouseClick(dlg.pretrained, Qt.MouseButton.LeftButton)   # the user ticks it again
        assert dlg.pretrained.isChecked() and "cannot be downloaded" in dlg.weights_note.text()
        dlg.epochs.setValue(1)
        dlg.crop.setValue(64)
        dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    t0 = time.monotonic()
    with_train_dialog(window, insist)
    qtbot.waitUntil(lambda: feature.job is not None and not feature.busy, timeout=60000)
    assert time.monotonic() - t0 < 20   # not the hub client's ~25 s of retries
    title, text = window.last_error
    assert title == "Training failed"
    assert "Traceback" not in text and "encoder_weights=None" not in text and 'File "' not in text
    assert "untick" in text and "local weights file" in text
    boxes = [b for b in window.findChildren(QMessageBox) if b.text() == text]
    assert boxes and "Traceback" in boxes[0].detailedText()    # behind "Show Details…"
    assert "Traceback" not in feature.panel.log_view.toPlainText()
    for b in boxes:
        b.close()
    # the dialog next time: the user's explicit tick is remembered
    assert feature.settings.encoder_weights == "imagenet"


# -- 7. the Training dock and the export dialog ---------------------------------------------------------
def test_loss_axis_reads_plain_epochs(qtbot):
    from segstudio.ui.features.training import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    for b in range(1, 71):   # the first 70 of 1000 batches: x from 0.001 to 0.07 epochs
        panel.show_progress(Progress(b, 1000, "", {"phase": "batch", "epoch": 1, "epochs": 3, "batch": b,
                                                   "batches": 1000, "loss": 1.0 / b}))
    QApplication.processEvents()
    for plot in (panel.loss_plot, panel.miou_plot):
        axis = plot.getAxis("bottom")
        assert "(x" not in axis.labelString() and "epoch" in axis.labelString()
        assert axis.autoSIPrefixScale == 1.0
    ticks = panel.loss_plot.getAxis("bottom").tickValues(0.0, 0.07, 300)
    assert max(v for _spacing, values in ticks for v in values) <= 0.07 + 1e-9   # values are epochs


def test_training_dock_keeps_its_width_and_the_canvas_refits(qtbot, project):
    window = make_window(qtbot, project, features=["training"], size=(1200, 800))
    QApplication.processEvents()
    canvas_before, dock_before = window.canvas.width(), window.shape_dock.width()
    feature = window.features["training"]
    feature.dock.show()
    feature.dock.raise_()
    qtbot.waitUntil(lambda: feature.dock.isVisible())
    QApplication.processEvents()
    assert feature.dock.width() <= dock_before + 20
    assert window.canvas.width() >= canvas_before - 20
    # the canvas still shows the whole image, fitted
    shown = window.canvas.mapFromScene(window.canvas.scene_rect_of_image()).boundingRect()
    assert window.canvas.viewport().rect().contains(shown.adjusted(1, 1, -1, -1))


def test_a_finished_export_offers_close_and_open_folder(qtbot, tmp_path, monkeypatch):
    from segstudio.core.io.labelme import write_labelme
    from segstudio.core.model import ImageAnnotation, Shape

    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(root / "im0.png")
    write_labelme(root / "im0.json", ImageAnnotation("im0.png", 64, 48, [Shape("cat", [[0, 0], [9, 9]],
                                                                                "rectangle")], state="labelled"))
    window = make_window(qtbot, root, features=("datasets",), size=(900, 600))
    feature = window.features["datasets"]
    feature.export_action.trigger()
    dialog = feature.export_dialog
    dialog.set_format("masks")
    dialog.out.setText(str(tmp_path / "out"))
    assert not dialog.open_button.isVisible()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.handle.wait(20000)
    qtbot.waitUntil(lambda: dialog.cancel_button.text() == "Close")
    assert dialog.open_button.isVisible() and dialog.open_button.text() == "Open folder"
    opened = []
    monkeypatch.setattr("PySide6.QtGui.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path / "out")]
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
