"""Undoable edits: one user gesture = one Edit = one undo step.

An Edit has ``text``, ``apply(project)``, ``revert(project)`` and ``nbytes`` (what it keeps
alive, so history can be bounded by memory). Edits address an image by its entry ``key`` and
shapes by object identity (the annotation objects stay loaded while edits refer to them).
Mask edits store only a bounding-box patch of old and new values.

Pure: numpy + the model. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from segstudio.core.labelled_guard import state_after_automatic
from segstudio.core.model import ImageAnnotation, LabelClass, Project, Shape


class Edit(Protocol):
    text: str

    def apply(self, project: Project) -> None: ...

    def revert(self, project: Project) -> None: ...

    @property
    def nbytes(self) -> int: ...


def _touch(project: Project, key: str) -> ImageAnnotation:
    ann = project.annotation(key)
    ann.set_dirty(True)
    return ann


def _add_missing_classes(project: Project, names: list[str], remembered: list[LabelClass]) -> list[LabelClass]:
    """Creates the classes among ``names`` that do not exist yet (re-using the objects created
    by an earlier apply, so redo restores the same colours); returns those created."""
    created: list[LabelClass] = []
    for name in dict.fromkeys(names):
        if project.get_class(name) is None:
            prev = next((c for c in remembered if c.name == name), None)
            if prev is None:
                created.append(project.ensure_class(name))
            else:
                project.classes.append(prev)
                created.append(prev)
    if any(c in remembered for c in created):
        project.classes_changed.emit()
    return created


def _remove_created_classes(project: Project, created: list[LabelClass]) -> None:
    """Undoes :func:`_add_missing_classes`, so apply → revert leaves the class list as it was."""
    removed = False
    for c in created:
        if c in project.classes:
            project.classes.remove(c)
            removed = True
    if removed:
        project.classes_changed.emit()


@dataclass
class AddShapes:
    key: str
    shapes: list[Shape]
    indices: list[int] | None = None   # None → append
    text: str = "Add shape"
    _created: list[LabelClass] = field(default_factory=list)
    _labels: list[str] | None = field(default=None, repr=False)
    _nbytes: int | None = field(default=None, repr=False)

    def apply(self, project: Project) -> None:
        ann = _touch(project, self.key)
        self._created = _add_missing_classes(project, self.labels, self._created)
        ann.insert_shapes(self.shapes, self.indices)

    def revert(self, project: Project) -> None:
        _touch(project, self.key).remove_shapes(self.shapes)
        _remove_created_classes(project, self._created)

    @property
    def labels(self) -> list[str]:
        """The distinct class names of the shapes (computed once)."""
        if self._labels is None:
            self._labels = list(dict.fromkeys(s.label for s in self.shapes))
        return self._labels

    @property
    def nbytes(self) -> int:
        """Memory the shapes hold, measured once: a pre-annotation of 10⁵ shapes is measured in
        the worker that made it (see :meth:`prepare`), not on every push to the history."""
        if self._nbytes is None:
            self._nbytes = sum(s.nbytes for s in self.shapes)
        return self._nbytes

    def prepare(self) -> AddShapes:
        """Computes the per-shape bookkeeping now (call it off the GUI thread for big edits)."""
        _ = self.labels, self.nbytes
        return self


@dataclass
class DeleteShapes:
    key: str
    shapes: list[Shape]
    text: str = "Delete shapes"
    _indices: list[int] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        self._indices = _touch(project, self.key).remove_shapes(self.shapes)

    def revert(self, project: Project) -> None:
        _touch(project, self.key).insert_shapes(self.shapes, self._indices)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.shapes)


@dataclass
class ChangePoints:
    """Replaces the points of one or more shapes (move shapes, drag/insert/delete vertices)."""

    key: str
    changes: list[tuple[Shape, np.ndarray, np.ndarray]]  # (shape, old points, new points)
    text: str = "Move"

    def _set(self, project: Project, which: int) -> None:
        ann = _touch(project, self.key)
        for change in self.changes:
            change[0].points = np.array(change[which], dtype=np.float64).reshape(-1, 2)
        ann.notify_changed([c[0] for c in self.changes])

    def apply(self, project: Project) -> None:
        self._set(project, 2)

    def revert(self, project: Project) -> None:
        self._set(project, 1)

    @property
    def nbytes(self) -> int:
        return sum(o.nbytes + n.nbytes for _, o, n in self.changes)


def move_shapes(key: str, shapes: list[Shape], dx: float, dy: float) -> ChangePoints:
    """A ChangePoints that translates ``shapes`` (masks are moved with :class:`MoveMask`)."""
    delta = np.array([dx, dy])
    return ChangePoints(key, [(s, s.points.copy(), s.points + delta) for s in shapes], "Move shapes")


@dataclass
class SetShapeAttributes:
    """Changes label / group id / description / flags / visibility of shapes."""

    key: str
    shapes: list[Shape]
    new: dict   # attribute name → new value, applied to every shape
    text: str = "Change shape"
    _old: list[dict] = field(default_factory=list)
    _created: list[LabelClass] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        ann = _touch(project, self.key)
        self._old = [{k: getattr(s, k) for k in self.new} for s in self.shapes]
        if "label" in self.new:
            self._created = _add_missing_classes(project, [self.new["label"]], self._created)
        for s in self.shapes:
            for k, v in self.new.items():
                setattr(s, k, v)
        ann.notify_changed(self.shapes)

    def revert(self, project: Project) -> None:
        ann = _touch(project, self.key)
        for s, old in zip(self.shapes, self._old):
            for k, v in old.items():
                setattr(s, k, v)
        ann.notify_changed(self.shapes)
        _remove_created_classes(project, self._created)

    @property
    def nbytes(self) -> int:
        return 100 * len(self.shapes)


def SetShapeLabel(key: str, shapes: list[Shape], label: str, *, group_id: int | None = None,
                  keep_group: bool = True) -> SetShapeAttributes:
    new: dict = {"label": label}
    if not keep_group:
        new["group_id"] = group_id
    return SetShapeAttributes(key, shapes, new, f"Set class '{label}'")


@dataclass
class Reorder:
    key: str
    new_order: list[Shape]
    text: str = "Change z-order"
    _old: list[Shape] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        ann = _touch(project, self.key)
        self._old = list(ann.shapes)
        ann.reorder(self.new_order)

    def revert(self, project: Project) -> None:
        _touch(project, self.key).reorder(self._old)

    @property
    def nbytes(self) -> int:
        return 8 * len(self.new_order)


def bring_to_front(key: str, ann: ImageAnnotation, shapes: list[Shape]) -> Reorder:
    ids = {s.uid for s in shapes}
    rest = [s for s in ann.shapes if s.uid not in ids]
    return Reorder(key, rest + [s for s in ann.shapes if s.uid in ids], "Bring to front")


def send_to_back(key: str, ann: ImageAnnotation, shapes: list[Shape]) -> Reorder:
    ids = {s.uid for s in shapes}
    rest = [s for s in ann.shapes if s.uid not in ids]
    return Reorder(key, [s for s in ann.shapes if s.uid in ids] + rest, "Send to back")


@dataclass
class PaintMask:
    """A brush/eraser stroke on a mask shape: old and new values of the stroke's bbox only."""

    key: str
    shape: Shape
    bounds: tuple[int, int, int, int]   # (y0, y1, x0, x1), half-open
    old: np.ndarray
    new: np.ndarray
    text: str = "Paint"

    @classmethod
    def from_stroke(cls, key: str, shape: Shape, stroke: np.ndarray, *, erase: bool = False,
                    text: str | None = None) -> PaintMask | None:
        """Builds the edit from a full-image boolean ``stroke`` footprint; None if it changes nothing."""
        assert shape.mask is not None
        ys, xs = np.nonzero(stroke)
        if len(ys) == 0:
            return None
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        old = shape.mask[y0:y1, x0:x1].copy()
        sub = stroke[y0:y1, x0:x1]
        new = old & ~sub if erase else old | sub
        if np.array_equal(old, new):
            return None
        return cls(key, shape, (y0, y1, x0, x1), old, new, text or ("Erase" if erase else "Paint"))

    def _put(self, project: Project, patch: np.ndarray) -> None:
        ann = _touch(project, self.key)
        y0, y1, x0, x1 = self.bounds
        assert self.shape.mask is not None
        self.shape.mask[y0:y1, x0:x1] = patch
        ann.mask_changed.emit(self.shape, self.bounds)

    def apply(self, project: Project) -> None:
        self._put(project, self.new)

    def revert(self, project: Project) -> None:
        self._put(project, self.old)

    @property
    def nbytes(self) -> int:
        return int(self.old.nbytes + self.new.nbytes)


