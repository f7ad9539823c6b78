"""Issue 11.4 / 14.3: every action of the window — the features' included — comes from the one
action table, so no key is bound twice, and the Help list (F1) and the README show them all.

Driven as a user: a mask selected with a click on the canvas, then Ctrl+Shift+M (mask →
polygons) and Ctrl+Shift+A (auto-segment with the loaded model) pressed on the real window."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QMenu

torch = pytest.importorskip("torch")

from segstudio.ui.actions import ActionSpec  # noqa: E402
from segstudio.ui.main_window import FEATURES, MainWindow  # noqa: E402
from tests.support.builders import write_labels  # noqa: E402
from tests.support.windows import open_window  # noqa: E402

W, H = 96, 64
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny Unet that says "road" everywhere (zero head weights, a bias towards class 1)."""
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    tiny = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
    model = build_model("Unet", "resnet18", 3, 3, **tiny)
    with torch.no_grad():
        model.segmentation_head[0].weight.zero_()
        model.segmentation_head[0].bias.copy_(torch.tensor([0.0, 4.0, 0.0]))
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "road", "tree"], model_kwargs=tiny)
    return save_checkpoint(tmp_path_factory.mktemp("m") / "road.safetensors", model, meta)


def mask_json(x0: int, y0: int, x1: int, y1: int) -> dict:
    """A labelme file with one mask shape covering [x0, x1) × [y0, y1)."""
    buf = io.BytesIO()
    Image.fromarray(np.ones((y1 - y0, x1 - x0), np.uint8) * 255).save(buf, format="PNG")
    shape = {"label": "tree", "points": [[x0, y0], [x1 - 1, y1 - 1]], "group_id": None, "description": "",
             "shape_type": "mask", "flags": {}, "mask": base64.b64encode(buf.getvalue()).decode()}
    return {"version": "5.5.0", "flags": {}, "shapes": [shape], "imagePath": "img_0.png",
            "imageData": None, "imageHeight": H, "imageWidth": W}


@pytest.fixture
def window(qtbot, tmp_path, checkpoint):
    root = tmp_path / "proj"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((H, W, 3)) * 255).astype(np.uint8)).save(root / f"img_{i}.png")
    (root / "img_0.json").write_text(json.dumps(mask_json(20, 10, 60, 40)), encoding="utf-8")
    write_labels(root, ["road", "tree"])
    win = open_window(qtbot, root, features=None,   # every feature, as a user gets it
                      before_close=lambda w: w.controller.save_all())
    model = win.features["model_menu"]
    job = model.load_model(checkpoint)
    assert job is not None and job.wait(60000)
    qtbot.waitUntil(lambda: not model.busy, timeout=60000)
    assert model.model is not None, win.last_error
    win.canvas.zoom_fit()
    win.canvas.setFocus()
    return win


def press(qtbot, win: MainWindow, key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(win.canvas, key, mods)


def keyed_actions(win: MainWindow) -> dict[str, list[str]]:
    """Portable key text → names of the window's actions bound to it."""
    keys: dict[str, list[str]] = {}
    for action in win.findChildren(QAction):
        for seq in action.shortcuts():
            keys.setdefault(seq.toString(QKeySequence.SequenceFormat.PortableText), []).append(
                action.objectName() or action.text())
    return keys


def test_no_key_is_bound_twice_and_both_commands_run_from_the_keyboard(qtbot, window):
    assert set(window.features) == set(FEATURES)   # none failed to install (a clash raises)
    clashes = {k: names for k, names in keyed_actions(window).items() if len(names) > 1}
    assert clashes == {}

    c = window.controller
    ann = c.current_annotation()
    assert [s.shape_type for s in ann.shapes] == ["mask"]
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.canvas.mapFromScene(QPointF(40, 25)))   # select the mask
    assert [s.shape_type for s in window.canvas.selected_shapes()] == ["mask"]
    press(qtbot, window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [s.shape_type for s in ann.shapes] == ["polygon"]
    xs, ys = ann.shapes[0].points[:, 0], ann.shapes[0].points[:, 1]
    assert (xs.min(), ys.min()) == pytest.approx((20, 10), abs=1) and xs.max() == pytest.approx(59, abs=1.5)

    model = window.features["model_menu"]
    press(qtbot, window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: any(s.label == "road" for s in ann.shapes), timeout=60000)
    qtbot.waitUntil(lambda: not model.busy, timeout=60000)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # one undo step each
    assert [s.shape_type for s in ann.shapes] == ["polygon"]


def test_every_menu_entry_comes_from_the_table_and_help_lists_the_features(qtbot, window):
    table_ids = {s.id for s in window.actions.specs}
    assert {"model_segment_current", "model_train", "datasets_export", "autoseg_panel"} <= table_ids
    # Qt's own show/hide entries of the docks and the toolbar, and the recent folders, are not commands
    toggles = [d.toggleViewAction() for d in window.findChildren(QDockWidget)] + [window.toolbar.toggleViewAction()]
    stray = []
    for name, menu in window.menus.items():
        for action in _menu_actions(menu):
            if action.menu() is None and action not in toggles and not action.isSeparator() \
                    and action.parent() is not window.recent.menu and action.objectName() not in table_ids:
                stray.append(f"{name}: {action.text()}")
    assert stray == []

    press(qtbot, window, Qt.Key.Key_F1)
    dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "ShortcutsDialog")
    rows = {dialog.table.item(r, 1).text(): dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert rows["Auto-segment current image"] == "Ctrl+Shift+A"
    assert rows["Convert mask → polygons"] == "Ctrl+Shift+M"
    assert isinstance(dialog, QDialog)
    dialog.close()


def _menu_actions(menu: QMenu) -> list[QAction]:
    out = []
    for action in menu.actions():
        out.append(action)
        if action.menu() is not None:
            out.extend(_menu_actions(action.menu()))
    return out


def test_a_feature_row_with_a_taken_key_is_refused(window):
    with pytest.raises(ValueError, match="Ctrl\\+Shift\\+M"):
        window.add_actions((ActionSpec("clash", "Tools", "Clash", ("Ctrl+Shift+M",)),), {"clash": lambda: None})
    assert "clash" not in window.actions


def test_readme_shortcut_table_lists_every_key_of_the_window(window):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Keyboard shortcuts"):]
    section = section[:section.index("\n\n", section.index("| Keys"))]
    documented = set()
    for line in section.splitlines()[2:]:
        keys = line.split("|")[1]
        documented |= {k.strip() for k in re.split(r"[/,()]| or ", keys) if k.strip()}
    missing = [f"{k} ({spec.text})" for spec in window.actions.specs for k in spec.shortcuts if k not in documented]
    assert missing == []
