"""``segstudio rank``: the images of a project a person has not labelled, most uncertain first
(headless twin of Label next).

Candidates are the project's images whose state is *unlabelled* or *pre-annotated* (a model's
shapes are not a person's labels); *labelled* images and files that fail to open are left out.
Scores come from :mod:`segstudio.ml.uncertainty` and are cached in
``<project>/.segstudio/scores/<checkpoint sha256>.json``, so ranking again after labelling a few
images only scores what changed.

May import: segstudio.core, segstudio.ml (lazily, inside run), stdlib.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segstudio.commands.common_args import add_device, add_quiet


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rank", help="list unlabelled images, most uncertain first (what to label next)",
        description="Score every image of DIR that a person has not labelled by the model's "
                    "uncertainty and print them most uncertain first.")
    p.add_argument("dir", metavar="DIR", help="project folder")
    p.add_argument("--model", required=True, help="segstudio checkpoint (.safetensors)")
    add_device(p)
    p.add_argument("--json", dest="json_out", metavar="OUT",
                   help='write [{"image": path relative to DIR, "score": ..., ...}] in ranked order')
    p.add_argument("--metric", choices=["margin", "entropy"], default="margin",
                   help="per-pixel uncertainty: 1 − (p1 − p2) (margin, default) or normalised entropy")
    p.add_argument("--weighting", choices=["none", "foreground", "balanced"], default="none",
                   help="pixel weights in the image's mean: all alike (default), foreground ×4, "
                        "or every predicted class alike (favours rare classes)")
    p.add_argument("--tta", action="store_true",
                   help="also predict the mirrored image and add the fraction of pixels that change")
    p.add_argument("--diverse", action="store_true",
                   help="order for labelling: pass over near-duplicates of images ranked above")
    p.add_argument("--tile", type=int, default=1024, help="tile size in pixels (default 1024)")
    p.add_argument("--no-cache", action="store_true", help="score everything again, write no cache")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"segstudio rank: error: {exc}", file=sys.stderr)
        return 2


def _candidates(project) -> tuple[list[tuple[str, Path]], dict[str, str], int]:
    from segstudio.core.model import LABELLED

    items, states, labelled = [], {}, 0
    for e in project.entries:
        if e.error is not None:
            print(f"  skipped: {e.error}", file=sys.stderr)
            continue
        if e.state == LABELLED:
            labelled += 1
            continue
        rel = e.image_path.relative_to(project.root).as_posix()
        items.append((rel, e.image_path))
        states[rel] = e.state
    return items, states, labelled


def _run(args: argparse.Namespace) -> int:
    from segstudio.core import project_io
    from segstudio.core.jobs import run_with_tqdm
    from segstudio.core.label_next import Candidate, descriptor_from_text, pick_next
    from segstudio.core.score_cache import ScoreCache, file_sha256, scores_file
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.device import pick_device
    from segstudio.ml.uncertainty import ScoreOptions, score_images

    model_path = Path(args.model)
    if not model_path.is_file():
        raise ValueError(f"{model_path}: no such checkpoint file")
    project = project_io.open_project(args.dir)
    items, states, labelled = _candidates(project)
    device = pick_device(args.device)
    model, meta = load_checkpoint(model_path, device)
    options = ScoreOptions(metric=args.metric, weighting=args.weighting, tta=args.tta, tile=args.tile)
    cache = None
    if not args.no_cache:
        sha = file_sha256(model_path)
        cache = ScoreCache(scores_file(project_io.meta_dir(project), sha), sha, options.cache_identity())
    records, errors = run_with_tqdm(score_images(model, meta, items, device, options=options, cache=cache),
                                    desc="rank", disable=True if args.quiet else None)
    order = sorted(records, key=lambda k: (-records[k]["score"], k))
    if args.diverse:
        cands = [Candidate(k, records[k]["score"], descriptor_from_text(records[k].get("descriptor", "")))
                 for k in order]
        order = pick_next(cands, k=len(cands))
    rows = [{"image": k, "score": records[k]["score"], "entropy": records[k]["entropy"],
             "margin": records[k]["margin"], "disagreement": records[k].get("disagreement"),
             "state": states[k]} for k in order]
    _print_table(rows)
    cached = sum(1 for r in records.values() if r.get("cached"))
    print(f"{len(rows)} images ranked ({cached} from the cache), {labelled} labelled left out"
          + (f", {len(errors)} failed" if errors else ""))
    for msg in errors:
        print(f"  {msg}", file=sys.stderr)
    if args.json_out:
        from segstudio.core.io.atomic import atomic_write_text

        atomic_write_text(args.json_out, json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        print(f"ranking written to {args.json_out}")
    return 1 if errors else 0


def _print_table(rows: list[dict]) -> None:
    print(f"{'rank':>4}  {'score':>6}  {'entropy':>7}  {'margin':>6}  image")
    for i, r in enumerate(rows, 1):
        print(f"{i:>4}  {r['score']:6.4f}  {r['entropy']:7.4f}  {r['margin']:6.4f}  {r['image']}")
