"""DocumentController: the open project, its undo history, the current image and saving.

The main window owns one controller; docks, the canvas and features talk to the document only
through it (and observe the model's psygnal events). Responsibilities:

* open a folder (``core.project_io``), switch images (autosave on switch; the switching itself
  is :class:`~segstudio.ui.image_navigation.ImageNavigation`, mixed in), report unreadable
  files by name while the rest keeps working;
* ``push(edit)``: every change goes through the History (ours, memory bounded). An edit made
  by a person on an "unlabelled" or "pre-annotated" image also marks it "labelled" in the
  same undo step; edits that set the state themselves (predictions) are pushed as they are;
* undo/redo jump to the image the edit belongs to, so nothing changes out of sight;
* autosave a few seconds after the last edit (QTimer) and on image switch; ``has_unsaved()``
  for the close prompt; labels.txt saved when classes changed;
* shape clipboard (copy/paste between images, clipped to the target image).

May import: PySide6.QtCore, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from segstudio.core import class_list, project_io
from segstudio.core.edits import (
    AddShapes,
    Compound,
    DeleteShapes,
    SetImageState,
    SetShapeAttributes,
)
from segstudio.core.history import History
from segstudio.core.model import (
    LABELLED,
    PRE_ANNOTATED,
    UNLABELLED,
    Project,
    Shape,
)
from segstudio.core.settings import Preferences, load_preferences, save_preferences
from segstudio.ui.image_loader import DecodedImage, ImageLoader
from segstudio.ui.image_navigation import ImageNavigation
from segstudio.ui.shape_commands import clip_shape

log = logging.getLogger(__name__)


def _edit_key(edit: object) -> str | None:
    """The image an edit belongs to (None for project-wide edits such as class changes)."""
    key = getattr(edit, "key", None)
    if key is not None:
        return key
    for sub in getattr(edit, "edits", []) or []:
        key = _edit_key(sub)
        if key is not None:
            return key
    return None


def _sets_state(edit: object) -> bool:
    if isinstance(edit, SetImageState):
        return True
    return any(_sets_state(e) for e in getattr(edit, "edits", []) or [])


def _is_cosmetic(edit: object) -> bool:
    """Visibility toggles do not count as labelling work."""
    return isinstance(edit, SetShapeAttributes) and set(edit.new) <= {"visible"}


class DocumentController(ImageNavigation, QObject):
    project_changed = Signal()
    current_changed = Signal(str)
    model_changed = Signal(object)   # a model path asked for (the Model feature loads it)
    model_loaded = Signal(str, object)   # (path, ModelMeta) once a model is loaded and ready
    model_load_failed = Signal(str, str)   # (path, message)
    problems_changed = Signal()   # files of the open folder that cannot be read: see ``problems``
    selected_class_changed = Signal(str)
    error_occurred = Signal(str, str)    # (title, message naming the file)
    status_message = Signal(str)
    saved = Signal()
    loading_changed = Signal(str)   # key being decoded in the background, "" when none

    def __init__(self, prefs: Preferences | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.prefs = prefs or load_preferences()
        self.project = Project()
        self.history = History(self.project, int(self.prefs.undo_memory_mb) * 1024 * 1024)
        self.current_key: str | None = None
        self.current_model_path: str | None = None
        self._selected_class: str | None = None
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self._pending_key: str | None = None   # being decoded in the background, shown when done
        self._direction = 1                    # of the last step, for prefetching
        self._current: DecodedImage | None = None   # kept even when the cache evicts it
        self._clipboard: list[Shape] = []
        self._saved_classes: list[tuple] = []   # classes as last read/written (labels.txt + colours)
        self._created: set[str] = set()   # keys whose JSON this session created (see _restore_absent)
        #: files of the open folder that cannot be read (key or path → message naming the file);
        #: shown once, in the window's banner (never a popup per file)
        self.problems: dict[str, str] = {}
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.timeout.connect(self._autosave_now)
        self._connect_project()

    # -- project ---------------------------------------------------------------------------------
    def open_folder(self, path: str | Path) -> bool:
        """Opens ``path`` as the project (the caller asked about unsaved work first)."""
        self._autosave.stop()
        try:
            project = project_io.open_project(Path(path), self.prefs.output_dir or None)
        except Exception as exc:  # a folder that cannot be scanned at all
            log.exception("cannot open %s", path)
            self.error_occurred.emit("Cannot open folder", f"{path}: {exc}")
            return False
        self._disconnect_project()
        self.current_key = None   # before anything emits: observers must not look up old keys
        self._current = None
        self._set_pending(None)
        self.project = project
        self.loader.reset(project)
        self.history.project = project
        self.history.clear()
        self._created.clear()
        self._saved_classes = self._class_snapshot()
        self._selected_class = None
        self._connect_project()
        self.prefs.last_project = str(Path(path).resolve())
        self._save_prefs()
        self.project_changed.emit()
        self.problems = {e.key: e.error or "" for e in project.entries if e.error}
        self.problems.update((m, m) for m in project_io.open_problems(project))
        self._show_first_readable(0)
        self.problems_changed.emit()
        return True

    def _show_first_readable(self, start: int) -> None:
        """Shows the first image from ``start`` on that can be read (an image that turns out
        unreadable only when decoded is added to ``problems`` and skipped), else nothing."""
        for entry in self.project.entries[start:]:
            if not entry.error and self.go_to(entry.key):
                return
        self.current_changed.emit("")

    def _connect_project(self) -> None:
        self.project.classes_changed.connect(self._on_classes_changed)

    def _disconnect_project(self) -> None:
        self.project.classes_changed.disconnect(self._on_classes_changed)

    def _on_classes_changed(self) -> None:
        if self.labels_dirty():
            self._schedule_autosave()

    def _class_snapshot(self) -> list[tuple]:
        return [(c.name, tuple(c.color), c.visible) for c in self.project.classes]

    def labels_dirty(self) -> bool:
        """True when classes (names, colours, visibility) differ from what is on disk."""
        return self._class_snapshot() != self._saved_classes

    def class_names_dirty(self) -> bool:
        """True when class names differ from labels.txt: work the close prompt asks about."""
        return [c[0] for c in self._class_snapshot()] != [c[0] for c in self._saved_classes]

    # -- edits -------------------------------------------------------------------------------------
    def push(self, edit: object) -> None:
        """Applies and records ``edit``; a person's edit also marks the image labelled."""
        key = _edit_key(edit)
        if key is not None and not self.project.has_entry(key):
            log.warning("dropped %r: its image is not in the open project", getattr(edit, "text", edit))
            return
        if (key is not None and not _sets_state(edit) and not _is_cosmetic(edit)
                and self.project.entry(key).state in (UNLABELLED, PRE_ANNOTATED)):
            edit = Compound(edit.text, [edit, SetImageState(key, LABELLED)])  # type: ignore[attr-defined]
        self.history.push(edit)  # type: ignore[arg-type]
        self._schedule_autosave()

    def undo(self) -> bool:
        return self._undo_redo(self.history.undo_edit(), self.history.undo)

    def redo(self) -> bool:
        return self._undo_redo(self.history.redo_edit(), self.history.redo)

    def _undo_redo(self, edit: object, step) -> bool:
        if edit is None:
            return False
        key = _edit_key(edit)
        if key is not None and key != self.current_key and not self.go_to(key, background=False):
            return False
        done = step()
        self._schedule_autosave()
        return done

    def accept_pre_annotation(self) -> bool:
        key = self.current_key
        if key is None or self.project.entry(key).state != PRE_ANNOTATED:
            return False
        self.push(SetImageState(key, LABELLED, "Accept pre-annotation"))
        return True

    def delete_shapes(self, shapes: list[Shape]) -> None:
        if shapes and self.current_key:
            self.push(DeleteShapes(self.current_key, list(shapes),
                                   "Delete shape" if len(shapes) == 1 else f"Delete {len(shapes)} shapes"))

    # -- clipboard ---------------------------------------------------------------------------------
    def copy_shapes(self, shapes: list[Shape]) -> int:
        self._clipboard = [s.copy() for s in shapes]
        return len(self._clipboard)

    def can_paste(self) -> bool:
        return bool(self._clipboard) and self.current_annotation() is not None

    def paste_shapes(self) -> list[Shape]:
        """Adds copies of the clipboard to the current image (clipped to its size); returns them."""
        ann = self.current_annotation()
        if ann is None or not self._clipboard or self.current_key is None:
            return []
        copies = [c for c in (clip_shape(s, ann.width, ann.height) for s in self._clipboard) if c]
        if copies:
            self.push(AddShapes(self.current_key, copies, None,
                                "Paste shape" if len(copies) == 1 else f"Paste {len(copies)} shapes"))
        return copies

    # -- classes -----------------------------------------------------------------------------------
    def selected_class(self) -> str | None:
        return self._selected_class

    def set_selected_class(self, name: str | None) -> None:
        if name != self._selected_class:
            self._selected_class = name
            self.selected_class_changed.emit(name or "")

    def remember_class(self, name: str) -> None:
        self.prefs.remember_class(name)
        self._save_prefs()

    # -- model (for the ML features) ----------------------------------------------------------------
    def set_current_model(self, path: str | Path | None) -> None:
        self.current_model_path = None if path is None else str(path)
        self.model_changed.emit(self.current_model_path)

    # -- saving ------------------------------------------------------------------------------------
    def has_unsaved(self) -> bool:
        return self.class_names_dirty() or any(a.dirty for a in self.project.annotations.values())

    def save_current(self) -> bool:
        ok = self._save_labels()
        key = self.current_key
        ann = self.current_annotation()
        if key is not None and ann is not None and ann.dirty:
            ok = self._save(key) and ok
        return ok

    def save_all(self) -> bool:
        ok = self._save_labels()
        for key, ann in list(self.project.annotations.items()):
            if ann.dirty:
                ok = self._save(key) and ok
        if ok:
            self.saved.emit()
        return ok

    def _save(self, key: str) -> bool:
        if self._restore_absent(key):
            return True
        path = self.project.entry(key).annotation_path
        existed = path.exists()
        try:
            project_io.save_annotation(self.project, key)
        except Exception as exc:
            log.exception("saving %s failed", key)
            msg = str(exc)   # our errors and OSError's already name the file; never name it twice
            self.error_occurred.emit("Save failed", msg if key in msg else f"{key}: {msg}")
            return False
        self.project.annotation(key).set_dirty(False)
        if not existed:
            self._created.add(key)
        self.status_message.emit(f"Saved {Path(key).name}")
        return True

    def _restore_absent(self, key: str) -> bool:
        """An image that had no JSON and that undo took back to empty + unlabelled gets no JSON
        again (a file this session wrote is removed): an empty labelme file would read as an
        all-background image to other tools. True when that was the case."""
        ann = self.project.annotation(key)
        path = self.project.entry(key).annotation_path
        if ann.state != UNLABELLED or ann.shapes or (path.exists() and key not in self._created):
            return False
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            self.error_occurred.emit("Save failed", f"{path}: cannot remove ({exc.strerror or exc})")
            return False
        self._created.discard(key)
        ann.set_dirty(False)
        return True

    def _save_labels(self) -> bool:
        if not self.labels_dirty() or self.project.root is None:
            return True
        try:
            class_list.save_labels(self.project)
        except Exception as exc:
            log.exception("saving labels.txt failed")
            self.error_occurred.emit("Save failed", f"labels.txt in {self.project.root}: {exc}")
            return False
        self._saved_classes = self._class_snapshot()
        return True

    def _schedule_autosave(self) -> None:
        if self.prefs.autosave and self.prefs.autosave_idle_s > 0:
            self._autosave.start(int(self.prefs.autosave_idle_s * 1000))

    def _autosave_now(self) -> None:
        if self.has_unsaved():
            self.save_all()

    def _save_prefs(self) -> None:
        try:
            save_preferences(self.prefs)
        except OSError as exc:
            log.warning("cannot save preferences: %s", exc)

    def shutdown(self) -> None:
        """Window closing (after the unsaved-work prompt): keep colours/visibility, stop timers."""
        self._autosave.stop()
        self._set_pending(None)
        self.loader.cancel_except(())
        if not self.class_names_dirty():
            self._save_labels()
        self._save_prefs()
