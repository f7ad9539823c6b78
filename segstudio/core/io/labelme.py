"""labelme JSON ↔ :class:`~segstudio.core.model.ImageAnnotation`, with exact error messages.

Reads files of every labelme generation: 3.x (``lineColor``/``fillColor``, no ``group_id``,
shapes without ``shape_type``), 4.x and 5.x (``group_id``, ``description``, ``flags``,
``mask``). Unknown top-level and per-shape keys are kept in ``extra`` and written back
verbatim; ``imageData`` is written only if the file came with it; ``version`` is kept.

Mask shapes: on disk ``points`` is the box ``[[x1, y1], [x2, y2]]`` and ``mask`` a base64 PNG of
the crop ``mask[y1:y2+1, x1:x2+1]`` (values 0/1, as labelme writes it); in memory
``Shape.mask`` is a full-image boolean array and ``points`` is empty. Writing recomputes the
tight box. An empty mask is written as a 1×1 zero crop at (0, 0) so the file stays valid.

Segstudio's own per-image data lives in the top-level key ``"segstudio"``:
``{"state": "pre-annotated" | "labelled" | "unlabelled"}``; a file without it counts as
labelled. ``Shape.visible`` is a view setting and is not persisted (labelme has no such key).

Imports numpy, OpenCV (PNG codec), the model, images and atomic writes. No Qt, no torch.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from segstudio.core import shape_kinds
from segstudio.core.io.atomic import atomic_write_bytes
from segstudio.core.io.images import ImageReadError, decode_image_data
from segstudio.core.io.images import image_size as read_image_size
from segstudio.core.model import LABELLED, PRE_ANNOTATED, UNLABELLED, ImageAnnotation, Shape

log = logging.getLogger(__name__)

#: written as ``version`` for new files (the labelme release whose format we follow)
LABELME_VERSION = "5.5.0"
STATES = (LABELLED, PRE_ANNOTATED, UNLABELLED)

_TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth",
             "segstudio")
_SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask")


class AnnotationError(ValueError):
    """A labelme file is invalid; ``str(exc)`` is ``"<path>: <what is wrong>"``."""


# -- reading -----------------------------------------------------------------------------------
def parse_json_file(path: str | Path) -> Any:
    """The parsed JSON at ``path``; every way it can fail is an :class:`AnnotationError` naming
    the file (unreadable, a symlink loop, not UTF-8, invalid, nested too deeply, a number too
    long to read). Used by every reader of labelme files, so none of them sees a traceback."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise AnnotationError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise AnnotationError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise AnnotationError(f"{path}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:   # e.g. an integer of more than 4300 digits (CPython's limit)
        raise AnnotationError(f"{path}: unreadable JSON ({str(exc).split(';')[0]})") from None


def read_labelme(path: str | Path, image_size: tuple[int, int] | None = None) -> ImageAnnotation:
    """Reads and validates the labelme JSON at ``path``.

    ``image_size`` (width, height) is the real size of the image, when known: it wins over
    ``imageWidth``/``imageHeight`` (as in labelme), so mask shapes always match the pixels even
    if the image was replaced by one of another size after the JSON was written."""
    return annotation_from_dict(parse_json_file(path), Path(path), image_size=image_size)


def read_labelme_for_image(path: str | Path, image_path: str | Path) -> ImageAnnotation:
    """:func:`read_labelme` sized by the image at ``image_path`` when it exists and its header
    reads; otherwise by the JSON (an unreadable image is reported when it is shown)."""
    size = None
    image_path = Path(image_path)
    if image_path.is_file():
        try:
            size = read_image_size(image_path)
        except ImageReadError as exc:
            log.warning("%s", exc)
    ann = read_labelme(path, image_size=size)
    if (ann.width <= 0 or ann.height <= 0) and image_path.is_file():
        ann.width, ann.height = read_image_size(image_path)   # raises ImageReadError naming the image
    return ann


