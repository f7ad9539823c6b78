"""The annotation data model: label classes, shapes, per-image annotations and the project.

Pure Python + numpy + psygnal + the shape-kind table (no Qt, no torch). Views observe the
psygnal signals declared here; they never own state. Mutations go through
:mod:`segstudio.core.edits` so that every user gesture is one undoable step; the low-level
mutators below emit the signals.

Coordinates are image pixels, ``points`` is an ``(N, 2)`` float array of ``(x, y)``.
Mask shapes keep a full-image boolean ``mask`` in memory (``points`` is recomputed as the
tight bounding box when written to disk, where labelme stores the cropped mask).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal

from segstudio.core.class_colors import IGNORE_COLOR, default_color
from segstudio.core.shape_kinds import ShapeKind, kind_of

IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"

#: Image states shown in the file list.
UNLABELLED, LABELLED, PRE_ANNOTATED = "unlabelled", "labelled", "pre-annotated"

_uid_counter = itertools.count(1)

def class_color(name: str, index: int) -> tuple[int, int, int]:
    """Default colour of class ``name`` that is the ``index``-th ordinary class."""
    if name == IGNORE_LABEL:
        return IGNORE_COLOR
    if name == BACKGROUND_LABEL:
        return 0, 0, 0
    return default_color(index)


@dataclass
class LabelClass:
    name: str
    color: tuple[int, int, int] = (255, 0, 0)
    visible: bool = True


@dataclass(eq=False)
class Shape:
    """One labelme shape. Identity (``uid``) survives edits; equality is by value."""

    label: str
    points: np.ndarray
    shape_type: str = "polygon"
    group_id: int | None = None
    description: str = ""
    flags: dict[str, Any] = field(default_factory=dict)
    mask: np.ndarray | None = None  # full-image bool array for shape_type == "mask"
    visible: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # unknown JSON keys, kept verbatim
    uid: int = field(default_factory=lambda: next(_uid_counter))

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        kind_of(self.shape_type)   # ValueError for a type the table does not know
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=bool)

    def copy(self, new_uid: bool = True) -> Shape:
        """A deep copy; a new ``uid`` unless ``new_uid`` is False."""
        return Shape(
            label=self.label,
            points=self.points.copy(),
            shape_type=self.shape_type,
            group_id=self.group_id,
            description=self.description,
            flags=dict(self.flags),
            mask=None if self.mask is None else self.mask.copy(),
            visible=self.visible,
            extra=dict(self.extra),
            **({} if new_uid else {"uid": self.uid}),
        )

    def same_as(self, other: Shape) -> bool:
        """Value equality (ignores ``uid``)."""
        if (self.label, self.shape_type, self.group_id, self.description, self.flags,
                self.visible, self.extra) != (other.label, other.shape_type, other.group_id,
                                              other.description, other.flags, other.visible,
                                              other.extra):
            return False
        if self.points.shape != other.points.shape or not np.allclose(self.points, other.points):
            return False
        if (self.mask is None) != (other.mask is None):
            return False
        return self.mask is None or np.array_equal(self.mask, other.mask)

    @property
    def kind(self) -> ShapeKind:
        """What this ``shape_type`` is (:mod:`segstudio.core.shape_kinds`)."""
        return kind_of(self.shape_type)

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in image coordinates; masks use their True pixels."""
        return self.kind.bbox(self.points, self.mask)

    @property
    def nbytes(self) -> int:
        return int(self.points.nbytes + (0 if self.mask is None else self.mask.nbytes)) + 200


