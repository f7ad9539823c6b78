"""``segstudio import``: a dataset (labelme, COCO, VOC, mask PNGs, YOLO-seg) → a segstudio
project (images + labelme JSON sidecars + labels.txt), new or existing. In an existing project
an image whose JSON a person labelled is skipped unless ``--include-labelled``.

The headless twin of File ▸ Import…. May import segstudio.core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segstudio.commands.common_args import add_format, add_quiet
from segstudio.core.formats.base import FORMATS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("import", help="import a dataset as a project",
                              description="Read a dataset and write a segstudio project "
                                          "(images + labelme JSON) into a new or existing project folder; "
                                          "images a person labelled there are skipped unless "
                                          "--include-labelled.")
    add_format(p, sorted(FORMATS), help_text="dataset format")
    p.add_argument("src", help="dataset folder (COCO: the folder or annotations.json)")
    p.add_argument("out", help="project folder to write")
    p.add_argument("--mask-mode", choices=("polygon", "mask"), default="polygon",
                   help="masks become polygons (components with holes stay masks) or mask shapes")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="polygon simplification in pixels (0 = pixel-exact)")
    p.add_argument("--labels", help="class map: VOC class_names.txt, masks classes.json or names file, "
                                    "YOLO data.yaml")
    p.add_argument("--link", action="store_true", help="hard-link images instead of copying")
    p.add_argument("--include-labelled", action="store_true",
                   help="in an existing project, also add the imported shapes to images a person "
                        "labelled (skipped by default); they stay 'labelled'")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from segstudio.core.formats.base import DatasetError, ImportOptions
    from segstudio.core.formats.import_driver import classes_of, import_dataset, write_project
    from segstudio.core.jobs import run_with_tqdm

    options = ImportOptions(mask_mode=args.mask_mode, tolerance=args.tolerance,
                            images="link" if args.link else "copy",
                            include_labelled=args.include_labelled)
    kwargs = {}
    if args.labels:
        key = {"voc": "labels", "masks": "class_map", "yolo": "data_yaml", "coco": "annotations"}.get(args.format)
        if key is None:
            print(f"error: --labels is not used by the {args.format} format", file=sys.stderr)
            return 2
        kwargs[key] = Path(args.labels)
    disable = args.quiet or None
    try:
        images = run_with_tqdm(import_dataset(args.format, args.src, options, **kwargs),
                               desc=f"read {args.format}", disable=disable)
        out = run_with_tqdm(write_project(images, args.out, classes_of(images), mode=options.images,
                                          include_labelled=options.include_labelled),
                            desc="write project", disable=disable)
    except (DatasetError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from segstudio.core.labelled_guard import skipped_message

    done = [im for im in images if not im.skipped]
    shapes = sum(len(im.annotation.shapes) for im in done)
    skipped = len(images) - len(done)
    print(f"imported {len(done)} image(s), {shapes} shape(s) into {out}"
          + (f", {skipped_message(skipped)}" if skipped else ""))
    print(f"classes: {', '.join(classes_of(images))}")
    return 0
