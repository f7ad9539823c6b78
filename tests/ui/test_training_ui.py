"""Model ▸ Train… end to end: the dialog starts a background training, the dock shows progress
and curves, Stop keeps a checkpoint that becomes the current model, and one click
re-predicts the unlabelled images. A failing training shows a message; the app keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow

pytest.importorskip("torch")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from segstudio.ml.synthetic import write_synthetic_project

    root = tmp_path / "proj"
    write_synthetic_project(root, 8, size=64, seed=0, mixed=True)
    # one image nobody labelled: the re-predict button must pre-annotate it
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(root / "zz_unlabelled.png")
    return root


def open_window(qtbot, folder: Path) -> MainWindow:
    window = MainWindow(Preferences(autosave_idle_s=0), features=["model_menu", "training"])
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_folder(folder)
    return window


def fill_dialog(feature, encoder: str = "tu-resnet10t", epochs: int = 200) -> None:
    dlg = feature.dialog
    dlg.encoder.setCurrentText(encoder)
    dlg.pretrained.setChecked(False)
    dlg.depth.setValue(3)
    dlg.decoder.setText("32,16,8")
    dlg.epochs.setValue(epochs)
    dlg.batch.setValue(4)
    dlg.crop.setValue(64)
    dlg.lr.setValue(0.01)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def trigger_train(window, feature, **kw) -> None:
    action = next(a for a in window.menus["Model"].actions() if a.objectName() == "model_train")
    QTimer.singleShot(0, lambda: fill_dialog(feature, **kw))
    action.trigger()   # exec() returns once fill_dialog pressed Train


def test_train_from_menu_stop_keeps_checkpoint_and_repredicts(qtbot, project):
    from segstudio.ml.checkpoint import load_checkpoint

    window = open_window(qtbot, project)
    feature = window.features["training"]
    panel = feature.panel
    trigger_train(window, feature)
    assert feature.busy and feature.dock.isVisible()

    # live progress: the bar moves, the loss curve grows, then an epoch adds mIoU + per-class IoU
    qtbot.waitUntil(lambda: panel.progress.value() > 0 and len(panel.train_x) > 0, timeout=60000)
    qtbot.waitUntil(lambda: len(panel.miou_x) >= 1, timeout=60000)
    assert "CPU" in panel.device_label.text()
    assert panel.iou_table.rowCount() == 3
    assert len(panel.val_curve.getData()[0]) >= 1
    assert "Epoch" in panel.status_label.text()

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not feature.busy, timeout=15000)
    result = feature.result
    assert result is not None and result.stopped == "cancelled" and result.epochs_run >= 1
    assert result.epochs_run < 200
    best = Path(result.best_path)
    assert best.is_file() and best.parent.parent.name == "models"
    _, meta = load_checkpoint(best)
    assert meta.classes[0] == "_background_" and set(meta.classes[1:]) == {"disc", "box"}
    assert window.controller.current_model_path == str(best)
    assert feature.train_action.isEnabled()

    # one click: the Model feature loads the new model and pre-annotates the unlabelled image
    model_feature = window.features["model_menu"]
    assert panel.repredict_button.isVisible()
    qtbot.mouseClick(panel.repredict_button, Qt.MouseButton.LeftButton)
    key = next(e.key for e in window.controller.project.entries if "zz_unlabelled" in e.key)
    qtbot.waitUntil(lambda: window.controller.project.entry(key).state == "pre-annotated", timeout=60000)
    qtbot.waitUntil(lambda: not model_feature.busy, timeout=30000)
    assert model_feature.model_path == str(best)
    # labelled images are left alone
    assert all(e.state == "labelled" for e in window.controller.project.entries if "zz_" not in e.key)


def test_training_crash_shows_message_and_app_keeps_working(qtbot, project):
    window = open_window(qtbot, project)
    feature = window.features["training"]
    trigger_train(window, feature, encoder="no-such-encoder", epochs=1)
    qtbot.waitUntil(lambda: not feature.busy, timeout=30000)
    assert feature.result is None
    assert "no-such-encoder" in feature.last_error
    assert window.last_error[0] == "Training failed"
    # words in the dock and the box; the traceback only behind the box's "Show Details…"
    assert "Traceback" not in feature.panel.log_view.toPlainText()
    assert "Traceback" not in window.last_error[1]
    assert any("Traceback" in b.detailedText() for b in window.findChildren(QMessageBox))
    assert feature.train_action.isEnabled()
    assert window.controller.next_image()   # the labelling tool still works


def test_installing_the_training_feature_does_not_import_torch():
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from segstudio.ui.main_window import MainWindow; w = MainWindow(features=['model', 'training']); "
            "assert 'training' in w.features; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_stop_while_the_model_is_being_built_ends_without_training(qtbot, project, monkeypatch):
    """Stop during start-up (here: a slow model build) ends the job before any batch; no model
    is written and the current model is left alone."""
    import threading

    import segstudio.ml.models as models

    entered, release = threading.Event(), threading.Event()
    real_build = models.build_model

    def slow_build(*args, **kwargs):   # a big encoder being built / its weights read from disk
        entered.set()
        release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(models, "build_model", slow_build)
    window = open_window(qtbot, project)
    feature = window.features["training"]
    panel = feature.panel
    trigger_train(window, feature)
    qtbot.waitUntil(entered.is_set, timeout=30000)
    qtbot.waitUntil(lambda: "building the model" in panel.status_label.text(), timeout=5000)
    assert panel.progress.maximum() == 0          # a busy bar while the length is unknown

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    release.set()
    qtbot.waitUntil(lambda: not feature.busy, timeout=30000)
    result = feature.result
    assert result is not None and result.stopped == "cancelled" and result.epochs_run == 0
    assert result.best_path is None
    assert panel.train_x == [] and panel.miou_x == []          # not one batch ran
    assert "before training began" in panel.status_label.text()
    assert panel.progress.maximum() > 0                       # the busy bar is gone
    assert not list((project / ".segstudio").rglob("*.safetensors"))
    assert window.controller.current_model_path is None
    assert not panel.repredict_button.isVisible()
    assert feature.train_action.isEnabled()


def test_continue_from_the_current_model_keeps_its_network_and_adds_new_classes(qtbot, project):
    """Train… ▸ "Continue from the current model": the architecture, encoder and weights come
    from the loaded model (whatever the dialog's fields say), its classes keep their indices and
    a class the project has beyond them gets a new output."""
    import torch

    from segstudio.ml.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
    from segstudio.ml.models import build_model

    torch.manual_seed(0)
    kwargs = {"encoder_depth": 3, "decoder_channels": [16, 8, 8]}
    src_model = build_model("Unet", "tu-resnet10t", 3, 2, encoder_weights=None, **kwargs)
    src_path = project.parent / "current.safetensors"
    save_checkpoint(src_path, src_model, ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "disc"],
                                                   model_kwargs=kwargs))
    window = open_window(qtbot, project)
    feature, model_feature = window.features["training"], window.features["model_menu"]
    window.controller.set_current_model(str(src_path))
    qtbot.waitUntil(lambda: model_feature.meta is not None and not model_feature.busy, timeout=30000)

    seen = {}

    def fill() -> None:
        dlg = feature.dialog
        seen["enabled"] = dlg.continue_check.isEnabled()
        dlg.continue_check.setChecked(True)
        seen["arch_editable"] = dlg.arch.isEnabled()
        dlg.arch.setCurrentText("FPN")                 # ignored: the current model decides
        dlg.encoder.setCurrentText("resnet50")
        dlg.epochs.setValue(1)
        dlg.batch.setValue(4)
        dlg.crop.setValue(64)
        dlg.lr.setValue(1e-6)                          # the smallest step: weights stay close
        dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    action = next(a for a in window.menus["Model"].actions() if a.objectName() == "model_train")
    QTimer.singleShot(0, fill)
    action.trigger()
    assert seen == {"enabled": True, "arch_editable": False}
    qtbot.waitUntil(lambda: not feature.busy, timeout=60000)
    assert feature.last_error is None
    result = feature.result
    assert result is not None and result.stopped == "completed" and result.best_path
    new_model, meta = load_checkpoint(result.best_path)
    assert (meta.arch, meta.encoder, meta.model_kwargs["encoder_depth"]) == ("Unet", "tu-resnet10t", 3)
    assert meta.classes == ["_background_", "disc", "box"]
    assert meta.training["config"]["init_from"] == str(src_path)
    old, new = src_model.state_dict(), new_model.state_dict()
    convs = [k for k, v in old.items() if k.startswith("encoder.") and v.ndim == 4]
    assert convs and all(torch.allclose(old[k], new[k], atol=1e-3) for k in convs)   # not a fresh init
    assert window.controller.current_model_path == result.best_path
    qtbot.waitUntil(lambda: model_feature.model_path == result.best_path and not model_feature.busy,
                    timeout=30000)


def test_without_the_preference_the_unlabelled_images_wait_for_the_re_predict_click(qtbot, project):
    window = MainWindow(Preferences(autosave_idle_s=0, repredict_after_training=False),
                        features=["model_menu", "training"])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_folder(project)
    feature, model = window.features["training"], window.features["model_menu"]
    trigger_train(window, feature, epochs=1)
    qtbot.waitUntil(lambda: not feature.busy, timeout=60000)
    assert feature.result is not None and feature.result.best_path
    qtbot.waitUntil(lambda: model.model_path == str(feature.result.best_path), timeout=30000)
    qtbot.waitUntil(lambda: model.job is None or not model.job.is_running, timeout=30000)
    assert feature.panel.repredict_button.isEnabled()   # nothing ran by itself: the click is offered
    key = next(e.key for e in window.controller.project.entries if "zz_unlabelled" in e.key)
    assert window.controller.project.entry(key).state == "unlabelled"
