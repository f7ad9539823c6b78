"""The ONE table of window actions: id, menu, text, shortcuts, icon, toolbar placement.

Shortcuts follow labelme where it has one (Ctrl+O, Ctrl+S, A/D, Ctrl+Z, Ctrl+N, Ctrl+J,
Ctrl+E, Delete, Ctrl+F, Ctrl+0) and add Ctrl+Shift+Z / Ctrl+Y redo and one-letter tool keys.
Escape, Return, Backspace, Delete and [ / ] are also seen by the active canvas tool: the canvas
claims them while it has focus (its ShortcutOverride), so the window actions below only fire
elsewhere. One-key shortcuts (P, R, A, D, …) never fire while a list, a text field, a spin
box or a combo box has the keyboard focus: the key goes to that widget, so typing "pers" in the
Classes list jumps to "person" (Qt's type-to-search) instead of switching tools
(:class:`TypingGuard`).

:class:`ActionTable` holds every action of the window: the rows below (:data:`ACTIONS`) and the
rows each feature adds at install (``host.add_actions(rows, handlers)``). It refuses an id or a
shortcut that is already taken (so no "Ambiguous shortcut overload" can reach a user), puts each
action into its menu (``"Model/&Device"`` makes a submenu, ``before="quit"`` places a row above
another one) and the toolbar, and feeds the Help list (F1) and the README's shortcut table
(:meth:`ActionTable.shortcut_rows`).

May import: PySide6.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QStyle,
    QTextEdit,
    QToolBar,
    QWidget,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionSpec:
    id: str
    menu: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    icon: str = ""            # QStyle.StandardPixmap name, or "tool:<name>" for a drawn tool icon
    toolbar: bool = False
    checkable: bool = False
    group: str = ""           # actions of one group are mutually exclusive
    short: str = ""           # toolbar label when the menu text is long (menu text may change)
    before: str = ""          # id of the row this one goes above in its menu (default: at the end)


def tool_rows() -> tuple[ActionSpec, ...]:
    """The Tools menu: a checkable, mutually exclusive row per canvas tool, declared by the tool
    class itself (``menu_text``, ``shortcuts``, ``tip``, ``short``), so a new tool is a new class
    listed in :func:`segstudio.tools.default_tools` plus its icon (``ui/icons.py``)."""
    from segstudio.tools import default_tools

    return tuple(ActionSpec(f"tool_{t.name}", "Tools", t.menu_text, t.shortcuts, t.tip, f"tool:{t.name}",
                            True, True, "tools", short=t.short) for t in default_tools())


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("open", "File", "&Open folder…", ("Ctrl+O",), "Open a folder of images", "SP_DirOpenIcon", True),
    ActionSpec("save", "File", "&Save", ("Ctrl+S",), "Save the annotations", "SP_DialogSaveButton", True),
    ActionSpec("-", "File", ""),
    ActionSpec("quit", "File", "&Quit", ("Ctrl+Q",), "Quit segstudio"),
    # Edit
    ActionSpec("undo", "Edit", "&Undo", ("Ctrl+Z",), "Undo", "SP_ArrowBack", True),
    ActionSpec("redo", "Edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", "SP_ArrowForward", True),
    ActionSpec("-", "Edit", ""),
    ActionSpec("copy", "Edit", "&Copy shapes", ("Ctrl+C",), "Copy the selected shapes"),
    ActionSpec("paste", "Edit", "&Paste shapes", ("Ctrl+V",), "Paste shapes into this image"),
    ActionSpec("delete", "Edit", "&Delete shapes", ("Delete",), "Delete the selected shapes", "SP_TrashIcon"),
    ActionSpec("-", "Edit", ""),
    ActionSpec("change_class", "Edit", "Change &class…", ("Ctrl+E",), "Change the class of the selected shapes"),
    ActionSpec("front", "Edit", "Bring to &front", ("Ctrl+Shift+Up",), "Draw the selected shapes on top"),
    ActionSpec("back", "Edit", "Send to &back", ("Ctrl+Shift+Down",), "Draw the selected shapes below the rest"),
    ActionSpec("toggle_visible", "Edit", "&Hide/show selected", ("H",), "Hide or show the selected shapes"),
    ActionSpec("-", "Edit", ""),
    ActionSpec("to_mask", "Edit", "Convert polygon → &mask", ("Ctrl+M",),
               "Turn the selected vector shapes into mask shapes (editable with the brush)"),
    ActionSpec("to_polygons", "Edit", "Convert mask → poly&gons", ("Ctrl+Shift+M",),
               "Trace the selected masks into polygons (tolerance from the preferences)"),
    ActionSpec("-", "Edit", ""),
    ActionSpec("accept", "Edit", "&Accept pre-annotation", ("Ctrl+Return",),
               "Mark this pre-annotated image as labelled", "SP_DialogApplyButton", True, short="Accept"),
    # View
    ActionSpec("prev", "View", "&Previous image", ("A",), "Previous image", "SP_MediaSeekBackward", True,
               short="Prev"),
    ActionSpec("next", "View", "&Next image", ("D",), "Next image", "SP_MediaSeekForward", True,
               short="Next"),
    ActionSpec("-", "View", ""),
    ActionSpec("zoom_in", "View", "Zoom &in", ("Ctrl++", "Ctrl+="), "Zoom in"),
    ActionSpec("zoom_out", "View", "Zoom &out", ("Ctrl+-",), "Zoom out"),
    ActionSpec("zoom_fit", "View", "&Fit window", ("Ctrl+F",), "Fit the image in the window"),
    ActionSpec("zoom_100", "View", "&100 %", ("Ctrl+0",), "One image pixel per screen pixel"),
    ActionSpec("-", "View", ""),
    # Tools
    *tool_rows(),   # one per tool of tools.default_tools(), from the tool class's own row
    # Help
    ActionSpec("shortcuts", "Help", "&Keyboard shortcuts", ("F1",), "List of shortcuts"),
    ActionSpec("about", "Help", "&About segstudio", (), ""),
)

#: Keys handled by the active tool through the canvas (documented next to the actions).
CANVAS_KEYS: tuple[tuple[str, str], ...] = (
    ("Esc", "cancel the shape being drawn / clear the selection"),
    ("Enter", "close the polygon being drawn"),
    ("Backspace", "remove the last polygon vertex / delete the selection"),
    ("[ / ]", "brush smaller / bigger"),
    ("Ctrl+wheel", "zoom around the cursor"),
    ("Space+drag, middle drag", "pan"),
    ("Alt+click on an edge", "insert a vertex (edit tool)"),
    ("Shift+click on a vertex", "delete the vertex (edit tool)"),
)


_TYPING_WIDGETS = (QAbstractItemView, QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox)
_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


class TypingGuard(QObject):
    """Keeps printable keys (with or without Shift) for the focused list or text widget.

    Qt asks the focus widget first with a ShortcutOverride event; accepting it delivers the key
    to the widget instead of the window shortcut. The filter is installed on a widget when it
    gets the focus (not on the whole application, which would run Python for every event)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._watched: set[int] = set()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, _TYPING_WIDGETS) and id(new) not in self._watched:
            self._watched.add(id(new))
            new.installEventFilter(self)
            new.destroyed.connect(lambda _o=None, k=id(new): self._watched.discard(k))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            text = event.text()
            if (text and text.isprintable() and not (event.modifiers() & _COMMAND_MODIFIERS)
                    and isinstance(obj, _TYPING_WIDGETS)):
                event.accept()
                return True
        return False