#: coordinates and sizes beyond this are not pixels of any image (and overflow OpenCV's int32)
MAX_COORDINATE = 2**31 - 1
#: characters ``str.splitlines`` splits on: a label holding one would become two lines (two
#: classes, shifting every class id after it) in labels.txt and class_names.txt
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a class name (None when it can)."""
    if any(ch in LINE_BREAKS for ch in label):
        return f"class name {label!r} contains a line break (class lists hold one name a line)"
    return None


def _is_number(v: Any) -> bool:
    # a 400-digit integer is valid JSON but no float: check the range before math.isfinite
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and -MAX_COORDINATE <= v <= MAX_COORDINATE and math.isfinite(v))


def _decode_mask(b64: Any, where: str) -> np.ndarray:
    if not isinstance(b64, str) or not b64:
        raise AnnotationError(f"{where}: mask shape has no 'mask' data (base64 PNG expected)")
    try:
        raw = base64.b64decode(b64, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise AnnotationError(f"{where}: mask is not valid base64 ({exc})") from None
    arr = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if raw else None
    if arr is None:
        raise AnnotationError(f"{where}: mask is not a decodable PNG image")
    if arr.ndim == 3:   # a colour or gray+alpha PNG: any non-zero colour channel is "in"
        arr = arr[:, :, :3].any(axis=2) if arr.shape[2] >= 3 else arr[:, :, 0]
    return arr.astype(bool)


def _shape_from_dict(s: Any, index: int, path: str, width: int, *, height: int) -> Shape:
    where = f"{path}: shapes[{index}]"
    if not isinstance(s, dict):
        raise AnnotationError(f"{where}: expected an object, got {type(s).__name__}")
    label = s.get("label")
    if not isinstance(label, str):
        raise AnnotationError(f"{where}: 'label' must be a string, got {_json_type(label)}")
    problem = label_problem(label)
    if problem is not None:
        raise AnnotationError(f"{where}: {problem}")
    where = f"{path}: shapes[{index}] ('{label}')"
    shape_type = s.get("shape_type") or "polygon"   # labelme 3.x wrote no shape_type: polygons
    if not shape_kinds.is_kind(shape_type):
        raise AnnotationError(f"{where}: unknown shape type {shape_type!r} "
                              f"(expected one of {', '.join(shape_kinds.names())})")
    kind = shape_kinds.kind_of(shape_type)
    pts = s.get("points")
    if not isinstance(pts, list):
        raise AnnotationError(f"{where}: 'points' must be a list of [x, y], got {_json_type(pts)}")
    for j, p in enumerate(pts):
        if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_number(v) for v in p)):
            raise AnnotationError(f"{where}: point {j} is {_short(p)}, not a pair of numbers "
                                  f"(finite, within ±{MAX_COORDINATE})")
    problem = kind.point_count_problem(len(pts))
    if problem is not None:
        raise AnnotationError(f"{where}: {problem}")
    group_id = s.get("group_id")
    if isinstance(group_id, float) and group_id.is_integer():
        group_id = int(group_id)
    if group_id is not None and (not isinstance(group_id, int) or isinstance(group_id, bool)):
        raise AnnotationError(f"{where}: 'group_id' must be an integer or null, got {_json_type(group_id)}")
    description = s.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise AnnotationError(f"{where}: 'description' must be a string, got {_json_type(description)}")
    flags = s.get("flags")
    if flags is None:
        flags = {}
    if not isinstance(flags, dict):
        raise AnnotationError(f"{where}: 'flags' must be an object, got {_json_type(flags)}")
    points = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    mask = None
    if kind.carries_mask:
        crop = _decode_mask(s.get("mask"), where)
        if width <= 0 or height <= 0:
            raise AnnotationError(f"{where}: mask shape in a file whose image size is unknown "
                                  f"(no imageHeight/imageWidth and no imageData)")
        (x1, y1), (x2, y2) = points.astype(int)
        if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
            raise AnnotationError(f"{where}: mask is {crop.shape[1]}x{crop.shape[0]} pixels but its box "
                                  f"[[{x1}, {y1}], [{x2}, {y2}]] is {x2 - x1 + 1}x{y2 - y1 + 1}")
        try:
            mask = np.zeros((height, width), dtype=bool)
        except (MemoryError, ValueError):
            raise AnnotationError(f"{where}: the image size {width}x{height} is too large "
                                  f"for a mask") from None
        # clip the crop to the image (a box partly outside keeps its inside pixels)
        ya, yb, xa, xb = max(y1, 0), min(y2 + 1, height), max(x1, 0), min(x2 + 1, width)
        if ya < yb and xa < xb:
            mask[ya:yb, xa:xb] = crop[ya - y1:yb - y1, xa - x1:xb - x1]
        points = np.zeros((0, 2))
    extra = {k: v for k, v in s.items() if k not in _SHAPE_KEYS}
    return Shape(label=label, points=points, shape_type=shape_type, group_id=group_id,
                 description=description, flags=dict(flags), mask=mask, extra=extra)


def _short(v: Any) -> str:
    """``v`` as JSON, cut short (a 5000-digit number or a huge list stays readable)."""
    try:
        text = json.dumps(v)
    except (ValueError, TypeError, RecursionError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


def _size_field(d: dict, key: str, path: str) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= MAX_COORDINATE:
        raise AnnotationError(f"{path}: '{key}' must be a positive integer, got {_short(v)}")
    return v


def annotation_from_dict(d: Any, path: str | Path = "<memory>",
                         image_size: tuple[int, int] | None = None) -> ImageAnnotation:
    """Validates a parsed labelme dict and builds the annotation (``path`` names it in errors);
    ``image_size`` (width, height), when given, is the image's real size (see read_labelme)."""
    p = str(path)
    if not isinstance(d, dict):
        raise AnnotationError(f"{p}: top level must be a JSON object, got {_json_type(d)}")
    shapes_raw = d.get("shapes", [])
    if shapes_raw is None:
        shapes_raw = []
    if not isinstance(shapes_raw, list):
        raise AnnotationError(f"{p}: 'shapes' must be a list, got {_json_type(shapes_raw)}")
    image_path = d.get("imagePath") or ""
    if not isinstance(image_path, str):
        raise AnnotationError(f"{p}: 'imagePath' must be a string, got {_json_type(image_path)}")
    image_data = d.get("imageData")
    if image_data is not None and not isinstance(image_data, str):
        raise AnnotationError(f"{p}: 'imageData' must be a base64 string or null, got {_json_type(image_data)}")
    flags = d.get("flags")
    if flags is None:
        flags = {}
    if not isinstance(flags, dict):
        raise AnnotationError(f"{p}: 'flags' must be an object, got {_json_type(flags)}")
    version = d.get("version")
    if version is not None and not isinstance(version, str):
        raise AnnotationError(f"{p}: 'version' must be a string, got {_json_type(version)}")
    height, width = _size_field(d, "imageHeight", p), _size_field(d, "imageWidth", p)
    if (height is None or width is None) and image_data:
        try:
            arr = decode_image_data(image_data, f"{p}: imageData")
        except ImageReadError as exc:
            raise AnnotationError(str(exc)) from None
        height, width = int(arr.shape[0]), int(arr.shape[1])
    if image_size is not None and image_size[0] > 0 and image_size[1] > 0:
        iw, ih = int(image_size[0]), int(image_size[1])
        if width is not None and height is not None and (width, height) != (iw, ih):
            log.warning("%s: written for a %dx%d image but the image is %dx%d; using the image's size "
                        "(shapes keep their pixel coordinates)", p, width, height, iw, ih)
        width, height = iw, ih
    extra = {k: v for k, v in d.items() if k not in _TOP_KEYS}
    state = LABELLED   # a labelme file from elsewhere is someone's finished work
    own = d.get("segstudio")
    if own is not None:
        if not isinstance(own, dict):
            raise AnnotationError(f"{p}: 'segstudio' must be an object, got {_json_type(own)}")
        state = own.get("state", LABELLED)
        if state not in STATES:
            raise AnnotationError(f"{p}: segstudio.state must be one of {', '.join(STATES)}, "
                                  f"got {json.dumps(state)[:40]}")
        rest = {k: v for k, v in own.items() if k != "state"}
        if rest:
            extra["segstudio"] = rest
    shapes = [_shape_from_dict(s, i, p, width or 0, height=height or 0) for i, s in enumerate(shapes_raw)]
    return ImageAnnotation(image_path, width or 0, height or 0, shapes, flags=flags,
                           image_data=image_data, extra=extra, version=version, state=state)


