"""Compare two annotation sets (predictions / pre-annotations against corrected ground truth):
per-class IoU, mean IoU, Dice, pixel accuracy, mean pixel accuracy, confusion matrix, and for
instances matched IoU and panoptic quality (PQ, SQ, RQ).

Both sides are rasterised by :mod:`segstudio.core.rasterize` (labelme semantics: later shapes
paint over earlier ones). Ground-truth ``__ignore__`` pixels are not scored; prediction shapes
labelled ``__ignore__`` or with a class outside the class list are skipped (and counted). An
image with ground truth but no prediction counts as predicted all background. Classes absent
from both sides are excluded from the means (listed in the report).

Used by ``segstudio evaluate`` and Tools ▸ Evaluate…. Pure: numpy + segstudio.core.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.io.labelme import read_labelme
from segstudio.core.jobs import Progress, run_to_end
from segstudio.core.metrics import InstanceStats, confusion_matrix, scores_from_confusion
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, ImageAnnotation
from segstudio.core.rasterize import IGNORE_VALUE, class_value_map, shapes_to_label

log = logging.getLogger(__name__)

EXCLUSION_NOTE = "Classes absent from both sides are excluded from the means"


@dataclass
class EvalPair:
    name: str
    gt: ImageAnnotation
    pred: ImageAnnotation | None


def read_annotation_folder(folder: str | Path) -> dict[str, ImageAnnotation]:
    """Every labelme JSON under ``folder`` (hidden folders skipped), keyed by its relative path
    without extension. Raises ``AnnotationError`` naming a bad file."""
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    out: dict[str, ImageAnnotation] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.lower().endswith(".json") or f.startswith("."):
                continue
            path = Path(dirpath) / f
            rel = path.relative_to(root).with_suffix("").as_posix()
            try:
                ann = read_labelme(path)
            except ValueError as exc:
                if "shapes" not in path.read_text(encoding="utf-8", errors="replace"):
                    continue   # some other JSON (classes.json …), not an annotation
                raise exc
            out[rel] = ann
    return out


def read_labels_file(path: str | Path) -> list[str]:
    """Class names from a labels.txt (labelme convention) or a plain list of names."""
    names = [ln.strip() for ln in Path(path).read_text(encoding="utf-8-sig").splitlines()]
    return [n for n in names if n and n not in (IGNORE_LABEL, BACKGROUND_LABEL)]


def class_list(pairs: Sequence[EvalPair], labels: Sequence[str] | None = None) -> list[str]:
    """``_background_`` followed by the classes (``labels`` or those seen, gt first)."""
    if labels is not None:
        names = [n for n in labels if n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    else:
        seen: dict[str, None] = {}
        for side in ("gt", "pred"):
            for p in pairs:
                ann = getattr(p, side)
                for s in ann.shapes if ann is not None else ():
                    if s.label not in (IGNORE_LABEL, BACKGROUND_LABEL):
                        seen.setdefault(s.label, None)
        names = list(seen)
    return [BACKGROUND_LABEL, *names]


def pair_folders(pred: dict[str, ImageAnnotation], gt: dict[str, ImageAnnotation]
                 ) -> tuple[list[EvalPair], list[str], list[str]]:
    """(pairs, names without a prediction, predictions without ground truth)."""
    pairs = [EvalPair(k, g, pred.get(k)) for k, g in gt.items()]
    missing = [k for k in gt if k not in pred]
    unmatched = [k for k in pred if k not in gt]
    return pairs, missing, unmatched


def evaluate_pairs(pairs: Sequence[EvalPair], class_names: Sequence[str]
                   ) -> Generator[Progress, None, dict[str, Any]]:
    """The report dict (a job). ``class_names`` starts with ``_background_``."""
    names = list(class_names)
    values = class_value_map(names)
    pred_values = {k: v for k, v in values.items() if k != IGNORE_LABEL}
    n = len(names)
    cm = np.zeros((n, n), dtype=np.int64)
    stats = InstanceStats(n, IGNORE_VALUE)
    skipped: dict[str, int] = {}
    for k, p in enumerate(pairs):
        h, w = p.gt.height, p.gt.width
        for s in p.gt.shapes:
            if s.label not in values:
                skipped[f"gt:{s.label}"] = skipped.get(f"gt:{s.label}", 0) + 1
        gt_cls, gt_ins = shapes_to_label(p.gt.shapes, h, w, values, unknown="skip")
        if p.pred is not None:
            if (p.pred.height, p.pred.width) != (h, w):
                raise ValueError(f"{p.name}: prediction is {p.pred.width}×{p.pred.height}, "
                                 f"ground truth {w}×{h}")
            for s in p.pred.shapes:
                if s.label not in pred_values:
                    skipped[f"pred:{s.label}"] = skipped.get(f"pred:{s.label}", 0) + 1
            pr_cls, pr_ins = shapes_to_label(p.pred.shapes, h, w, pred_values, unknown="skip")
        else:
            pr_cls, pr_ins = np.zeros((h, w), np.int32), np.zeros((h, w), np.int32)
        cm += confusion_matrix(gt_cls, pr_cls, n, ignore_index=IGNORE_VALUE)
        stats.update(gt_cls, gt_ins, pr_cls, pr_ins)
        yield Progress(k + 1, len(pairs), p.name)
    semantic = scores_from_confusion(cm, names)
    instances = stats.scores(names)
    notes = [f"{EXCLUSION_NOTE}: {', '.join(semantic['excluded']) or 'none'}.",
             "Ground-truth __ignore__ pixels are not scored.",
             "Mean pixel accuracy averages over classes with ground-truth pixels.",
             "PQ/SQ/RQ: segments of the same class match when IoU > 0.5; background is not a "
             "segment class; matched IoU = mean best same-class IoU per ground-truth instance."]
    if skipped:
        notes.append("Skipped shapes (label not in the class list): "
                     + ", ".join(f"{k} ×{v}" for k, v in sorted(skipped.items())))
    return {"images": len(pairs), "classes": names, "semantic": semantic, "instances": instances,
            "notes": notes, "skipped_shapes": skipped}


def evaluate_folders(pred_dir: str | Path, gt_dir: str | Path, labels: str | Path | None = None
                     ) -> Generator[Progress, None, dict[str, Any]]:
    """Compares the labelme JSONs of two folders (matched by relative path); a job."""
    gt = read_annotation_folder(gt_dir)
    pred = read_annotation_folder(pred_dir)
    if not gt:
        raise ValueError(f"{gt_dir}: no labelme annotation files found")
    pairs, missing, unmatched = pair_folders(pred, gt)
    label_names = None
    if labels is not None:
        label_names = read_labels_file(labels)
    elif (Path(gt_dir) / "labels.txt").is_file():
        label_names = read_labels_file(Path(gt_dir) / "labels.txt")
    names = class_list(pairs, label_names)
    report = yield from evaluate_pairs(pairs, names)
    report["missing_predictions"] = missing
    report["unmatched_predictions"] = unmatched
    report["pred"], report["gt"] = str(pred_dir), str(gt_dir)
    if missing:
        report["notes"].append(f"{len(missing)} image(s) without a prediction count as all background.")
    return report


def evaluate_project_items(pred_dir: str | Path, gt_items: Sequence[tuple[str, Any]],
                           labels: Sequence[str] | None = None) -> Generator[Progress, None, dict[str, Any]]:
    """Like :func:`evaluate_folders` with the ground truth taken from a project in memory:
    ``gt_items`` are ``(relative key, item)`` where ``item.load()`` gives the annotation (the
    GUI passes snapshots, so unsaved corrections count). A job."""
    pred = read_annotation_folder(pred_dir)
    gt: dict[str, ImageAnnotation] = {}
    for k, (key, item) in enumerate(gt_items):
        gt[key] = item.load()
        if k % 20 == 0:
            yield Progress(k, len(gt_items), "reading ground truth")
    pairs, missing, unmatched = pair_folders(pred, gt)
    report = yield from evaluate_pairs(pairs, class_list(pairs, labels))
    report["missing_predictions"], report["unmatched_predictions"] = missing, unmatched
    report["pred"], report["gt"] = str(pred_dir), "current project"
    if missing:
        report["notes"].append(f"{len(missing)} image(s) without a prediction count as all background.")
    return report


def evaluate(pred_dir: str | Path, gt_dir: str | Path, labels: str | Path | None = None) -> dict[str, Any]:
    return run_to_end(evaluate_folders(pred_dir, gt_dir, labels))


def _fmt(v: float | None) -> str:
    return "   —  " if v is None else f"{v:6.4f}"


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows (header first) of the per-class table shown by the GUI and the CLI."""
    sem, ins = report["semantic"], report["instances"]
    cm = np.asarray(sem["confusion_matrix"])
    rows = [["class", "IoU", "Dice", "Acc", "PQ", "SQ", "RQ", "GT px", "pred px"]]
    for i, name in enumerate(report["classes"]):
        pc = ins["per_class"].get(name, {})
        rows.append([name, _fmt(sem["per_class_iou"][name]), _fmt(sem["per_class_dice"][name]),
                     _fmt(sem["per_class_accuracy"][name]), _fmt(pc.get("pq")), _fmt(pc.get("sq")),
                     _fmt(pc.get("rq")), str(int(cm[i].sum())), str(int(cm[:, i].sum()))])
    rows.append(["mean", _fmt(sem["miou"]), _fmt(sem["mean_dice"]), _fmt(sem["mean_pixel_accuracy"]),
                 _fmt(ins["pq"]), _fmt(ins["sq"]), _fmt(ins["rq"]), "", ""])
    return rows


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table plus the summary and notes."""
    rows = table_rows(report)
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0 or i == len(rows) - 2:
            lines.append("-" * len(lines[-1]))
    sem, ins = report["semantic"], report["instances"]
    lines += [
        "",
        f"images: {report['images']}   pixels scored: {sem['num_pixels']}",
        f"mean IoU: {_fmt(sem['miou']).strip()}   mean Dice: {_fmt(sem['mean_dice']).strip()}   "
        f"pixel accuracy: {_fmt(sem['pixel_accuracy']).strip()}   "
        f"mean pixel accuracy: {_fmt(sem['mean_pixel_accuracy']).strip()}",
        f"PQ: {_fmt(ins['pq']).strip()}   SQ: {_fmt(ins['sq']).strip()}   RQ: {_fmt(ins['rq']).strip()}   "
        f"matched IoU: {_fmt(ins['matched_iou']).strip()}",
    ]
    names = report["classes"]
    if len(names) <= 12:
        cm = sem["confusion_matrix"]
        w = max(6, *(len(n) for n in names))
        lines += ["", "confusion matrix (rows = ground truth, columns = prediction):",
                  " " * w + "  " + "  ".join(n[:w].rjust(w) for n in names)]
        lines += [n[:w].ljust(w) + "  " + "  ".join(str(v).rjust(w) for v in row) for n, row in zip(names, cm)]
    lines += [""] + [f"note: {t}" for t in report["notes"]]
    return "\n".join(lines)