def MoveMask(key: str, shape: Shape, dx: int, dy: int, *, text: str = "Move mask") -> PaintMask | None:
    """Translates a mask shape by whole pixels as a bbox patch (union of old and new extents).

    Pixels pushed past the image border are lost (like moving a polygon off-image is clamped by
    the tool). None if nothing changes.
    """
    assert shape.mask is not None
    m = shape.mask
    h, w = m.shape
    ys, xs = np.nonzero(m)
    dx, dy = int(round(dx)), int(round(dy))
    if len(ys) == 0 or (dx == 0 and dy == 0):
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    ny0, ny1, nx0, nx1 = max(0, y0 + dy), min(h, y1 + dy), max(0, x0 + dx), min(w, x1 + dx)
    uy0, uy1, ux0, ux1 = min(y0, ny0), max(y1, ny1), min(x0, nx0), max(x1, nx1)
    old = m[uy0:uy1, ux0:ux1].copy()
    new = old.copy()
    new[y0 - uy0:y1 - uy0, x0 - ux0:x1 - ux0] = False
    if ny1 > ny0 and nx1 > nx0:
        src = m[ny0 - dy:ny1 - dy, nx0 - dx:nx1 - dx]
        new[ny0 - uy0:ny1 - uy0, nx0 - ux0:nx1 - ux0] |= src
    return PaintMask(key, shape, (uy0, uy1, ux0, ux1), old, new, text)


