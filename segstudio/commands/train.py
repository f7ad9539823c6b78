"""``segstudio train``: fine-tune a segmentation model on a project's labelled images (headless
twin of Model ▸ Train…), with a progress bar and a per-epoch table.

Runs the same generator as the GUI worker (:func:`segstudio.ml.train.train_job`). Under
``torchrun --nproc_per_node N -m segstudio train ...`` every process runs this command; the
training code joins the process group (DistributedDataParallel), and only rank 0 prints and
writes checkpoints.

May import: segstudio.core, segstudio.ml (lazily, inside run), stdlib.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from segstudio.commands.common_args import add_device, add_labels_file, add_quiet, checkpoint_out

log = logging.getLogger(__name__)

TABLE_HEADER = f"{'epoch':>5}  {'train loss':>10}  {'val loss':>9}  {'mIoU':>7}  {'pix acc':>7}  " \
               f"{'dice':>7}  {'lr':>9}  {'time s':>7}"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a segmentation model on a project's labelled images",
        description="Fine-tune a segmentation model on the images of DIR that a person labelled or "
                    "accepted (labelme JSON sidecars). Multi-GPU: torchrun --nproc_per_node N -m "
                    "segstudio train ...")
    p.add_argument("--data", required=True, metavar="DIR", help="project folder (images + labelme JSON)")
    p.add_argument("--annotations", metavar="DIR", default=None,
                   help="folder of the JSON files when they are not beside the images")
    p.add_argument("--out", metavar="CKPT.safetensors", default=None, type=checkpoint_out,
                   help="best checkpoint, written under exactly this name (must end in .safetensors); "
                        "default DIR/.segstudio/models/<arch>-<encoder>.safetensors. Also written: "
                        "<stem>.last.safetensors, <stem>.last.state.pt, "
                        "<stem>.history.json")
    p.add_argument("--arch", default="Unet", help="architecture (Unet, FPN, DeepLabV3Plus, …)")
    p.add_argument("--encoder", default="resnet34", help="encoder (resnet34, efficientnet-b0, tu-…)")
    p.add_argument("--encoder-weights", default="imagenet",
                   help="imagenet (default, downloaded), none (random init) or a local weights file")
    p.add_argument("--encoder-depth", type=int, default=None, help="encoder stages (smp default 5)")
    p.add_argument("--decoder-channels", default=None, help="comma-separated decoder widths, e.g. 64,32,16")
    p.add_argument("--init-from", metavar="CKPT", default=None,
                   help="start from this checkpoint's weights (continue from a current model)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                   help="continue an interrupted run (default: the .last checkpoint next to --out)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--classes", default=None,
                       help="comma-separated class names (default: labels.txt / the classes in the JSONs)")
    add_labels_file(which, "class names and order from a labelme labels.txt (default: the project's)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=8, help="per process under torchrun")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--crop", type=int, default=512, help="training crop size in pixels")
    p.add_argument("--val-split", type=float, default=0.2, help="fraction of images for validation")
    p.add_argument("--augment", default="medium", help="none, light, medium, strong or 0..1")
    p.add_argument("--loss", default="ce+dice", help="ce, dice, focal, lovasz, tversky or a + combination")
    p.add_argument("--class-weights", choices=["none", "balanced"], default="none")
    p.add_argument("--schedule", choices=["cosine", "onecycle", "constant"], default="cosine")
    p.add_argument("--patience", type=int, default=10, help="early stopping patience in epochs (0 = off)")
    p.add_argument("--min-samples-per-epoch", type=int, default=0,
                   help="repeat a small dataset so an epoch has at least this many crops")
    add_device(p)
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: auto)")
    p.add_argument("--no-amp", action="store_true", help="full fp32 on CUDA")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    add_quiet(p, "no progress bar (the table is still printed)")
    return p


def _fmt(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def epoch_row(r: dict) -> str:
    return (f"{r['epoch']:>5}  {_fmt(r.get('train_loss'), '.4f'):>10}  {_fmt(r.get('val_loss'), '.4f'):>9}  "
            f"{_fmt(r.get('miou'), '.4f'):>7}  {_fmt(r.get('pixel_accuracy'), '.4f'):>7}  "
            f"{_fmt(r.get('mean_dice'), '.4f'):>7}  {_fmt(r.get('lr'), '.2e'):>9}  {_fmt(r.get('time_s'), '.1f'):>7}"
            + ("  *" if r.get("improved") else ""))


def build_config(args: argparse.Namespace, project):
    from segstudio.core import project_io
    from segstudio.ml.train import TrainConfig, output_paths

    model_kwargs = {}
    if args.encoder_depth is not None:
        model_kwargs["encoder_depth"] = args.encoder_depth
    if args.decoder_channels:
        model_kwargs["decoder_channels"] = [int(c) for c in args.decoder_channels.split(",") if c.strip()]
    out = args.out or str(project_io.meta_dir(project) / ".segstudio" / "models"
                          / f"{args.arch}-{args.encoder}.safetensors")
    resume = args.resume
    if resume == "auto":
        resume = str(output_paths(out)["last"])
    try:
        augment = float(args.augment)
    except ValueError:
        augment = args.augment
    weights = None if str(args.encoder_weights).lower() in ("none", "") else args.encoder_weights
    return TrainConfig(out=out, arch=args.arch, encoder=args.encoder, encoder_weights=weights,
                       model_kwargs=model_kwargs, init_from=args.init_from, resume=resume,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       weight_decay=args.weight_decay, crop_size=args.crop, val_split=args.val_split,
                       augment=augment, loss=args.loss, class_weights=args.class_weights, device=args.device,
                       seed=args.seed, num_workers=args.workers, amp=not args.no_amp,
                       channels_last=not args.no_channels_last, schedule=args.schedule,
                       patience=args.patience, min_samples_per_epoch=args.min_samples_per_epoch)


def run(args: argparse.Namespace) -> int:
    from segstudio.core import project_io
    from segstudio.ml.data import snapshot_project

    main_rank = int(os.environ.get("RANK", "0")) == 0
    data = Path(args.data)
    if not data.is_dir():
        print(f"segstudio train: {data}: no such folder", file=sys.stderr)
        return 2
    try:
        project = project_io.open_project(data, args.annotations)
        classes = None
        if args.classes:
            classes = ["_background_"] + [c.strip() for c in args.classes.split(",")
                                          if c.strip() and c.strip() != "_background_"]
        elif args.labels:
            classes = ["_background_", *args.labels]
        spec = snapshot_project(project, classes)
        if not spec.samples:
            print(f"segstudio train: {data}: no labelled images (a labelme JSON marked labelled, or "
                  f"without segstudio state, next to an image)", file=sys.stderr)
            return 1
        cfg = build_config(args, project)
    except (OSError, ValueError) as exc:
        print(f"segstudio train: {exc}", file=sys.stderr)
        return 1
    if main_rank:
        print(f"training on {len(spec.samples)} labelled images of {data}, classes: "
              f"{', '.join(spec.classes)}")
        for msg in spec.skipped:
            print(f"skipped: {msg}", file=sys.stderr)
    return drive(cfg, spec, quiet=args.quiet or not main_rank, show=main_rank)


def drive(cfg, spec, quiet: bool = False, show: bool = True) -> int:
    """Runs the training job with a tqdm bar and prints one table row per epoch."""
    from tqdm import tqdm

    from segstudio.ml.train import train_job

    gen = train_job(cfg, spec)
    bar = tqdm(total=None, unit="batch", disable=quiet, dynamic_ncols=True, file=sys.stderr)
    printed_header = False
    device_shown = False
    try:
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            d = p.data
            phase = d.get("phase")
            if show and not device_shown and d.get("device"):
                tqdm.write(f"device: {d['device']}")
                device_shown = True
            if phase in ("batch", "epoch"):
                if bar.total != p.total:
                    bar.total = p.total
                bar.n = p.done
                bar.set_description(f"epoch {d['epoch']}/{d['epochs']}", refresh=False)
                eta = d.get("eta_s")
                bar.set_postfix_str(f"loss {d.get('loss', float('nan')):.4f}"
                                    + (f" eta {eta:.0f}s" if eta is not None else ""), refresh=False)
                bar.refresh()
            if phase == "epoch" and show:
                if not printed_header:
                    tqdm.write(TABLE_HEADER)
                    printed_header = True
                tqdm.write(epoch_row(d))
    except KeyboardInterrupt:
        gen.close()   # saves the last checkpoint and keeps the best one
        bar.close()
        if show:
            print(f"interrupted; checkpoints kept next to {cfg.out} (resume with --resume)", file=sys.stderr)
        return 130
    except Exception as exc:
        bar.close()
        log.debug("training failed", exc_info=True)
        print(f"segstudio train: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    bar.close()
    if show:
        best = f"{result.best_miou:.4f}" if result.best_miou is not None else "—"
        print(f"{result.stopped}: {result.epochs_run} epochs, best val mIoU {best} at epoch "
              f"{result.best_epoch}")
        if result.history:
            row = next((h for h in result.history if h["epoch"] == result.best_epoch), result.history[-1])
            for name, iou in (row.get("per_class_iou") or {}).items():
                print(f"  IoU {name:<20} {_fmt(iou, '.4f')}")
        print(f"best checkpoint: {result.best_path}")
        print(f"last checkpoint: {result.last_path}")
    return 0
