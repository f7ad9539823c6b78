"""Command-line front door.

``segstudio`` with no argument, ``gui`` or a path opens the GUI; subcommands (``check``,
``segment``, ``predict``, ``train``, ``export``, ``import``, ``evaluate``, ``rank``, ``sam``) run headless and
call the same functions as the GUI. A first word that is neither a command nor a path (an
existing one, or one that looks like a path: a separator or a file suffix) is a usage error
(exit 2) rather than a window that fails to open on a headless machine. Options several
commands share are declared once, in :mod:`segstudio.commands.common_args`. Each subcommand
lives in ``segstudio.commands.<name>`` with ``add_parser(subparsers)`` and ``run(args) -> int``;
modules are imported lazily so ``--help`` and the GUI start fast. The GUI is only imported when launched.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import os
import sys
from pathlib import Path

#: subcommand name → module under segstudio.commands
COMMANDS = {
    "check": "check",
    "segment": "segment",
    "predict": "predict",
    "train": "train",
    "export": "export",
    "import": "import_",
    "evaluate": "evaluate",
    "rank": "rank",
    "sam": "sam",
}


def _available_commands() -> dict[str, object]:
    mods = {}
    for name, mod in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"segstudio.commands.{mod}")
        except ModuleNotFoundError as exc:   # a command not built yet in this checkout
            if exc.name != f"segstudio.commands.{mod}":
                raise
    return mods


def build_parser(mods: dict[str, object]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segstudio",
        description="Label images for segmentation. With no command: open the GUI "
                    "(on PATH, or on the sample project).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in mods.values():
        mod.add_parser(sub)  # type: ignore[attr-defined]
    return parser


def looks_like_path(word: str) -> bool:
    """A first word meant as something to open: it exists, or has a separator or a suffix."""
    seps = {"/", os.sep, os.altsep or "/"}
    return (any(s in word for s in seps) or word.startswith(("~", "."))
            or bool(Path(word).suffix) or os.path.exists(word))


def _unknown_command(word: str) -> int:
    names = [*COMMANDS, "gui"]
    print(f"usage: segstudio [-h] [-v] COMMAND ...  |  segstudio [gui] [PATH]\n"
          f"segstudio: error: unknown command '{word}'; commands: {', '.join(names)}. "
          f"To open a folder or image in the window, give its path.", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()   # a frozen (PyInstaller) build starts worker processes via this
    argv = list(sys.argv[1:] if argv is None else argv)
    first = argv[0] if argv else None
    if first is not None and first not in COMMANDS and first != "gui" and not first.startswith("-") \
            and not looks_like_path(first):
        return _unknown_command(first)
    if first is None or first == "gui" or (first not in COMMANDS and not first.startswith("-")):
        if first == "gui":
            argv = argv[1:]
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        from segstudio.ui.app import run_gui

        return run_gui(argv)
    mods = _available_commands()
    parser = build_parser(mods)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(mods[args.command].run(args) or 0)  # type: ignore[attr-defined]
    except BrokenPipeError:   # output piped into e.g. `head`: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
