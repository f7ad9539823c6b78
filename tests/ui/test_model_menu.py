"""Model menu through the real main window: load, auto-segment current (one undo step), batch → files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from segstudio.core.io.labelme import read_labelme  # noqa: E402
from segstudio.core.rasterize import shape_mask  # noqa: E402
from segstudio.core.settings import Preferences  # noqa: E402
from segstudio.ui.main_window import MainWindow  # noqa: E402
from tests.support.builders import write_labels  # noqa: E402

TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
W, H = 96, 64


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny Unet that says "road" everywhere (zero head weights, bias towards class 1)."""
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.set_num_threads(2)
    model = build_model("Unet", "resnet18", 3, 3, **TINY)
    with torch.no_grad():
        model.segmentation_head[0].weight.zero_()
        model.segmentation_head[0].bias.copy_(torch.tensor([0.0, 4.0, 0.0]))
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "road", "tree"], model_kwargs=dict(TINY),
                     training={"epochs": 2})
    return save_checkpoint(tmp_path_factory.mktemp("m") / "road.safetensors", model, meta)


@pytest.fixture
def window(qtbot, tmp_path, checkpoint):
    root = tmp_path / "proj"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((H, W, 3)) * 255).astype(np.uint8)).save(root / f"img_{i}.png")
    write_labels(root, ["road", "tree"])
    win = MainWindow(Preferences(autosave_idle_s=0), features=["model_menu"])
    # no "unsaved work?" prompt when qtbot closes the window
    qtbot.addWidget(win, before_close_func=_stop_and_save)
    assert win.open_folder(root)
    feature = win.features["model_menu"]
    job = feature.load_model(checkpoint)
    assert job is not None and job.wait(60000)
    assert feature.model is not None, win.last_error
    return win


def _stop_and_save(win):
    feature = win.features["model_menu"]
    feature.cancel()
    if feature.job is not None:
        feature.job.wait(10000)
    win.controller.save_all()


def _wait(feature, qtbot):
    qtbot.waitUntil(lambda: not feature.busy, timeout=60000)


def test_menu_and_model_info(window):
    feature = window.features["model_menu"]
    texts = [a.text() for a in window.menus["Model"].actions()]
    assert "&Load model…" in texts and "Auto-segment &all images" in texts
    feature.show_info()
    assert "road, tree" in feature.info_box.text() and "Unet" in feature.info_box.text()
    assert window.controller.current_model_path == str(window.features["model_menu"].model_path)


def test_auto_segment_current_image_is_one_undoable_edit(window, qtbot):
    feature, c = window.features["model_menu"], window.controller
    assert c.next_image()
    key = c.current_key
    steps = len(c.history)
    feature.actions["segment_current"].trigger()
    _wait(feature, qtbot)
    ann = c.current_annotation()
    road = [s for s in ann.shapes if s.label == "road"]
    assert len(road) == 1 and shape_mask(road[0], H, W).mean() > 0.95
    assert c.project.entry(key).state == "pre-annotated"
    assert len(c.history) == steps + 1
    feature.actions["overlay"].trigger()   # the menu's checkable entry, as a click does
    assert feature.actions["overlay"].isChecked()
    assert feature.overlay.isVisible() and not feature.overlay.pixmap().isNull()
    c.undo()
    assert not [s for s in ann.shapes if s.label == "road"]


def test_result_for_another_image_is_dropped(window, qtbot):
    feature, c = window.features["model_menu"], window.controller
    assert c.next_image()
    first = c.current_key
    feature.segment_current()
    assert c.next_image()          # the user moves on before the result arrives
    _wait(feature, qtbot)
    assert not c.annotation_for(first).shapes
    assert not c.current_annotation().shapes


def test_batch_writes_a_file_for_every_image(window, qtbot):
    feature, c = window.features["model_menu"], window.controller
    feature.actions["segment_all"].trigger()
    _wait(feature, qtbot)
    root = Path(c.project.root)
    for i in range(3):
        path = root / f"img_{i}.json"
        assert path.is_file(), f"no JSON for image {i}"
        ann = read_labelme(path)
        assert ann.state == "pre-annotated"
        assert [s.label for s in ann.shapes] == ["road"]
        assert json.loads(path.read_text())["segstudio"]["state"] == "pre-annotated"
    # unlabelled-only now finds nothing to do
    feature.actions["segment_unlabelled"].trigger()
    assert not feature.busy


