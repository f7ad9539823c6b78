"""Peak memory of ``segstudio predict`` (the whole CLI process) versus a bare tiled forward pass.

For each image size, three processes run on the same generated photo-like image with the same
tiny checkpoint (random weights: a fragmented prediction, the hard case for shapes), each under
``/usr/bin/time -v`` (peak RSS of the whole process, as a user would see it):

* ``bare``: a script that loads the image and the checkpoint and runs the model over the same
  tiles (tile, overlap, batch as the CLI), argmax per tile into a uint8 map — the reference;
* ``segstudio predict --format masks`` (class PNG; never builds shapes);
* ``segstudio predict --format labelme`` (labelme JSON with polygon shapes).

Prints a table: seconds, peak RSS (MB), ratio to the bare pass. Targets (issue 10, item 3):
≤ 3 GB and ≤ 1.3× bare for 6000×4000.

Usage: ``python benchmarks/bench_predict_memory.py [--sizes 6000x4000,3000x2000] [--classes 12]
[--threads 2] [--smoke]``  (``--smoke``: one 320×256 image, tile 128 — seconds, for the tests)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}

BARE = r"""
import sys, cv2, numpy as np, torch
from segstudio.ml.checkpoint import load_checkpoint
from segstudio.ml.predict import plan_tiles
img_path, ckpt, tile, overlap, bs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
img = cv2.cvtColor(cv2.imread(img_path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
model, meta = load_checkpoint(ckpt, "cpu")
model.eval()
h, w = img.shape[:2]
th, tw, pos = plan_tiles(h, w, tile, overlap)
mean = torch.tensor(meta.mean).view(1, -1, 1, 1)
std = torch.tensor(meta.std).view(1, -1, 1, 1)
out = np.zeros((h, w), np.uint8)
with torch.inference_mode():
    for k in range(0, len(pos), bs):
        chunk = pos[k:k + bs]
        x = torch.from_numpy(np.stack([img[y:y + th, x0:x0 + tw] for y, x0 in chunk]))
        x = (x.permute(0, 3, 1, 2).float() / 255 - mean) / std
        labels = model(x).argmax(1).to(torch.uint8).numpy()
        for (y, x0), lab in zip(chunk, labels):
            out[y:y + th, x0:x0 + tw] = lab[:h - y, :w - x0]
print(int(out.max()))
"""


def make_image(h: int, w: int, path: Path) -> None:
    """A photo-like image (gradients, blobs, noise), built in strips to keep this process small."""
    import cv2

    rng = np.random.default_rng(0)
    img = np.empty((h, w, 3), np.uint8)
    xx = np.arange(w, dtype=np.float32)
    for y0 in range(0, h, 512):
        yy = np.arange(y0, min(h, y0 + 512), dtype=np.float32)[:, None]
        base = np.stack(np.broadcast_arrays(np.sin(yy / 97 + xx / 53) * 90, np.cos(xx / 131) * 90,
                                            np.sin((xx - yy) / 37) * 60), -1) + 128
        img[y0:y0 + len(yy)] = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def make_checkpoint(path: Path, classes: int) -> Path:
    import torch

    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.manual_seed(0)
    model = build_model("Unet", "resnet18", 3, classes, **TINY)
    names = ["_background_"] + [f"class{i}" for i in range(1, classes)]
    meta = ModelMeta("Unet", "resnet18", 3, names, model_kwargs=dict(TINY))
    return save_checkpoint(path, model, meta)


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of ``cmd`` run under /usr/bin/time -v."""
    t0 = time.perf_counter()
    if shutil.which("time") or os.path.exists("/usr/bin/time"):
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        assert m, proc.stderr[-2000:]
        return seconds, int(m.group(1)) / 1024, proc.stdout
    # no /usr/bin/time: the same figure from the kernel's accounting of the child
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = p.communicate()
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out}\n{err[-3000:]}")
    import resource

    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, out


def run_size(h: int, w: int, work: Path, ckpt: Path, tile: int, overlap: int, batch: int,
             env: dict[str, str]) -> list[tuple[str, float, float, str]]:
    img = work / f"photo_{w}x{h}.jpg"
    make_image(h, w, img)
    py = sys.executable
    rows = []
    s, mb, _ = measure([py, "-c", BARE, str(img), str(ckpt), str(tile), str(overlap), str(batch)], env)
    rows.append(("bare tiled forward (reference)", s, mb, ""))
    for fmt in ("masks", "labelme"):
        out = work / f"out_{fmt}_{w}x{h}"
        s, mb, stdout = measure([py, "-m", "segstudio", "predict", "--model", str(ckpt), "--device", "cpu",
                                 "--tile", str(tile), "--overlap", str(overlap), "--batch-size", str(batch),
                                 "--format", fmt, "--quiet", str(img), str(out)], env)
        note = ""
        if fmt == "labelme":
            import json

            shapes = json.loads((out / img.with_suffix(".json").name).read_text())["shapes"]
            note = f"{len(shapes)} shapes"
        rows.append((f"segstudio predict --format {fmt}", s, mb, note))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="6000x4000,3000x2000", help="WxH,WxH…")
    ap.add_argument("--classes", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2, help="torch/OpenMP threads of each process")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--smoke", action="store_true", help="one tiny image, tile 128 (for the test suite)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.sizes, args.tile, args.overlap, args.batch_size, args.classes = "320x256", 128, 16, 2, 4
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}; Unet/resnet18 "
          f"depth 3, {args.classes} classes (random weights), tile {args.tile}, overlap {args.overlap}, "
          f"batch {args.batch_size}, {args.threads} threads, CPU")
    print("| image | process | seconds | peak RSS (MB) | × bare | note |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench_predict_memory_") as tmp:
        work = Path(tmp)
        ckpt = make_checkpoint(work / "tiny.safetensors", args.classes)
        for w, h in sizes:
            rows = run_size(h, w, work, ckpt, args.tile, args.overlap, args.batch_size, env)
            bare = rows[0][2]
            for name, s, mb, note in rows:
                print(f"| {w}×{h} | {name} | {s:.1f} | {mb:.0f} | {mb / bare:.2f} | {note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
