"""What a feature may use of the window (:class:`FeatureHost`), and installing the features.

A feature is a module ``segstudio/ui/features/<name>.py`` with ``install(host) -> object``. It
gets a :class:`FeatureHost`, not the window: the document (``controller``), the canvas, and
ways to add rows to the one action table, a dock or a status-bar widget, and to tell the user
something. Features never reach into each other: they talk through the controller's signals
(e.g. ``controller.model_loaded``) and trigger each other's actions by id
(``host.actions["model_segment_unlabelled"].trigger()``).

How to add an action (a menu entry, its shortcut, its line in the Help list)::

    ROWS = (ActionSpec("label_next", "Tools", "Label &next", ("N",), "Go to the most useful image"),)

    def install(host: FeatureHost) -> MyFeature:
        feature = MyFeature(host)
        host.add_actions(ROWS, {"label_next": feature.go})   # raises if "N" is already taken
        return feature

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from segstudio.ui.actions import ActionSpec, ActionTable

if TYPE_CHECKING:
    from segstudio.ui.canvas import CanvasView
    from segstudio.ui.controller import DocumentController

log = logging.getLogger(__name__)


class FeatureHost(Protocol):
    """The window as a feature sees it."""

    controller: DocumentController
    canvas: CanvasView
    actions: ActionTable

    @property
    def widget(self) -> QWidget:
        """The window itself, as the parent of a feature's dialogs."""
        ...

    def add_actions(self, rows: Iterable[ActionSpec],
                    handlers: Mapping[str, Callable[[], object]]) -> dict[str, QAction]:
        """Rows for the one action table (menus, shortcuts, Help list); returns the QActions."""
        ...

    def add_dock(self, widget: QWidget, title: str, area: str = "right") -> QDockWidget: ...

    def add_status_widget(self, widget: QWidget) -> None: ...

    def show_error(self, title: str, text: str, details: str = "") -> None: ...

    def status(self, text: str, timeout_ms: int = 4000) -> None: ...


def install_features(host: FeatureHost, names: Iterable[str]) -> dict[str, object]:
    """``install(host)`` of each feature module; a missing or broken one is logged and skipped
    (a broken feature must not take the labelling tool down)."""
    installed: dict[str, object] = {}
    for name in names:
        module_name = f"segstudio.ui.features.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                log.debug("feature %s not present", name)
            else:
                log.exception("feature %s cannot be imported", name)
            continue
        try:
            installed[name] = module.install(host)
        except Exception:
            log.exception("feature %s failed to install", name)
    return installed
