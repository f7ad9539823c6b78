"""The columns of the Images dock: one :class:`ImageColumn` row per column, nothing else.

A column is declared once — header, displayed value, sort key, tooltip, colours — from the
:class:`~segstudio.core.model.ImageEntry` it shows; the table model
(:mod:`segstudio.ui.docks.image_table`) and the dock ask this table and know no column by name.
Per-image data belongs on the entry and is changed with ``Project.update_entry``, which
repaints that one row.

Colours are RGB tuples so the declarations need no Qt. May import: segstudio.core.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED, ImageEntry

RGB = tuple[int, int, int]
ERROR = "error"
STATE_COLORS: dict[str, RGB] = {UNLABELLED: (150, 150, 150), LABELLED: (60, 170, 80),
                                PRE_ANNOTATED: (235, 150, 30), ERROR: (210, 50, 50)}
STATE_TIPS = {UNLABELLED: "not labelled yet", LABELLED: "labelled",
              PRE_ANNOTATED: "pre-annotated (check it, then accept)", ERROR: "cannot be read"}
#: ascending sort by state: what needs attention first
STATE_ORDER = {ERROR: 0, UNLABELLED: 1, PRE_ANNOTATED: 2, LABELLED: 3}


def entry_state(entry: ImageEntry) -> str:
    """The state the dock shows: "error" for a file that cannot be read."""
    return ERROR if entry.error else entry.state


def entry_tooltip(entry: ImageEntry) -> str:
    """The row's tooltip: the image's path, its state, and the error naming the file."""
    state = entry_state(entry)
    return f"{entry.image_path}\n{STATE_TIPS[state]}" + (f"\n{entry.error}" if entry.error else "")


def display_name(entry: ImageEntry, root: Path | None) -> str:
    """The image's path relative to the project folder (its file name if outside it)."""
    path = Path(entry.image_path)
    if root is None:
        return path.name
    text, prefix = str(path), os.path.join(str(root), "")
    if text.startswith(prefix):   # 20× faster than relative_to: 10,000 names on every open
        return text[len(prefix):]
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


@dataclass(frozen=True)
class ImageColumn:
    """One column. ``value(entry, name)`` is the displayed value (``name``: the entry's name in
    the dock, computed once); ``sort_key`` defaults to ``value`` (None sorts last); ``tooltip``
    defaults to the row's; ``color`` is the text colour and ``dot`` a coloured dot before the
    text, both None for the default."""

    header: str
    value: Callable[[ImageEntry, str], Any]
    sort_key: Callable[[ImageEntry, str], Any] | None = None
    tooltip: Callable[[ImageEntry], str] | None = None
    color: Callable[[ImageEntry], RGB | None] | None = None
    dot: Callable[[ImageEntry], RGB | None] | None = None
    width: int = 0              # initial width in pixels; 0 = takes the free space
    numeric: bool = False       # right-aligned
    help: str = ""              # the header's tooltip


COLUMNS: tuple[ImageColumn, ...] = (
    ImageColumn("Name", lambda e, name: name, sort_key=lambda e, name: name.lower(),
                color=lambda e: STATE_COLORS[ERROR] if e.error else None,
                dot=lambda e: STATE_COLORS[entry_state(e)],
                help="The image's path in the project folder"),
    ImageColumn("State", lambda e, _: entry_state(e), sort_key=lambda e, _: STATE_ORDER[entry_state(e)],
                color=lambda e: STATE_COLORS[entry_state(e)], width=84,
                help="unlabelled, pre-annotated (check it, then accept), labelled, or error"),
    ImageColumn("Shapes", lambda e, _: None if e.error else e.shape_count,
                sort_key=lambda e, _: -1 if e.error else e.shape_count, width=50, numeric=True,
                help="Number of shapes in the image's annotation"),
)
