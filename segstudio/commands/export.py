"""``segstudio export``: a project folder → a dataset (VOC, COCO, YOLO-seg, mask PNGs, labelme).

The headless twin of File ▸ Export dataset…: the same exporter jobs
(:mod:`segstudio.core.formats`), driven with a tqdm progress bar. May import segstudio.core.
"""

from __future__ import annotations

import argparse
import sys

from segstudio.commands.common_args import add_format, add_labels_file, add_quiet
from segstudio.core.formats.base import FORMATS, IMAGE_MODES, ExportOptions


def _fractions(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace(":", ",").split(",") if p.strip()]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError("give 1 to 3 fractions: train[,val[,test]]")
    parts += [0.0] * (3 - len(parts))
    if min(parts) < 0 or sum(parts) <= 0:
        raise argparse.ArgumentTypeError("fractions must be ≥ 0 and not all 0")
    return parts[0], parts[1], parts[2]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="export a project as a dataset",
                              description="Export the annotations of a project folder as a dataset. "
                                          "Overlaps: later shapes paint over earlier ones (labelme). "
                                          "An image that cannot be exported is left out and listed "
                                          "at the end, the rest is exported, and the exit status is 1.")
    add_format(p, sorted(FORMATS), help_text="dataset format")
    p.add_argument("src", help="project folder (images + labelme JSON)")
    p.add_argument("out", help="output folder")
    p.add_argument("--output-dir", help="folder holding the JSON files, if not beside the images")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--classes", help="comma-separated classes to export (default: all, labels.txt order)")
    add_labels_file(which, "classes and their order (ids) from a labelme labels.txt (__ignore__, "
                           "_background_, then the classes), as labelme2voc --labels does")
    p.add_argument("--split", type=_fractions, default=(1.0, 0.0, 0.0),
                   help="train,val,test fractions (default 1,0,0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the deterministic split")
    p.add_argument("--images", choices=IMAGE_MODES, default="copy", help="copy, link or leave out images")
    p.add_argument("--coco-masks", choices=("polygon", "rle"), default="polygon",
                   help="COCO: polygons as drawn (labelme-like) or RLE for every object (pixel-exact)")
    p.add_argument("--include-unlabelled", action="store_true", help="also export images without JSON")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from segstudio.core.formats.base import DatasetError
    from segstudio.core.formats.export_driver import export_dataset, items_from_project
    from segstudio.core.formats.export_run import problems_text
    from segstudio.core.jobs import run_with_tqdm
    from segstudio.core.project_io import load_all, open_project

    try:
        project = open_project(args.src, args.output_dir)
        load_all(project)   # files that fail to load come back in the report's problems
        classes = tuple(c.strip() for c in args.classes.split(",") if c.strip()) if args.classes else None
        names = project.class_names()
        if args.labels:   # labelme2voc: ids follow labels.txt, also for classes no shape uses
            classes = tuple(args.labels)
            names = [*names, *(c for c in classes if c not in names)]
        options = ExportOptions(classes=classes, split=args.split, seed=args.seed, images=args.images,
                                include_unlabelled=args.include_unlabelled, coco_masks=args.coco_masks,
                                colors={c.name: c.color for c in project.classes})
        items = items_from_project(project, args.include_unlabelled, with_errors=True)
        report = run_with_tqdm(export_dataset(args.format, items, args.out, names, options=options),
                               desc=f"export {args.format}", disable=args.quiet or None)
    except (DatasetError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    splits = ", ".join(f"{k} {len(v)}" for k, v in report.splits.items() if v)
    print(f"exported {report.images} image(s) as {args.format} to {report.out_dir} ({splits})")
    print(f"classes: {', '.join(report.classes)}")
    for label, n in sorted(report.skipped_labels.items()):
        print(f"not exported: {n} shape(s) of class {label!r}")
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if report.problems:   # listed last, so they are what a user sees; the rest was exported
        print(f"error: {problems_text(report)}", file=sys.stderr)
        return 1
    return 0
