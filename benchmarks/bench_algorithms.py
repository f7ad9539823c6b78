"""Benchmark of the classical pre-annotation methods.

1. Whole-image methods: the app's path (``run_method`` + label map → shapes) against the raw
   library call(s) a script would make for the same result, as a ratio (target ≤ 1.2).
2. Interactive tools on a 512×512 region: median latency of magic wand, box graph cut and
   scribble graph cut (target ≤ 150 ms), and the box cut's IoU against OpenCV's GrabCut on the
   synthetic test set (target: within 0.02); on real photos: ``bench_boxcut_real.py``.

Usage: ``python benchmarks/bench_algorithms.py`` (1500×1000, quick) or ``--full`` (6000×4000).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_seconds  # noqa: E402

from segstudio.algorithms import synthetic  # noqa: E402
from segstudio.algorithms.apply import ApplyOptions, label_map_shapes  # noqa: E402
from segstudio.algorithms.registry import Prompt, run_method  # noqa: E402


def big_image(width: int, height: int) -> np.ndarray:
    """Two-tone noisy shapes, tiled so that objects keep a realistic size on big images."""
    tile, _ = synthetic.two_tone_shapes(500, 500, noise=20, seed=0)
    reps = (height // 500 + 1, width // 500 + 1, 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def _gray(img: np.ndarray, sigma: float = 0.0) -> np.ndarray:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return cv2.GaussianBlur(g, (0, 0), sigma) if sigma > 0 else g


def raw_calls(img: np.ndarray) -> dict[str, Callable[[], object]]:
    """The plain library calls that give each method's result (no shapes)."""
    from skimage.filters import threshold_multiotsu
    from skimage.segmentation import felzenszwalb, slic, watershed

    def auto_ws() -> object:
        # the app's steps, as a script writes them: Otsu, drop specks < 20 px, fill holes,
        # distance-transform peaks merged within min_distance / 2, watershed (same label map)
        from scipy import ndimage

        g = _gray(img, 1.0)
        _, fg = cv2.threshold(g, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        _, lab, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < 20)
        fg[np.isin(lab, small[small > 0])] = 0
        fg = ndimage.binary_fill_holes(fg)
        fg8 = fg.astype(np.uint8)
        dist = cv2.distanceTransform(fg8, cv2.DIST_L2, 5)
        peaks = (dist >= cv2.dilate(dist, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21))) - 1e-3) & (dist > 1)
        peaks = cv2.dilate(peaks.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))) & fg8
        _, markers = cv2.connectedComponents(peaks)
        return watershed(-dist, markers, mask=fg)

    def kmeans() -> object:
        lab = cv2.cvtColor(cv2.GaussianBlur(img, (0, 0), 1.0), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.1)
        return cv2.kmeans(lab, 3, None, crit, 1, cv2.KMEANS_PP_CENTERS)

    def canny_regions() -> object:
        from scipy import ndimage

        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        edges = cv2.morphologyEx(cv2.Canny(_gray(img, 1.5), 50, 150, L2gradient=True), cv2.MORPH_CLOSE, k)
        filled = cv2.morphologyEx(ndimage.binary_fill_holes(edges).astype(np.uint8), cv2.MORPH_OPEN, k)
        return cv2.connectedComponentsWithStats(filled, connectivity=8)

    return {
        "threshold": lambda: cv2.threshold(_gray(img), 128, 1, cv2.THRESH_BINARY),
        "otsu": lambda: cv2.threshold(_gray(img, 1.0), 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU),
        "multi_otsu": lambda: np.digitize(g := _gray(img, 1.0), threshold_multiotsu(g, 3)),
        "adaptive": lambda: cv2.adaptiveThreshold(_gray(img), 1, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                                  cv2.THRESH_BINARY, 51, 5),
        "canny_regions": canny_regions,
        "watershed": auto_ws,
        "kmeans": kmeans,
        "mean_shift": lambda: cv2.pyrMeanShiftFiltering(
            cv2.resize(img, None, fx=1024 / max(img.shape[:2]), fy=1024 / max(img.shape[:2]),
                       interpolation=cv2.INTER_AREA), 10, 24),
        "felzenszwalb": lambda: felzenszwalb(img, scale=200, sigma=0.8, min_size=50),
        "slic": lambda: slic(img, n_segments=200, compactness=10, sigma=1, start_label=1, channel_axis=-1),
    }


