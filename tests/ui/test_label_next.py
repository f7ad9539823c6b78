"""Label next in the window: Ctrl+L opens the most uncertain image a person has not labelled,
then the next one (never one just served, never a labelled one), from the project's score cache."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from segstudio.core.io.labelme import write_labelme
from segstudio.core.label_next import descriptor_to_text, thumbnail_descriptor
from segstudio.core.model import LABELLED, ImageAnnotation, Shape
from segstudio.core.score_cache import ScoreCache, file_stamp, scores_file
from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow


def test_ctrl_l_serves_the_most_uncertain_unlabelled_images_in_turn(qtbot, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    rng = np.random.default_rng(0)
    scores = {"a.png": 0.2, "b.png": 0.9, "c.png": 0.5, "d.png": 0.99}   # d is labelled
    cache = ScoreCache(scores_file(root, "f" * 64), "f" * 64, {"metric": "margin"})
    for name, score in scores.items():
        img = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(root / name)
        cache.put(name, file_stamp(root / name),
                  {"score": score, "descriptor": descriptor_to_text(thumbnail_descriptor(img))})
    cache.save()
    box = Shape("car", np.array([[1, 1], [9, 1], [9, 9]], float), "polygon")
    write_labelme(root / "d.json", ImageAnnotation("d.png", 50, 40, [box], state=LABELLED))

    win = MainWindow(Preferences(autosave_idle_s=0), features=["label_next"])
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)   # shortcuts need an active window
    assert win.open_folder(root)
    win.canvas.setFocus()
    assert win.controller.current_key.endswith("a.json")   # the folder opens on its first image
    served = [win.controller.current_key]
    for _ in range(2):
        qtbot.keyClick(win.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: win.controller.current_key not in served, timeout=5000)
        served.append(win.controller.current_key)
    # most uncertain first; d.png scores highest but a person labelled it
    assert [k.rsplit("/", 1)[-1] for k in served] == ["a.json", "b.json", "c.json"]
    # every other scored image was on screen lately (a.json when the folder opened): stay put
    before = win.controller.current_key
    qtbot.keyClick(win.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.features["label_next"].go() is None
    # the Images dock shows the scores (none for the labelled image) and sorts by them
    model = win.file_dock.model
    col = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())].index("Uncertainty")
    shown = {model.key_at(r).rsplit("/", 1)[-1]: model.data(model.index(r, col)) for r in range(model.rowCount())}
    assert shown == {"a.json": "0.200", "b.json": "0.900", "c.json": "0.500", "d.json": None}
    model.sort(col, Qt.SortOrder.DescendingOrder)
    assert [model.key_at(r).rsplit("/", 1)[-1] for r in range(3)] == ["b.json", "c.json", "a.json"]
    assert win.controller.current_key == before
