"""``segstudio check PATH``: validate labelme annotation files (a file or a folder, recursively).

Prints one line per problem, ``<file>: <what is wrong>``, then ``checked N files, M problems``
(a file that cannot be read at all is a problem of its own, never a traceback);
exit status 1 if anything is wrong, 0 if every file is valid. Besides the JSON itself it
checks that the image exists (or ``imageData`` is embedded) and that its size matches
``imageHeight``/``imageWidth``. Uses core only.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from segstudio.core.io.images import ImageReadError, decode_image_data, image_size
from segstudio.core.io.labelme import AnnotationError, parse_json_file, read_labelme
from segstudio.core.project_io import image_file_for


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check", help="validate labelme JSON annotation files",
        description="Validate every labelme JSON under PATH (a file or a folder, searched "
                    "recursively). Prints one line per problem; exit status 1 if any.")
    p.add_argument("path", type=Path, help="a labelme .json file or a folder")
    p.set_defaults(command="check")
    return p


def find_annotation_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        out += [Path(dirpath) / n for n in sorted(filenames)
                if n.lower().endswith(".json") and not n.startswith(".")]
    return out


def _looks_like_labelme(path: Path) -> bool:
    """False for JSON files that are clearly something else (COCO files, configs)."""
    try:
        data = parse_json_file(path)
    except AnnotationError:
        return True   # unreadable: report it through read_labelme
    return not isinstance(data, dict) or "shapes" in data or "imagePath" in data


def check_file(path: Path) -> list[str]:
    """The problems of one annotation file (empty if it is valid).

    The image is what ``imagePath`` names, relative to the JSON (``segment SRC OUT`` writes
    ``../SRC/x.png``); when that is missing or names no image (labelme's tutorial file names
    the JSON itself), the embedded ``imageData`` is the image, as in labelme."""
    try:
        ann = read_labelme(path)
    except AnnotationError as exc:
        return [str(exc)]
    problems = []
    size = None
    image = image_file_for(path, ann.image_path)
    if image is not None and image.is_file():
        try:
            size = image_size(image)
        except ImageReadError as exc:
            problems.append(f"{path}: image cannot be read ({exc})")
    elif ann.image_data:
        try:
            arr = decode_image_data(ann.image_data, f"{path}: imageData")
            size = (int(arr.shape[1]), int(arr.shape[0]))
        except ImageReadError as exc:
            problems.append(str(exc))
    elif not ann.image_path:
        problems.append(f"{path}: no imagePath and no imageData")
    elif image is None:
        problems.append(f"{path}: imagePath {ann.image_path!r} names no image and there is no imageData")
    else:
        problems.append(f"{path}: image {ann.image_path} not found and there is no imageData")
    # a 3.x file without imageHeight/imageWidth takes the size from its image: nothing to compare
    if size is not None and ann.width > 0 and ann.height > 0 and size != (ann.width, ann.height):
        problems.append(f"{path}: imageWidth x imageHeight is {ann.width}x{ann.height} "
                        f"but the image is {size[0]}x{size[1]}")
    return problems


def _print(line: str) -> None:
    # a file name that is not UTF-8 reaches Python as lone surrogates: show its bytes escaped
    # rather than dying on the first such name
    try:
        print(line)
    except UnicodeEncodeError:
        print(line.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.exists():
        print(f"{path}: no such file or folder")
        return 1
    files = [f for f in find_annotation_files(path) if path.is_file() or _looks_like_labelme(f)]
    n_problems = 0
    for f in files:
        for line in check_file(f):
            _print(line)
            n_problems += 1
    print(f"checked {len(files)} file{'s' if len(files) != 1 else ''}, "
          f"{n_problems} problem{'s' if n_problems != 1 else ''}")
    return 1 if n_problems else 0
