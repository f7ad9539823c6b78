"""``segstudio segment``: classical pre-annotation of an image or a folder, headless.

``segstudio segment --method NAME [--param key=value ...] [--label CLASS] SRC OUT`` runs one
registered method (the same functions as the GUI's Auto-segment panel) and writes labelme JSON
(default; marked "pre-annotated") or class-index PNG masks (``--format masks``, alias ``png``) into OUT,
keeping SRC's relative folder layout, with a tqdm progress bar. Existing files are never
overwritten unless ``--overwrite``; an image whose JSON a person labelled is skipped, unless
``--include-labelled`` (its shapes are then kept, the new ones added, and it stays "labelled"). ``segstudio segment --list`` lists methods and parameters.
Uses core and algorithms only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from segstudio.algorithms.apply import ApplyOptions, batch_segment, label_map_shapes
from segstudio.algorithms.common import class_index_map
from segstudio.algorithms.params import ParamError, parse_assignments
from segstudio.algorithms.registry import NEEDS, Prompt, get_method, list_methods, run_method
from segstudio.commands.common_args import PER_IMAGE_FORMATS, add_format, add_quiet
from segstudio.commands.segment_output import find_images, load_rgb8, plan_writes
from segstudio.core.io.images import ImageReadError
from segstudio.core.jobs import Progress, run_with_tqdm

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "segment", help="pre-annotate images with a classical method",
        description="Run a classical segmentation method on an image or a folder of images and "
                    "write labelme JSON (marked pre-annotated) or class-index PNG masks.")
    p.add_argument("--list", action="store_true", help="list the methods and their parameters")
    p.add_argument("--method", "-m", help="method name (see --list)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="a method parameter (repeatable)")
    p.add_argument("--label", "-l", default="object", help="class name of the shapes (default: object)")
    add_format(p, PER_IMAGE_FORMATS, "labelme", "labelme JSON (shapes) or class-index PNG masks")
    p.add_argument("--mode", choices=("polygon", "mask"), default="polygon",
                   help="labelme shapes as polygons (default) or one mask shape")
    p.add_argument("--tolerance", type=float, default=0.5, help="polygon simplification in px (default 0.5)")
    p.add_argument("--min-area", type=float, default=None,
                   help="drop pieces smaller than this (px; default 10 for labelme, masks keep every piece)")
    p.add_argument("--box", help="prompt box x0,y0,x1,y1 (for box methods, single image)")
    p.add_argument("--point", action="append", default=[], metavar="X,Y",
                   help="foreground click (repeatable; magic wand, scissors)")
    p.add_argument("--bg-point", action="append", default=[], metavar="X,Y", help="background click")
    p.add_argument("--from-rectangles", action="store_true",
                   help="method sam: each rectangle of the images' labelme JSON → a mask of its class")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files "
                   "(never a person's labelled JSON: see --include-labelled)")
    p.add_argument("--include-labelled", action="store_true",
                   help="also segment images whose JSON a person labelled (skipped by default): "
                        "their shapes are kept, the new ones added, and they stay 'labelled'")
    add_quiet(p)
    p.add_argument("src", nargs="?", type=Path, help="an image or a folder of images")
    p.add_argument("out", nargs="?", type=Path, help="output folder")
    p.set_defaults(command="segment")
    return p


def format_method_list() -> str:
    lines = []
    for spec in list_methods():
        needs = "" if spec.needs == "none" else f"  [needs {NEEDS[spec.needs]}]"
        lines.append(f"{spec.name:<22}{spec.title} — {spec.description}{needs}")
        for info in spec.params_info():
            rng = ""
            if info.choices is not None:
                rng = " {" + ",".join(map(str, info.choices)) + "}"
            elif info.min is not None or info.max is not None:
                rng = f" [{info.min if info.min is not None else ''}..{info.max if info.max is not None else ''}]"
            lines.append(f"    {info.name}={info.default!r} ({info.kind.__name__}{rng}): {info.help}")
    return "\n".join(lines)


def _xy(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ParamError(f"{what} must be numbers separated by commas, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(format_method_list())
        print(f"{'sam':<22}Segment-Anything — clicks/box/rectangles → mask, or everything=1 (--param model=NAME; "
              f"see `segstudio sam models`)")
        return 0
    if args.method == "sam":   # ONNX models, not a classical registry method (see sam_segment)
        from segstudio.commands.sam_segment import run_sam

        return run_sam(args)
    if not args.method or args.src is None or args.out is None:
        print("segstudio segment: --method, SRC and OUT are required (or --list)", file=sys.stderr)
        return 2
    try:
        spec = get_method(args.method)
        params = spec.make_params(parse_assignments(args.method, args.param))
        prompt = Prompt(
            box=_xy(args.box, "--box") if args.box else None,  # type: ignore[arg-type]
            fg_points=[_xy(t, "--point")[:2] for t in args.point],  # type: ignore[misc]
            bg_points=[_xy(t, "--bg-point")[:2] for t in args.bg_point],  # type: ignore[misc]
        )
    except ParamError as exc:
        print(f"segstudio segment: {exc}", file=sys.stderr)
        return 2
    if not args.src.exists():
        print(f"segstudio segment: {args.src}: no such file or folder", file=sys.stderr)
        return 2
    images = find_images(args.src)
    if not images:
        print(f"segstudio segment: {args.src}: no images found", file=sys.stderr)
        return 1
    min_area = args.min_area if args.min_area is not None else (0.0 if args.format == "masks" else 10.0)
    options = ApplyOptions(label=args.label, mode=args.mode, tolerance=args.tolerance, min_area=min_area)
    planned = plan_writes(args, images)   # a person's labels are never changed unless asked
    if planned is None:
        return 2
    writer, images, skipped = planned
    if not images:
        print(f"wrote 0 file(s) to {args.out}{skipped}")
        return 0
    failures = 0
    if spec.needs != "none":
        if len(images) != 1:
            print(f"segstudio segment: method {spec.name!r} needs {NEEDS[spec.needs]}: give one image",
                  file=sys.stderr)
            return 2
        try:
            img = load_rgb8(images[0])
            if args.format == "masks":
                lm = run_method(spec.name, img, prompt, params, dtype=None)
                writer.write_mask(images[0], class_index_map(lm, spec.output, min_area))
            else:
                shapes = label_map_shapes(run_method(spec.name, img, prompt, params), options)
                writer.write(images[0], shapes, img.shape[:2])
        except (ParamError, ImageReadError, FileExistsError, OSError) as exc:
            print(f"segstudio segment: {exc}", file=sys.stderr)
            return 1
    else:
        sizes: dict[str, tuple[int, int]] = {}

        def load(path: Path) -> np.ndarray:
            if writer.target(path).exists() and not args.overwrite and not writer.is_labelled(path):
                raise FileExistsError(f"{writer.target(path)}: exists already (use --overwrite to replace it)")
            arr = load_rgb8(path)
            sizes[str(path)] = arr.shape[:2]
            return arr

        def job():
            # write each result as it comes, so memory stays flat on big folders
            gen = batch_segment([(str(p), p) for p in images], load, spec.name, params, options=options,
                                keep_results=False)
            write_errors: dict[str, str] = {}
            while True:
                try:
                    prog = next(gen)
                except StopIteration as stop:
                    return {**stop.value.errors, **write_errors}
                if "shapes" in prog.data:
                    key = prog.data["key"]
                    try:
                        writer.write(Path(key), prog.data["shapes"], sizes[key])
                    except OSError as exc:
                        write_errors[key] = str(exc)
                yield prog

        def masks_job():
            # masks are the label map itself: equal to the library call pixel for pixel
            errors: dict[str, str] = {}
            yield Progress(0, len(images), f"{spec.name}: starting")
            for n, path in enumerate(images, start=1):
                try:
                    lm = run_method(spec.name, load(path), None, params, dtype=None)
                    writer.write_mask(path, class_index_map(lm, spec.output, min_area))
                except Exception as exc:   # one bad image must not stop the batch
                    errors[str(path)] = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                yield Progress(n, len(images), str(path))
            return errors

        errors = run_with_tqdm(masks_job() if args.format == "masks" else job(),
                               desc=f"segment {spec.name}", disable=args.quiet or None)
        for msg in errors.values():
            print(f"segstudio segment: {msg}", file=sys.stderr)
        failures = len(errors)
    print(f"wrote {len(writer.written)} file(s) to {args.out}{skipped}" + (f", {failures} failed" if failures else ""))
    return 1 if failures else 0
