"""The label question for a new shape and the Edit menu's commands on the selected shapes (copy, paste, delete, change class, order,
show/hide, polygon ↔ mask) as handlers for the action table.

The edits themselves are built Qt-free in :mod:`segstudio.ui.shape_commands`; this module only
reads the canvas selection, asks the label dialog and pushes ONE Edit through the controller.

May import: PySide6, segstudio.core, segstudio.ui.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from segstudio.core.edits import bring_to_front, send_to_back
from segstudio.core.model import Shape
from segstudio.ui import shape_commands
from segstudio.ui.dialogs.label_dialog import LabelDialog

if TYPE_CHECKING:
    from segstudio.ui.canvas import CanvasView
    from segstudio.ui.controller import DocumentController

#: the Edit rows whose action needs a selection (enabled only while shapes are selected)
NEEDS_SELECTION = ("copy", "delete", "change_class", "front", "back", "toggle_visible", "to_mask", "to_polygons")


class EditCommands:
    def __init__(self, controller: DocumentController, canvas: CanvasView, parent: QWidget,
                 status: Callable[[str], None]) -> None:
        self.controller, self.canvas, self.parent, self.status = controller, canvas, parent, status

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "copy": self.copy_selected, "paste": self.paste, "delete": self.delete_selected,
            "change_class": self.change_class_of_selected,
            "front": lambda: self.on_selection(bring_to_front),
            "back": lambda: self.on_selection(send_to_back),
            "toggle_visible": lambda: self.on_selection(lambda k, _a, s: shape_commands.toggle_visible(k, s)),
            "to_mask": self.convert_to_mask, "to_polygons": self.convert_to_polygons,
        }

    def ask_label(self) -> tuple[str, int | None] | None:
        """The class of a new shape (the canvas asks when one is drawn)."""
        c = self.controller
        names = c.project.class_names()
        # prefill the last label used in this project, as labelme does; else the selected class
        last = next((n for n in c.prefs.recent_classes if n in names), None) or c.selected_class()
        answer = LabelDialog.ask(names, c.prefs.recent_classes,
                                 {k.name: k.color for k in c.project.classes}, last, parent=self.parent)
        if answer is not None:
            c.remember_class(answer[0])
        self.canvas.setFocus()
        return answer

    def selection(self) -> list[Shape]:
        return self.canvas.selected_shapes()

    def on_selection(self, build, hint: str = "Select shapes first") -> None:
        """Pushes ``build(key, annotation, selected shapes)`` unless it is None (then shows ``hint``)."""
        c = self.controller
        ann, key, shapes = c.current_annotation(), c.current_key, self.selection()
        edit = build(key, ann, shapes) if ann is not None and key and shapes else None
        if edit is None:
            self.status(hint)
        else:
            c.push(edit)

    def copy_selected(self) -> None:
        n = self.controller.copy_shapes(self.selection())
        self.status(f"Copied {n} shape(s)" if n else "Nothing selected to copy")

    def paste(self) -> None:
        pasted = self.controller.paste_shapes()
        if pasted:
            self.canvas.select_shapes(pasted)

    def delete_selected(self) -> None:
        if not self.canvas.delete_selected():
            self.status("Nothing selected to delete")

    def change_class_of_selected(self, shapes: list[Shape] | None = None) -> None:
        shapes = list(shapes) if shapes else self.selection()
        key, c = self.controller.current_key, self.controller
        if not shapes or key is None:
            return
        answer = LabelDialog.ask(c.project.class_names(), c.prefs.recent_classes,
                                 {k.name: k.color for k in c.project.classes}, shapes[0].label,
                                 parent=self.parent,
                                 title="Change the class" if len(shapes) == 1
                                 else f"Change the class of {len(shapes)} shapes")
        if answer is not None:
            c.remember_class(answer[0])
            edit = shape_commands.change_label(key, shapes, answer[0], answer[1])
            if edit is not None:
                c.push(edit)

    def convert_to_mask(self) -> None:
        self.on_selection(shape_commands.to_mask, "Select polygons, rectangles or circles to convert")

    def convert_to_polygons(self) -> None:
        p = self.controller.prefs
        self.on_selection(lambda k, a, s: shape_commands.to_polygons(k, a, s, p.polygon_tolerance,
                                                                     min_area=p.min_region_area),
                          "Select mask shapes to convert")
