"""segstudio.ui.canvas — the image canvas: CanvasView (QGraphicsView), its scene and items.

Public API (stable; used by the main window)::

    canvas = CanvasView(parent=None)         # all built-in tools registered, "edit" active
    canvas.set_document(project, key, annotation, image_rgb8, push, ask_label, current_label)
        # push(edit): apply + record (controller.push); ask_label() -> (label, group_id) | None;
        # current_label() -> str | None (the class chosen in the label dock)
    canvas.clear_document()                  # disconnects every model signal
    canvas.register_tool(tool)               # a segstudio.tools.base.Tool; replaces by name
    canvas.set_tool(name); canvas.tool_name; canvas.tool(name=None) -> Tool; canvas.tools()
        # built-in names: edit, polygon, rectangle, circle, line, linestrip, point, brush, eraser
    canvas.selected_shapes() -> list[Shape]; canvas.select_shapes(shapes)
    canvas.delete_selected() -> bool         # one DeleteShapes edit (for an Edit → Delete action)
    canvas.zoom_fit(); canvas.zoom_100(); canvas.zoom_by(factor, anchor=None); canvas.zoom()
    canvas.item_count()                      # shape items in the scene
    canvas.set_loading(text | None); canvas.loading   # "loading…" overlay, tool input ignored
    signals: cursor_moved(float x, float y, str pixel_value), selection_changed(list),
             tool_changed(str), zoom_changed(float)

Views observe the model: items follow ImageAnnotation signals (shapes_inserted / removed /
changed, mask_changed → only that bbox, order_changed → z) and Project.classes_changed
(colour, class visibility); Shape.visible and LabelClass.visible hide items. Tools only push
edits. Painting: the shape items sit in a private scene and reach the screen through one
tile-cached layer (image + shapes rendered at the view scale; see layer.py), so a repaint or a
pan costs pixel copies, not a pass over thousands of items; every model event re-renders just
the stale region, and a zoom shows the old tiles scaled until it settles (60 ms). Keys the canvas keeps for its tools while focused: Escape, Return, Backspace, Delete,
"[" / "]" (brush size). Navigation: Ctrl+wheel zooms around the cursor, wheel scrolls,
middle-drag or Space+drag pans.

May import: PySide6, numpy, segstudio.core, segstudio.tools.
"""

from __future__ import annotations

from segstudio.ui.canvas.view import CanvasView

__all__ = ["CanvasView"]