@dataclass
class Compound:
    text: str
    edits: list = field(default_factory=list)

    def apply(self, project: Project) -> None:
        for e in self.edits:
            e.apply(project)

    def revert(self, project: Project) -> None:
        for e in reversed(self.edits):
            e.revert(project)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.edits)


@dataclass
class SetImageState:
    key: str
    state: str
    text: str = "Set image state"
    _old: str = ""

    def apply(self, project: Project) -> None:
        self._old = project.entry(self.key).state
        _touch(project, self.key)
        project.set_state(self.key, self.state)

    def revert(self, project: Project) -> None:
        _touch(project, self.key)
        project.set_state(self.key, self._old)

    @property
    def nbytes(self) -> int:
        return 64


def ApplyPrediction(key: str, ann: ImageAnnotation, new_shapes: list[Shape], replace: bool,
                    *, state: str | None = None, replace_labels: set[str] | None = None,
                    text: str = "Apply prediction") -> Compound:
    """Adds predicted shapes (optionally replacing existing ones of ``replace_labels`` or all)
    and sets the image's state — one undo step, so undo restores shapes and state together.

    ``state`` None: pre-annotated, except that an image a person labelled stays labelled."""
    if state is None:
        state = state_after_automatic(ann.state)
    edits: list = []
    if replace:
        old = [s for s in ann.shapes if replace_labels is None or s.label in replace_labels]
        if old:
            edits.append(DeleteShapes(key, old))
    if new_shapes:
        edits.append(AddShapes(key, new_shapes, None, text))
    edits.append(SetImageState(key, state))
    return Compound(text, edits)


# -- class edits (project-wide) ----------------------------------------------------------------
