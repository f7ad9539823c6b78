"""segstudio.ui — the only package that imports PySide6."""

from segstudio.ui.qtcompat import pin_none

pin_none()   # PySide6 6.12 + CPython 3.11 loses a reference to None per void call: see qtcompat
