"""``segstudio evaluate``: compare predicted annotations with ground truth (IoU, Dice,
accuracies, confusion matrix, PQ/SQ/RQ), print a table and optionally write JSON.

The headless twin of Tools ▸ Evaluate…. May import segstudio.core.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("evaluate", help="score predictions against ground truth",
                              description="Compare two folders of labelme JSON files matched by "
                                          "relative path. Classes absent from both sides are "
                                          "excluded from the means.")
    p.add_argument("--pred", required=True, help="folder of predicted / pre-annotated JSON files")
    p.add_argument("--gt", required=True, help="folder of ground-truth JSON files")
    p.add_argument("--labels", help="class list (labels.txt); default: the gt folder's labels.txt "
                                    "or the labels found")
    p.add_argument("--json", dest="json_out", help="write the full report as JSON here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from segstudio.core.evaluate import evaluate_folders, format_report
    from segstudio.core.io.atomic import atomic_write_text
    from segstudio.core.jobs import run_with_tqdm

    try:
        report = run_with_tqdm(evaluate_folders(args.pred, args.gt, args.labels), desc="evaluate",
                               disable=args.quiet or None)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    if args.json_out:
        atomic_write_text(args.json_out, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"\nreport written to {args.json_out}")
    return 0
