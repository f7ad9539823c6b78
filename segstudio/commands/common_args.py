"""Options that several commands share, declared once so a name means one thing everywhere.

* ``--format``: one canonical name per output kind. Per-image outputs (``segment``,
  ``predict``) are ``labelme`` (JSON sidecars) or ``masks`` (one class-index PNG per image) —
  the same names ``export``/``import`` use for those datasets; ``json`` and ``png`` are accepted
  as aliases (older spellings), and stored as the canonical name.
* ``--labels FILE``: a class list in labelme's ``labels.txt`` convention (``__ignore__``,
  ``_background_``, then the classes, in id order). ``--label NAME`` (segment) is one class.
* ``--device``, ``--quiet/-q``: same spelling and meaning in every command that has them.
* A checkpoint to *write* (``train --out``, ``predict --save-checkpoint``) must end in
  ``.safetensors``: segstudio checkpoints are safetensors files, and a name like ``model.ckpt``
  would promise a PyTorch/Lightning pickle that other tools then fail to read.

Only argparse helpers; may import segstudio.core and the stdlib.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

#: per-image output kinds of segment / predict (canonical name → what is written)
PER_IMAGE_FORMATS: dict[str, str] = {
    "labelme": "labelme JSON per image, shapes marked pre-annotated",
    "masks": "class-index PNG per image (0 = background, then the classes)",
}
#: older / intuitive spellings → canonical format name (accepted by every --format)
FORMAT_ALIASES: dict[str, str] = {"json": "labelme", "png": "masks"}

CHECKPOINT_SUFFIX = ".safetensors"


def canonical_format(text: str) -> str:
    name = text.strip().lower()
    return FORMAT_ALIASES.get(name, name)


def add_format(p: argparse.ArgumentParser, choices: Iterable[str], default: str | None = None,
               help_text: str = "") -> None:
    """``--format/-f`` with canonical ``choices``; aliases (png, json) map onto them."""
    names = tuple(choices)
    aliases = ", ".join(f"{a} = {c}" for a, c in FORMAT_ALIASES.items() if c in names)
    extra = f" ({aliases})" if aliases else ""
    dflt = f"; default {default}" if default else ""
    p.add_argument("--format", "-f", type=canonical_format, choices=names, default=default,
                   required=default is None, help=f"{help_text}{extra}{dflt}".lstrip("; "))


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N, mps or cpu")


def add_quiet(p: argparse.ArgumentParser, help_text: str = "no progress bar") -> None:
    p.add_argument("--quiet", "-q", action="store_true", help=help_text)


def labels_file(text: str) -> list[str]:
    """argparse type: the classes of a labelme ``labels.txt``, in order, without the
    ``__ignore__``/``_background_`` lines (their ids are fixed: 255 and 0)."""
    from segstudio.core.class_list import read_class_list  # the reader a project's labels.txt gets
    from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL

    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    try:
        lines = read_class_list(path)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    names = list(dict.fromkeys(n.strip() for n in lines))   # a repeated name would shift the ids after it
    names = [n for n in names if n and n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    if not names:
        raise argparse.ArgumentTypeError(f"{path}: lists no class (only __ignore__/_background_ or empty)")
    return names


def add_labels_file(p: argparse._ActionsContainer, help_text: str) -> None:
    p.add_argument("--labels", type=labels_file, metavar="LABELS_TXT", help=help_text)


def checkpoint_out(text: str) -> str:
    """argparse type for a checkpoint file to write: the name is used exactly as given, so it
    must end in .safetensors (rejected otherwise, with the name to use instead)."""
    path = Path(text)
    if path.suffix == CHECKPOINT_SUFFIX:
        return text
    if text.endswith(("/", "\\")) or path.is_dir():
        hint = str(path / f"model{CHECKPOINT_SUFFIX}")
    elif path.suffix.lower() == CHECKPOINT_SUFFIX:
        hint = str(path.with_suffix(CHECKPOINT_SUFFIX))
    else:
        hint = str(path.with_suffix(CHECKPOINT_SUFFIX) if path.suffix else path.with_name(path.name + CHECKPOINT_SUFFIX))
    raise argparse.ArgumentTypeError(
        f"{text!r}: a segstudio checkpoint is a safetensors file and is written under exactly "
        f"the name given, so the name must end in {CHECKPOINT_SUFFIX} (e.g. {hint})")
