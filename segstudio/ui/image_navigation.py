"""Moving between a project's images, for :class:`~segstudio.ui.controller.DocumentController`
(a mixin: it holds no state of its own).

``go_to(key)`` shows an image: small ones are decoded at once, large ones in the
:class:`ImageLoader`'s worker (``loading_changed`` tells the canvas to show "loading…"; a newer
request drops a stale one), and the next image in the direction of travel is prefetched. An image
or JSON that cannot be read is reported by name (``problems``, the status bar) and the view stays
where it was; next/previous skip entries known to be unreadable.

May import: PySide6.QtCore, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

import logging

import numpy as np

from segstudio.core import project_io
from segstudio.core.model import ImageAnnotation
from segstudio.ui.image_loader import DecodedImage, error_message

log = logging.getLogger(__name__)


class ImageNavigation:
    """The image-switching half of the document controller (mixed into it).

    Uses the controller's ``project``, ``loader``, ``prefs``, ``current_key``, ``_current``,
    ``_pending_key``, ``_direction``, ``problems``, its signals and ``save_current`` /
    ``labels_dirty`` / ``_class_snapshot`` / ``_show_first_readable``."""

    def keys(self) -> list[str]:
        return [e.key for e in self.project.entries]

    def annotation_for(self, key: str) -> ImageAnnotation:
        return project_io.load_annotation(self.project, key)

    def image_for(self, key: str) -> np.ndarray:
        """The image of ``key`` as HxWx3 uint8 (a few recent ones are cached)."""
        if key == self.current_key and self._current is not None:
            return self._current.rgb8
        return self.loader.load_sync(key).rgb8

    def current_annotation(self) -> ImageAnnotation | None:
        return None if self.current_key is None else self.project.annotations.get(self.current_key)

    def current_image(self) -> np.ndarray | None:
        return None if self._current is None else self._current.rgb8

    def current_raw_image(self) -> np.ndarray | None:
        """The current image's pixels as stored (16-bit, gray, multi-channel…), for the status bar."""
        return None if self._current is None else self._current.pixels

    @property
    def pending_key(self) -> str | None:
        """The image being loaded in the background (shown once decoded), or None."""
        return self._pending_key

    def go_to(self, key: str, background: bool = True) -> bool:
        """Shows image ``key``; on a read error reports it (naming the file) and stays put.

        A large image that is not cached yet is decoded in a worker when ``background``: this
        returns True at once, ``loading_changed(key)`` fires, and the switch happens when the
        image is ready (unless another ``go_to`` came first). Otherwise the switch is immediate."""
        if key == self.current_key:
            self._set_pending(None)
            return True
        self.project.entry(key)   # KeyError for a key that is not in the project
        img = self.loader.get(key)
        if img is None and background and self.loader.is_large(key):
            self._set_pending(key)
            self.loader.request(key)
            return True
        self._set_pending(None)
        try:
            if img is None:
                img = self.loader.load_sync(key)
        except Exception as exc:
            self._report_unreadable(key, error_message(self.project, key, exc))
            return False
        return self._switch(key, img)

    def _set_pending(self, key: str | None) -> None:
        self.loader.cancel_except([key] if key else [])
        if key != self._pending_key:
            self._pending_key = key
            self.loading_changed.emit(key or "")

    def _on_loaded(self, key: str) -> None:
        if key == self._pending_key:
            img = self.loader.get(key)
            self._pending_key = None
            if img is not None:
                self._switch(key, img)
            self.loading_changed.emit("")

    def _on_load_failed(self, key: str, msg: str) -> None:
        if key == self._pending_key:
            self._pending_key = None
            self.loading_changed.emit("")
            self._report_unreadable(key, msg)
            if self.current_key is None:   # still opening the folder: show the next readable one
                self._show_first_readable(self.project.index_of(key) + 1)

    def _report_unreadable(self, key: str, msg: str) -> None:
        """The image or its JSON cannot be read: marked red, counted in ``problems`` (the banner
        updates); the status bar names it. Never a popup: a folder of bad files gives one summary."""
        self.project.set_error(key, msg)   # entry_changed: the Images dock shows it red
        log.warning("cannot open %s: %s", key, msg)
        self.status_message.emit(f"Cannot open: {msg}")
        if self.problems.get(key) != msg:
            self.problems[key] = msg
            self.problems_changed.emit()

    def _switch(self, key: str, img: DecodedImage) -> bool:
        labels_were_dirty = self.labels_dirty()
        try:
            ann = self.annotation_for(key)
        except Exception as exc:
            self._report_unreadable(key, error_message(self.project, key, exc))
            return False
        entry = self.project.entry(key)
        if self.prefs.autosave and self.current_key is not None:
            self.save_current()
        if not labels_were_dirty:
            # classes met in a file that labels.txt lacks are not unsaved work of this session
            self._saved_classes = self._class_snapshot()
        if ann.state != entry.state:   # the JSON is the truth once it is read
            self.project.set_state(key, ann.state)
        self.current_key = key
        self._current = img
        self.current_changed.emit(key)
        self._prefetch()
        return True

    def _prefetch(self) -> None:
        """Starts decoding the image after this one (in the last direction) if it is large."""
        entries = self.project.entries
        if self.current_key is None or self._pending_key is not None \
                or not self.project.has_entry(self.current_key):
            return
        i = self.project.index_of(self.current_key) + self._direction
        while 0 <= i < len(entries) and entries[i].error:
            i += self._direction
        if 0 <= i < len(entries):
            nxt = entries[i].key
            if self.loader.get(nxt) is None and self.loader.is_large(nxt):
                self.loader.request(nxt)

    def _step(self, delta: int) -> bool:
        entries = self.project.entries
        if not entries:
            return False
        self._direction = 1 if delta > 0 else -1
        base = self._pending_key or self.current_key   # D pressed again while loading: go on from there
        if base is not None and self.project.has_entry(base):
            i = self.project.index_of(base)
        else:
            i = -1 if delta > 0 else len(entries)
        i += delta
        while 0 <= i < len(entries):
            if not entries[i].error and self.go_to(entries[i].key):
                return True
            i += delta
        return False

    def next_image(self) -> bool:
        return self._step(1)

    def prev_image(self) -> bool:
        return self._step(-1)