def _icon(widget: QWidget, name: str, tool_icon: Callable[[str], QIcon] | None) -> QIcon | None:
    if not name:
        return None
    if name.startswith("tool:"):
        return tool_icon(name[5:]) if tool_icon else None
    pixmap = getattr(QStyle.StandardPixmap, name, None)
    return None if pixmap is None else widget.style().standardIcon(pixmap)


class ActionTable:
    """Every action of the window, by id: built from :class:`ActionSpec` rows, one place for all.

    ``add(rows, handlers)`` creates the QActions of ``rows`` (table order) and connects each to
    ``handlers[id]``; a row without a handler is created disabled (and logged) rather than
    silently missing. An id or a shortcut that another row already has raises ``ValueError``:
    a clash is a programming error, found by the test that installs every feature."""

    def __init__(self, parent: QWidget, menus: dict[str, QMenu],
                 tool_icon: Callable[[str], QIcon] | None = None) -> None:
        self._parent, self._menus, self._tool_icon = parent, menus, tool_icon
        self.specs: list[ActionSpec] = []
        self._actions: dict[str, QAction] = {}
        self._groups: dict[str, QActionGroup] = {}
        self._keys: dict[str, str] = {}   # portable key text → id of the action that has it
        TypingGuard(parent)   # a child of the window: lives and dies with it

    # -- dict-like access ----------------------------------------------------------------------
    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def get(self, action_id: str) -> QAction | None:
        return self._actions.get(action_id)

    def items(self) -> list[tuple[str, QAction]]:
        return list(self._actions.items())

    # -- building ------------------------------------------------------------------------------
    def add(self, rows: Iterable[ActionSpec],
            handlers: Mapping[str, Callable[[], object]]) -> dict[str, QAction]:
        """QActions for ``rows``, in their menus; returns them by id."""
        rows = list(rows)
        self._check(rows)
        made: dict[str, QAction] = {}
        for spec in rows:
            menu = self._menu(spec.menu)
            if spec.id == "-":
                if menu is not None:
                    anchor = self._actions.get(spec.before)
                    if anchor is not None:
                        menu.insertSeparator(anchor)
                    else:
                        menu.addSeparator()
                continue
            action = self._build(spec, handlers.get(spec.id))
            if menu is not None:
                anchor = self._actions.get(spec.before)
                if anchor is not None:
                    menu.insertAction(anchor, action)
                else:
                    menu.addAction(action)
            self._actions[spec.id] = made[spec.id] = action
        self.specs.extend(rows)
        return made

    def _check(self, rows: list[ActionSpec]) -> None:
        keys = dict(self._keys)
        for spec in rows:
            if spec.id == "-":
                continue
            if spec.id in self._actions or any(r.id == spec.id for r in rows if r is not spec):
                raise ValueError(f"action id {spec.id!r} is already in the action table")
            for text in spec.shortcuts:
                key = QKeySequence(text).toString(QKeySequence.SequenceFormat.PortableText)
                if key in keys:
                    raise ValueError(f"shortcut {text} of {spec.id!r} is already the shortcut of "
                                     f"{keys[key]!r}; pick a free key in ui/actions.py's table")
                keys[key] = spec.id
        self._keys = keys

    def _menu(self, path: str) -> QMenu | None:
        """The menu named ``path``; "Model/&Device" is the submenu Device of Model (made once)."""
        if path in self._menus or "/" not in path:
            return self._menus.get(path)
        parent_path, title = path.rsplit("/", 1)
        parent = self._menu(parent_path)
        if parent is None:
            return None
        sub = parent.addMenu(title)
        self._menus[path] = sub
        return sub

    def _build(self, spec: ActionSpec, handler: Callable[[], object] | None) -> QAction:
        parent = self._parent
        action = QAction(spec.text, parent)
        # fixed toolbar label, so "Undo Paint" in the menu does not resize the toolbar
        action.setIconText(spec.short or spec.text.replace("&", "").split(" ")[0].rstrip("…"))
        action.setObjectName(spec.id)
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.shortcuts:
            tip += f"  ({', '.join(spec.shortcuts)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        icon = _icon(parent, spec.icon, self._tool_icon)
        if icon is not None:
            action.setIcon(icon)
        action.setCheckable(spec.checkable)
        if spec.group:
            self._groups.setdefault(spec.group, QActionGroup(parent)).addAction(action)
        if handler is None:
            log.warning("action %s has no handler", spec.id)
            action.setEnabled(False)
        else:   # a checkable action's handler reads isChecked() itself
            action.triggered.connect(lambda _checked=False, h=handler: h())
        parent.addAction(action)   # shortcuts work even when the menu bar is hidden
        return action

    # -- what the table feeds --------------------------------------------------------------------
    def fill_toolbar(self, bar: QToolBar) -> None:
        """The rows marked ``toolbar``, in table order, a separator between menus."""
        last_menu = None
        for spec in self.specs:
            if spec.toolbar and spec.id in self._actions:
                if last_menu is not None and spec.menu != last_menu:
                    bar.addSeparator()
                last_menu = spec.menu
                bar.addAction(self._actions[spec.id])

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what it does) for every action with a shortcut, then the canvas keys."""
        return shortcut_rows(self.specs)


def shortcut_rows(specs: Iterable[ActionSpec] = ACTIONS) -> list[tuple[str, str]]:
    """(keys, what it does) for every row of ``specs`` with a shortcut, then the canvas keys."""
    rows = [(", ".join(s.shortcuts), s.text.replace("&", "").rstrip("…"))
            for s in specs if s.id != "-" and s.shortcuts]
    return rows + [(k, v) for k, v in CANVAS_KEYS]
