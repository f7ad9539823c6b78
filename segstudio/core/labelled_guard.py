"""Which images an automatic batch may change: a person's labels are never touched unless asked.

One rule for every automatic path — the model and classical batches (GUI and ``segstudio
predict`` / ``segment``) and import into an existing project: an image whose annotation a
person labelled (state *labelled*, which a labelme file without segstudio's key also counts as)
is skipped, unless the caller explicitly includes labelled images; even then it stays
*labelled* (:func:`state_after_automatic`), so training keeps counting it as a person's work.

Pure: stdlib + the model. No Qt, no torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from segstudio.core.model import LABELLED, PRE_ANNOTATED, ImageEntry

SKIPPED_NOTE = "labelled by a person"


def state_after_automatic(old_state: str) -> str:
    """The state of an image after an automatic result was applied to it: a person's
    *labelled* image stays labelled; anything else becomes *pre-annotated*."""
    return LABELLED if old_state == LABELLED else PRE_ANNOTATED


def file_is_labelled(path: str | Path) -> bool:
    """True when ``path`` is a readable labelme file a person labelled (``segstudio.state``
    "labelled", or no segstudio key: a labelme file from elsewhere is someone's work).

    A missing file is False. An unreadable one is False too: the writers refuse to overwrite
    it and report it by name, which is more useful than a silent skip."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        data = json.loads(p.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or "shapes" not in data:
        return False   # not a labelme file: the writers' "exists already" rules apply
    own = data.get("segstudio")
    state = own.get("state", LABELLED) if isinstance(own, dict) else LABELLED
    return state == LABELLED


def split_entries(entries: Iterable[ImageEntry], only_unlabelled: bool = False
                  ) -> tuple[list[ImageEntry], list[ImageEntry]]:
    """(entries a batch may change, entries a person labelled) among the readable ``entries``.

    ``only_unlabelled`` keeps only images without any annotation in the first list."""
    free: list[ImageEntry] = []
    labelled: list[ImageEntry] = []
    for e in entries:
        if e.error is not None:
            continue
        if e.state == LABELLED:
            labelled.append(e)
        elif not only_unlabelled or e.state not in (LABELLED, PRE_ANNOTATED):
            free.append(e)
    return free, labelled


def skipped_message(n: int) -> str:
    """The phrase reports use for images left alone (e.g. "3 skipped (labelled by a person)")."""
    return f"{n} skipped ({SKIPPED_NOTE})"