# -- writing -----------------------------------------------------------------------------------
def _encode_mask(mask: np.ndarray) -> tuple[list[list[float]], str]:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        x1 = y1 = x2 = y2 = 0
        crop = np.zeros((1, 1), dtype=np.uint8)
    else:
        x1, x2, y1, y2 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        crop = mask[y1:y2 + 1, x1:x2 + 1].astype(np.uint8)
    ok, png = cv2.imencode(".png", crop)
    if not ok:  # pragma: no cover - a uint8 2-D array always encodes
        raise ValueError("cannot encode mask as PNG")
    return [[float(x1), float(y1)], [float(x2), float(y2)]], base64.b64encode(png.tobytes()).decode("ascii")


def _shape_to_dict(s: Shape) -> dict[str, Any]:
    if s.kind.carries_mask:
        mask = s.mask if s.mask is not None else np.zeros((1, 1), dtype=bool)
        points, mask_b64 = _encode_mask(mask)
    else:
        points, mask_b64 = [[float(x), float(y)] for x, y in s.points], None
    out: dict[str, Any] = {
        "label": s.label,
        "points": points,
        "group_id": s.group_id,
        "description": s.description,
        "shape_type": s.shape_type,
        "flags": dict(s.flags),
        "mask": mask_b64,
    }
    for k, v in s.extra.items():
        if k not in out:
            out[k] = v
    return out