class ImageAnnotation:
    """The shapes of one image plus the labelme file-level fields.

    Signals (psygnal) are emitted by the mutators below, which only edits should call.
    """

    shapes_inserted = Signal(list)            # list[Shape] just inserted
    shapes_removed = Signal(list)             # list[Shape] just removed
    shapes_changed = Signal(list)             # list[Shape] whose geometry/label/visibility changed
    mask_changed = Signal(object, object)     # (Shape, (y0, y1, x0, x1) slice bounds)
    order_changed = Signal()
    modified = Signal(bool)                   # dirty flag changed

    def __init__(self, image_path: str | Path, width: int, height: int,
                 shapes: list[Shape] | None = None, *, flags: dict[str, Any] | None = None,
                 image_data: str | None = None, extra: dict[str, Any] | None = None,
                 version: str | None = None, state: str = UNLABELLED) -> None:
        self.image_path = str(image_path)   # as written in the JSON ``imagePath``
        self.width = int(width)
        self.height = int(height)
        self.shapes: list[Shape] = list(shapes or [])
        self.flags: dict[str, Any] = dict(flags or {})
        self.image_data = image_data        # base64 string kept only if the file had it
        self.extra: dict[str, Any] = dict(extra or {})
        self.version = version
        self.state = state
        self._dirty = False

    # -- queries ---------------------------------------------------------------------------
    def index_of(self, shape: Shape) -> int:
        for i, s in enumerate(self.shapes):
            if s is shape:
                return i
        raise KeyError(f"shape {shape.uid} not in annotation")

    def find(self, uid: int) -> Shape | None:
        return next((s for s in self.shapes if s.uid == uid), None)

    def mask_shape(self, label: str) -> Shape | None:
        """The (last) mask shape of class ``label`` — the brush's per-class layer."""
        for s in reversed(self.shapes):
            if s.kind.carries_mask and s.label == label:
                return s
        return None

    def same_as(self, other: ImageAnnotation) -> bool:
        return (
            len(self.shapes) == len(other.shapes)
            and all(a.same_as(b) for a, b in zip(self.shapes, other.shapes))
            and (self.width, self.height, self.flags, self.extra, self.state)
            == (other.width, other.height, other.flags, other.extra, other.state)
        )

    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_dirty(self, value: bool = True) -> None:
        if value != self._dirty:
            self._dirty = value
            self.modified.emit(value)

    # -- low-level mutators (used by edits) ------------------------------------------------
    def insert_shapes(self, shapes: list[Shape], indices: list[int] | None = None) -> None:
        if indices is None:
            self.shapes.extend(shapes)
        else:
            for i, s in sorted(zip(indices, shapes), key=lambda t: t[0]):
                self.shapes.insert(i, s)
        self.shapes_inserted.emit(list(shapes))

    def remove_shapes(self, shapes: list[Shape]) -> list[int]:
        """Removes ``shapes``; returns their former indices (for re-insertion)."""
        n, k = len(shapes), len(self.shapes)
        if 0 < n <= k and all(map(operator.is_, self.shapes[k - n:], shapes)):
            # the last n shapes, in order (undoing an append): no position map needed
            del self.shapes[k - n:]
            self.shapes_removed.emit(list(shapes))
            return list(range(k - n, k))
        # one position map, not index_of per shape: undoing a 9,000-shape apply was O(n²)
        pos = {id(s): i for i, s in enumerate(self.shapes)}
        indices = []
        for s in shapes:
            if id(s) not in pos:
                raise KeyError(f"shape {s.uid} not in annotation")
            indices.append(pos[id(s)])
        gone = set(indices)
        self.shapes[:] = [s for i, s in enumerate(self.shapes) if i not in gone]
        self.shapes_removed.emit(list(shapes))
        return indices

    def reorder(self, order: list[Shape]) -> None:
        if sorted(s.uid for s in order) != sorted(s.uid for s in self.shapes):
            raise ValueError("reorder must be a permutation of the current shapes")
        self.shapes[:] = order
        self.order_changed.emit()

    def notify_changed(self, shapes: list[Shape]) -> None:
        self.shapes_changed.emit(list(shapes))


@dataclass
class ImageEntry:
    """One image of the project folder and where its annotation lives. Per-image data that the
    Images dock shows lives here; change it with :meth:`Project.update_entry` (views are told)."""

    image_path: Path            # absolute path of the image (may not exist for imageData-only JSON)
    annotation_path: Path       # absolute path of the labelme JSON sidecar
    state: str = UNLABELLED
    error: str | None = None    # message naming the file and the problem, if it failed to load
    shape_count: int = 0        # shapes in its annotation (from the JSON at open, live once loaded)
    uncertainty: float | None = None   # Label next's score of the current model (None: not scored)

    @property
    def key(self) -> str:
        return str(self.annotation_path)


class _LoadedAnnotations(dict):
    """``Project.annotations``: storing an annotation makes its shape count live on its entry
    (``entry_changed`` whenever shapes come or go), whoever stores it."""

    def __init__(self, project: Project) -> None:
        super().__init__()
        self._project = project

    def __setitem__(self, key: str, ann: ImageAnnotation) -> None:
        super().__setitem__(key, ann)
        self._project._watch_shapes(key, ann)

    def update(self, *args: Any, **kwargs: Any) -> None:  # dict.update bypasses __setitem__
        for key, ann in dict(*args, **kwargs).items():
            self[key] = ann