def test_batch_cancel_keeps_finished_images_only(window, qtbot):
    feature = window.features["model_menu"]
    feature.segment_batch(False)
    feature.cancel()
    _wait(feature, qtbot)
    assert not feature.busy
    assert feature.job.cancelled


def test_window_does_not_import_torch():
    code = ("import sys; import segstudio.ui.main_window, segstudio.ui.features.model_menu; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def _person_json(root: Path, name: str) -> str:
    """A person's labelme file for ``name`` (no segstudio key: labelme's own); returns its sha256."""
    import hashlib

    path = root / f"{name}.json"
    path.write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "imagePath": f"{name}.png", "imageData": None,
        "imageHeight": H, "imageWidth": W,
        "shapes": [{"label": "tree", "points": [[1, 1], [30, 1], [30, 30]], "group_id": None,
                    "description": "mine", "shape_type": "polygon", "flags": {}}]}))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_batch_skips_labelled_images_asks_to_include_them_and_is_one_undo_step(window, qtbot):
    import hashlib

    from tests.support.questions import answer_include_labelled

    feature, c = window.features["model_menu"], window.controller
    root = Path(c.project.root)
    mine = _person_json(root, "img_0")
    assert window.open_folder(root)
    steps = len(c.history)

    asked = answer_include_labelled("Skip")
    feature.actions["segment_all"].trigger()
    _wait(feature, qtbot)
    assert asked and "1 of the 3 images were labelled by a person" in asked[0]
    assert "1 labelled image(s) would change" in asked[0]
    assert len(c.history) == steps + 1                           # the batch is one undo step
    assert hashlib.sha256((root / "img_0.json").read_bytes()).hexdigest() == mine
    assert c.project.entries[0].state == "labelled"
    for i in (1, 2):
        ann = read_labelme(root / f"img_{i}.json")
        assert ann.state == "pre-annotated" and [s.label for s in ann.shapes] == ["road"]

    c.undo()                                                     # one undo takes back the whole batch
    assert [c.project.entry(e.key).state for e in c.project.entries] == ["labelled", "unlabelled", "unlabelled"]
    assert all(not c.annotation_for(e.key).shapes for e in c.project.entries[1:])

    asked = answer_include_labelled("Include")
    feature.actions["segment_all"].trigger()
    _wait(feature, qtbot)
    assert asked and len(c.history) == steps + 1                # the redo tail was replaced
    ann = c.annotation_for(c.project.entries[0].key)
    assert [s.label for s in ann.shapes] == ["tree", "road"]    # merged, as the question said
    assert c.project.entries[0].state == "labelled"              # still a person's image
    assert read_labelme(root / "img_0.json").state == "labelled"

    n = len(c.history)
    asked = answer_include_labelled("Cancel")
    feature.actions["segment_all"].trigger()
    assert asked and not feature.busy and len(c.history) == n


def test_auto_segment_current_keeps_a_labelled_image_labelled(window, qtbot):
    feature, c = window.features["model_menu"], window.controller
    root = Path(c.project.root)
    _person_json(root, "img_0")
    assert window.open_folder(root)
    key = c.current_key
    assert c.project.entry(key).state == "labelled"
    feature.actions["segment_current"].trigger()
    _wait(feature, qtbot)
    assert [s.label for s in c.current_annotation().shapes] == ["tree", "road"]
    assert c.project.entry(key).state == "labelled"
    c.undo()
    assert [s.label for s in c.current_annotation().shapes] == ["tree"] and c.project.entry(key).state == "labelled"


def test_a_model_asked_for_while_another_loads_is_the_one_loaded_in_the_end(window, qtbot, checkpoint, tmp_path):
    """Training publishes its checkpoint (B) while the user's load of A is still running: B wins,
    it is not dropped and A does not become current again."""
    import shutil

    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    shutil.copy(checkpoint, a)
    shutil.copy(checkpoint, b)
    feature, c = window.features["model_menu"], window.controller
    assert feature.load_model(a) is not None and feature.busy      # A is loading
    c.set_current_model(str(b))                                     # B is asked for meanwhile
    qtbot.waitUntil(lambda: feature.model_path == str(b) and not feature.busy, timeout=60000)
    assert c.current_model_path == str(b)