def annotation_to_dict(ann: ImageAnnotation) -> dict[str, Any]:
    """The labelme dict of ``ann`` (unknown keys kept, imageData only if the file had it)."""
    d: dict[str, Any] = {
        "version": ann.version or LABELME_VERSION,
        "flags": dict(ann.flags),
        "shapes": [_shape_to_dict(s) for s in ann.shapes],
    }
    own = dict(ann.extra.get("segstudio") or {}) if isinstance(ann.extra.get("segstudio"), dict) else {}
    for k, v in ann.extra.items():
        if k not in _TOP_KEYS:
            d[k] = v
    d["imagePath"] = ann.image_path
    d["imageData"] = ann.image_data
    d["imageHeight"] = int(ann.height)
    d["imageWidth"] = int(ann.width)
    own["state"] = ann.state
    d["segstudio"] = own
    return d


def dumps_labelme(ann: ImageAnnotation) -> str:
    return json.dumps(annotation_to_dict(ann), indent=2, ensure_ascii=False) + "\n"


def labelme_bytes(ann: ImageAnnotation) -> bytes:
    """The file's bytes: UTF-8 JSON. A file name that is not UTF-8 (Linux allows any bytes)
    reaches Python as lone surrogates that UTF-8 cannot encode; those files are written with
    \\u escapes instead, which JSON allows and which read back to the exact file name."""
    d = annotation_to_dict(ann)
    try:
        return (json.dumps(d, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(d, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def write_labelme(path: str | Path, ann: ImageAnnotation) -> None:
    """Writes ``ann`` to ``path`` atomically (the old file stays intact if anything fails)."""
    atomic_write_bytes(path, labelme_bytes(ann))
