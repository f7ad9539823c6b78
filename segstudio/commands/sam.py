"""``segstudio sam``: the Segment-Anything model manager, headless.

``segstudio sam models`` lists the known and imported models (family, size, licence, status,
where the files are) — reading the local disk only; ``segstudio sam download NAME`` downloads
with progress and a sha256 check (offline: a message at once, no hang); ``segstudio sam import
[NAME] PATH [--family F]`` copies a file or folder of ``.onnx`` files (from another machine).

Uses core and sam only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segstudio.commands.common_args import add_quiet


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("sam", help="Segment-Anything models: list, download, import",
                              description="Manage the Segment-Anything models used by "
                                          "`segstudio segment --method sam` and the AI tools.")
    sub = p.add_subparsers(dest="sam_command", metavar="ACTION")
    sub.add_parser("models", help="list known and imported models with their status")
    d = sub.add_parser("download", help="download a known model (sha256 checked)")
    d.add_argument("name")
    add_quiet(d)
    i = sub.add_parser("import", help="import a model's .onnx files (a file or a folder)")
    i.add_argument("args", nargs="+", metavar="[NAME] PATH")
    i.add_argument("--family", help="family of your own export (sam | sam2 | sam2-osam)")
    i.add_argument("--licence", default="", help="licence to show for your own export")
    p.set_defaults(command="sam")
    return p


def format_models() -> str:
    from segstudio.sam.models import models_dir, osam_blobs_dir, status_rows

    lines = [f"{'name':<16}{'family':<11}{'size':>9}  {'licence':<11}{'status':<9}where"]
    for r in status_rows():
        size = f"{r['size'] / 1e6:.0f} MB" if r["size"] else "?"
        lines.append(f"{r['name']:<16}{r['family']:<11}{size:>9}  {r['licence']:<11}{r['status']:<9}{r['where']}")
    lines.append(f"models folder: {models_dir()}; labelme/osam cache: {osam_blobs_dir()}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from segstudio.sam.download import ChecksumError, download_job, import_model
    from segstudio.sam.models import ModelMissing

    action = getattr(args, "sam_command", None)
    if action in (None, "models"):
        print(format_models())
        return 0
    if action == "download":
        from segstudio.core.jobs import run_with_tqdm

        try:
            folder = run_with_tqdm(download_job(args.name), desc=f"download {args.name}",
                                   disable=args.quiet or None)
        except (ModelMissing, ChecksumError, OSError) as exc:
            print(f"segstudio sam: {exc}", file=sys.stderr)
            return 1
        print(f"{args.name}: ready in {folder}")
        return 0
    name, path = (None, args.args[0]) if len(args.args) == 1 else (args.args[0], args.args[1])
    try:
        got = import_model(Path(path), name, args.family, args.licence)
    except (ValueError, OSError) as exc:
        print(f"segstudio sam: {exc}", file=sys.stderr)
        return 1
    print(f"imported {got}")
    return 0
