"""The one question asked before an automatic batch could change images a person labelled.

Model ▸ Auto-segment all images and the Auto-segment panel's Batch skip labelled images unless
the person includes them here, knowing how many would change (see
:mod:`segstudio.core.labelled_guard`). Skipping is the default button.

May import: PySide6, segstudio.core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from PySide6.QtWidgets import QMessageBox, QWidget

from segstudio.core.labelled_guard import split_entries

TITLE = "Images labelled by a person"


def question_text(n_labelled: int, n_other: int, what: str, merge: bool = True) -> str:
    """What the box says: how many labelled images would change and how."""
    change = ("its shapes would be added to the person's shapes" if merge
              else "its shapes would replace the person's shapes of the same classes")
    return (f"{n_labelled} of the {n_labelled + n_other} images were labelled by a person.\n\n"
            f"Skip them (recommended): {what} changes only the {n_other} other image(s).\n"
            f"Include them: {n_labelled} labelled image(s) would change — {change}; "
            f"they stay 'labelled'. The whole batch is one undo step.")


def ask_include_labelled(parent: QWidget | None, n_labelled: int, n_other: int, what: str,
                         *, merge: bool = True) -> bool | None:
    """True: include the labelled images; False: skip them; None: cancel the batch."""
    box = QMessageBox(QMessageBox.Icon.Question, TITLE, question_text(n_labelled, n_other, what, merge),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("IncludeLabelledQuestion")
    skip = box.addButton("Skip labelled images", QMessageBox.ButtonRole.AcceptRole)
    include = box.addButton(f"Include {n_labelled} labelled image(s)", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(skip)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    if clicked is include:
        return True
    if clicked is skip:
        return False
    return None


class BatchChoice(NamedTuple):
    entries: list[Any]      # what the batch runs on, in project order
    include: bool           # the person included their labelled images
    skipped: int            # labelled images left out
    labelled: int           # labelled images in scope


def choose_batch_entries(parent: QWidget | None, all_entries: Sequence[Any], only_unlabelled: bool, what: str,
                         *, merge: bool = True) -> BatchChoice | None:
    """The entries of an automatic batch, asking first when labelled images are in scope
    (:func:`ask_include_labelled`). None: the person cancelled."""
    entries, labelled = split_entries(all_entries, only_unlabelled)
    include = False
    if labelled and not only_unlabelled:
        answer = ask_include_labelled(parent, len(labelled), len(entries), what, merge=merge)
        if answer is None:
            return None
        include = answer
    if include:
        chosen = {e.key for e in entries + labelled}
        entries = [e for e in all_entries if e.key in chosen]
    return BatchChoice(entries, include, 0 if include or only_unlabelled else len(labelled), len(labelled))
