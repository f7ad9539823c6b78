"""File ▸ Export dataset… on a folder with bad images: the rest is exported, the dialog lists them."""

from __future__ import annotations

from pathlib import Path

from segstudio.core.model import Shape
from tests.support.builders import labelled_project
from tests.support.windows import make_window

W, H = 64, 48


def make_project(root: Path) -> Path:
    labelled_project(root, {name: [Shape("cat", [[0, 0], [9, 9]], "rectangle")]
                            for name in ("im0", "im1", "zz_bad_image", "zz_bad_json")},
                     size=(W, H), classes=["cat"])
    (root / "zz_bad_image.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (root / "zz_bad_json.json").write_text('{"version": "5.0", "shapes": [', encoding="utf-8")
    return root


def test_export_dialog_lists_the_images_it_could_not_export(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, make_project(tmp_path / "proj"), features=["datasets"])
    feature = window.features["datasets"]
    feature.export_action.trigger()
    dialog = feature.export_dialog
    dialog.set_format("voc")
    dialog.out.setText(str(tmp_path / "out"))
    dialog.split[0].setValue(1.0)
    dialog.split[1].setValue(0.0)
    assert dialog.problems.isHidden()
    dialog.run_button.click()
    assert dialog.handle.wait(20000)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=5000)
    assert dialog.result.images == 2
    assert dialog.isVisible()                          # the dialog stays open with the list
    assert dialog.problems.isVisible()
    listed = dialog.problems.toPlainText()
    assert "2 image(s) not exported" in listed
    assert "zz_bad_image.png" in listed and "zz_bad_json.json" in listed
    assert "2 image(s) not exported" in dialog.message.text()
    train = (tmp_path / "out" / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    assert train == ["im0", "im1"]
    dialog.close()
