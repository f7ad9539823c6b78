"""Benchmark of tiled inference (segstudio.ml.predict): time, peak memory, tiling overhead, GPU precision.

Prints three tables:

1. whole-image prediction time and peak RSS (each case in a fresh subprocess, so the peak is
   that run's own) — default 2000×1500; ``--full`` adds the 6000×4000 image (target ≤ 3 GB);
2. overhead of our tiling (extract, normalise, blend, finalise) versus a bare smp forward on
   the same tiles in the same batches, as a ratio (target ≤ 1.2×);
3. on a CUDA machine: megapixels per second with fp32, fp16 and bf16 autocast.

Usage: ``python benchmarks/bench_predict.py [--full] [--threads N] [--encoder resnet18]
[--tables overhead,memory,gpu] [--smoke]``; ``--smoke`` runs every table at toy sizes (a check
that the script still runs, which the test suite does; the figures mean nothing).
Random-initialised networks (no download needed): speed does not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _image(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    out = np.empty((h, w, 3), np.uint8)
    xx = np.arange(w, dtype=np.float32)
    for y0 in range(0, h, 512):   # in strips, so building the test image does not inflate the peak
        yy = np.arange(y0, min(h, y0 + 512), dtype=np.float32)[:, None]
        base = np.stack(np.broadcast_arrays(np.sin(yy / 97) * 90, np.cos(xx / 131) * 90,
                                            (xx + yy) / (h + w) * 90), -1) + 128
        noise = rng.normal(0, 10, base.shape).astype(np.float32)
        out[y0:y0 + len(yy)] = np.clip(base + noise, 0, 255).astype(np.uint8)
    return out


def _model(arch: str, encoder: str, classes: int, device: str):
    import torch

    from segstudio.ml.checkpoint import ModelMeta
    from segstudio.ml.models import build_model

    torch.manual_seed(0)
    names = ["_background_"] + [f"c{i}" for i in range(1, classes)]
    model = build_model(arch, encoder, 3, classes).eval().to(device)
    return model, ModelMeta(arch, encoder, 3, names)


def worker(cfg: dict) -> dict:
    """One prediction in this (fresh) process; returns seconds and peak RSS."""
    import torch

    from segstudio.core.jobs import run_to_end
    from segstudio.ml.predict import predict_image

    torch.set_num_threads(cfg["threads"])
    model, meta = _model(cfg["arch"], cfg["encoder"], cfg["classes"], "cpu")
    model_rss = _current_rss_mb()
    img = _image(cfg["h"], cfg["w"])
    base_rss = _current_rss_mb()
    t = time.perf_counter()
    res = run_to_end(predict_image(model, meta, img, "cpu", tile=cfg["tile"], overlap=cfg["overlap"],
                                   batch_size=cfg["batch"]))
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": secs, "peak_rss_mb": peak, "rss_before_mb": base_rss, "model_rss_mb": model_rss,
            "tiles": res.info["tiles"]}


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_table(args) -> None:
    sizes = [(240, 320)] if args.smoke else [(1500, 2000)] + ([(4000, 6000)] if args.full else [])
    print(f"\n## Whole-image prediction on CPU ({args.threads} threads, Unet/{args.encoder}, "
          f"{args.classes} classes, tile {args.tile}, overlap {args.overlap}, batch {args.batch})\n")
    print("| image | tiles | seconds | MP/s | peak RSS (MB) | RSS with model loaded (MB) | "
          "RSS with model + image (MB) |")
    print("|---|---|---|---|---|---|---|")
    for h, w in sizes:
        cfg = {"h": h, "w": w, "arch": "Unet", "encoder": args.encoder, "classes": args.classes,
               "tile": args.tile, "overlap": args.overlap, "batch": args.batch, "threads": args.threads}
        out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)], capture_output=True,
                             text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {w}×{h} | {r['tiles']} | {r['seconds']:.1f} | {h * w / 1e6 / r['seconds']:.2f} "
              f"| {r['peak_rss_mb']:.0f} | {r['model_rss_mb']:.0f} | {r['rss_before_mb']:.0f} |", flush=True)


def overhead_table(args) -> None:
    import torch

    from segstudio.core.jobs import run_to_end
    from segstudio.ml.predict import _extract, plan_tiles, predict_image

    torch.set_num_threads(args.threads)
    h, w, tile, overlap, batch = (256, 384, 128, 16, 2) if args.smoke else (1024, 1536, 512, 64, 2)
    img = _image(h, w)
    model, meta = _model("Unet", args.encoder, args.classes, "cpu")
    th, tw, pos = plan_tiles(h, w, tile, overlap)
    mean = torch.tensor(meta.mean).view(1, 3, 1, 1)
    std = torch.tensor(meta.std).view(1, 3, 1, 1)
    batches = [torch.from_numpy(np.stack([_extract(img, y, x, th, tw=tw) for y, x in pos[i:i + batch]]))
               .permute(0, 3, 1, 2).float().div(255).sub(mean).div(std).contiguous()
               for i in range(0, len(pos), batch)]

    def bare() -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for x in batches:
                model(x)
        return time.perf_counter() - t, time.process_time() - c

    def ours() -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        run_to_end(predict_image(model, meta, img, "cpu", tile=tile, overlap=overlap, batch_size=batch))
        return time.perf_counter() - t, time.process_time() - c

    bare()   # warm-up (allocator, oneDNN kernels)
    pairs = []
    for i in range(args.repeats):   # alternate the order so load changes hit both alike
        if i % 2:
            o, b = ours(), bare()
        else:
            b, o = bare(), ours()
        pairs.append((b, o))
    wall_ratio = float(np.median([o[0] / b[0] for b, o in pairs]))
    cpu_ratio = float(np.median([o[1] / b[1] for b, o in pairs]))
    print(f"\n## Tiling overhead ({w}×{h}, {len(pos)} tiles of {tile}, overlap {overlap}, batch {batch}, "
          f"Unet/{args.encoder}, {args.repeats} alternating pairs)\n")
    print("| bare smp forward on the tiles: best wall s | segstudio predict_image: best wall s "
          "| median wall ratio | median CPU-time ratio |")
    print("|---|---|---|---|")
    print(f"| {min(b[0] for b, _ in pairs):.2f} | {min(o[0] for _, o in pairs):.2f} | {wall_ratio:.3f}× "
          f"| {cpu_ratio:.3f}× |", flush=True)


def gpu_table(args) -> None:
    import torch

    from segstudio.core.jobs import run_to_end
    from segstudio.ml.predict import predict_image

    print("\n## GPU throughput\n")
    if not torch.cuda.is_available():
        print("No CUDA device here: GPU figures pending a GPU session.")
        return
    h, w = (512, 768) if args.smoke else (4000, 6000)
    img = _image(h, w)
    model, meta = _model("Unet", "resnet34", args.classes, "cuda")
    print(f"Device: {torch.cuda.get_device_name(0)}; Unet/resnet34, {w}×{h}, tile 1024, overlap 128, batch 8\n")
    print("| precision | seconds | MP/s | peak GPU memory (MB) |")
    print("|---|---|---|---|")
    for amp in (False, "fp16", "bf16"):
        run_to_end(predict_image(model, meta, img[:1024, :2048], "cuda", tile=1024, overlap=128,
                                 batch_size=8, amp=amp))  # warm-up
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        run_to_end(predict_image(model, meta, img, "cuda", tile=1024, overlap=128, batch_size=8, amp=amp))
        torch.cuda.synchronize()
        s = time.perf_counter() - t
        print(f"| {amp or 'fp32'} | {s:.2f} | {h * w / 1e6 / s:.1f} | {torch.cuda.max_memory_allocated() / 2**20:.0f} |",
              flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="include the 6000×4000 image (minutes on 2 cores)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--classes", type=int, default=5)
    p.add_argument("--tile", type=int, default=1024)
    p.add_argument("--overlap", type=int, default=128)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--tables", default="overhead,memory,gpu", help="which tables to print (comma-separated)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--smoke", action="store_true", help="toy sizes: a check that every table still runs")
    args = p.parse_args()
    if args.smoke:
        args.tile, args.overlap, args.repeats = 128, 16, 1
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    import platform

    import torch

    print(f"# bench_predict — {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads available, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    tables = set(args.tables.split(","))
    for name, fn in (("overhead", overhead_table), ("memory", memory_table), ("gpu", gpu_table)):
        if name in tables:
            fn(args)


if __name__ == "__main__":
    main()
