"""MainWindow: composition only — canvas, docks, menus, toolbar, status bar, feature plug-ins.

Behaviour lives elsewhere: the document in :mod:`segstudio.ui.controller`, the action table
in :mod:`segstudio.ui.actions`, shape edits in :mod:`segstudio.ui.shape_commands`, drawing in
the canvas and its tools. Features (``segstudio/ui/features/<name>.py`` exposing
``install(window)``) are installed from :data:`FEATURES`; a missing module is skipped.
QSettings (an INI file in the user config dir) keeps geometry, dock state and recent folders.

May import: PySide6, segstudio.core, segstudio.ui (never segstudio.ml at import time).
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from segstudio.core.edits import bring_to_front, send_to_back
from segstudio.core.model import PRE_ANNOTATED
from segstudio.core.settings import Preferences, config_dir
from segstudio.ui import shape_commands
from segstudio.ui.actions import ACTIONS, create_actions
from segstudio.ui.canvas import CanvasView
from segstudio.ui.controller import DocumentController
from segstudio.ui.dialogs.help import ShortcutsDialog, show_about
from segstudio.ui.dialogs.label_dialog import LabelDialog
from segstudio.ui.docks.classes import LabelClassDock
from segstudio.ui.docks.file_list import FileListDock
from segstudio.ui.docks.history import UndoHistoryDock
from segstudio.ui.docks.shapes import ShapeListDock
from segstudio.ui.icons import tool_icon
from segstudio.ui.responsiveness import freeze_startup_heap, leave_a_core_for_the_gui
from segstudio.ui.workers import active_jobs, cancel_all

log = logging.getLogger(__name__)

FEATURES = ["autoseg", "datasets", "model", "training"]
MENU_NAMES = ("File", "Edit", "View", "Tools", "Model", "Help")
MAX_RECENT = 10
TOOL_NAMES = ("edit", "polygon", "rectangle", "circle", "line", "linestrip", "point", "brush", "eraser")


def window_settings() -> QSettings:
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


def pixel_text(value: np.ndarray) -> str:
    """One pixel's values for the status bar: integers as they are, floats to 4 digits."""
    v = np.atleast_1d(value)
    items = [f"{float(c):.4g}" if v.dtype.kind == "f" else str(int(c)) for c in v[:8]]
    return ", ".join(items) + (", …" if len(v) > 8 else "")


