"""A person's labels and the image state through automatic edits, undo and saving (no Qt)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.edits import AddShapes, ApplyPrediction, Compound, SetImageState
from segstudio.core.history import History
from segstudio.core.io.labelme import write_labelme
from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED, ImageAnnotation, Shape
from segstudio.core.project_io import load_annotation, open_project, save_annotation


def _folder(root: Path) -> Path:
    """a: a person's labelme file; b: pre-annotated by a model; c: no annotation yet."""
    root.mkdir()
    for n in "abc":
        Image.fromarray(np.full((20, 30, 3), 80, np.uint8)).save(root / f"{n}.png")
    tri = Shape("cat", [[1, 1], [9, 1], [9, 9]])
    write_labelme(root / "a.json", ImageAnnotation("a.png", 30, 20, [tri], state=LABELLED))
    write_labelme(root / "b.json", ImageAnnotation("b.png", 30, 20, [tri.copy()], state=PRE_ANNOTATED))
    return root


def _shape() -> Shape:
    return Shape("dog", [[2, 2], [12, 2], [12, 12]])


def test_split_entries_and_file_check(tmp_path):
    from segstudio.core.labelled_guard import file_is_labelled, split_entries

    project = open_project(_folder(tmp_path / "p"))
    free, labelled = split_entries(project.entries)
    assert [e.image_path.name for e in free] == ["b.png", "c.png"]
    assert [e.image_path.name for e in labelled] == ["a.png"]
    assert [e.image_path.name for e in split_entries(project.entries, only_unlabelled=True)[0]] == ["c.png"]
    assert file_is_labelled(tmp_path / "p" / "a.json") and not file_is_labelled(tmp_path / "p" / "b.json")
    assert not file_is_labelled(tmp_path / "p" / "c.json")


def test_prediction_on_a_labelled_image_keeps_it_labelled_and_undo_restores_all(tmp_path):
    project = open_project(_folder(tmp_path / "p"))
    history = History(project)
    keys = [e.key for e in project.entries]
    anns = [load_annotation(project, k) for k in keys]
    before = [[s.uid for s in a.shapes] for a in anns]
    batch = Compound("Auto-segment 3 images", [ApplyPrediction(k, a, [_shape()], replace=False)
                                                for k, a in zip(keys, anns)])
    history.push(batch)
    assert len(history) == 1   # a batch is one undo step
    assert [e.state for e in project.entries] == [LABELLED, PRE_ANNOTATED, PRE_ANNOTATED]
    assert [[s.label for s in a.shapes] for a in anns] == [["cat", "dog"], ["cat", "dog"], ["dog"]]
    history.undo()
    assert [[s.uid for s in a.shapes] for a in anns] == before
    assert [e.state for e in project.entries] == [LABELLED, PRE_ANNOTATED, UNLABELLED]
    assert [a.state for a in anns] == [LABELLED, PRE_ANNOTATED, UNLABELLED]


def test_undo_after_save_writes_the_earlier_state(tmp_path):
    """Apply on an image whose JSON says unlabelled, save, undo, save: the file says unlabelled
    again (not 'labelled' with no shapes, which training would count as all background)."""
    root = _folder(tmp_path / "p")
    write_labelme(root / "c.json", ImageAnnotation("c.png", 30, 20, [], state=UNLABELLED))
    project = open_project(root)
    key = str(root / "c.json")
    history = History(project)
    ann = load_annotation(project, key)
    history.push(Compound("Auto-segment", [AddShapes(key, [_shape()]), SetImageState(key, LABELLED)]))
    assert save_annotation(project, key)
    assert json.loads((root / "c.json").read_text())["segstudio"]["state"] == LABELLED
    history.undo()
    assert ann.dirty and save_annotation(project, key)
    doc = json.loads((root / "c.json").read_text())
    assert doc["shapes"] == [] and doc["segstudio"]["state"] == UNLABELLED
    assert open_project(root).entry(key).state == UNLABELLED
