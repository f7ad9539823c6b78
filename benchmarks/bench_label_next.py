"""Does Label next save labels? A simulated annotator: ranking by uncertainty vs random picks.

Each run starts from a few labelled images of a pool and repeats {train a fixed budget → pick
the next ``b`` images → reveal their labels}. Picks come either from segstudio's ranking
(:func:`segstudio.ml.uncertainty.score_image` + :func:`segstudio.core.label_next.pick_next`,
margin score, thumbnail diversity tie-break) or uniformly at random; the first round is shared.
Held-out mIoU (tiled predictor, void ignored) is recorded against the number of labelled images,
over several seeds; "labels saved" = how many more images random needs (linear interpolation of
its mean curve) to reach the mIoU ranking reaches.

Model: a tiny smp Unet (tu-resnet10t, encoder depth 3), trained from scratch every round with the
same step budget (Adam, random crops + flips, CE with void ignored), so a round's model depends
only on the labelled set. Data: CamVid (40 real street scenes, at half resolution; 10 held out)
and a synthetic set in which one class ("box") is rare (~1 image in 6).

    python benchmarks/bench_label_next.py            # full CPU run (~20 min on 2 busy cores)
    python benchmarks/bench_label_next.py --smoke    # seconds, synthetic, writes nothing

May import: anything (benchmark script).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.jobs import run_to_end  # noqa: E402
from segstudio.core.label_next import Candidate, pick_next, thumbnail_descriptor  # noqa: E402
from segstudio.core.metrics import confusion_matrix, scores_from_confusion  # noqa: E402
from segstudio.ml.checkpoint import ModelMeta  # noqa: E402
from segstudio.ml.models import build_model  # noqa: E402
from segstudio.ml.predict import predict_image  # noqa: E402
from segstudio.ml.uncertainty import ScoreOptions, score_image  # noqa: E402

CAMVID = Path("/work/shared/realdata/camvid-train40")
CAMVID_CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
                  "Pedestrian", "Bicyclist"]
TINY = {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}


@dataclass
class Setup:
    name: str
    classes: list[str]
    pool: list[tuple[np.ndarray, np.ndarray]]      # (RGB uint8, label uint8 with 255 = ignore)
    held_out: list[tuple[np.ndarray, np.ndarray]]
    start: int
    batch: int
    rounds: int
    steps: int
    crop: int


def load_camvid(scale: float = 0.5) -> tuple[list, list[str]]:
    out = []
    for img_path in sorted((CAMVID / "images").glob("*.png")):
        img = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
        lab = cv2.imread(str(CAMVID / "labels" / img_path.name), cv2.IMREAD_UNCHANGED)
        size = (int(img.shape[1] * scale), int(img.shape[0] * scale))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        lab = cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST)
        lab = np.where(lab >= len(CAMVID_CLASSES), 255, lab).astype(np.uint8)
        out.append((img, lab))
    return out, CAMVID_CLASSES


def synthetic_rare(n: int, size: int, seed: int) -> list:
    """Images of discs; about one in six also has a box (the rare class)."""
    from segstudio.core.rasterize import class_value_map, shapes_to_label
    from segstudio.ml.synthetic import CLASSES, synthetic_image

    rng = np.random.default_rng(seed)
    value_of = class_value_map(list(CLASSES))
    out = []
    while len(out) < n:
        img, shapes = synthetic_image(rng, size, size, int(rng.integers(1, 4)))
        has_box = any(s.label == "box" for s in shapes)
        if has_box and rng.random() > 0.25:   # keep boxes rare
            continue
        lab, _ = shapes_to_label(shapes, size, size, value_of, dtype=np.uint8)
        out.append((img, lab))
    return out


def _meta(classes: list[str]) -> ModelMeta:
    return ModelMeta("Unet", "tu-resnet10t", 3, list(classes), model_kwargs=dict(TINY))


def train(setup: Setup, labelled: list[int], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    meta = _meta(setup.classes)
    model = build_model("Unet", "tu-resnet10t", 3, len(setup.classes), **TINY)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    mean = torch.tensor(meta.mean).view(1, 3, 1, 1)
    std = torch.tensor(meta.std).view(1, 3, 1, 1)
    model.train()
    c = setup.crop
    for _ in range(setup.steps):
        xs, ys = [], []
        for i in rng.choice(labelled, size=4):
            img, lab = setup.pool[i]
            y0 = int(rng.integers(0, img.shape[0] - c + 1))
            x0 = int(rng.integers(0, img.shape[1] - c + 1))
            im, lb = img[y0:y0 + c, x0:x0 + c], lab[y0:y0 + c, x0:x0 + c]
            if rng.random() < 0.5:
                im, lb = im[:, ::-1], lb[:, ::-1]
            xs.append(np.ascontiguousarray(im))
            ys.append(np.ascontiguousarray(lb))
        x = (torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255 - mean) / std
        y = torch.from_numpy(np.stack(ys)).long()
        loss = torch.nn.functional.cross_entropy(model(x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def held_out_miou(model, setup: Setup) -> float:
    meta, n = _meta(setup.classes), len(setup.classes)
    cm = np.zeros((n, n), np.int64)
    for img, lab in setup.held_out:
        res = run_to_end(predict_image(model, meta, img, "cpu", tile=256, overlap=32))
        cm += confusion_matrix(lab, res.label_map, n)
    return float(scores_from_confusion(cm, setup.classes)["miou"])


def pick_ranked(model, setup: Setup, labelled: list[int], k: int) -> list[int]:
    meta = _meta(setup.classes)
    options = ScoreOptions(metric="margin", tile=256, overlap=32)
    cands = []
    for i, (img, _) in enumerate(setup.pool):
        if i not in labelled:
            s = run_to_end(score_image(model, meta, img, "cpu", options=options))
            cands.append(Candidate(str(i), s.score, thumbnail_descriptor(img)))
    descs = {c.key: c.descriptor for c in cands}
    return [int(k_) for k_ in pick_next(cands, k, exclude=[str(i) for i in labelled], descriptors=descs)]


def simulate(setup: Setup, seeds: list[int]) -> dict[str, np.ndarray]:
    """mIoU per (seed, round) for each strategy."""
    curves = {"random": np.zeros((len(seeds), setup.rounds)), "ranked": np.zeros((len(seeds), setup.rounds))}
    for si, seed in enumerate(seeds):
        rng = np.random.default_rng(1000 + seed)
        first = [int(i) for i in rng.choice(len(setup.pool), setup.start, replace=False)]
        model0 = train(setup, first, seed)
        miou0 = held_out_miou(model0, setup)
        for strategy in curves:
            labelled, model = list(first), model0
            curves[strategy][si, 0] = miou0
            pick_rng = np.random.default_rng(2000 + seed)
            for r in range(1, setup.rounds):
                if strategy == "ranked":
                    new = pick_ranked(model, setup, labelled, setup.batch)
                else:
                    rest = [i for i in range(len(setup.pool)) if i not in labelled]
                    new = [int(i) for i in pick_rng.choice(rest, setup.batch, replace=False)]
                labelled += new
                model = train(setup, labelled, seed)
                curves[strategy][si, r] = held_out_miou(model, setup)
                print(f"    {setup.name} seed {seed} {strategy} round {r}: {len(labelled)} labelled, "
                      f"mIoU {curves[strategy][si, r]:.3f}", flush=True)
            print(f"  {setup.name} seed {seed} {strategy:6s}: "
                  + " ".join(f"{v:.3f}" for v in curves[strategy][si]), flush=True)
    return curves


def labels_saved(ns: np.ndarray, random_mean: np.ndarray, target: float) -> float | None:
    """Labelled images random needs to reach ``target`` (interpolated), None if it never does."""
    for j in range(1, len(ns)):
        lo, hi = random_mean[j - 1], random_mean[j]
        if hi >= target > lo or (j == 1 and lo >= target):
            if lo >= target:
                return float(ns[0])
            return float(ns[j - 1] + (target - lo) / (hi - lo) * (ns[j] - ns[j - 1]))
    return None


def table(setup: Setup, curves: dict[str, np.ndarray]) -> list[str]:
    ns = np.array([setup.start + r * setup.batch for r in range(setup.rounds)])
    rm, km = curves["random"].mean(0), curves["ranked"].mean(0)
    rows = [f"| {setup.name}: labelled images | random mIoU (mean ± sd) | ranked mIoU (mean ± sd) "
            "| images random needs for ranked's mIoU | labels saved |", "|---|---|---|---|---|"]
    for r, n in enumerate(ns):
        need = labels_saved(ns, rm, km[r])
        need_s = f"{need:.1f}" if need is not None else f"> {ns[-1]}"
        saved_s = f"{need - n:+.1f}" if need is not None else f"> {ns[-1] - n}"
        rows.append(f"| {n} | {rm[r]:.3f} ± {curves['random'][:, r].std():.3f} | {km[r]:.3f} ± "
                    f"{curves['ranked'][:, r].std():.3f} | {need_s} | {saved_s} |")
    return rows


def plot(path: Path, results: list[tuple[Setup, dict[str, np.ndarray]]]) -> None:
    """Held-out mIoU vs labelled images, one panel per data set, drawn with PIL."""
    from PIL import Image, ImageDraw

    pw, ph, m = 420, 300, 50
    im = Image.new("RGB", (pw * len(results), ph), "white")
    d = ImageDraw.Draw(im)
    colours = {"random": (120, 120, 120), "ranked": (200, 40, 40)}
    for p, (setup, curves) in enumerate(results):
        ox = p * pw
        ns = [setup.start + r * setup.batch for r in range(setup.rounds)]
        lo = min(float(c.mean(0).min()) for c in curves.values())
        hi = max(float(c.mean(0).max()) for c in curves.values())
        lo, hi = max(0.0, lo - 0.05), min(1.0, hi + 0.05)

        def xy(n, v, ns=ns, ox=ox, lo=lo, hi=hi):
            x = ox + m + (n - ns[0]) / max(1, ns[-1] - ns[0]) * (pw - 2 * m)
            return x, ph - m - (v - lo) / max(1e-6, hi - lo) * (ph - 2 * m)

        d.rectangle([ox + m, m, ox + pw - m, ph - m], outline=(0, 0, 0))
        d.text((ox + m, 10), f"{setup.name}: held-out mIoU vs labelled images", fill=(0, 0, 0))
        for n in ns:
            d.text((xy(n, lo)[0] - 4, ph - m + 5), str(n), fill=(0, 0, 0))
        for v in (lo, (lo + hi) / 2, hi):
            d.text((ox + 8, xy(ns[0], v)[1] - 6), f"{v:.2f}", fill=(0, 0, 0))
        for k, (name, c) in enumerate(curves.items()):
            pts = [xy(n, v) for n, v in zip(ns, c.mean(0))]
            d.line(pts, fill=colours[name], width=3)
            for x, y in pts:
                d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colours[name])
            d.text((ox + pw - m - 70, ph - m - 20 - 14 * k), name, fill=colours[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="seconds, synthetic only, writes nothing")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds run: first .. first + seeds - 1")
    ap.add_argument("--only", choices=["camvid", "synthetic"], help="one data set")
    ap.add_argument("--steps", type=int, default=60, help="training steps per round (4 crops each)")
    ap.add_argument("--crop", type=int, default=96, help="CamVid training crop size in px")
    ap.add_argument("--plot", type=Path, help="where the plot goes (default results/label_next.png)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    setups = []
    if args.smoke:
        data = synthetic_rare(14, 32, 0)
        setups.append(Setup("synthetic", ["_background_", "disc", "box"], data[:10], data[10:], 2, 2, 2, 3, 32))
        seeds = [0]
    else:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        if args.only in (None, "synthetic"):
            data = synthetic_rare(60, 64, 0)
            setups.append(Setup("synthetic", ["_background_", "disc", "box"], data[:48], data[48:],
                                4, 4, 4, args.steps, 64))
        if args.only in (None, "camvid"):
            data, classes = load_camvid()
            setups.append(Setup("camvid", classes, data[:30], data[30:], 4, 4, 4, args.steps, args.crop))
    results = []
    for setup in setups:
        t = time.perf_counter()
        curves = simulate(setup, seeds)
        results.append((setup, curves))
        print(f"\n{setup.name}: pool {len(setup.pool)}, held out {len(setup.held_out)}, "
              f"{setup.steps} steps of 4 crops of {setup.crop}px per round, seeds {seeds}, "
              f"{time.perf_counter() - t:.0f} s")
        print("\n".join(table(setup, curves)))
    if not args.smoke:
        out = args.plot or Path(__file__).resolve().parent / "results" / "label_next.png"
        plot(out, results)
        print(f"\nplot written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
