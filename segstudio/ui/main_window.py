"""MainWindow: composition only — canvas, docks, menus, toolbar, status bar, feature plug-ins.

Behaviour lives elsewhere: the document in :mod:`~segstudio.ui.controller`, every action in the
one :class:`~segstudio.ui.actions.ActionTable`, Edit commands in :mod:`~segstudio.ui.edit_commands`,
drawing in the canvas and its tools. The window is the FeatureHost of the :data:`FEATURES`
(``segstudio/ui/features/<name>.py`` exposing ``install(host)``; a missing module is skipped).

May import: PySide6, segstudio.core, segstudio.ui (never segstudio.ml at import time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QToolBar,
    QWidget,
)

from segstudio.core.model import PRE_ANNOTATED
from segstudio.core.settings import Preferences
from segstudio.ui.actions import ACTIONS, ActionSpec, ActionTable, tool_rows
from segstudio.ui.canvas import CanvasView
from segstudio.ui.controller import DocumentController
from segstudio.ui.dialogs.help import ShortcutsDialog, show_about
from segstudio.ui.dock_layout import add_feature_dock, place_docks
from segstudio.ui.docks.classes import LabelClassDock
from segstudio.ui.docks.file_list import FileListDock
from segstudio.ui.docks.history import UndoHistoryDock
from segstudio.ui.docks.shapes import ShapeListDock
from segstudio.ui.edit_commands import NEEDS_SELECTION, EditCommands
from segstudio.ui.error_boxes import ErrorBoxes
from segstudio.ui.feature_host import install_features
from segstudio.ui.icons import tool_icon
from segstudio.ui.problem_banner import ProblemBanner
from segstudio.ui.responsiveness import freeze_startup_heap, leave_a_core_for_the_gui
from segstudio.ui.status_bar import StatusFields
from segstudio.ui.window_closing import ask_to_save, stop_background_work
from segstudio.ui.window_settings import RecentFolders, restore_window, save_window

log = logging.getLogger(__name__)

FEATURES = ["autoseg", "datasets", "model_menu", "training", "label_next", "sam_tool"]
MENU_NAMES = ("File", "Edit", "View", "Tools", "Model", "Help")
TOOL_NAMES = tuple(r.id.removeprefix("tool_") for r in tool_rows())   # the canvas tools, in menu order


class MainWindow(QMainWindow):
    def __init__(self, prefs: Preferences | None = None, features: list[str] | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        leave_a_core_for_the_gui()
        QTimer.singleShot(0, freeze_startup_heap)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.controller = c = DocumentController(prefs, self)
        self.canvas = CanvasView(self)
        self.problem_banner = ProblemBanner(self)
        self.setCentralWidget(self.problem_banner.above(self.canvas))
        self.last_error: tuple[str, str] | None = None
        self._error_boxes = ErrorBoxes(self)
        self.features: dict[str, object] = {}

        self.menus: dict[str, QMenu] = {n: self.menuBar().addMenu(f"&{n}") for n in MENU_NAMES}
        self.edit_commands = EditCommands(c, self.canvas, self, self.status)
        self.actions = ActionTable(self, self.menus, tool_icon)
        self.actions.add(ACTIONS, self._handlers())
        self.recent = RecentFolders(QMenu("Open &recent", self), self.open_folder)
        self.menus["File"].insertMenu(self.actions["save"], self.recent.menu)

        self.file_dock = FileListDock(c, self)
        self.class_dock = LabelClassDock(c, self)
        self.shape_dock = ShapeListDock(c, self)
        self.history_dock = UndoHistoryDock(c, self)
        place_docks(self, self.menus["View"], [self.file_dock, self.class_dock],
                    [self.shape_dock, self.history_dock])

        self.fields = StatusFields(self.statusBar(), c.current_raw_image)
        self.cursor_label = self.fields.cursor_label
        self._wire()
        brush = self.canvas.tool("brush")
        if brush is not None:
            brush.radius = float(c.prefs.brush_radius)
        self.features = install_features(self, FEATURES if features is None else features)
        self._build_toolbar()   # after the features: their toolbar rows too
        restore_window(self)
        self.recent.fill()
        self._update_actions()
        self._update_title()

    # -- composition ---------------------------------------------------------------------------
    def _handlers(self) -> dict[str, Callable[[], object]]:
        c = self.controller
        handlers: dict[str, Callable[[], object]] = {
            "open": self.open_folder_dialog, "save": self.save, "quit": self.close,
            "undo": c.undo, "redo": c.redo,
            "accept": c.accept_pre_annotation, "prev": lambda: self.step_image(-1), "next": lambda: self.step_image(1),
            "zoom_in": lambda: self.canvas.zoom_by(1.25), "zoom_out": lambda: self.canvas.zoom_by(0.8),
            "zoom_fit": self.canvas.zoom_fit, "zoom_100": self.canvas.zoom_100,
            "shortcuts": self.show_shortcuts, "about": lambda: show_about(self),
            **self.edit_commands.handlers(),
            "copy": lambda: (self.edit_commands.copy_selected(), self._update_actions()),   # Paste now works
        }
        for name in TOOL_NAMES:
            handlers[f"tool_{name}"] = lambda n=name: self.canvas.set_tool(n)
        return handlers

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("MainToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        bar.setMovable(False)
        self.actions.fill_toolbar(bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.menus["View"].addAction(bar.toggleViewAction())

    def _wire(self) -> None:
        c = self.controller
        c.current_changed.connect(self._show_current)
        c.project_changed.connect(self._project_changed)
        c.problems_changed.connect(self._problems_changed)
        c.error_occurred.connect(self.show_error)
        c.status_message.connect(self.status)
        c.loading_changed.connect(self._loading_changed)
        c.saved.connect(self._update_title)   # the title's "*" goes once autosave wrote everything
        c.history.changed.connect(self._history_changed)
        c.project.image_state_changed.connect(self._state_changed)
        self.canvas.cursor_moved.connect(self.fields.cursor_moved)
        self.canvas.zoom_changed.connect(self.fields.set_zoom)
        self.canvas.tool_changed.connect(self._tool_changed)
        self.canvas.selection_changed.connect(self.shape_dock.set_selection)
        self.canvas.selection_changed.connect(lambda _s: self._update_actions())
        self.shape_dock.selection_changed.connect(self.canvas.select_shapes)
        self.shape_dock.label_edit_requested.connect(lambda s: self.edit_commands.change_class_of_selected([s]))
        self._tool_changed(self.canvas.tool_name)

    # -- FeatureHost: what features use of the window --------------------------------------------
    @property
    def widget(self) -> QWidget:
        return self

    def add_actions(self, rows: Iterable[ActionSpec],
                    handlers: Mapping[str, Callable[[], object]]) -> dict[str, QAction]:
        return self.actions.add(rows, handlers)

    def add_status_widget(self, widget: QWidget) -> None:
        self.statusBar().addPermanentWidget(widget)

    def add_dock(self, widget: QWidget, title: str, area: str = "right") -> QDockWidget:
        return add_feature_dock(self, self.menus["View"], widget, title, area=area, tab_with=self.shape_dock)

    def show_error(self, title: str, text: str, details: str = "") -> None:
        """A non-blocking message box naming the file (``details`` behind "Show Details…")."""
        self.last_error = (title, text)
        self._error_boxes.show(title, text, details)

    def status(self, text: str, timeout_ms: int = 4000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- document ----------------------------------------------------------------------------------
    def open_folder(self, path: str | Path) -> bool:
        if not self.maybe_save():
            return False
        ok = self.controller.open_folder(path)
        if ok:
            self.recent.add(str(Path(path).resolve()))
        return ok

    def save(self) -> bool:
        c = self.controller
        had_work = c.has_unsaved() or c.labels_dirty()
        ok = c.save_all()
        if ok:
            self.status("Saved" if had_work else "Nothing to save: everything is on disk")
        self._update_title()
        return ok

    def step_image(self, delta: int) -> bool:
        """A / D: refuses while a shape is being drawn, which switching would silently drop."""
        tool = self.canvas.tool()
        if tool is not None and tool.busy and not self.canvas.loading:
            self.status("Finish the shape (Enter) or cancel it (Esc) before changing images")
            return False
        c = self.controller
        moved = c.next_image() if delta > 0 else c.prev_image()
        if not moved:
            self.status("Last image" if delta > 0 else "First image")
        return moved

    def open_folder_dialog(self) -> None:
        start = str(self.controller.project.root or Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if path:
            self.open_folder(path)

    def _show_current(self, key: str) -> None:
        c = self.controller
        ann, image = c.current_annotation(), c.current_image()
        if not key or ann is None:
            self.canvas.clear_document()
        else:
            self.canvas.set_document(c.project, key, ann, image, push=c.push,
                                     ask_label=self.edit_commands.ask_label, current_label=c.selected_class)
            self.canvas.setFocus()
        self._update_title()
        self._update_actions()

    def _project_changed(self) -> None:
        self.canvas.clear_document()
        self.problem_banner.reset()
        self.controller.project.image_state_changed.connect(self._state_changed)
        self._update_title()

    def _problems_changed(self) -> None:
        problems = self.controller.problems
        self.problem_banner.set_problems(problems)
        if problems:   # what the window last told the user (tests read it)
            self.last_error = ("Some files cannot be read", "\n".join(problems.values()))

    def _state_changed(self, key: str, _state: str) -> None:
        if key == self.controller.current_key:
            self._update_actions()
            self._update_title()

    def _history_changed(self) -> None:
        self._update_actions()
        self._update_title()

    # -- view state ----------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        c, a = self.controller, self.actions
        h = c.history
        a["undo"].setEnabled(h.can_undo())
        a["redo"].setEnabled(h.can_redo())
        a["undo"].setText(f"&Undo {h.undo_text()}".strip())
        a["redo"].setText(f"&Redo {h.redo_text()}".strip())
        has_sel = bool(self.canvas.selected_shapes())
        for name in NEEDS_SELECTION:
            a[name].setEnabled(has_sel)
        a["paste"].setEnabled(c.can_paste())
        i = c.project.index_of(c.current_key) if c.project.has_entry(c.current_key or "") else -1
        a["accept"].setEnabled(i >= 0 and c.project.entries[i].state == PRE_ANNOTATED)
        self.fields.set_position(i, len(c.project.entries))

    def _update_title(self) -> None:
        c = self.controller
        parts = ["segstudio"]
        if c.project.root is not None:
            parts.append(c.project.root.name)
        if c.current_key:
            entry = c.project.entry(c.current_key)
            parts.append(f"{entry.image_path.name} [{entry.state}]")
        self.setWindowTitle(" — ".join(parts) + "[*]")
        self.setWindowModified(c.has_unsaved())

    def _loading_changed(self, key: str) -> None:
        name = Path(self.controller.project.entry(key).image_path).name if key else ""
        self.canvas.set_loading(f"Loading {name}…" if key else None)
        if key:
            self.status(f"Loading {name}…", 0)
        else:
            self.statusBar().clearMessage()

    def _tool_changed(self, name: str) -> None:
        action = self.actions.get(f"tool_{name}")
        if action is not None and not action.isChecked():
            action.setChecked(True)
        self.fields.set_tool(name)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.actions.shortcut_rows(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    # -- closing ---------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Asks about unsaved work; False when the user cancels (or saving fails)."""
        return ask_to_save(self, self.controller)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self.maybe_save():
            event.ignore()
            return
        self.controller.loader.cancel_except(())
        stop_background_work(self.features)
        brush = self.canvas.tool("brush")
        if brush is not None:
            self.controller.prefs.brush_radius = float(brush.radius)
        self.controller.shutdown()
        save_window(self)
        self.canvas.clear_document()
        event.accept()
