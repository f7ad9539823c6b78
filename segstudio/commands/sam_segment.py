"""``segstudio segment --method sam``: Segment-Anything prompts, headless.

``--param model=NAME`` (``segstudio sam models``), ``--point X,Y`` / ``--bg-point X,Y`` /
``--box x0,y0,x1,y1`` on one image, or ``--from-rectangles`` on an image or a folder: every
rectangle of an image's labelme JSON becomes the mask of the same class (the other shapes are
kept). Points are in the pixels of the image as displayed (EXIF orientation applied), as in
the window. ``--param roi=x0,y0,x1,y1`` embeds only that region (small objects on big
images). ``--param everything=1`` segments everything on an image or a folder (a grid of
clicks → deduplicated instances; ``--param points_per_side=16``, ``pred_iou``, ``stability``,
``stability_offset``, ``min_area``, ``nms_iou``: :mod:`segstudio.sam.everything`). Output and
the labelled-file rules are those of ``segstudio segment``.

Uses core and sam only (called from :mod:`segstudio.commands.segment`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from segstudio.commands.segment_output import find_images, load_rgb8, plan_writes
from segstudio.core.io.images import ImageReadError
from segstudio.core.io.labelme import AnnotationError, read_labelme
from segstudio.core.jobs import Progress, relabelled, run_with_tqdm
from segstudio.sam.everything import EverythingParams, instance_shapes, segment_everything
from segstudio.sam.models import ModelMissing
from segstudio.sam.predictor import Predictor, image_key, mask_shapes
from segstudio.sam.runtime import ModelError

EVERYTHING_PARAMS = tuple(f.name for f in fields(EverythingParams))
PARAMS = ("model", "roi", "everything", *EVERYTHING_PARAMS)


def _numbers(text: str, what: str, n: int) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != n:
        raise ValueError(f"{what} must be {n} numbers separated by commas, got {text!r}")
    return vals


def _params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in PARAMS:
            raise ValueError(f"method 'sam': unknown parameter {item!r} (known: {', '.join(PARAMS)})")
        out[key] = value
    if not out.get("model"):
        raise ValueError("method 'sam' needs --param model=NAME (see `segstudio sam models`)")
    return out


def _everything(params: dict[str, str]) -> EverythingParams | None:
    """The everything mode's parameters, or None when it is off."""
    if params.get("everything", "0").lower() in ("0", "", "false", "no"):
        if any(k in params for k in EVERYTHING_PARAMS):
            raise ValueError(f"{', '.join(k for k in EVERYTHING_PARAMS if k in params)}: only with "
                             f"--param everything=1")
        return None
    defaults = EverythingParams()
    values = {}
    for k in EVERYTHING_PARAMS:
        if k in params:
            try:
                values[k] = type(getattr(defaults, k))(float(params[k]))
            except ValueError:
                raise ValueError(f"--param {k} must be a number, got {params[k]!r}") from None
    return EverythingParams(**values)


def _per_image(inner, n: int, total: int, path: Path):
    """The grid's progress inside the folder's: one bar over the images, the points in its text."""
    return (yield from relabelled(inner, lambda p: Progress(
        n - 1, total, f"{path.name}: {p.message} ({p.done}/{p.total} points)")))


def run_sam(args: argparse.Namespace) -> int:

    try:
        params = _params(args.param)
        roi = _numbers(params["roi"], "roi", 4) if params.get("roi") else None
        fg = [_numbers(t, "--point", 2) for t in args.point]
        bg = [_numbers(t, "--bg-point", 2) for t in args.bg_point]
        box = _numbers(args.box, "--box", 4) if args.box else None
        everything = _everything(params)
    except ValueError as exc:
        print(f"segstudio segment: {exc}", file=sys.stderr)
        return 2
    if args.src is None or args.out is None:
        print("segstudio segment: SRC and OUT are required", file=sys.stderr)
        return 2
    if not args.src.exists():
        print(f"segstudio segment: {args.src}: no such file or folder", file=sys.stderr)
        return 2
    images = find_images(args.src)
    if not args.from_rectangles and everything is None and (not fg and box is None):
        print("segstudio segment: method 'sam' needs --point X,Y or --box x0,y0,x1,y1 "
              "(or --from-rectangles)", file=sys.stderr)
        return 2
    if not args.from_rectangles and everything is None and len(images) != 1:
        print("segstudio segment: clicks and boxes are for one image; use --from-rectangles "
              "for a folder", file=sys.stderr)
        return 2
    try:
        predictor = Predictor.open(params["model"])
    except (ModelMissing, ModelError) as exc:
        print(f"segstudio segment: {exc}", file=sys.stderr)
        return 1
    min_area = args.min_area if args.min_area is not None else 10.0
    planned = plan_writes(args, images)
    if planned is None:
        return 2
    writer, images, skipped = planned

    def shapes_for(img: np.ndarray, key: str, label: str, fg, *, bg, box) -> list:
        pred = predictor.segment(key, img, fg, bg, box=box, roi=roi)
        return mask_shapes(pred.mask, label, args.mode, tolerance=args.tolerance, min_area=min_area,
                           largest_only=True)

    def write(path: Path, img: np.ndarray, shapes: list) -> None:
        if args.format == "masks":
            from segstudio.core.rasterize import shapes_to_label

            names = {s.label: i + 1 for i, s in enumerate({s.label: s for s in shapes}.values())}
            cls, _ = shapes_to_label(shapes, img.shape[0], img.shape[1], names, unknown="skip", dtype=np.uint8)
            writer.write_mask(path, cls)
        else:
            writer.write(path, shapes, img.shape[:2])

    def job():
        errors: dict[str, str] = {}
        yield Progress(0, len(images), "sam: starting")
        for n, path in enumerate(images, start=1):
            try:
                img = load_rgb8(path)
                if args.from_rectangles:
                    src_json = path.with_suffix(".json")
                    if not src_json.is_file():
                        yield Progress(n, len(images), f"{path}: no JSON, skipped")
                        continue
                    ann = read_labelme(src_json, image_size=(img.shape[1], img.shape[0]))
                    out = []
                    for s in ann.shapes:
                        if s.shape_type != "rectangle":
                            out.append(s)
                            continue
                        (x0, y0), (x1, y1) = np.asarray(s.points, float)[:2]
                        got = shapes_for(img, image_key(path), s.label, [], bg=[], box=(x0, y0, x1, y1))
                        for g in got:
                            g.group_id, g.description = s.group_id, s.description
                        out += got or [s]   # nothing found: the rectangle stays
                    write(path, img, out)
                elif everything is not None:
                    emb = predictor.embed(image_key(path), img, roi)
                    instances = yield from _per_image(segment_everything(predictor.model, emb, everything),
                                                      n, len(images), path)
                    write(path, img, instance_shapes(instances, args.label, img.shape[:2], mode=args.mode,
                                                     tolerance=args.tolerance, min_area=min_area))
                else:
                    write(path, img, shapes_for(img, image_key(path), args.label, fg, bg=bg, box=box))
            except (ImageReadError, AnnotationError, FileExistsError, OSError, ValueError) as exc:
                errors[str(path)] = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            yield Progress(n, len(images), str(path))
        return errors

    errors = run_with_tqdm(job(), desc="segment sam", disable=args.quiet or None)
    for msg in errors.values():
        print(f"segstudio segment: {msg}", file=sys.stderr)
    print(f"wrote {len(writer.written)} file(s) to {args.out}{skipped}"
          + (f", {len(errors)} failed" if errors else ""))
    return 1 if errors else 0
