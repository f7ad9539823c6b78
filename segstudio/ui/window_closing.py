"""What happens between "the user closes the window" (after the unsaved-work question) and the
window going away (or another folder replacing this one): features stop their work, background jobs get a moment to end cleanly.

May import: PySide6, segstudio.ui.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtWidgets import QMessageBox, QWidget

from segstudio.ui.controller import DocumentController
from segstudio.ui.workers import active_jobs, cancel_all

log = logging.getLogger(__name__)


def ask_to_save(parent: QWidget, controller: DocumentController) -> bool:
    """Asks about unsaved work; False when the user cancels (or saving fails)."""
    if not controller.has_unsaved():
        return True
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, "Unsaved changes", "Save your changes before closing this project?",
                                  buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    if answer == buttons.Save:
        return controller.save_all()
    return answer == buttons.Discard


def stop_background_work(features: dict[str, object], grace_s: float = 3.0) -> None:
    for name, feature in features.items():   # e.g. training stops its worker cleanly first
        shutdown = getattr(feature, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:   # one broken feature must not keep the window open
                log.exception("feature %s failed to shut down", name)
    # a stopped training saves its best checkpoint on the way out: give jobs that were asked
    # to stop a moment to end by themselves before they are cut off at their next yield
    deadline = time.monotonic() + grace_s
    for job in active_jobs():
        job.wait(max(0, int((deadline - time.monotonic()) * 1000)))
    cancel_all(wait_ms=int(grace_s * 1000))
