"""A project's class list on disk: ``labels.txt`` in labelme's convention (``__ignore__``,
``_background_``, then the classes; ``__ignore__``/``_background_`` are not classes,
``__ignore__`` sets ``project.has_ignore_class``) plus colours and visibility in
``.segstudio/classes.json``, both in the annotation folder (:func:`meta_dir`: ``output_dir`` or
the project root). Read when a project opens (:func:`read_class_files`), written by
:func:`save_labels`.

Pure: stdlib + core. No Qt, no torch.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from segstudio.core.io.atomic import atomic_write_text
from segstudio.core.io.labelme import label_problem
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, Project

log = logging.getLogger(__name__)

LABELS_FILE = "labels.txt"
CLASSES_FILE = Path(".segstudio") / "classes.json"


def meta_dir(project: Project) -> Path:
    """The folder holding labels.txt and .segstudio/ (the annotation folder)."""
    assert project.root is not None
    return project.output_dir or project.root



def read_class_list(path: Path) -> list[str]:
    """The lines of a labels.txt. UTF-8 is expected; a file in another encoding (Latin-1 from
    an old Windows tool) is read as Windows-1252, so ``café`` stays ``café`` instead of the
    whole list being dropped and rewritten. Only ``\\n`` ends a line, as in labelme."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        log.warning("%s: not UTF-8; read as Windows-1252 (Latin-1), written back as UTF-8", path)
    return [line.rstrip("\r") for line in text.split("\n")]


def read_class_files(project: Project) -> None:
    base = meta_dir(project)
    candidates = [base / LABELS_FILE] + ([project.root / LABELS_FILE] if project.root != base else [])
    for labels_path in candidates:
        if labels_path.is_file():
            try:
                lines = read_class_list(labels_path)
            except OSError as exc:
                log.warning("%s: cannot read class list (%s)", labels_path, exc.strerror or exc)
                break
            for line in lines:
                name = line.strip()
                if not name or name == BACKGROUND_LABEL:
                    continue
                problem = label_problem(name)
                if problem is not None:
                    log.warning("%s: skipping a class: %s", labels_path, problem)
                    continue
                if name == IGNORE_LABEL:
                    project.has_ignore_class = True
                    continue
                project.ensure_class(name)
            break
    colors_path = base / CLASSES_FILE
    if colors_path.is_file():
        try:
            data = json.loads(colors_path.read_text(encoding="utf-8"))
            for item in data.get("classes", []):
                cls = project.ensure_class(str(item["name"]))
                color = item.get("color")
                # a colour the canvas cannot paint (too few values, out of range) keeps the default
                if (isinstance(color, list) and len(color) >= 3
                        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                                for c in color[:3])):
                    cls.color = tuple(color[:3])  # type: ignore[assignment]
                elif color is not None:
                    log.warning("%s: class %r has an invalid colour %r; using the default",
                                colors_path, cls.name, color)
                visible = item.get("visible", True)
                cls.visible = visible if isinstance(visible, bool) else True
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: ignoring unreadable class colours (%s)", colors_path, exc)


def save_labels(project: Project) -> Path:
    """Writes labels.txt (labelme convention) and .segstudio/classes.json; returns labels.txt."""
    base = meta_dir(project)
    names = [c.name for c in project.classes if c.name not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    labels_path = base / LABELS_FILE
    for name in names:
        problem = label_problem(name)
        if problem is not None:
            raise ValueError(f"{labels_path}: not saved: {problem}")
    if labels_path.exists():
        try:   # a list that cannot be read was not merged into the classes: keep it
            read_class_list(labels_path)
        except OSError as exc:
            raise OSError(exc.errno, f"not saved, because the class list there cannot be read "
                                     f"({exc.strerror or exc})", str(labels_path)) from exc
    atomic_write_text(labels_path, "\n".join([IGNORE_LABEL, BACKGROUND_LABEL, *names]) + "\n")
    colors = {"classes": [{"name": c.name, "color": [int(v) for v in c.color], "visible": bool(c.visible)}
                          for c in project.classes]}
    atomic_write_text(base / CLASSES_FILE, json.dumps(colors, indent=2, ensure_ascii=False) + "\n")
    return labels_path

