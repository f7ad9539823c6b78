"""Every Edit, without Qt: apply → revert restores the project, apply → revert → apply equals
apply; History undo/redo/set_index and its memory budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segstudio.core import class_edits as CE
from segstudio.core import edits as E
from segstudio.core.history import History
from segstudio.core.model import (
    LABELLED,
    PRE_ANNOTATED,
    UNLABELLED,
    ImageAnnotation,
    ImageEntry,
    LabelClass,
    Project,
    Shape,
)

H, W = 40, 50


def _project() -> tuple[Project, str]:
    project = Project("/data")
    keys = []
    for name in ("a", "b"):
        entry = ImageEntry(Path(f"/data/{name}.png"), Path(f"/data/{name}.json"))
        project.entries.append(entry)
        keys.append(entry.key)
    mask = np.zeros((H, W), dtype=bool)
    mask[10:20, 10:25] = True
    shapes = [
        Shape("cat", [[1, 1], [10, 1], [10, 8]], group_id=1),
        Shape("dog", [[20, 20], [30, 28]], "rectangle"),
        Shape("grass", np.zeros((0, 2)), "mask", mask=mask),
        Shape("cat", [[5, 30], [9, 34]], "circle", description="round"),
    ]
    project.annotations[keys[0]] = ImageAnnotation("a.png", W, H, shapes)
    project.annotations[keys[1]] = ImageAnnotation("b.png", W, H, [Shape("cat", [[2, 2], [6, 2], [6, 6]])])
    for name in ("cat", "dog", "grass"):
        project.ensure_class(name)
    return project, keys[0]


def _snapshot(project: Project) -> dict:
    """A deep, uid-preserving copy of everything an edit may change."""
    return {
        "annotations": {k: ([s.copy(new_uid=False) for s in a.shapes], a.state)
                        for k, a in project.annotations.items()},
        "classes": [(c.name, tuple(c.color), c.visible) for c in project.classes],
        "states": [e.state for e in project.entries],
    }


def _same(a: dict, b: dict) -> bool:
    if a["classes"] != b["classes"] or a["states"] != b["states"]:
        return False
    if a["annotations"].keys() != b["annotations"].keys():
        return False
    for k, (shapes_a, state_a) in a["annotations"].items():
        shapes_b, state_b = b["annotations"][k]
        if state_a != state_b or len(shapes_a) != len(shapes_b):
            return False
        for sa, sb in zip(shapes_a, shapes_b):
            if sa.uid != sb.uid or not sa.same_as(sb):
                return False
    return True


def _ann(project, key) -> ImageAnnotation:
    return project.annotation(key)


def _edits(project: Project, key: str) -> dict:
    """name → factory building each kind of edit against the current project."""
    ann = _ann(project, key)
    cat, dog, grass, circle = ann.shapes

    def paint():
        stroke = np.zeros((H, W), dtype=bool)
        stroke[15:30, 20:35] = True
        return E.PaintMask.from_stroke(key, grass, stroke)

    def erase():
        stroke = np.zeros((H, W), dtype=bool)
        stroke[12:14, 12:16] = True
        return E.PaintMask.from_stroke(key, grass, stroke, erase=True)

    return {
        "add": lambda: E.AddShapes(key, [Shape("bird", [[3, 3], [6, 3], [6, 7]])]),
        "add_at_index": lambda: E.AddShapes(key, [Shape("dog", [[0, 0], [4, 4]], "rectangle")], [1]),
        "delete": lambda: E.DeleteShapes(key, [cat, grass]),
        "change_points": lambda: E.ChangePoints(key, [(cat, cat.points.copy(), cat.points[:2] * 2)]),
        "move": lambda: E.move_shapes(key, [cat, dog], 3.5, -1),
        "set_label": lambda: E.SetShapeLabel(key, [cat, circle], "lion"),
        "set_label_group": lambda: E.SetShapeLabel(key, [dog], "cat", group_id=9, keep_group=False),
        "set_attributes": lambda: E.SetShapeAttributes(key, [dog], {"description": "d", "flags": {"x": 1},
                                                                     "visible": False}),
        "reorder": lambda: E.Reorder(key, [circle, grass, dog, cat]),
        "front": lambda: E.bring_to_front(key, ann, [cat]),
        "back": lambda: E.send_to_back(key, ann, [circle]),
        "paint": paint,
        "erase": erase,
        "move_mask": lambda: E.MoveMask(key, grass, 7, -3),
        "move_mask_off_image": lambda: E.MoveMask(key, grass, 40, 0),
        "compound": lambda: E.Compound("two", [E.DeleteShapes(key, [dog]), E.move_shapes(key, [cat], 1, 1)]),
        "state": lambda: E.SetImageState(key, PRE_ANNOTATED),
        "prediction_add": lambda: E.ApplyPrediction(key, ann, [Shape("tree", [[1, 1], [3, 1], [3, 3]])], False),
        "prediction_replace": lambda: E.ApplyPrediction(key, ann, [Shape("cat", [[1, 1], [3, 1], [3, 3]])],
                                                        True, replace_labels={"cat"}),
        "prediction_replace_all": lambda: E.ApplyPrediction(key, ann, [], True, state=LABELLED),
        "add_class": lambda: CE.AddClass(LabelClass("new", (1, 2, 3)), 0),
        "rename_class": lambda: CE.ChangeClass("cat", {"name": "feline", "color": (9, 9, 9)}),
        "hide_class": lambda: CE.ChangeClass("dog", {"visible": False}),
        "delete_class": lambda: CE.DeleteClass("cat"),
    }


EDIT_NAMES = list(_edits(*_project()).keys())


@pytest.mark.parametrize("name", EDIT_NAMES)
def test_apply_revert_restores_and_reapply_is_identical(name):
    project, key = _project()
    edit = _edits(project, key)[name]()
    assert edit is not None
    before = _snapshot(project)
    edit.apply(project)
    applied = _snapshot(project)
    assert not _same(before, applied), f"{name} changed nothing"
    assert _ann(project, key).dirty or name in ("add_class", "hide_class")
    edit.revert(project)
    assert _same(_snapshot(project), before)
    edit.apply(project)
    assert _same(_snapshot(project), applied)
    assert edit.nbytes > 0 and edit.text


def test_add_and_delete_keep_positions():
    project, key = _project()
    ann = _ann(project, key)
    order = [s.uid for s in ann.shapes]
    d = E.DeleteShapes(key, [ann.shapes[0], ann.shapes[2]])
    d.apply(project)
    assert [s.uid for s in ann.shapes] == [order[1], order[3]]
    d.revert(project)
    assert [s.uid for s in ann.shapes] == order
    new = Shape("dog", [[0, 0], [4, 4]], "rectangle")
    E.AddShapes(key, [new], [1]).apply(project)
    assert ann.shapes[1] is new


def test_paint_mask_patch_stores_only_the_bbox():
    project, key = _project()
    grass = _ann(project, key).shapes[2]
    stroke = np.zeros((H, W), dtype=bool)
    stroke[30:33, 40:44] = True
    edit = E.PaintMask.from_stroke(key, grass, stroke)
    assert edit.bounds == (30, 33, 40, 44)
    assert edit.old.shape == edit.new.shape == (3, 4)
    assert edit.nbytes == 2 * 12   # not a copy of the 40×50 mask
    before = grass.mask.copy()
    edit.apply(project)
    assert grass.mask.sum() == before.sum() + 12
    edit.revert(project)
    np.testing.assert_array_equal(grass.mask, before)
    # a stroke that changes nothing is no edit at all
    inside = np.zeros((H, W), dtype=bool)
    inside[12:14, 12:14] = True
    assert E.PaintMask.from_stroke(key, grass, inside) is None
    assert E.PaintMask.from_stroke(key, grass, np.zeros((H, W), bool)) is None


def test_move_mask_translates_pixels_as_one_patch():
    project, key = _project()
    grass = _ann(project, key).shapes[2]
    before = grass.mask.copy()
    edit = E.MoveMask(key, grass, 7, -3)
    edit.apply(project)
    expected = np.zeros_like(before)
    expected[7:17, 17:32] = True
    np.testing.assert_array_equal(grass.mask, expected)
    assert edit.bounds == (7, 20, 10, 32)   # the union of old and new extents, not the image
    edit.revert(project)
    np.testing.assert_array_equal(grass.mask, before)
    assert E.MoveMask(key, grass, 0, 0) is None


def test_new_class_from_add_is_removed_on_undo_and_restored_on_redo():
    project, key = _project()
    history = History(project)
    history.push(E.AddShapes(key, [Shape("bird", [[3, 3], [6, 3], [6, 7]])]))
    bird = project.get_class("bird")
    assert bird is not None
    bird.color = (1, 2, 3)
    history.undo()
    assert project.get_class("bird") is None
    history.redo()
    assert project.get_class("bird") is bird and bird.color == (1, 2, 3)


def test_rename_class_relabels_every_loaded_annotation_and_reverts():
    project, key = _project()
    other = project.entries[1].key
    for a in project.annotations.values():
        a.set_dirty(False)
    edit = CE.ChangeClass("cat", {"name": "feline"})
    edit.apply(project)
    assert "cat" not in project.class_names() and "feline" in project.class_names()
    assert [s.label for s in _ann(project, key).shapes] == ["feline", "dog", "grass", "feline"]
    assert [s.label for s in _ann(project, other).shapes] == ["feline"]
    assert _ann(project, other).dirty
    edit.revert(project)
    assert project.class_names() == ["cat", "dog", "grass"]
    assert [s.label for s in _ann(project, key).shapes] == ["cat", "dog", "grass", "cat"]
    with pytest.raises(ValueError, match="exists already"):
        CE.ChangeClass("cat", {"name": "dog"}).apply(project)
    with pytest.raises(KeyError):
        CE.ChangeClass("unicorn", {"visible": False}).apply(project)


def test_delete_class_removes_shapes_everywhere_and_reverts():
    project, key = _project()
    other = project.entries[1].key
    before = _snapshot(project)
    edit = CE.DeleteClass("cat")
    edit.apply(project)
    assert [s.label for s in _ann(project, key).shapes] == ["dog", "grass"]
    assert _ann(project, other).shapes == []
    edit.revert(project)
    assert _same(_snapshot(project), before)


def test_apply_prediction_sets_state_and_is_one_step():
    project, key = _project()
    history = History(project)
    ann = _ann(project, key)
    history.push(E.ApplyPrediction(key, ann, [Shape("tree", [[1, 1], [3, 1], [3, 3]])], True))
    assert [s.label for s in ann.shapes] == ["tree"]
    assert project.entries[0].state == PRE_ANNOTATED and ann.state == PRE_ANNOTATED
    assert len(history) == 1
    history.undo()
    assert len(ann.shapes) == 4 and project.entries[0].state == UNLABELLED


def test_history_undo_redo_set_index_and_redo_tail():
    project, key = _project()
    history = History(project)
    ann = _ann(project, key)
    cat = ann.shapes[0]
    start = cat.points.copy()
    for _ in range(5):
        history.push(E.move_shapes(key, [cat], 1, 0))
    assert history.index == 5 and history.can_undo() and not history.can_redo()
    np.testing.assert_allclose(cat.points, start + [5, 0])
    assert history.undo() and history.undo()
    np.testing.assert_allclose(cat.points, start + [3, 0])
    assert history.redo_text() == "Move shapes"
    assert history.redo()
    np.testing.assert_allclose(cat.points, start + [4, 0])
    history.set_index(0)
    np.testing.assert_allclose(cat.points, start)
    assert not history.undo()
    history.set_index(99)   # clamped
    assert history.index == 5
    np.testing.assert_allclose(cat.points, start + [5, 0])
    history.set_index(2)
    history.push(E.move_shapes(key, [cat], 0, 10))   # discards the redo tail
    assert len(history) == 3 and not history.can_redo()
    np.testing.assert_allclose(cat.points, start + [2, 10])
    assert history.texts() == ["Move shapes"] * 3


def test_history_memory_budget_drops_oldest_steps():
    project, key = _project()
    grass = _ann(project, key).shapes[2]
    original = grass.mask.copy()
    history = History(project, budget_bytes=1000)
    strokes = []
    for i in range(6):   # each stroke: a 10×20 patch → old + new = 400 bytes
        stroke = np.zeros((H, W), dtype=bool)
        stroke[i * 5:i * 5 + 10, 25:45] = True
        strokes.append(stroke)
        history.push(E.PaintMask.from_stroke(key, grass, stroke, erase=False))
    assert history.nbytes <= 1000
    assert len(history) == 2 and history.dropped == 4
    assert history.index == 2
    # undoing everything left reverts only the kept steps: the first four strokes stay
    while history.undo():
        pass
    expected = original.copy()
    for s in strokes[:4]:
        expected |= s
    np.testing.assert_array_equal(grass.mask, expected)
    # the newest edit is kept even if it alone exceeds the budget
    small = History(project, budget_bytes=10)
    stroke = np.zeros((H, W), dtype=bool)
    stroke[35:40, 0:10] = True
    small.push(E.PaintMask.from_stroke(key, grass, stroke))
    assert len(small) == 1 and small.can_undo()


def test_history_changed_signal():
    project, key = _project()
    history = History(project)
    seen = []
    history.changed.connect(lambda: seen.append(history.index))
    history.push(E.AddShapes(key, [Shape("x", [[0, 0], [2, 0], [2, 2]])]))
    history.undo()
    history.redo()
    assert seen == [1, 0, 1]


def test_removing_the_last_shapes_in_order_and_anywhere_gives_the_same_model():
    """remove_shapes has a fast path for the tail (undoing an append); both paths must return
    the former indices and leave the same list."""
    ann = ImageAnnotation("a.png", 10, 10)
    shapes = [Shape("a", np.array([[i, 0], [i + 1, 0], [i, 1]], float)) for i in range(6)]
    ann.insert_shapes(shapes)
    seen = []
    ann.shapes_removed.connect(lambda removed: seen.append([s.uid for s in removed]))
    assert ann.remove_shapes(shapes[3:]) == [3, 4, 5]                 # the tail
    assert ann.shapes == shapes[:3] and seen == [[s.uid for s in shapes[3:]]]
    ann.insert_shapes(shapes[3:])
    assert ann.remove_shapes([shapes[5], shapes[4]]) == [5, 4]       # tail, other order
    assert ann.shapes == shapes[:4]
    ann.insert_shapes([shapes[4], shapes[5]], [4, 5])
    assert ann.remove_shapes([shapes[1], shapes[5]]) == [1, 5]
    assert ann.shapes == [shapes[0], shapes[2], shapes[3], shapes[4]]
    with pytest.raises(KeyError):
        ann.remove_shapes([shapes[1]])


def test_add_shapes_measures_its_memory_once():
    project = Project()
    project.annotations["k"] = ImageAnnotation("a.png", 10, 10)
    shapes = [Shape("a", np.zeros((100, 2))), Shape("b", np.zeros((3, 2)))]
    edit = E.AddShapes("k", shapes).prepare()
    assert edit.labels == ["a", "b"]
    assert edit.nbytes == sum(s.nbytes for s in shapes) >= 100 * 2 * 8
    history = History(project)
    history.push(edit)
    assert project.annotations["k"].shapes == shapes and project.class_names() == ["a", "b"]
    history.undo()
    assert project.annotations["k"].shapes == [] and project.class_names() == []
