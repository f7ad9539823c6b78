"""Image and annotation I/O speed: segstudio vs the raw library call, in the same run.

    python benchmarks/bench_io.py           # quick (3000x2000 photo, 200 files)
    python benchmarks/bench_io.py --full    # 6000x4000 photo, 2000 files
    python benchmarks/bench_io.py --smoke   # seconds: does it still run (the test suite runs it)

Prints a table of median times and the ratio to the reference call.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from timing import median_seconds

from segstudio.core.io.images import image_size, load_image
from segstudio.core.io.labelme import read_labelme
from segstudio.core.project_io import open_project


def _photo(path: Path, w: int, h: int, orientation: int | None) -> None:
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 256)], axis=2).astype(np.uint8)
    im = Image.fromarray(arr)
    exif = im.getexif()
    if orientation:
        exif[0x0112] = orientation
    im.save(path, quality=90, exif=exif)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: a seconds-long check that it runs")
    args = ap.parse_args()
    w, h = (6000, 4000) if args.full else (600, 400) if args.smoke else (3000, 2000)
    n_files = 2000 if args.full else 10 if args.smoke else 200
    side16 = 200 if args.smoke else 2000
    rows = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for o in (None, 6):
            p = root / f"photo_{o}.jpg"
            _photo(p, w, h, o)
            ours = median_seconds(lambda p=p: load_image(p), 5)
            ref = median_seconds(lambda p=p: cv2.imread(str(p), cv2.IMREAD_UNCHANGED), 5)
            rows.append((f"load_image JPEG {w}x{h} EXIF={o or 'none'}", ours, "cv2.imread UNCHANGED", ref))
            if o:   # OpenCV's own EXIF-applying decode is the fair reference for rotated photos
                ref = median_seconds(lambda p=p: cv2.imread(str(p), cv2.IMREAD_COLOR), 5)
                rows.append((f"load_image JPEG {w}x{h} EXIF={o}", ours, "cv2.imread COLOR (rotates)", ref))
        p = root / "photo_6.jpg"
        rows.append(("image_size JPEG (header)", median_seconds(lambda: image_size(p), 20),
                     "PIL Image.open().size", median_seconds(lambda: Image.open(p).size, 20)))
        a16 = np.random.default_rng(0).integers(0, 65535, (side16, side16), dtype=np.uint16)
        cv2.imwrite(str(root / "d16.png"), a16)
        rows.append((f"load_image PNG16 {side16}x{side16}", median_seconds(lambda: load_image(root / "d16.png"), 5),
                     "cv2.imread UNCHANGED", median_seconds(lambda: cv2.imread(str(root / "d16.png"), -1), 5)))
        proj = root / "proj"
        proj.mkdir()
        small = np.zeros((32, 32, 3), dtype=np.uint8)
        shape = {"label": "a", "points": [[float(i), float(i % 7)] for i in range(50)], "group_id": None,
                 "description": "", "shape_type": "polygon", "flags": {}, "mask": None}
        doc = {"version": "5.5.0", "flags": {}, "shapes": [shape] * 20, "imagePath": "", "imageData": None,
               "imageHeight": 32, "imageWidth": 32}
        for i in range(n_files):
            cv2.imwrite(str(proj / f"img{i}.png"), small)
            (proj / f"img{i}.json").write_text(json.dumps(dict(doc, imagePath=f"img{i}.png")))
        one = proj / "img0.json"
        rows.append(("read_labelme (20 polygons x 50 pts)", median_seconds(lambda: read_labelme(one), 20),
                     "json.loads", median_seconds(lambda: json.loads(one.read_text()), 20)))
        rows.append((f"open_project {n_files} images + JSON", median_seconds(lambda: open_project(proj), 3),
                     "os.walk + json.loads each", median_seconds(
                         lambda: [json.loads(f.read_text()) for f in proj.glob("*.json")], 3)))
    print(f"{'operation':44} {'segstudio':>10} {'reference':>10} {'ratio':>6}  reference call")
    for name, ours, ref_name, ref in rows:
        print(f"{name:44} {ours * 1000:8.1f}ms {ref * 1000:8.1f}ms {ours / ref:6.2f}  {ref_name}")


if __name__ == "__main__":
    main()
