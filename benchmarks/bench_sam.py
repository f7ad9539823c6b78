"""Segment-Anything cost on this CPU: encoder time per image, decoder time per click.

For each family's tiny ONNX graphs (tests/sam/onnx_graphs.py: the real tensor names and
shapes, trivial arithmetic) — and for every real model found on this machine (``segstudio sam
models``) — it times, per image size:

- encode: our whole call (resize, normalise, pad, run) vs the raw ``session.run`` on a ready
  tensor — the difference is our pre-processing;
- click: our whole decode (prompt arrays, run, mask back to the original size, threshold) vs the
  raw decoder ``session.run`` — the difference is our post-processing (the target is ≤ 50 ms);
- cached: a click on a cached embedding through :class:`Predictor` (no encoder run).

``--smoke``: one small size, 2 repeats. Prints a markdown table (median ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.sam.families import get_family, preprocess  # noqa: E402
from segstudio.sam.models import find_local, status_rows  # noqa: E402
from segstudio.sam.predictor import Predictor  # noqa: E402
from segstudio.sam.runtime import SamModel  # noqa: E402
from tests.sam import onnx_graphs as g  # noqa: E402


def median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench(label: str, model: SamModel, sizes, reps: int) -> list[str]:
    return [bench_one(label, model, h, w, reps) for h, w in sizes]


def bench_one(label: str, model: SamModel, h: int, w: int, reps: int) -> str:
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    tensor, _ = preprocess(model.family, img, model._enc_rank)
    enc_raw = median_ms(lambda: model.encoder.run(None, {model._enc_input: tensor}), reps)
    enc_ours = median_ms(lambda: model.encode(img), reps)
    emb = model.encode(img)
    click = [(w * 0.4, h * 0.6)]
    model.decode(emb, click)   # the feed, once, for the raw call below
    feed = {}
    orig = emb.frame.orig

    def raw_decode():
        from segstudio.sam.families import prompt_arrays

        if not feed:
            coords, labels = prompt_arrays(model.family, emb.frame, click, [], None)
            for name, (role, typ) in model._dec_inputs.items():
                feed[name] = (emb.features.get(role) if role in emb.features else
                              {"point_coords": coords, "point_labels": labels,
                               "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                               "has_mask_input": np.zeros(1, np.float32),
                               "orig_im_size": np.asarray(orig, np.int64 if "int64" in typ else np.float32)
                               }[role])
        model.decoder.run(None, feed)

    raw_decode()
    dec_raw = median_ms(raw_decode, reps)
    dec_ours = median_ms(lambda: model.decode(emb, click), reps)
    pred = Predictor(model, label)
    pred.embed("k", img)
    cached = median_ms(lambda: pred.segment("k", img, click), reps)
    return (f"| {label} | {w}x{h} | {enc_ours:.1f} | {enc_raw:.1f} | {enc_ours / enc_raw:.2f} "
            f"| {dec_ours:.1f} | {dec_raw:.1f} | {dec_ours / max(dec_raw, 1e-6):.2f} | {cached:.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="one small size, 2 repeats")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    sizes = [(480, 640)] if args.smoke else [(480, 640), (3000, 4000), (4000, 6000)]
    reps = 2 if args.smoke else args.reps
    print("| model | image | encode ms | raw encoder run ms | ratio | click ms | raw decoder run ms "
          "| ratio | click on cached embedding ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        variants = [("tiny graph, sam", "sam", {}), ("tiny graph, sam2", "sam2", {"orig_size": "int64"}),
                    ("tiny graph, sam2 low-res", "sam2", {"orig_size": None, "low_res": False})]
        for label, fam, kw in variants:
            enc, dec = g.model_pair(Path(tmp) / label.replace(" ", "_").replace(",", ""), fam, **kw)
            for row in bench(label, SamModel(get_family(fam), enc, dec), sizes, reps):
                print(row, flush=True)
    if not args.smoke:
        for r in status_rows():
            local = find_local(r["name"]) if r["status"] == "present" else None
            if local is not None:
                m = SamModel(get_family(local.family), local.files["encoder"], local.files["decoder"])
                for row in bench(r["name"], m, sizes[:2], max(3, reps // 2)):
                    print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