def raw_polygons(lm: np.ndarray) -> int:
    """What a script does to get polygons from a label map with plain OpenCV (+ scipy): a
    binary uint8 map goes to findContours as it is, others one crop per value."""
    from scipy import ndimage

    n = 0
    if lm.dtype == np.uint8 and lm.max() <= 1:
        crops = [(np.s_[:, :], None)]
    else:
        crops = [(sl, i) for i, sl in enumerate(ndimage.find_objects(lm), start=1) if sl is not None]
    for sl, i in crops:
        m = lm if i is None else (lm[sl] == i).astype(np.uint8)
        contours, hier = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        for c, h in zip(contours, hier[0] if hier is not None else []):
            if h[3] < 0 and cv2.contourArea(c) >= 10:
                cv2.approxPolyDP(c, 0.5, True)
                n += 1
    return n


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_whole_image(width: int, height: int, repeat: int, skip: set[str]) -> list[tuple]:
    """Per method: median times of the raw call, the raw contours of its label map and the app
    path, measured interleaved (raw, contours, app, raw, …) so that load from other jobs on
    the shared machine hits all three alike. Methods taking over a minute a run run once."""
    img = big_image(width, height)
    rows = []
    opts = ApplyOptions(label="object", tolerance=0.5, min_area=10)
    for name, raw in raw_calls(img).items():
        if name in skip:
            continue
        t_raw, t_poly, t_app = [], [], []
        n = 0
        for r in range(repeat):
            t_raw.append(_timed(raw)[0])
            # the app path, segment_to_shapes = run_method(dtype=None) + label_map_shapes, timed
            # as its two halves so that the label map is at hand for the raw contours
            t_method, lm = _timed(lambda name=name: run_method(name, img, None, None, dtype=None))
            t_shapes, shapes = _timed(lambda lm=lm: label_map_shapes(lm, opts))
            t_app.append(t_method + t_shapes)
            t_poly.append(_timed(lambda lm=lm: raw_polygons(lm))[0])
            n = len(shapes)
            if r == 0 and t_raw[0] + t_app[0] + t_poly[0] > 60.0:
                break   # a minute a run (felzenszwalb, adaptive's raw contours at 6000x4000): once
        t_raw_m, t_poly_m, t_app_m = (statistics.median(t) for t in (t_raw, t_poly, t_app))
        rows.append((name, t_raw_m, t_poly_m, t_app_m, len(t_raw), n))
        print(f"  {name:<14} raw {t_raw_m * 1000:9.1f} ms (+contours {t_poly_m * 1000:7.1f})  "
              f"app {t_app_m * 1000:9.1f} ms  ratio {t_app_m / (t_raw_m + t_poly_m):5.2f}  "
              f"({len(t_raw)} runs, {n} shapes)", flush=True)
    return rows


def _scribbles(gt: np.ndarray) -> Prompt:
    return synthetic.cross_and_frame_scribbles(gt, arm=40, thickness=5, margin=4)


def bench_interactive(repeat: int, seeds: range) -> tuple[list[tuple], list[tuple]]:
    lat_rows = []
    iou_rows = []
    two, _ = synthetic.two_tone_shapes(512, 512, noise=20, seed=0)
    t_wand = median_seconds(lambda: run_method("magic_wand", two, Prompt(fg_points=[(170, 170)]),
                                       {"tolerance": 60, "blur_sigma": 1.5}), repeat)
    lat_rows.append(("magic_wand", t_wand))
    gc_t, box_t, scr_t = [], [], []
    for seed in seeds:
        img, gt, box = synthetic.textured_object(512, 512, seed=seed)
        ref = run_method("grabcut", img, Prompt(box=box))
        ours = run_method("box_cut", img, Prompt(box=box))
        scr = run_method("scribble_cut", img, _scribbles(gt))
        iou_rows.append((seed, synthetic.iou(ref, gt), synthetic.iou(ours, gt), synthetic.iou(scr, gt)))
        box_prompt, scr_prompt = Prompt(box=box), _scribbles(gt)
        gc_t.append(median_seconds(lambda i=img, p=box_prompt: run_method("grabcut", i, p), 1))
        box_t.append(median_seconds(lambda i=img, p=box_prompt: run_method("box_cut", i, p), repeat))
        scr_t.append(median_seconds(lambda i=img, p=scr_prompt: run_method("scribble_cut", i, p), repeat))
    lat_rows += [("grabcut (OpenCV)", statistics.median(gc_t)), ("box_cut", statistics.median(box_t)),
                 ("scribble_cut", statistics.median(scr_t))]
    return lat_rows, iou_rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="6000x4000 whole-image benchmark")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma-separated methods to skip")
    ap.add_argument("--no-interactive", action="store_true", help="only the whole-image table")
    ap.add_argument("--smoke", action="store_true", help="toy sizes, one run: a check that it runs (tests)")
    args = ap.parse_args()
    w, h = (6000, 4000) if args.full else (300, 200) if args.smoke else (1500, 1000)
    cv2.setNumThreads(2)
    repeat = 1 if args.smoke else args.repeat
    print(f"Whole-image methods on {w}x{h} (median of up to {repeat} interleaved runs):", flush=True)
    rows = bench_whole_image(w, h, repeat, set(filter(None, args.skip.split(","))))
    print("\n| method | raw call (ms) | raw contours (ms) | raw call + raw contours (ms) | "
          "app path incl. shapes (ms) | ratio app / raw+contours | ratio app / raw call | runs | shapes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, t_raw, t_poly, t_app, runs, n in rows:
        print(f"| {name} | {t_raw * 1000:.0f} | {t_poly * 1000:.0f} | {(t_raw + t_poly) * 1000:.0f} | "
              f"{t_app * 1000:.0f} | {t_app / (t_raw + t_poly):.2f} | {t_app / t_raw:.2f} | {runs} | {n} |")
    if args.no_interactive:
        return 0
    print("\nInteractive tools on 512x512 (median):", flush=True)
    lat, ious = bench_interactive(repeat, range(1)) if args.smoke else bench_interactive(max(5, repeat), range(6))
    print("| tool | median (ms) |")
    print("|---|---:|")
    for name, t in lat:
        print(f"| {name} | {t * 1000:.0f} |")
    print("\n| seed | IoU GrabCut (OpenCV) | IoU box_cut | IoU scribble_cut |")
    print("|---|---:|---:|---:|")
    for seed, a, b, c in ious:
        print(f"| {seed} | {a:.4f} | {b:.4f} | {c:.4f} |")
    mean = np.mean(np.array([r[1:] for r in ious]), axis=0)
    print(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
