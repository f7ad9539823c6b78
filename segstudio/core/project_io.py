"""A project folder on disk ↔ :class:`~segstudio.core.model.Project`.

Opening scans the folder for images (recursively, naturally sorted, hidden folders skipped)
and for labelme JSON files that embed their image (``imageData``) with no image beside them.
Each image's annotation is its labelme sidecar (``a/b.jpg`` → ``a/b.json``), or the same
relative path under ``output_dir`` when one is given. A file that cannot be read gives its
entry an ``error`` message; the rest of the folder still opens, and a file that failed to
load is never overwritten.

Class list: read from ``labels.txt`` and ``.segstudio/classes.json`` when the project opens
(:mod:`segstudio.core.class_list`, which also writes them); labels found in the JSON files are
added as they load. ``meta_dir`` (the annotation folder) is re-exported here for its callers.

Pure: stdlib + numpy + core. No Qt, no torch.
"""

from __future__ import annotations

import json
import logging
import os
import re
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segstudio.core.class_list import CLASSES_FILE, meta_dir, read_class_files
from segstudio.core.io.atomic import is_temp_file, remove_stale_temp_files
from segstudio.core.io.images import ImageReadError, decode_image_data, image_size, is_image_file, load_image
from segstudio.core.io.labelme import (
    STATES,
    AnnotationError,
    label_problem,
    parse_json_file,
    read_labelme,
    read_labelme_for_image,
    write_labelme,
)
from segstudio.core.model import (
    BACKGROUND_LABEL,
    IGNORE_LABEL,
    LABELLED,
    PRE_ANNOTATED,
    UNLABELLED,
    ImageAnnotation,
    ImageEntry,
    Project,
)

log = logging.getLogger(__name__)

# problems found while opening a project, for the window's report (weak: dies with the project)
_OPEN_PROBLEMS: weakref.WeakKeyDictionary[Project, list[str]] = weakref.WeakKeyDictionary()


def natural_key(text: str) -> list:
    """Sort key where ``img2`` comes before ``img10``."""
    return [int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", text)]


# -- opening -----------------------------------------------------------------------------------
def _scan(root: Path, skip: Path | None) -> tuple[list[Path], list[Path]]:
    images, jsons = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if not n.startswith(".") and (skip is None or d / n != skip)]
        temps = [n for n in filenames if is_temp_file(n)]
        if temps:   # saves killed midway (power cut, kill -9) leave their temporary files
            remove_stale_temp_files(d, temps)
        for n in filenames:
            if n.startswith("."):
                continue
            if is_image_file(n):
                images.append(d / n)
            elif n.lower().endswith(".json"):
                jsons.append(d / n)
    return images, jsons


def _peek(path: Path) -> tuple[dict | None, str | None]:
    """Parses a JSON file cheaply: (dict, None) or (None, error message naming the file)."""
    try:
        data = parse_json_file(path)
    except AnnotationError as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        return None, f"{path}: top level must be a JSON object"
    return data, None


def _quick_state(data: dict, path: Path, project: Project) -> tuple[str, str | None]:
    """State and class names from a parsed labelme dict; full validation happens on load."""
    own = data.get("segstudio")
    state = own.get("state", LABELLED) if isinstance(own, dict) else LABELLED
    if state not in STATES:
        return LABELLED, f"{path}: segstudio.state must be one of {', '.join(STATES)}"
    shapes = data.get("shapes") or []
    if not isinstance(shapes, list):
        return state, f"{path}: 'shapes' must be a list"
    for s in shapes:
        # a label with a line break is refused when the file loads; it must not become a class
        if isinstance(s, dict) and isinstance(s.get("label"), str) and not label_problem(s["label"]):
            _discover(project, s["label"])
    return state, None


def _discover(project: Project, label: str) -> None:
    if label == BACKGROUND_LABEL:
        return
    if label == IGNORE_LABEL:
        project.has_ignore_class = True
    project.ensure_class(label)