class MainWindow(QMainWindow):
    def __init__(self, prefs: Preferences | None = None, features: list[str] | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        leave_a_core_for_the_gui()
        QTimer.singleShot(0, freeze_startup_heap)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.controller = DocumentController(prefs, self)
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.last_error: tuple[str, str] | None = None
        self._error_boxes: dict[tuple[str, str], QMessageBox] = {}   # open, by (title, text)
        self.features: dict[str, object] = {}

        self.menus: dict[str, QMenu] = {n: self.menuBar().addMenu(f"&{n}") for n in MENU_NAMES}
        self.actions = create_actions(self, self.menus, self._handlers(), tool_icon)
        self.recent_menu = QMenu("Open &recent", self)
        self.menus["File"].insertMenu(self.actions["save"], self.recent_menu)

        self.file_dock = FileListDock(self.controller, self)
        self.class_dock = LabelClassDock(self.controller, self)
        self.shape_dock = ShapeListDock(self.controller, self)
        self.history_dock = UndoHistoryDock(self.controller, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.file_dock)
        for dock in (self.class_dock, self.shape_dock, self.history_dock):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.shape_dock, self.history_dock)
        self.shape_dock.raise_()
        for dock in (self.file_dock, self.class_dock, self.shape_dock, self.history_dock):
            self.menus["View"].addAction(dock.toggleViewAction())

        self._build_toolbar()
        self._build_status_bar()
        self._wire()
        brush = self.canvas.tool("brush")
        if brush is not None:
            brush.radius = float(self.controller.prefs.brush_radius)
        self._install_features(FEATURES if features is None else features)
        self._restore_window_state()
        self._update_actions()
        self._update_title()

    # -- composition ---------------------------------------------------------------------------
    def _handlers(self) -> dict:
        c = self.controller
        handlers = {
            "open": self.open_folder_dialog, "save": self.save, "quit": self.close,
            "undo": c.undo, "redo": c.redo, "copy": self.copy_selected, "paste": self.paste,
            "delete": self.delete_selected, "change_class": self.change_class_of_selected,
            "front": lambda: self._on_selection(bring_to_front), "back": lambda: self._on_selection(send_to_back),
            "toggle_visible": lambda: self._on_selection(lambda k, _a, s: shape_commands.toggle_visible(k, s)),
            "to_mask": self.convert_to_mask, "to_polygons": self.convert_to_polygons,
            "accept": c.accept_pre_annotation, "prev": lambda: self.step_image(-1), "next": lambda: self.step_image(1),
            "zoom_in": lambda: self.canvas.zoom_by(1.25), "zoom_out": lambda: self.canvas.zoom_by(0.8),
            "zoom_fit": self.canvas.zoom_fit, "zoom_100": self.canvas.zoom_100,
            "shortcuts": self.show_shortcuts, "about": lambda: show_about(self),
        }
        for name in TOOL_NAMES:
            handlers[f"tool_{name}"] = lambda n=name: self.canvas.set_tool(n)
        return handlers

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("MainToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        bar.setMovable(False)
        last_menu = None
        for spec in ACTIONS:
            if spec.toolbar and spec.id in self.actions:
                if last_menu is not None and spec.menu != last_menu:
                    bar.addSeparator()
                last_menu = spec.menu
                bar.addAction(self.actions[spec.id])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.menus["View"].addAction(bar.toggleViewAction())

    def _build_status_bar(self) -> None:
        self.position_label = QLabel()
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.tool_label = QLabel()
        for w in (self.tool_label, self.position_label, self.cursor_label, self.zoom_label):
            w.setContentsMargins(6, 0, 6, 0)
            self.statusBar().addPermanentWidget(w)

    def _wire(self) -> None:
        c = self.controller
        c.current_changed.connect(self._show_current)
        c.project_changed.connect(self._project_changed)
        c.error_occurred.connect(self.show_error)
        c.status_message.connect(self.status)
        c.loading_changed.connect(self._loading_changed)
        c.saved.connect(self._update_title)   # the title's "*" goes once autosave wrote everything
        c.history.changed.connect(self._history_changed)
        c.project.image_state_changed.connect(self._state_changed)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.canvas.tool_changed.connect(self._tool_changed)
        self.canvas.selection_changed.connect(self.shape_dock.set_selection)
        self.canvas.selection_changed.connect(lambda _s: self._update_actions())
        self.shape_dock.selection_changed.connect(self.canvas.select_shapes)
        self.shape_dock.label_edit_requested.connect(lambda s: self.change_class_of_selected([s]))
        self._tool_changed(self.canvas.tool_name)

    def _install_features(self, names: list[str]) -> None:
        for name in names:
            module_name = f"segstudio.ui.features.{name}"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    log.debug("feature %s not present", name)
                    continue
                log.exception("feature %s cannot be imported", name)
                continue
            try:
                self.features[name] = module.install(self)
            except Exception:  # a broken feature must not take the labelling tool down
                log.exception("feature %s failed to install", name)

    # -- public API for features -------------------------------------------------------------------
    def add_dock(self, widget: QWidget, title: str, area: str = "right") -> QDockWidget:
        dock = widget if isinstance(widget, QDockWidget) else QDockWidget(title, self)
        if dock is not widget:
            dock.setWidget(widget)
        dock.setWindowTitle(title)
        if not dock.objectName():
            dock.setObjectName(f"{title.replace(' ', '')}Dock")
        areas = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
                 "bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "top": Qt.DockWidgetArea.TopDockWidgetArea}
        self.addDockWidget(areas.get(area, Qt.DockWidgetArea.RightDockWidgetArea), dock)
        if area == "right":   # feature panels share the tab group of the shape list, which stays in front
            self.tabifyDockWidget(self.shape_dock, dock)
            self.shape_dock.raise_()
        self.menus["View"].addAction(dock.toggleViewAction())
        return dock

    def show_error(self, title: str, text: str) -> None:
        """A non-blocking message box (work goes on behind it); the text names the file."""
        log.warning("%s: %s", title, text)
        self.last_error = (title, text)
        open_box = self._error_boxes.get((title, text))
        if open_box is not None:   # e.g. autosave failing again: one box, not one per attempt
            open_box.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        self._error_boxes[(title, text)] = box
        box.finished.connect(lambda _r, k=(title, text): self._error_boxes.pop(k, None))
        box.show()

    def status(self, text: str, timeout_ms: int = 4000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- document ----------------------------------------------------------------------------------
    def open_folder(self, path: str | Path) -> bool:
        if not self.maybe_save():
            return False
        ok = self.controller.open_folder(path)
        if ok:
            self._add_recent(str(Path(path).resolve()))
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

    def ask_label(self) -> tuple[str, int | None] | None:
        c = self.controller
        names = c.project.class_names()
        # prefill the last label used in this project, as labelme does; else the selected class
        last = next((n for n in c.prefs.recent_classes if n in names), None) or c.selected_class()
        answer = LabelDialog.ask(names, c.prefs.recent_classes,
                                 {k.name: k.color for k in c.project.classes}, last, self)
        if answer is not None:
            c.remember_class(answer[0])
        self.canvas.setFocus()
        return answer

    def _show_current(self, key: str) -> None:
        c = self.controller
        ann, image = c.current_annotation(), c.current_image()
        if not key or ann is None:
            self.canvas.clear_document()
        else:
            self.canvas.set_document(c.project, key, ann, image, c.push, self.ask_label, c.selected_class)
            self.canvas.setFocus()
        self._update_title()
        self._update_actions()

    def _project_changed(self) -> None:
        self.canvas.clear_document()
        self.controller.project.image_state_changed.connect(self._state_changed)
        self._update_title()

    def _state_changed(self, key: str, _state: str) -> None:
        if key == self.controller.current_key:
            self._update_actions()
            self._update_title()

    def _history_changed(self) -> None:
        self._update_actions()
        self._update_title()

    # -- commands on the selection ---------------------------------------------------------------
    def _selection(self) -> list:
        return self.canvas.selected_shapes()

    def _on_selection(self, build, hint: str = "Select shapes first") -> None:
        """Pushes ``build(key, annotation, selected shapes)`` unless it is None (then shows ``hint``)."""
        c = self.controller
        ann, key, shapes = c.current_annotation(), c.current_key, self._selection()
        edit = build(key, ann, shapes) if ann is not None and key and shapes else None
        if edit is None:
            self.status(hint)
        else:
            c.push(edit)

    def copy_selected(self) -> None:
        n = self.controller.copy_shapes(self._selection())
        self.status(f"Copied {n} shape(s)" if n else "Nothing selected to copy")
        self._update_actions()

    def paste(self) -> None:
        pasted = self.controller.paste_shapes()
        if pasted:
            self.canvas.select_shapes(pasted)

    def delete_selected(self) -> None:
        if not self.canvas.delete_selected():
            self.status("Nothing selected to delete")

    def change_class_of_selected(self, shapes: list | None = None) -> None:
        shapes = list(shapes) if shapes else self._selection()
        key, c = self.controller.current_key, self.controller
        if not shapes or key is None:
            return
        answer = LabelDialog.ask(c.project.class_names(), c.prefs.recent_classes,
                                 {k.name: k.color for k in c.project.classes}, shapes[0].label, self,
                                 title="Change the class" if len(shapes) == 1
                                 else f"Change the class of {len(shapes)} shapes")
        if answer is not None:
            c.remember_class(answer[0])
            edit = shape_commands.change_label(key, shapes, answer[0], answer[1])
            if edit is not None:
                c.push(edit)

    def convert_to_mask(self) -> None:
        self._on_selection(shape_commands.to_mask, "Select polygons, rectangles or circles to convert")

    def convert_to_polygons(self) -> None:
        p = self.controller.prefs
        self._on_selection(lambda k, a, s: shape_commands.to_polygons(k, a, s, p.polygon_tolerance,
                                                                      p.min_region_area),
                           "Select mask shapes to convert")

    # -- view state ----------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        c, a = self.controller, self.actions
        h = c.history
        a["undo"].setEnabled(h.can_undo())
        a["redo"].setEnabled(h.can_redo())
        a["undo"].setText(f"&Undo {h.undo_text()}".strip())
        a["redo"].setText(f"&Redo {h.redo_text()}".strip())
        has_sel = bool(self._selection())
        for name in ("copy", "delete", "change_class", "front", "back", "toggle_visible", "to_mask", "to_polygons"):
            a[name].setEnabled(has_sel)
        a["paste"].setEnabled(c.can_paste())
        key, keys = c.current_key, c.keys()
        a["accept"].setEnabled(key in keys and c.project.entry(key).state == PRE_ANNOTATED)
        idx = keys.index(key) if key in keys else -1
        self.position_label.setText(f"{idx + 1} / {len(keys)}" if idx >= 0 else f"– / {len(keys)}")

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

    def _cursor_moved(self, x: float, y: float, value: str) -> None:
        raw = self.controller.current_raw_image()
        if raw is not None:   # the stored values (16-bit, gray, >3 channels), not the display ones
            ix, iy = int(np.floor(x)), int(np.floor(y))
            value = ""
            if 0 <= iy < raw.shape[0] and 0 <= ix < raw.shape[1]:
                value = pixel_text(raw[iy, ix])
        self.cursor_label.setText(f"x {x:.0f}  y {y:.0f}  {value}" if value else "")

    def _tool_changed(self, name: str) -> None:
        action = self.actions.get(f"tool_{name}")
        if action is not None and not action.isChecked():
            action.setChecked(True)
        self.tool_label.setText(f"Tool: {name}")

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    # -- persistence / closing -------------------------------------------------------------------
    def _add_recent(self, path: str) -> None:
        s = window_settings()
        recent = [path] + [p for p in (s.value("recent_folders", []) or []) if p != path]
        s.setValue("recent_folders", recent[:MAX_RECENT])
        self._fill_recent_menu(recent[:MAX_RECENT])

    def _fill_recent_menu(self, recent: list[str]) -> None:
        self.recent_menu.clear()
        for p in recent:
            self.recent_menu.addAction(p, lambda p=p: self.open_folder(p))
        self.recent_menu.setEnabled(bool(recent))

    def _restore_window_state(self) -> None:
        s = window_settings()
        geometry, state = s.value("geometry"), s.value("window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        if state is not None:
            self.restoreState(state)
        recent = s.value("recent_folders", []) or []
        self._fill_recent_menu([recent] if isinstance(recent, str) else list(recent))

    def maybe_save(self) -> bool:
        """Asks about unsaved work; False when the user cancels (or saving fails)."""
        if not self.controller.has_unsaved():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save your changes before closing this project?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.controller.save_all()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self.maybe_save():
            event.ignore()
            return
        for name, feature in self.features.items():   # e.g. training stops its worker cleanly first
            shutdown = getattr(feature, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception:   # one broken feature must not keep the window open
                    log.exception("feature %s failed to shut down", name)
        self.controller.loader.cancel_except(())
        # a stopped training saves its best checkpoint on the way out: give jobs that were asked
        # to stop a moment to end by themselves before they are cut off at their next yield
        deadline = time.monotonic() + 3.0
        for job in active_jobs():
            job.wait(max(0, int((deadline - time.monotonic()) * 1000)))
        cancel_all(wait_ms=3000)
        brush = self.canvas.tool("brush")
        if brush is not None:
            self.controller.prefs.brush_radius = float(brush.radius)
        self.controller.shutdown()
        s = window_settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        self.canvas.clear_document()
        event.accept()
