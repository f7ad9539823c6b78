"""segstudio.tools — pure canvas interaction logic (pointer events in image coordinates → one Edit).

No Qt, no torch. The canvas (``segstudio.ui.canvas``) drives these through the protocol in
:mod:`segstudio.tools.base`.
"""

from __future__ import annotations

from segstudio.tools.base import PointerEvent, Preview, Tool, ToolContext, pointer
from segstudio.tools.brush import BrushTool, EraserTool
from segstudio.tools.draw import CircleTool, LineStripTool, LineTool, PointTool, PolygonTool, RectangleTool
from segstudio.tools.edit import EditTool

__all__ = [
    "BrushTool", "CircleTool", "EditTool", "EraserTool", "LineStripTool", "LineTool", "PointTool", "PointerEvent",
    "PolygonTool",
    "Preview", "RectangleTool", "Tool", "ToolContext", "default_tools", "pointer",
]


def default_tools() -> list[Tool]:
    """One instance of every built-in tool, "edit" first."""
    return [EditTool(), PolygonTool(), RectangleTool(), CircleTool(), LineTool(), LineStripTool(), PointTool(),
            BrushTool(), EraserTool()]
