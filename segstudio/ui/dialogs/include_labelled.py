"""The one question asked before an automatic batch could change images a person labelled.

Model ▸ Auto-segment all images and the Auto-segment panel's Batch skip labelled images unless
the person includes them here, knowing how many would change (see
:mod:`segstudio.core.labelled_guard`). Skipping is the default button.

May import: PySide6.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

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
