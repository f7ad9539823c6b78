"""Work-arounds for defects of the installed Qt binding; applied once when ``segstudio.ui`` is imported.

PySide6 6.12's abi3 wheel returns ``None`` from every void-returning method without taking a
reference. On CPython 3.12+ ``None`` is immortal, so that is harmless; on 3.11 each such call
(``setZValue``, ``update``, ``resize`` …) drops one reference and after a few thousand calls the
process aborts with "Fatal Python error: none_dealloc: deallocating None". We give ``None`` an
enormous reference count — i.e. make it immortal, as 3.12 does — so those lost references never
reach zero. Nothing else observes None's reference count. pyproject.toml pins PySide6 < 6.12
(6.11.3 does not have the defect); the guard only acts when 6.12 is installed anyway.

May import: stdlib only (ctypes).
"""

from __future__ import annotations

import sys

_PIN = 1 << 60   # far below ssize_t's max, far above any number of calls a process makes


def pin_none() -> bool:
    """Makes ``None`` effectively immortal on CPython < 3.12; returns True if it did something."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    import PySide6

    # pyproject pins PySide6 < 6.12; this only guards environments that installed 6.12 anyway
    if tuple(PySide6.__version_info__[:2]) != (6, 12):
        return False
    import ctypes

    refcnt = ctypes.c_ssize_t.from_address(id(None))   # ob_refcnt is PyObject's first field
    if refcnt.value < _PIN:
        refcnt.value += _PIN
    return True