def open_project(folder: str | Path, output_dir: str | Path | None = None) -> Project:
    """Scans ``folder`` and returns the project; bad files become ``entry.error``."""
    root = Path(os.path.normpath(Path(folder).absolute()))
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    out = Path(os.path.normpath(Path(output_dir).absolute())) if output_dir else None
    project = Project(root, out)
    remove_stale_temp_files(meta_dir(project) / CLASSES_FILE.parent)
    read_class_files(project)
    skip = out if out is not None and out != root else None
    images, jsons = _scan(root, skip)
    if out is not None and out != root and out.is_dir():
        jsons += _scan(out, None)[1]
    ann_root = out or root
    entries: dict[Path, ImageEntry] = {}
    problems: list[str] = []
    for img in sorted(images, key=lambda p: natural_key(p.as_posix())):
        ann_path = ann_root / img.relative_to(root).with_suffix(".json")
        if ann_path in entries:   # a.jpg and a.png would share a.json: one of them is left out
            problems.append(f"{img}: not listed, because {entries[ann_path].image_path.name} uses the "
                            f"same annotation file {ann_path.name}; rename one of them")
            continue
        entries[ann_path] = ImageEntry(img, ann_path)
    image_set = set(images)
    for j in sorted(jsons, key=lambda p: natural_key(p.as_posix())):
        entry = entries.get(j)
        data, error = _peek(j)
        if entry is None:
            # a JSON that is not an image's sidecar: keep it if it is a labelme file
            if data is None or "shapes" not in data:
                if error:   # maybe no annotation at all (a config file), maybe a broken one
                    problems.append(f"not listed: {error}")
                continue
            entry = _orphan_entry(j, data, entries, image_set, root=root, ann_root=ann_root)
            if entry is None or entry.error:
                continue
        if error:
            entry.error = error
            continue
        assert data is not None
        entry.state, entry.error = _quick_state(data, j, project)
        shapes = data.get("shapes")
        entry.shape_count = len(shapes) if isinstance(shapes, list) else 0
    project.entries = sorted(entries.values(),
                             key=lambda e: natural_key(_display_path(project, e).as_posix()))
    _OPEN_PROBLEMS[project] = problems
    for msg in problems:
        log.warning("%s", msg)
    project.images_changed.emit()
    return project


def open_problems(project: Project) -> list[str]:
    """Messages about files in the folder that are not entries of ``project`` (a JSON that
    does not parse and is nobody's sidecar, an image whose sidecar name another image has)."""
    return list(_OPEN_PROBLEMS.get(project, ()))


def _orphan_entry(j: Path, data: dict, entries: dict[Path, ImageEntry], image_set: set[Path],
                  *, root: Path, ann_root: Path) -> ImageEntry | None:
    """The entry of a labelme file that is no image's sidecar: its image lives elsewhere
    (``segment SRC OUT`` writes ``OUT/x.json`` → ``../SRC/x.png``), or only inside it
    (``imageData``, as in labelme's tutorial file whose imagePath names the JSON itself)."""
    ip = data.get("imagePath")
    img = image_file_for(j, ip) if isinstance(ip, str) else None
    if img is not None and img in image_set:
        other = ann_root / img.relative_to(root).with_suffix(".json")
        if other in entries and not other.exists():   # the image's own sidecar is not written yet
            del entries[other]
            entry = entries[j] = ImageEntry(img, j)
            return entry
    elif img is not None and img.is_file():
        entry = entries[j] = ImageEntry(img, j)
        return entry
    if data.get("imageData"):
        entry = entries[j] = ImageEntry(img or j.with_suffix(".png"), j)
        return entry
    if img is not None and img in image_set:
        return None   # a second JSON of an image that has its own: not an entry of its own
    what = f"image {ip} not found" if img is not None else (
        f"imagePath {json.dumps(ip)[:60]} names no image" if ip else "no imagePath")
    entry = entries[j] = ImageEntry(img or j, j, error=f"{j}: {what} and the file has no imageData")
    return entry


def _display_path(project: Project, entry: ImageEntry) -> Path:
    assert project.root is not None
    for p in (entry.image_path, entry.annotation_path):
        for base in (project.root, project.output_dir):
            if base is not None:
                try:
                    return p.relative_to(base)
                except ValueError:
                    pass
    return entry.image_path


# -- annotations -------------------------------------------------------------------------------
def resolve_image_path(json_path: Path, image_path: str) -> Path:
    """The absolute, normalised path of a JSON's ``imagePath`` (Windows separators accepted)."""
    if os.sep == "/":
        image_path = image_path.replace("\\", "/")
    return Path(os.path.normpath(json_path.parent.absolute() / image_path))


def image_file_for(json_path: Path, image_path: str) -> Path | None:
    """The image a JSON's ``imagePath`` names, resolved relative to the JSON; None when it is
    empty or names no image (labelme's tutorial file names the JSON itself: its image is in
    ``imageData``). Whether the file exists is the caller's question."""
    if not image_path:
        return None
    path = resolve_image_path(json_path, image_path)
    if not is_image_file(path) or path == Path(os.path.normpath(json_path.absolute())):
        return None
    return path


def _relative_image_path(entry: ImageEntry) -> str:
    return Path(os.path.relpath(entry.image_path, entry.annotation_path.parent)).as_posix()


