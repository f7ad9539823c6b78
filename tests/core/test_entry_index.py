"""The project's image entries: a key → entry index that stays right however the list changes,
and one ``entry_changed(key)`` per change of an entry (state, error, shape count, any field)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core import project_io
from segstudio.core.edits import AddShapes, DeleteShapes, SetImageState
from segstudio.core.history import History
from segstudio.core.model import LABELLED, ImageAnnotation, ImageEntry, Project, Shape


def _project(n: int) -> Project:
    project = Project("/data")
    project.entries = [ImageEntry(Path(f"/data/{i:05d}.png"), Path(f"/data/{i:05d}.json")) for i in range(n)]
    return project


def test_lookup_by_key_finds_every_entry_and_refuses_others():
    project = _project(10_000)
    for i in (0, 1, 4_999, 9_999):
        key = f"/data/{i:05d}.json"
        assert project.index_of(key) == i and project.entry(key) is project.entries[i]
        assert project.has_entry(key)
    assert not project.has_entry("/data/nope.json") and not project.has_entry("")
    with pytest.raises(KeyError):
        project.entry("/data/nope.json")


def test_index_follows_a_list_edited_in_place():
    project = _project(3)
    extra = ImageEntry(Path("/data/x.png"), Path("/data/x.json"))
    project.entries.append(extra)                       # tests and old code do this
    assert project.entry(extra.key) is extra
    project.entries.reverse()
    assert [project.index_of(e.key) for e in project.entries] == [0, 1, 2, 3]
    gone = project.entries.pop(0)
    assert not project.has_entry(gone.key) and project.index_of(project.entries[0].key) == 0
    project.entries = list(reversed(project.entries))   # replaced: a new index
    assert [project.index_of(e.key) for e in project.entries] == [0, 1, 2]


def test_entry_changed_once_per_change_of_state_error_or_field():
    project = _project(3)
    key = project.entries[1].key
    seen: list[str] = []
    project.entry_changed.connect(seen.append)
    project.set_state(key, LABELLED)
    project.set_state(key, LABELLED)                    # no change, no signal
    project.set_error(key, "/data/00001.png: cannot be read")
    assert project.update_entry(key, state="unlabelled", error=None)   # two fields, one signal
    assert not project.update_entry(key, state="unlabelled")
    assert seen == [key, key, key]
    with pytest.raises(AttributeError):
        project.update_entry(key, colour="red")


def test_shape_count_follows_edits_and_undo():
    project = _project(2)
    key = project.entries[0].key
    project.annotations[key] = ImageAnnotation("00000.png", 40, 30)
    seen: list[str] = []
    project.entry_changed.connect(seen.append)
    history = History(project)
    shapes = [Shape("cat", np.array([[1, 1], [9, 1], [9, 9]])), Shape("dog", np.array([[2, 2], [5, 5]]), "rectangle")]
    history.push(AddShapes(key, shapes))
    assert project.entry(key).shape_count == 2 and seen == [key]
    history.push(DeleteShapes(key, shapes[:1]))
    assert project.entry(key).shape_count == 1
    history.undo()
    history.undo()
    assert project.entry(key).shape_count == 0 and seen == [key] * 4
    history.push(SetImageState(key, LABELLED))
    assert seen[-1] == key and project.entries[1].shape_count == 0   # the other image untouched


def test_shape_count_survives_replacing_the_annotations_dict():
    project = _project(1)
    key = project.entries[0].key
    ann = ImageAnnotation("00000.png", 40, 30, [Shape("cat", np.array([[1, 1], [9, 1], [9, 9]]))])
    project.annotations = {key: ann}
    assert project.entry(key).shape_count == 1
    ann.insert_shapes([Shape("cat", np.array([[3, 3], [8, 3], [8, 8]]))])
    assert project.entry(key).shape_count == 2
    project.annotations[key] = ImageAnnotation("00000.png", 40, 30)   # replaced: the old one is not followed
    ann.insert_shapes([Shape("cat", np.array([[3, 3], [8, 3], [8, 8]]))])
    assert project.entry(key).shape_count == 0


def test_open_counts_shapes_and_a_failed_load_marks_the_entry(tmp_path: Path):
    for name in ("a", "b", "c"):
        Image.new("RGB", (20, 10)).save(tmp_path / f"{name}.png")
    shapes = [{"label": "cat", "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon"}] * 3
    (tmp_path / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.png",
                                                 "imageHeight": 10, "imageWidth": 20}), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"shapes": [{"label": "cat", "points": "x"}],
                                                 "imagePath": "b.png"}), encoding="utf-8")
    project = project_io.open_project(tmp_path)
    a, b, c = (str(tmp_path / f"{n}.json") for n in "abc")
    assert [project.entry(k).shape_count for k in (a, b, c)] == [3, 1, 0]
    seen: list[str] = []
    project.entry_changed.connect(seen.append)
    with pytest.raises(Exception, match="b.json"):
        project_io.load_annotation(project, b)
    assert seen == [b] and "b.json" in (project.entry(b).error or "")
