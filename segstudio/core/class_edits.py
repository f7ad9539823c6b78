"""Undoable edits of the label classes: add, change (rename / recolour / show-hide, merging
into an existing class), delete (with the shapes of that class, restored on undo).

Same protocol as :mod:`segstudio.core.edits` (``apply``/``revert``/``nbytes``/``text``).
Pure: the model only. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segstudio.core.model import LabelClass, Project, Shape


@dataclass
class AddClass:
    cls: LabelClass
    index: int | None = None
    text: str = "Add class"

    def apply(self, project: Project) -> None:
        idx = len(project.classes) if self.index is None else self.index
        project.classes.insert(idx, self.cls)
        project.classes_changed.emit()

    def revert(self, project: Project) -> None:
        project.classes.remove(self.cls)
        project.classes_changed.emit()

    nbytes = 100


@dataclass
class ChangeClass:
    """Renames / recolours / shows-hides a class; a rename relabels every loaded shape."""

    name: str
    new: dict   # keys among name, color, visible
    text: str = "Change class"
    _old: dict = field(default_factory=dict)
    _relabelled: list[tuple[str, list[Shape]]] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        cls = project.get_class(self.name)
        if cls is None:
            raise KeyError(f"no class named {self.name!r}")
        new_name = self.new.get("name", self.name)
        if new_name != self.name and project.get_class(new_name) is not None:
            raise ValueError(f"a class named {new_name!r} exists already")
        self._old = {k: getattr(cls, k) for k in self.new}
        for k, v in self.new.items():
            setattr(cls, k, v)
        self._relabelled = []
        if new_name != self.name:
            for key, ann in project.annotations.items():
                hit = [s for s in ann.shapes if s.label == self.name]
                if hit:
                    for s in hit:
                        s.label = new_name
                    ann.set_dirty(True)
                    ann.notify_changed(hit)
                    self._relabelled.append((key, hit))
        project.classes_changed.emit()

    def revert(self, project: Project) -> None:
        cls = project.get_class(self.new.get("name", self.name))
        assert cls is not None
        for k, v in self._old.items():
            setattr(cls, k, v)
        for key, hit in self._relabelled:
            ann = project.annotation(key)
            for s in hit:
                s.label = self.name
            ann.set_dirty(True)
            ann.notify_changed(hit)
        project.classes_changed.emit()

    nbytes = 200


@dataclass
class DeleteClass:
    """Removes a class and every loaded shape of that class (one undo step)."""

    name: str
    text: str = "Delete class"
    _index: int = 0
    _cls: LabelClass | None = None
    _removed: list[tuple[str, list[Shape], list[int]]] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        cls = project.get_class(self.name)
        if cls is None:
            raise KeyError(f"no class named {self.name!r}")
        self._cls, self._index = cls, project.classes.index(cls)
        self._removed = []
        for key, ann in project.annotations.items():
            hit = [s for s in ann.shapes if s.label == self.name]
            if hit:
                idx = ann.remove_shapes(hit)
                ann.set_dirty(True)
                self._removed.append((key, hit, idx))
        project.classes.remove(cls)
        project.classes_changed.emit()

    def revert(self, project: Project) -> None:
        assert self._cls is not None
        project.classes.insert(self._index, self._cls)
        for key, hit, idx in self._removed:
            ann = project.annotation(key)
            ann.insert_shapes(hit, idx)
            ann.set_dirty(True)
        project.classes_changed.emit()

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for _, hit, _ in self._removed for s in hit) + 100