def load_annotation(project: Project, key: str, cache: bool = True) -> ImageAnnotation:
    """The annotation of entry ``key`` (cached); an empty one if it has no JSON yet.

    Raises :class:`AnnotationError` / :class:`ImageReadError` (and sets ``entry.error``) if
    the JSON is invalid, or there is no JSON and the image cannot be read.
    """
    if key in project.annotations:
        return project.annotations[key]
    entry = project.entry(key)
    path = entry.annotation_path
    try:
        if path.is_file():
            # the image's real size wins over the JSON's: a mask sized for a replaced image
            # would not match the pixels the canvas paints on
            ann = read_labelme_for_image(path, entry.image_path)
        else:
            w, h = image_size(entry.image_path)
            ann = ImageAnnotation(_relative_image_path(entry), w, h, state=UNLABELLED)
    except (AnnotationError, ImageReadError) as exc:
        project.set_error(key, str(exc))   # entry_changed: the Images dock shows it red
        raise
    project.set_error(key, None)
    for s in ann.shapes:
        _discover(project, s.label)
    if cache:
        project.annotations[key] = ann
        project.set_state(key, ann.state)
    return ann


def save_annotation(project: Project, key: str) -> bool:
    """Writes the annotation of ``key`` if it is loaded and dirty; True if a file was written.

    Saving marks an unlabelled image that has shapes labelled. A JSON that failed to load is never
    overwritten: that raises :class:`AnnotationError`.
    """
    ann = project.annotations.get(key)
    entry = project.entry(key)
    if ann is None or not ann.dirty:
        return False
    if entry.error is not None and not _json_loads(entry.annotation_path):
        # entry.error may be about the image (unreadable pixels) while its JSON loaded fine:
        # only a JSON that does not load is protected, or a class rename could never be saved
        raise AnnotationError(f"{entry.annotation_path}: not saved, because the file failed to load "
                              f"and would be overwritten ({entry.error})")
    if not ann.image_path or (entry.image_path.is_file()
                              and image_file_for(entry.annotation_path, ann.image_path) != entry.image_path):
        # the path as written is kept when it names the image (another tool's spelling, a path
        # into the source folder); only a missing or wrong one is set
        ann.image_path = _relative_image_path(entry)
    if ann.state == UNLABELLED and ann.shapes:
        # shapes added by a bare edit that set no state are work; an empty annotation that an
        # undo took back to "unlabelled" stays unlabelled (never an all-background "labelled")
        project.set_state(key, LABELLED)
    write_labelme(entry.annotation_path, ann)
    ann.set_dirty(False)
    return True


def _json_loads(path: Path) -> bool:
    """True when there is no file at ``path`` or it is a valid labelme file."""
    if not path.exists():
        return True
    try:
        read_labelme(path)
    except AnnotationError:
        return False
    return True


def load_all(project: Project) -> list[str]:
    """Loads every annotation; returns the error messages of those that failed."""
    errors = []
    for e in project.entries:
        try:
            load_annotation(project, e.key)
        except (AnnotationError, ImageReadError) as exc:
            errors.append(str(exc))
    return errors


def read_image_or_embedded(image_path: str | Path, annotation_path: str | Path) -> np.ndarray:
    """Raw pixels of an image file or, when the file is missing, of the ``imageData`` embedded in
    its labelme JSON. Reads files only (no project), so workers can call it."""
    image_path, annotation_path = Path(image_path), Path(annotation_path)
    if (image_path.is_file() or image_path.is_symlink()) and image_path != annotation_path:
        return load_image(image_path)   # a broken link says so, not "not found"
    image_data = None
    if annotation_path.is_file():
        data, _ = _peek(annotation_path)
        image_data = data.get("imageData") if data else None
    if isinstance(image_data, str) and image_data:
        return decode_image_data(image_data, f"{annotation_path}: imageData")
    if annotation_path.is_file():
        raise ImageReadError(f"{annotation_path}: image {image_path} not found and no usable imageData")
    raise ImageReadError(f"{image_path}: file not found")


def load_entry_image(project: Project, key: str) -> np.ndarray:
    """The raw pixels of entry ``key`` (see :func:`load_image`), from imageData if no file."""
    entry = project.entry(key)
    ann = project.annotations.get(key)
    if (not entry.image_path.is_file() or entry.image_path == entry.annotation_path) and (
            ann is not None and ann.image_data):
        return decode_image_data(ann.image_data, f"{entry.annotation_path}: imageData")
    return read_image_or_embedded(entry.image_path, entry.annotation_path)


def iter_labelled(project: Project, include_pre_annotated: bool = False
                  ) -> Iterator[tuple[ImageEntry, ImageAnnotation]]:
    """(entry, annotation) for each labelled image (loaded ones from the cache, others read
    without caching); entries that fail to load are logged and skipped."""
    wanted = {LABELLED, PRE_ANNOTATED} if include_pre_annotated else {LABELLED}
    for e in project.entries:
        if e.error is not None or e.state not in wanted:
            continue
        try:
            ann = load_annotation(project, e.key, cache=False)
        except (AnnotationError, ImageReadError) as exc:
            log.warning("skipping %s", exc)
            continue
        if ann.state in wanted:
            yield e, ann

