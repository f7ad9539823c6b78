"""Label next after training, as a user meets it: a training run ends in the window, the
unlabelled images get scores in the Images dock without anything pressed, Ctrl+L opens the most
uncertain one and the confidence overlay glows where the model is unsure on it. The preference
off → no scoring; a scoring job whose model was replaced meanwhile is dropped."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from segstudio.core.settings import Preferences
from segstudio.ui.features.model_overlay import OVERLAY_MAX_ALPHA
from segstudio.ui.main_window import MainWindow

torch = pytest.importorskip("torch")

FEATURES = ["model_menu", "training", "label_next"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from segstudio.ml.synthetic import synthetic_image, write_synthetic_project

    root = tmp_path / "proj"
    write_synthetic_project(root, 8, size=64, seed=0, mixed=True)   # labelled
    rng = np.random.default_rng(5)
    # images nobody labelled: two like the training set, one of noise, one flat
    for i in range(2):
        img, _ = synthetic_image(rng, 64, 64, 2)
        Image.fromarray(img).save(root / f"zz_new{i}.png")
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(root / "zz_noise.png")
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(root / "zz_flat.png")
    return root


def open_window(qtbot, folder: Path, prefs: Preferences, features=FEATURES) -> MainWindow:
    window = MainWindow(prefs, features=features)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)   # shortcuts need an active window
    assert window.open_folder(folder)
    return window


def train_in_window(qtbot, window: MainWindow, epochs: int) -> Path:
    """A tiny training run in the window (what Model ▸ Train… starts), to its end; returns the
    best checkpoint."""
    from segstudio.ui.features.training_dialog import TrainSettings

    feature = window.features["training"]
    tiny = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
    wanted = dict(encoder="tu-resnet10t", encoder_weights=None, epochs=epochs, batch_size=4, crop_size=64,
                  lr=0.01, device="cpu", min_samples_per_epoch=16, model_kwargs=dict(tiny), **tiny)
    # the settings' fields are being reshaped (an options table): pass those this version has
    names = {f.name for f in dataclasses.fields(TrainSettings)}
    settings = TrainSettings(**{k: v for k, v in wanted.items() if k in names})
    assert feature.start(settings) is not None
    qtbot.waitUntil(lambda: not feature.busy, timeout=300000)
    assert feature.result is not None and feature.result.best_path, feature.last_error
    return Path(feature.result.best_path)


def unlabelled(window: MainWindow) -> list[str]:
    return [e.key for e in window.controller.project.entries if e.state != "labelled"]


def column(window: MainWindow) -> dict[str, str | None]:
    model = window.file_dock.model
    col = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())].index("Uncertainty")
    return {model.key_at(r): model.data(model.index(r, col)) for r in range(model.rowCount())}


def expected_scores(ckpt: Path, keys: list[str]) -> dict[str, float]:
    """What the checkpoint's margin score is for each image, computed here outside the app."""
    from segstudio.core.io.images import load_image, to_rgb8
    from segstudio.core.jobs import run_to_end
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.uncertainty import ScoreOptions, score_image

    model, meta = load_checkpoint(ckpt)
    return {k: run_to_end(score_image(model, meta, to_rgb8(load_image(Path(k).with_suffix(".png"))), "cpu",
                                      options=ScoreOptions())).score for k in keys}


def overlay_rgba(item) -> np.ndarray:
    img = item.pixmap().toImage().convertToFormat(item.pixmap().toImage().Format.Format_RGBA8888)
    return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
        :, :img.width()].copy()


