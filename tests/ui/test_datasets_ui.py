"""File ▸ Export dataset… and Tools ▸ Evaluate… through the real main window (light)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.edits import AddShapes
from segstudio.core.io.labelme import write_labelme
from segstudio.core.model import ImageAnnotation, Shape
from tests.support.builders import labelled_project
from tests.support.windows import make_window

W, H = 64, 48


def make_project(root: Path) -> Path:
    return labelled_project(root, {f"im{i}": [Shape("cat", [[0, 0], [9, 9]], "rectangle")] for i in range(2)},
                            size=(W, H), classes=["cat", "dog"])

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_export_dialog_exports_unsaved_edits(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, make_project(tmp_path / "proj"), features=["datasets"])
    key = window.controller.current_key
    window.controller.push(AddShapes(key, [Shape("dog", [[20, 20], [29, 29]], "rectangle")]))
    feature = window.features["datasets"]
    assert feature.export_action in window.menus["File"].actions()
    feature.export_action.trigger()
    dialog = feature.export_dialog
    dialog.set_format("masks")
    dialog.out.setText(str(tmp_path / "out"))
    dialog.split[0].setValue(1.0)
    dialog.split[1].setValue(0.0)
    dialog.run_button.click()
    assert dialog.handle.wait(20000)
    assert dialog.result is not None and dialog.result.images == 2
    assert "Exported 2 image(s)" in dialog.message.text()
    mask = np.asarray(Image.open(tmp_path / "out" / "masks" / "im0.png"))
    assert (mask == 1).sum() == 100 and (mask == 2).sum() == 100      # the unsaved dog is there
    assert not (tmp_path / "proj" / "im0.json").read_text().count('"dog"')   # still unsaved
    dialog.close()
    assert window.controller.save_all()    # so closing the window asks nothing


def test_evaluate_dialog_shows_a_table(qtbot, tmp_path: Path) -> None:
    gt = make_project(tmp_path / "proj")
    pred = make_project(tmp_path / "pred")
    write_labelme(pred / "im1.json", ImageAnnotation("im1.png", W, H, [], state="labelled"))
    window = make_window(qtbot, gt, features=["datasets"])
    feature = window.features["datasets"]
    feature.evaluate_action.trigger()
    dialog = feature.evaluate_dialog
    dialog.pred.setText(str(pred))
    dialog.run_button.click()
    assert dialog.handle.wait(20000)
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text()
            for r in range(dialog.table.rowCount())}
    assert float(rows["cat"]) == 0.5               # found in one image of two
    assert rows["dog"] == "—"                      # absent from both sides
    assert "excluded from the means: dog" in dialog.summary.toPlainText()
    dialog.close()


def test_import_dialog_writes_and_opens_a_project(qtbot, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    (ds / "masks").mkdir(parents=True)
    m = np.zeros((H, W), np.uint8)
    m[5:15, 5:25] = 1
    Image.fromarray(m).save(ds / "masks" / "z.png")
    (ds / "images").mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(ds / "images" / "z.jpg")
    (ds / "classes.json").write_text('{"classes": [{"value": 1, "name": "weed"}]}', encoding="utf-8")
    window = make_window(qtbot, make_project(tmp_path / "proj"), features=["datasets"])
    feature = window.features["datasets"]
    feature.import_action.trigger()
    dialog = feature.import_dialog
    dialog.format.setCurrentIndex(dialog.format.findData("masks"))
    dialog.src.setText(str(ds))
    dialog.out.setText(str(tmp_path / "new"))
    dialog.run_button.click()
    assert dialog.handle.wait(20000)
    assert window.controller.project.root == (tmp_path / "new").absolute()
    ann = window.controller.current_annotation()
    assert [s.label for s in ann.shapes] == ["weed"]
    assert "weed" in window.controller.project.class_names()
