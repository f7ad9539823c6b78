"""Where docks go: the Images and Classes docks on the left, the shape list and the undo history
tabbed on the right, feature panels in the right tab group (the shape list stays in front; a
panel scrolls inside its dock), and a View-menu entry for each.

May import: PySide6.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QScrollArea, QWidget

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "top": Qt.DockWidgetArea.TopDockWidgetArea}


def place_docks(window: QMainWindow, view_menu: QMenu, left: list[QDockWidget], right: list[QDockWidget]) -> None:
    for dock in left:
        window.addDockWidget(AREAS["left"], dock)
    for dock in right:
        window.addDockWidget(AREAS["right"], dock)
    for dock in right[1:]:
        window.tabifyDockWidget(right[0], dock)
    if right:
        right[0].raise_()
    for dock in left + right:
        view_menu.addAction(dock.toggleViewAction())


def add_feature_dock(window: QMainWindow, view_menu: QMenu, widget: QWidget, title: str, *, area: str,
                     tab_with: QDockWidget) -> QDockWidget:
    dock = widget if isinstance(widget, QDockWidget) else QDockWidget(title, window)
    if dock is not widget:
        if not isinstance(widget, QScrollArea):
            # a tall panel scrolls inside its dock: its minimum height (the Auto-segment form is
            # ~580 px) would otherwise become the window's, pushing the status bar off a
            # 1000-px screen (seen under Xvfb after the first-hour script)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(widget)
            widget = scroll
        dock.setWidget(widget)
    dock.setWindowTitle(title)
    if not dock.objectName():
        dock.setObjectName(f"{title.replace(' ', '')}Dock")
    window.addDockWidget(AREAS.get(area, AREAS["right"]), dock)
    if area == "right":   # feature panels share the tab group of the shape list, which stays in front
        window.tabifyDockWidget(tab_with, dock)
        tab_with.raise_()
    view_menu.addAction(dock.toggleViewAction())
    return dock
