"""Dataset export speed: synthetic annotated 1024×768 images → VOC and COCO, images per second.

Each image gets 12 shapes (polygons, rectangles drawn right-to-left, circles, an overlapping
polygon, a brush mask with a hole and an ``__ignore__`` region). The reference row is the bare
work every exporter must do — rasterising the shapes with ``core.rasterize.shapes_to_label`` and
writing one PNG — so the ratio shows the exporter's overhead (image copy, visualisation, RLE…).

    .venv/bin/python benchmarks/bench_export.py            # 100 images (quick)
    .venv/bin/python benchmarks/bench_export.py --count 1000
    .venv/bin/python benchmarks/bench_export.py --scaling  # shape-count table only
    .venv/bin/python benchmarks/bench_export.py --smoke    # seconds; the test suite runs it

The scaling table exports one 2048×1536 image holding 2.5k / 5k / 10k / 20k small polygons
(nuclei-like; more than 255, so VOC writes 16-bit object PNGs) as VOC and COCO (RLE), in
process and through the ``segstudio export`` CLI process; the time per shape must stay flat
(linear time). Its reference is the bare rasterisation (``shapes_to_label``) of the same shapes.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.formats.base import ExportOptions
from segstudio.core.formats.export_driver import export_dataset, items_from_project
from segstudio.core.io.labelme import write_labelme
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.project_io import load_all, open_project
from segstudio.core.rasterize import class_value_map, shapes_to_label

W, H = 1024, 768
CLASSES = ["road", "car", "tree", "person"]


def synthetic_shapes(rng: np.random.Generator) -> list[Shape]:
    shapes: list[Shape] = []
    for _ in range(6):
        cx, cy, r = rng.uniform(100, W - 100), rng.uniform(100, H - 100), rng.uniform(20, 90)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 16))
        rad = r * rng.uniform(0.6, 1.0, 16)
        pts = np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]
        shapes.append(Shape(str(rng.choice(CLASSES)), pts, "polygon"))
    for _ in range(2):
        x0, y0 = rng.uniform(0, W - 150), rng.uniform(0, H - 150)
        shapes.append(Shape("car", [[x0 + 120, y0 + 80], [x0, y0]], "rectangle"))
    for _ in range(2):
        cx, cy = rng.uniform(60, W - 60), rng.uniform(60, H - 60)
        shapes.append(Shape("tree", [[cx, cy], [cx + rng.uniform(10, 50), cy]], "circle"))
    m = np.zeros((H, W), bool)
    y, x = int(rng.uniform(0, H - 200)), int(rng.uniform(0, W - 200))
    m[y:y + 180, x:x + 180] = True
    m[y + 60:y + 120, x + 60:x + 120] = False
    shapes.append(Shape("person", np.zeros((0, 2)), "mask", mask=m))
    shapes.append(Shape("__ignore__", [[0, 0], [60, 0], [60, 40], [0, 40]], "polygon"))
    return shapes


def make_project(root: Path, count: int) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (H // 8, W // 8, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(base).resize((W, H), Image.BILINEAR))
    tmp = root / "_img.jpg"
    Image.fromarray(img).save(tmp, quality=90)
    data = tmp.read_bytes()
    tmp.unlink()
    for i in range(count):
        (root / f"img_{i:05d}.jpg").write_bytes(data)
        write_labelme(root / f"img_{i:05d}.json",
                      ImageAnnotation(f"img_{i:05d}.jpg", W, H, synthetic_shapes(rng), state="labelled"))
    (root / "labels.txt").write_text("\n".join(["__ignore__", "_background_", *CLASSES]) + "\n")
    return root


def grid_shapes(n: int, w: int, h: int) -> list[Shape]:
    """``n`` small quadrilaterals (nuclei-sized) on a grid covering a ``w``×``h`` image."""
    side = int(np.sqrt(w * h / n))
    while (w // side) * (h // side) < n:
        side -= 1
    rng = np.random.default_rng(n)
    out: list[Shape] = []
    for k in range(n):
        x, y = (k % (w // side)) * side, (k // (w // side)) * side
        j = rng.uniform(0, side * 0.2, 4)
        pts = [[x + 1 + j[0], y + 1], [x + side - 2, y + 1 + j[1]], [x + side - 2 - j[2], y + side - 2],
               [x + 1, y + side - 2 - j[3]]]
        out.append(Shape("nucleus", pts, "polygon"))
    return out


def scaling(counts: list[int], w: int, h: int, cli: bool) -> list[tuple]:
    """(shapes, reference s, voc s, coco-rle s, CLI voc s or None) per shape count."""
    rows = []
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "p"
            root.mkdir()
            Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(root / "cells.png")
            shapes = grid_shapes(n, w, h)
            write_labelme(root / "cells.json", ImageAnnotation("cells.png", w, h, shapes, state="labelled"))
            (root / "labels.txt").write_text("__ignore__\n_background_\nnucleus\n")
            project = open_project(root)
            assert not load_all(project)
            items = items_from_project(project)
            t = time.perf_counter()
            shapes_to_label(shapes, h, w, class_value_map(["nucleus"]))
            t_ref = time.perf_counter() - t
            times = []
            for fmt, opts in (("voc", ExportOptions()), ("coco", ExportOptions(coco_masks="rle"))):
                t = time.perf_counter()
                report = run_to_end(export_dataset(fmt, items, Path(tmp) / fmt, project.class_names(), options=opts))
                times.append(time.perf_counter() - t)
                assert report.images == 1 and not report.problems
            assert int(np.load(Path(tmp) / "voc" / "SegmentationObjectNpy" / "cells.npy").max()) == n
            t_cli = None
            if cli:
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "segstudio", "export", "-f", "voc", "-q", str(root),
                                str(Path(tmp) / "cli")], check=True)
                t_cli = time.perf_counter() - t
            rows.append((n, t_ref, *times, t_cli))
    return rows


def print_scaling(rows: list[tuple], w: int, h: int) -> None:
    print(f"# Export time vs shape count: one {w}×{h} image, N small polygons (one instance each)")
    print()
    print("| shapes | reference: shapes_to_label s | export voc s | voc µs/shape | voc × reference "
          "| export coco (rle) s | coco µs/shape | `segstudio export -f voc` process s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, ref, voc, coco, cli in rows:
        print(f"| {n:,} | {ref:.2f} | {voc:.2f} | {voc / n * 1e6:.0f} | {voc / ref:.2f} | {coco:.2f} "
              f"| {coco / n * 1e6:.0f} | {'' if cli is None else f'{cli:.2f}'} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100, help="number of images (the issue asks for 1000)")
    ap.add_argument("--scaling", action="store_true", help="only the shape-count table")
    ap.add_argument("--smoke", action="store_true", help="a few tiny cases (for the test suite)")
    args = ap.parse_args()
    if args.smoke:
        print_scaling(scaling([300, 600], 256, 192, cli=False), 256, 192)
        args.count = 3
    else:
        print_scaling(scaling([2500, 5000, 10000, 20000], 2048, 1536, cli=True), 2048, 1536)
        print()
        if args.scaling:
            return
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "project", args.count)
        project = open_project(root)
        t = time.perf_counter()
        assert not load_all(project)
        t_load = time.perf_counter() - t
        items = items_from_project(project)
        rows = []
        values = class_value_map(CLASSES)
        t = time.perf_counter()
        ref_dir = Path(tmp) / "ref"
        ref_dir.mkdir()
        for it in items:
            ann = it.load()
            cls, _ = shapes_to_label(ann.shapes, ann.height, ann.width, values, unknown="skip")
            Image.fromarray(cls.astype(np.uint8)).save(ref_dir / f"{it.name}.png")
        t_ref = time.perf_counter() - t
        rows.append(("reference: rasterise + 1 PNG", t_ref))
        for fmt, opts in (("voc", ExportOptions(split=(0.8, 0.2, 0.0))),
                          ("coco", ExportOptions(split=(0.8, 0.2, 0.0))),
                          ("coco (rle)", ExportOptions(split=(0.8, 0.2, 0.0), coco_masks="rle"))):
            t = time.perf_counter()
            report = run_to_end(export_dataset(fmt.split()[0], items, Path(tmp) / fmt.replace(" ", "_"),
                                               project.class_names(), options=opts))
            rows.append((f"export {fmt}", time.perf_counter() - t))
            assert report.images == args.count
    print(f"# Export benchmark: {args.count} synthetic {W}×{H} images, 12 shapes each")
    print(f"# {platform.platform()}, python {platform.python_version()}; "
          f"loading the project: {t_load:.2f} s")
    print()
    print("| task | seconds | images/s | × reference time |")
    print("|---|---:|---:|---:|")
    for name, sec in rows:
        print(f"| {name} | {sec:.1f} | {args.count / sec:.1f} | {sec / t_ref:.2f} |")


if __name__ == "__main__":
    main()
