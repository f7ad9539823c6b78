"""Training throughput: segstudio's loop vs a bare smp loop written like a tutorial, and how
validation mIoU grows with epochs.

Both loops train the same smp model on the same synthetic images with the same batch size,
crop, loss (smp DiceLoss) and device, in one run, interleaved over several rounds (the median
is reported, so a noisy shared machine affects both alike). Throughput counts training images
per second between the first and the last measured batch (warm-up batches excluded, no
validation). On CUDA ours uses mixed precision + channels-last; the tutorial loop is plain fp32.

    python benchmarks/bench_train.py                 # quick CPU run (< 3 min)
    python benchmarks/bench_train.py --device cuda --full
    python benchmarks/bench_train.py --smoke         # seconds: does it still run (the test suite runs it)

May import: anything (benchmark script).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.jobs import run_to_end  # noqa: E402
from segstudio.ml.synthetic import synthetic_samples  # noqa: E402
from segstudio.ml.train import TrainConfig, train_job  # noqa: E402


def tutorial_loop(data, arch: str, encoder: str, batch: int, crop: int, steps: int, warmup: int,
                  device: str, lr: float = 1e-3) -> float:
    """Images/s of a training loop as the smp examples write it (fp32, normalise in the Dataset)."""
    import segmentation_models_pytorch as smp
    from torch.utils.data import DataLoader, Dataset

    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)

    class TutorialDataset(Dataset):
        def __init__(self, samples):
            self.samples = samples

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, i):
            s = self.samples[i]
            h, w = s.label.shape
            y, x = np.random.randint(0, h - crop + 1), np.random.randint(0, w - crop + 1)
            img, mask = s.image[y:y + crop, x:x + crop], s.label[y:y + crop, x:x + crop]
            if np.random.rand() < 0.5:
                img, mask = img[:, ::-1], mask[:, ::-1]
            img = ((img.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
            return torch.from_numpy(np.ascontiguousarray(img)), torch.from_numpy(mask.astype(np.int64))

    torch.manual_seed(0)
    model = getattr(smp, arch)(encoder_name=encoder, encoder_weights=None, classes=3).to(device)
    loss_fn = smp.losses.DiceLoss("multiclass")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TutorialDataset(data.samples), batch_size=batch, shuffle=True, drop_last=True)
    model.train()
    t0, n, running = None, 0, 0.0
    for step, (images, masks) in enumerate(loader):
        if step == warmup:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        images, masks = images.to(device), masks.to(device)
        logits = model(images)
        loss = loss_fn(logits, masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()
        if step >= warmup:
            n += images.shape[0]
        if step + 1 >= warmup + steps:
            break
    return n / (time.perf_counter() - t0)


def our_loop(data, arch: str, encoder: str, batch: int, crop: int, steps: int, warmup: int,
             device: str, out: Path) -> float:
    cfg = TrainConfig(out=str(out), arch=arch, encoder=encoder, epochs=1, batch_size=batch, crop_size=crop,
                      val_split=0.0, loss="dice", augment="medium", device=device, seed=0, patience=0,
                      encoder_weights=None,
                      min_samples_per_epoch=batch * (steps + warmup))
    times: list[float] = []

    def on_progress(p):
        if p.data.get("phase") == "batch":
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter())

    run_to_end(train_job(cfg, data), on_progress)
    # the time from the end of warm-up batch `warmup` to the end of the last batch
    measured = times[warmup:warmup + steps + 1]
    return (len(measured) - 1) * batch / (measured[-1] - measured[0])


def miou_curve(epochs: int, device: str, out: Path, crops: int = 64) -> list[dict]:
    data = synthetic_samples(48, size=64, seed=1)
    cfg = TrainConfig(out=str(out), arch="Unet", encoder="tu-resnet10t",
                      model_kwargs={"encoder_depth": 3, "decoder_channels": [32, 16, 8]}, epochs=epochs,
                      batch_size=4, lr=1e-2, crop_size=64, val_split=0.25, augment="light",
                      warmup_epochs=0.5, patience=0, device=device, seed=0, encoder_weights=None,
                      min_samples_per_epoch=crops)
    return run_to_end(train_job(cfg, data)).history


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--full", action="store_true", help="bigger crops/batches and more rounds")
    ap.add_argument("--arch", default="Unet")
    ap.add_argument("--encoder", default="resnet18")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--smoke", action="store_true", help="toy sizes, one round, one epoch: a check that it runs")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    crop = 256 if (args.full or cuda) else 128
    batch = 16 if cuda else 8
    steps, warmup = (30, 5) if (args.full or cuda) else (8, 2)
    rounds = 5 if (args.full or cuda) else 3
    if args.smoke:
        crop, batch, steps, warmup, rounds = 64, 2, 2, 1, 1
        args.encoder = "tu-resnet10t"
    size = crop + 32
    data = synthetic_samples(batch * (steps + warmup), size=size, seed=0)
    print(f"# training throughput: {args.arch}/{args.encoder}, batch {batch}, crop {crop}, device "
          f"{args.device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    ours, tut, ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            tut.append(tutorial_loop(data, args.arch, args.encoder, batch, crop, steps, warmup, args.device))
            ours.append(our_loop(data, args.arch, args.encoder, batch, crop, steps, warmup, args.device,
                                 Path(tmp) / f"bench{r}.safetensors"))
            ratios.append(ours[-1] / tut[-1])
            print(f"round {r + 1}: tutorial {tut[-1]:.2f} img/s, segstudio {ours[-1]:.2f} img/s, "
                  f"ratio {ratios[-1]:.2f}")
        o, t = statistics.median(ours), statistics.median(tut)
        print()
        print(f"| loop | images/s (median of {rounds}) | ratio (median of per-round ratios) |")
        print("|---|---|---|")
        print(f"| tutorial smp loop ({'fp32' if cuda else 'CPU, fp32'}) | {t:.2f} | 1.00 |")
        print(f"| segstudio train_job ({'AMP + ' if cuda else ''}channels-last) | {o:.2f} | "
              f"{statistics.median(ratios):.2f} |")
        print()
        epochs = 20 if args.full else 1 if args.smoke else 12
        t0 = time.perf_counter()
        hist = miou_curve(epochs, args.device, Path(tmp) / "curve.safetensors", 8 if args.smoke else 64)
        print(f"# val mIoU vs epoch: tiny Unet (tu-resnet10t, depth 3) on 48 synthetic 64×64 images, "
              f"36 train / 12 val, 64 crops per epoch, {time.perf_counter() - t0:.1f} s")
        print("| epoch | train loss | val loss | val mIoU |")
        print("|---|---|---|---|")
        for h in hist:
            print(f"| {h['epoch']} | {h['train_loss']:.3f} | {h['val_loss']:.3f} | {h['miou']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
