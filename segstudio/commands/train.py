"""``segstudio train``: fine-tune a segmentation model on a project's labelled images (headless
twin of Model ▸ Train…), with a progress bar and a per-epoch table.

Runs the same generator as the GUI worker (:func:`segstudio.ml.train.train_job`). Under
``torchrun --nproc_per_node N -m segstudio train ...`` every process runs this command; the
training code joins the process group (DistributedDataParallel), and only rank 0 prints and
writes checkpoints.

Its training options are generated from the one table (:mod:`segstudio.ml.options`, torch-free),
so they match the Train dialog's, default for default.

May import: segstudio.core, segstudio.ml.options; the rest of segstudio.ml lazily (inside run), stdlib.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from segstudio.commands.common_args import add_labels_file, add_quiet, checkpoint_out
from segstudio.ml import options

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
    p.add_argument("--init-from", metavar="CKPT", default=None,
                   help="start from this checkpoint's weights (continue from a current model)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                   help="continue an interrupted run (default: the .last checkpoint next to --out)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--classes", default=None,
                       help="comma-separated class names (default: labels.txt / the classes in the JSONs)")
    add_labels_file(which, "class names and order from a labelme labels.txt (default: the project's)")
    add_option_arguments(p)
    add_quiet(p, "no progress bar (the table is still printed)")
    return p


def _fmt(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def epoch_row(r: dict) -> str:
    return (f"{r['epoch']:>5}  {_fmt(r.get('train_loss'), '.4f'):>10}  {_fmt(r.get('val_loss'), '.4f'):>9}  "
            f"{_fmt(r.get('miou'), '.4f'):>7}  {_fmt(r.get('pixel_accuracy'), '.4f'):>7}  "
            f"{_fmt(r.get('mean_dice'), '.4f'):>7}  {_fmt(r.get('lr'), '.2e'):>9}  {_fmt(r.get('time_s'), '.1f'):>7}"
            + ("  *" if r.get("improved") else ""))


def add_option_arguments(p: argparse.ArgumentParser) -> None:
    """One argument per training option (:mod:`segstudio.ml.options`), with its default, range,
    choices and help. Not given → absent from the namespace (argparse.SUPPRESS), so
    :func:`option_values` tells "left at the default" from an explicit ``none``."""
    group = p.add_argument_group("training options (the Train dialog's fields)")
    for opt in options.describe():
        if opt.kind is bool:
            text = f"turn off: {opt.help} (on by default)" if opt.default else f"{opt.help} (off by default)"
            group.add_argument(opt.cli_flag, dest=opt.name, action="store_false" if opt.default else "store_true",
                               default=argparse.SUPPRESS, help=text)
            continue
        span = opt.span()
        text = f"{opt.help} (default: {opt.format(opt.default)}{', ' + span if span else ''})"
        choices = opt.choices if opt.choices is not None and not opt.meta.get("editable") \
            and "parse" not in opt.meta else None
        group.add_argument(opt.cli_flag, dest=opt.name, type=_argument_type(opt), default=argparse.SUPPRESS,
                           metavar=_metavar(opt, choices), help=text)


def _metavar(opt: options.OptionInfo, choices) -> str:
    if choices is not None:
        return "{" + ",".join(map(str, choices)) + "}"
    return opt.cli_flag.lstrip("-").replace("-", "_").upper()


def _argument_type(opt: options.OptionInfo):
    def convert(text: str):
        try:
            value = opt.parse(text)
            if opt.meta.get("catalogue"):
                # asks segmentation-models-pytorch (imports it; only when the flag is given)
                value = options.check_catalogue(opt, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    convert.__name__ = opt.name   # argparse names the type in some messages
    return convert


def option_values(args: argparse.Namespace) -> dict[str, object]:
    """Every training option: what the command line said, else the table's default."""
    given = vars(args)
    return {opt.name: given.get(opt.name, opt.default) for opt in options.describe()}


def build_config(args: argparse.Namespace, project):
    from segstudio.core import project_io
    from segstudio.ml.train_state import output_paths

    values = option_values(args)
    out = args.out or str(project_io.meta_dir(project) / ".segstudio" / "models"
                          / f"{values['arch']}-{values['encoder']}.safetensors")
    resume = args.resume
    if resume == "auto":
        resume = str(output_paths(out)["last"])
    return options.TrainConfig(out=out, init_from=args.init_from, resume=resume, **values)


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