class Project:
    """A folder of images, their annotations (loaded lazily) and the class list.

    A key → position index makes :meth:`entry` / :meth:`index_of` O(1); each lookup checks the
    entry found has the key, so a list edited in place (``entries.append``) gets a new index."""

    classes_changed = Signal()
    image_state_changed = Signal(str, str)   # (entry key, new state)
    images_changed = Signal()                # entries list replaced
    entry_changed = Signal(str)              # entry key: its state, error, shape count, … changed

    def __init__(self, root: str | Path | None = None, output_dir: str | Path | None = None) -> None:
        self.root = Path(root) if root else None
        self.output_dir = Path(output_dir) if output_dir else None
        self._entries: list[ImageEntry] = []
        self._index: dict[str, int] = {}
        self.classes: list[LabelClass] = []
        self.has_ignore_class = False   # labels.txt listed __ignore__
        self._watched: dict[str, tuple[ImageAnnotation, Any]] = {}   # key → (annotation, slot)
        self._annotations = _LoadedAnnotations(self)   # loaded, keyed by entry key

    @property
    def annotations(self) -> dict[str, ImageAnnotation]:
        return self._annotations

    @annotations.setter
    def annotations(self, value: dict[str, ImageAnnotation]) -> None:
        self._annotations = _LoadedAnnotations(self)
        self._annotations.update(value)

    # -- classes ---------------------------------------------------------------------------
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def get_class(self, name: str) -> LabelClass | None:
        return next((c for c in self.classes if c.name == name), None)

    def next_class_color(self, name: str) -> tuple[int, int, int]:
        """Default colour for a new class ``name`` appended to the list: by its index among
        the ordinary classes, so ``__ignore__`` / ``_background_`` do not shift the others."""
        special = (IGNORE_LABEL, BACKGROUND_LABEL)
        return class_color(name, sum(c.name not in special for c in self.classes))

    def ensure_class(self, name: str) -> LabelClass:
        """Returns class ``name``, creating it with a palette colour if it is new."""
        cls = self.get_class(name)
        if cls is None:
            cls = LabelClass(name, self.next_class_color(name))
            self.classes.append(cls)
            self.classes_changed.emit()
        return cls

    # -- images ----------------------------------------------------------------------------
    @property
    def entries(self) -> list[ImageEntry]:
        return self._entries

    @entries.setter
    def entries(self, value: list[ImageEntry]) -> None:
        self._entries = list(value)
        self._reindex()

    def _reindex(self) -> None:
        self._index = {e.key: i for i, e in enumerate(self._entries)}

    def index_of(self, key: str) -> int:
        """Position of entry ``key`` in ``entries``; KeyError if there is none."""
        i = self._index.get(key)
        if i is None or i >= len(self._entries) or self._entries[i].key != key:
            self._reindex()   # the list was edited in place since the index was built
            i = self._index[key]
        return i

    def has_entry(self, key: str) -> bool:
        try:
            return self.index_of(key) >= 0
        except KeyError:
            return False

    def entry(self, key: str) -> ImageEntry:
        return self._entries[self.index_of(key)]

    def annotation(self, key: str) -> ImageAnnotation:
        """The loaded annotation for ``key`` (see :mod:`segstudio.core.project_io` to load)."""
        return self.annotations[key]

    def update_entry(self, key: str, **fields: Any) -> bool:
        """Sets fields of entry ``key``; emits ``entry_changed`` once if any value changed."""
        entry = self.entry(key)
        changed = False
        for name, value in fields.items():
            if getattr(entry, name) != value:   # AttributeError for a field entries lack
                setattr(entry, name, value)
                changed = True
        if changed:
            self.entry_changed.emit(key)
        return changed

    def set_state(self, key: str, state: str) -> None:
        ann = self.annotations.get(key)
        if ann is not None:
            ann.state = state
        if self.update_entry(key, state=state):
            self.image_state_changed.emit(key, state)

    def set_error(self, key: str, error: str | None) -> None:
        """Marks entry ``key`` unreadable (a message naming the file) or readable again."""
        self.update_entry(key, error=error)

    def _watch_shapes(self, key: str, ann: ImageAnnotation) -> None:
        """Keeps ``entry(key).shape_count`` equal to ``len(ann.shapes)`` while ``ann`` is stored."""
        old = self._watched.get(key)
        if old is not None and old[0] is ann:
            return
        if old is not None:
            for sig in (old[0].shapes_inserted, old[0].shapes_removed):
                sig.disconnect(old[1])

        def recount(*_: Any) -> None:
            if self.annotations.get(key) is ann and self.has_entry(key):
                self.update_entry(key, shape_count=len(ann.shapes))

        self._watched[key] = (ann, recount)
        ann.shapes_inserted.connect(recount)
        ann.shapes_removed.connect(recount)
        recount()
