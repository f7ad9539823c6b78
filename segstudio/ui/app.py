"""The GUI entry point: ``run_gui(argv) -> exit code``.

Opens, in this order: the folder given on the command line, the last project, or — the very
first time — the bundled sample project, copied to the user data dir so the user's edits
never write into the installed package. Applies ``resources/style.qss`` when present.

May import: PySide6, segstudio.core, segstudio.ui, segstudio.resources.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from segstudio import __version__
from segstudio.core.settings import data_dir, load_preferences
from segstudio.resources import resource_path, sample_project_dir

log = logging.getLogger(__name__)


def user_sample_project() -> Path:
    """The user's copy of the sample project (created on first use, then left alone)."""
    dest = data_dir() / "sample_project"
    if not dest.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(sample_project_dir(), tmp)
        tmp.replace(dest)   # a half-finished copy never looks like a project
        log.info("copied the sample project to %s", dest)
    return dest


def choose_folder(arg: str | None, last_project: str) -> Path | None:
    """The folder to open at start-up (see the module docstring)."""
    if arg:
        return Path(arg)
    if last_project and Path(last_project).is_dir():
        return Path(last_project)
    try:
        return user_sample_project()
    except (OSError, FileNotFoundError) as exc:
        log.warning("no sample project available: %s", exc)
        return None


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    try:
        qss = resource_path("style.qss")
    except FileNotFoundError:
        return
    if qss.is_file():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))


def create_app(argv: list[str]) -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([sys.argv[0] if sys.argv else "segstudio", *argv])
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("segstudio")
    return app


def run_gui(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="segstudio", description="Open the segstudio window.")
    parser.add_argument("folder", nargs="?", help="folder of images (default: last project or the sample)")
    parser.add_argument("--output-dir", help="write the labelme JSONs here instead of beside the images")
    args, qt_args = parser.parse_known_args(argv)
    app = create_app(qt_args)
    apply_style(app)

    from segstudio.ui.main_window import MainWindow  # after QApplication: widgets need it

    prefs = load_preferences()
    if args.output_dir:
        prefs.output_dir = str(Path(args.output_dir).resolve())
    window = MainWindow(prefs)
    window.show()
    folder = choose_folder(args.folder, prefs.last_project)
    if folder is not None:
        if not folder.is_dir():
            window.show_error("Cannot open folder", f"{folder}: not a folder")
        else:
            window.open_folder(folder)
    code = int(app.exec())
    gc.unfreeze()   # see responsiveness.freeze_startup_heap: let extension modules see their objects go
    return code