@pytest.mark.usefixtures("torch_two_threads")
def test_scores_appear_after_training_and_label_next_serves_the_most_uncertain(qtbot, project):
    from segstudio.core.jobs import run_to_end
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.predict import predict_image

    window = open_window(qtbot, project, Preferences(autosave_idle_s=0))
    label_next, model_feature = window.features["label_next"], window.features["model_menu"]
    todo = unlabelled(window)
    assert len(todo) == 4 and not any(column(window).values())
    best = train_in_window(qtbot, window, epochs=2)

    # nothing pressed: every unlabelled image gets the new model's score in the dock
    qtbot.waitUntil(lambda: all(column(window)[k] is not None for k in todo), timeout=120000)
    qtbot.waitUntil(lambda: not label_next.busy and not model_feature.busy, timeout=60000)
    want = expected_scores(best, todo)
    shown = column(window)
    assert {k: shown[k] for k in todo} == {k: f"{v:.3f}" for k, v in want.items()}
    assert all(v is None for k, v in shown.items() if k not in todo)   # labelled: no score
    # the same cache file `segstudio rank` writes for this checkpoint
    from segstudio.core.score_cache import file_sha256, scores_file
    assert scores_file(project, file_sha256(best)).is_file()

    # Ctrl+L: the most uncertain unlabelled image
    assert model_feature.model_path == str(best)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    top = max(want, key=want.get)
    qtbot.waitUntil(lambda: window.controller.current_key == top, timeout=5000)

    # ... and the overlay shows where on it the model is unsure: opaque where it doubts
    qtbot.waitUntil(lambda: model_feature.overlay.isVisible(), timeout=60000)
    assert model_feature.actions["overlay"].isChecked()
    model, meta = load_checkpoint(best)
    image = np.asarray(Image.open(Path(top).with_suffix(".png")).convert("RGB"))
    conf = run_to_end(predict_image(model, meta, image, "cpu")).confidence
    doubt = np.clip((1 - conf) / (1 - 1 / meta.num_classes), 0, 1)
    alpha = overlay_rgba(model_feature.overlay)[..., 3].astype(float)
    assert alpha.shape == doubt.shape
    top_alpha = OVERLAY_MAX_ALPHA   # strongest where the model doubts most (the photo stays visible)
    assert np.abs(alpha - doubt * top_alpha).max() <= 2
    unsure, sure = doubt > 0.5, doubt < 0.1
    assert unsure.any() and alpha[unsure].mean() > 0.52 * top_alpha and alpha[unsure].min() > 0.48 * top_alpha
    if sure.any():
        assert alpha[sure].max() < 0.11 * top_alpha
    # labelled images are left alone by all this
    assert all(e.state == "labelled" for e in window.controller.project.entries if e.key not in todo)


@pytest.mark.usefixtures("torch_two_threads")
def test_preference_off_no_scoring_after_training(qtbot, project):
    window = open_window(qtbot, project, Preferences(autosave_idle_s=0, score_after_training=False))
    label_next, model_feature = window.features["label_next"], window.features["model_menu"]
    best = train_in_window(qtbot, window, epochs=1)
    qtbot.waitUntil(lambda: model_feature.model_path == str(best) and not model_feature.busy, timeout=60000)
    qtbot.wait(300)
    assert label_next.job is None
    assert not any(column(window).values())
    assert not (project / ".segstudio" / "scores").exists()
    # on demand it still works: Tools ▸ Score images for Label next
    window.actions["label_next_score"].trigger()
    qtbot.waitUntil(lambda: all(column(window)[k] is not None for k in unlabelled(window)), timeout=120000)


def _checkpoint(path: Path, seed: int) -> Path:
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    kwargs = {"encoder_depth": 3, "decoder_channels": [16, 8, 4]}
    torch.manual_seed(seed)
    save_checkpoint(path, build_model("Unet", "tu-resnet10t", 3, 3, **kwargs),
                    ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "disc", "box"], model_kwargs=kwargs))
    return path


def test_a_scoring_job_whose_model_was_replaced_is_dropped(qtbot, project, monkeypatch):
    import segstudio.ml.uncertainty as unc

    a, b = _checkpoint(project.parent / "a.safetensors", 1), _checkpoint(project.parent / "b.safetensors", 2)
    entered, release = threading.Event(), threading.Event()
    real = unc.score_images

    def slow(*args, **kwargs):   # many big images: the job is still running when the model changes
        entered.set()
        release.wait(30)
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(unc, "score_images", slow)
    window = open_window(qtbot, project, Preferences(autosave_idle_s=0), ["model_menu", "label_next"])
    label_next, model_feature = window.features["label_next"], window.features["model_menu"]
    window.controller.set_current_model(str(a))
    qtbot.waitUntil(lambda: model_feature.model_path == str(a) and not model_feature.busy, timeout=30000)
    window.actions["label_next_score"].trigger()
    qtbot.waitUntil(entered.is_set, timeout=30000)
    assert label_next.progress.isVisible() and label_next.cancel_button.isVisible()

    window.controller.set_current_model(str(b))   # e.g. another model loaded meanwhile
    qtbot.waitUntil(lambda: model_feature.model_path == str(b) and not model_feature.busy, timeout=30000)
    release.set()
    qtbot.waitUntil(lambda: not label_next.busy, timeout=30000)
    qtbot.wait(200)
    assert not any(column(window).values())        # a's scores never reach the dock
    assert window.features["label_next"].go() is None

    # scoring with the current model shows its scores
    entered.clear()
    window.actions["label_next_score"].trigger()
    qtbot.waitUntil(lambda: all(column(window)[k] is not None for k in unlabelled(window)), timeout=60000)
    want = expected_scores(b, unlabelled(window))
    assert {k: column(window)[k] for k in want} == {k: f"{v:.3f}" for k, v in want.items()}
    qtbot.waitUntil(lambda: not label_next.progress.isVisible(), timeout=5000)
