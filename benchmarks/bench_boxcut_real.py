"""Box graph cut on real photos: ``box_cut`` against OpenCV's GrabCut on the same boxes.

Objects: labelme's VOC photos (instance and video examples: one object per ``(label,
group_id)``, polygons rasterised) and CamVid cars and pedestrians (connected components of
classes 8 and 9 of at least ``--min-area`` px). The box is the object's bounding box plus a
margin (10 % of its size, at least 4 px), as a user draws it. Both methods run through the
app's path (``run_method``). Printed: per-object IoU against the object's mask, the means,
the empty results, and the median time of ``box_cut`` and GrabCut on the photos resized to
512×512 (target ≤ 150 ms for ``box_cut``).

Usage: ``python benchmarks/bench_boxcut_real.py [--data /work/shared/realdata]``;
``--smoke``: one synthetic photo-like image made here (what the test suite runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_seconds  # noqa: E402

from segstudio.algorithms import synthetic  # noqa: E402
from segstudio.algorithms.registry import Prompt, run_method  # noqa: E402
from segstudio.algorithms.synthetic import iou  # noqa: E402
from segstudio.core.io.labelme import read_labelme  # noqa: E402
from segstudio.core.rasterize import shape_mask  # noqa: E402

DEFAULT_DATA = Path("/work/shared/realdata")
LABELME_SETS = ("instance_segmentation", "video_annotation")
CAMVID_CLASSES = {8: "car", 9: "pedestrian"}
SIDE = 512   # the latency is measured on photos resized to SIDE×SIDE

Obj = tuple[str, np.ndarray, np.ndarray, tuple[int, int, int, int]]   # name, rgb8, gt, box


def margin_box(gt: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(gt)
    h, w = gt.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    mx, my = max(4, round(0.1 * (x1 - x0))), max(4, round(0.1 * (y1 - y0)))
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def _rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1])


def labelme_objects(root: Path, min_area: int) -> Iterator[Obj]:
    for name in LABELME_SETS:
        for js in sorted((root / "labelme-examples" / "examples" / name / "data_annotated").glob("*.json")):
            ann = read_labelme(js)
            img = _rgb(js.with_suffix(".jpg"))
            h, w = img.shape[:2]
            groups: dict[tuple, np.ndarray] = {}
            for k, s in enumerate(ann.shapes):
                if s.label.startswith("_"):
                    continue
                key = (s.label, s.group_id if s.group_id is not None else f"#{k}")
                groups[key] = groups.get(key, np.zeros((h, w), bool)) | shape_mask(s, h, w)
            for (label, gid), gt in groups.items():
                if gt.sum() >= min_area:
                    yield f"{name[:5]}/{js.stem}/{label}{gid}", img, gt, margin_box(gt)


def camvid_objects(root: Path, min_area: int, per_image: int) -> Iterator[Obj]:
    for lab_path in sorted((root / "camvid-train40" / "labels").glob("*.png")):
        labels = cv2.imread(str(lab_path), cv2.IMREAD_UNCHANGED)
        img = _rgb(root / "camvid-train40" / "images" / lab_path.name)
        found = []
        for cls, cname in CAMVID_CLASSES.items():
            n, comp, stats, _ = cv2.connectedComponentsWithStats((labels == cls).astype(np.uint8), connectivity=8)
            for i in range(1, n):
                if stats[i, cv2.CC_STAT_AREA] >= min_area:
                    found.append((int(stats[i, cv2.CC_STAT_AREA]), cname, i, comp))
        # the largest few per image: 40 street scenes would otherwise be mostly one kind of car
        for _area, cname, i, comp in sorted(found, key=lambda t: -t[0])[:per_image]:
            gt = comp == i
            yield f"camvid/{lab_path.stem}/{cname}{i}", img, gt, margin_box(gt)


def smoke_object(seed: int = 0) -> Obj:
    img, gt, box = synthetic.photo_like_object(seed=seed)
    return "smoke/photo-like", img, gt, box


def _resized(obj: Obj) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    _, img, _, (x0, y0, x1, y1) = obj
    h, w = img.shape[:2]
    sx, sy = SIDE / w, SIDE / h
    return cv2.resize(img, (SIDE, SIDE), interpolation=cv2.INTER_AREA), (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def run(objects: list[Obj], repeat: int, timed: int) -> int:
    print("| object | px | IoU GrabCut (OpenCV) | IoU box_cut | box_cut empty |")
    print("|---|---:|---:|---:|:---:|")
    gc_iou, bc_iou, empties, gc_empty = [], [], 0, 0
    for name, img, gt, box in objects:
        ref = run_method("grabcut", img, Prompt(box=box)) > 0
        ours = run_method("box_cut", img, Prompt(box=box)) > 0
        gc_iou.append(iou(ref, gt))
        bc_iou.append(iou(ours, gt))
        empties += not ours.any()
        gc_empty += not ref.any()
        print(f"| {name} | {int(gt.sum())} | {gc_iou[-1]:.3f} | {bc_iou[-1]:.3f} | {'EMPTY' if not ours.any() else ''} |",
              flush=True)
    print(f"| **mean over {len(objects)}** | | **{np.mean(gc_iou):.3f}** | **{np.mean(bc_iou):.3f}** | "
          f"{empties} empty (GrabCut: {gc_empty}) |")
    step = max(1, len(objects) // timed)
    gc_t, bc_t = [], []
    for obj in objects[::step][:timed]:
        small, box = _resized(obj)
        p = Prompt(box=box)
        gc_t.append(median_seconds(lambda s=small, p=p: run_method("grabcut", s, p), 1))
        bc_t.append(median_seconds(lambda s=small, p=p: run_method("box_cut", s, p), repeat))
    print(f"\nLatency on {len(bc_t)} photos resized to {SIDE}x{SIDE} (median over photos of the median of "
          f"{repeat} runs): box_cut {statistics.median(bc_t) * 1000:.0f} ms, GrabCut (OpenCV) "
          f"{statistics.median(gc_t) * 1000:.0f} ms, ratio {statistics.median(bc_t) / statistics.median(gc_t):.2f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the realdata folder")
    ap.add_argument("--min-area", type=int, default=400, help="smallest object (px)")
    ap.add_argument("--per-image", type=int, default=3, help="CamVid objects per street scene (largest first)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timed", type=int, default=12, help="photos timed at 512x512")
    ap.add_argument("--smoke", action="store_true", help="one synthetic photo-like image (test suite)")
    args = ap.parse_args()
    cv2.setNumThreads(2)
    if args.smoke:
        return run([smoke_object()], 1, 1)
    if not args.data.is_dir():
        print(f"bench_boxcut_real: no real data at {args.data} (give --data DIR with labelme-examples/ "
              "and camvid-train40/, or run --smoke)")
        return 0
    objects = list(labelme_objects(args.data, args.min_area))
    objects += list(camvid_objects(args.data, args.min_area, args.per_image))
    print(f"{len(objects)} objects from {args.data}\n")
    return run(objects, args.repeat, args.timed)


if __name__ == "__main__":
    sys.exit(main())
