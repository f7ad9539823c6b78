"""The training loop: one generator shared by the GUI worker, ``segstudio train`` and torchrun.

:func:`train_job` yields :class:`~segstudio.core.jobs.Progress` with ``data`` payloads —
``{"phase": "setup"|"load"|"batch"|"val"|"epoch", "epoch", "epochs", "batch", "batches", "loss",
"val_loss", "miou", "per_class_iou", "eta_s", "device", "lr", ...}`` — and returns a
:class:`TrainResult`. It yields after every batch, so closing the generator (the GUI's Stop) or
setting the :class:`~segstudio.core.jobs.CancelToken` ends it within a batch; either way the
best checkpoint so far is kept and the current weights are saved as the *last* checkpoint
(a stop before the first validation also writes them as the best, so Stop always leaves a model).
Start-up (loading images, building the model, preparing the data) yields a ``"setup"`` Progress
between its steps and checks the token there and per image: a stop then ends the job before any
training, writes nothing and returns a "cancelled" result without a checkpoint.

Files written next to ``config.out`` (the best checkpoint, segstudio's safetensors format):
``<stem>.last.safetensors`` (weights after the last epoch), ``<stem>.last.state.pt`` (epoch,
optimizer, scheduler, scaler and history: tensors and plain values only, read back with
``torch.load(weights_only=True)``) and ``<stem>.history.json``. Resuming reads the state file
next to the checkpoint it is given.

What makes it fast: uint8 batches normalised on the device, AdamW, mixed precision (bf16, or
fp16 + GradScaler) on CUDA, channels-last (CUDA and CPU), cuDNN autotuning, pinned memory, DataLoader
workers. What makes it reproducible on the CPU: seeded init, a seeded sampler and augmentation
keyed on (seed, epoch, index). Validation metrics are :mod:`segstudio.core.metrics` on a
confusion matrix accumulated over the epoch (the same code as ``segstudio evaluate``).

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from segstudio.core.jobs import Cancelled, CancelToken, Progress
from segstudio.core.rasterize import IGNORE_VALUE
from segstudio.ml import distributed as D
from segstudio.ml.augment import AugmentParams
from segstudio.ml.checkpoint import IMAGENET_MEAN, IMAGENET_STD, ModelMeta, load_checkpoint, save_checkpoint
from segstudio.ml.data import (
    CycleDataset,
    DatasetSpec,
    LoadedData,
    TrainDataset,
    ValDataset,
    balanced_class_weights,
    load_samples,
    make_loader,
    split_indices,
)
from segstudio.ml.device import amp_dtype as device_amp_dtype
from segstudio.ml.losses import build_loss
from segstudio.ml.optim import build_optimisation, lr_lambda, restore_optimisation, validate
from segstudio.ml.train_state import jsonable, output_paths, save_state, state_path_for, write_history

__all__ = ["TrainConfig", "TrainResult", "train_job", "lr_lambda", "output_paths"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the data (frozen: the worker gets a copy)."""

    out: str = "model.safetensors"       # best checkpoint; siblings: .last.safetensors, .last.state.pt
    arch: str = "Unet"
    encoder: str = "resnet34"
    encoder_weights: str | None = None   # "imagenet" (download) or a local file; None = random init
    model_kwargs: dict[str, Any] = field(default_factory=dict)   # e.g. encoder_depth, decoder_channels
    init_from: str | None = None         # "continue from the current model": start from its weights
    resume: str | None = None            # continue an interrupted run (weights + optimizer state)
    epochs: int = 30
    batch_size: int = 8                  # per process under torchrun
    lr: float = 1e-3
    weight_decay: float = 1e-4
    crop_size: int = 512
    val_split: float = 0.2
    augment: str | float = "medium"
    loss: str = "ce+dice"
    class_weights: str = "none"          # "none" | "balanced"
    device: str = "auto"                 # auto | cpu | cuda | cuda:N | mps
    seed: int = 0
    num_workers: int | None = None       # None: 0 on a CPU device, else up to 8
    amp: bool = True                     # CUDA only
    channels_last: bool = True           # CUDA and CPU
    schedule: str = "cosine"             # cosine (with warm-up) | onecycle | constant
    warmup_epochs: float = 1.0
    patience: int = 10                   # early stopping on val mIoU; 0 = off
    min_samples_per_epoch: int = 0       # repeat a handful of images so an epoch has enough steps
    val_max_side: int = 1024
    save_interval_s: float = 60.0        # how often the last checkpoint + optimizer state are written


@dataclass
class TrainResult:
    best_path: str | None
    last_path: str | None
    best_miou: float | None
    best_epoch: int
    epochs_run: int
    history: list[dict[str, Any]]
    stopped: str                          # "completed" | "early-stopped" | "cancelled"
    classes: list[str]
    device: str
    skipped: list[str] = field(default_factory=list)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The training device; under torchrun a bare ``cuda`` means this process's GPU."""
    from segstudio.ml.device import pick_device

    dev = pick_device(name)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank)
    return dev


def describe_training_device(dev: torch.device, dtype: torch.dtype | None) -> str:
    from segstudio.ml.device import describe_device

    prec = {torch.bfloat16: ", bf16 mixed precision", torch.float16: ", fp16 mixed precision"}.get(dtype, "")
    return describe_device(dev) + prec


def _build_model(cfg: TrainConfig, classes: list[str]) -> tuple[torch.nn.Module, ModelMeta | None, int]:
    """(model, meta of the checkpoint started from, epoch to start at)."""
    from segstudio.ml.models import build_model

    if cfg.resume:
        model, meta = load_checkpoint(cfg.resume)
        if list(meta.classes) != list(classes):
            raise ValueError(f"{cfg.resume}: the checkpoint's classes {meta.classes} differ from the "
                             f"data's {classes}; resume needs the same classes")
        return model, meta, int(meta.epoch)
    if cfg.init_from:
        src, meta = load_checkpoint(cfg.init_from)
        if list(meta.classes) == list(classes):
            return src, meta, 0
        # new or renamed classes: same network, fresh head; every tensor that fits is kept
        model = build_model(meta.arch, meta.encoder, meta.in_channels, len(classes), None, **meta.model_kwargs)
        target = model.state_dict()
        fit = {k: v for k, v in src.state_dict().items() if k in target and v.shape == target[k].shape}
        model.load_state_dict(fit, strict=False)
        log.info("continuing from %s with a new head for %d classes (%d of %d tensors kept)",
                 cfg.init_from, len(classes), len(fit), len(target))
        return model, meta, 0
    model = build_model(cfg.arch, cfg.encoder, 3, len(classes), cfg.encoder_weights, **cfg.model_kwargs)
    return model, None, 0


def train_job(cfg: TrainConfig, data: DatasetSpec | LoadedData,
              cancel: CancelToken | None = None) -> Generator[Progress, None, TrainResult]:
    """Trains a model on ``data``; see the module docstring for events, files and stopping."""
    wants_cuda = cfg.device.startswith("cuda") or (cfg.device == "auto" and torch.cuda.is_available())
    info = D.init_distributed("cuda" if wants_cuda else "cpu")
    try:
        return (yield from _train(cfg, data, cancel, info))
    except Cancelled:
        # only start-up raises this far (the loop saves and returns): nothing trained, nothing written
        log.info("training stopped before its first batch; no checkpoint written")
        return TrainResult(None, None, None, 0, 0, [], "cancelled", list(data.classes), "", list(data.skipped))
    finally:
        D.shutdown(info)


def _train(cfg: TrainConfig, data: DatasetSpec | LoadedData, cancel: CancelToken | None,
           info: D.DistInfo) -> Generator[Progress, None, TrainResult]:
    def stage(message: str) -> Generator[Progress, None, None]:
        # start-up steps (CUDA init, decoding images, importing smp + building the model) can take
        # seconds each: Stop is honoured between them, before any training happens
        if cancel is not None:
            cancel.check()
        yield Progress(0, None, message, {"phase": "setup"})
        if cancel is not None:
            cancel.check()

    yield from stage("choosing the device…")
    device = resolve_device(cfg.device, info.local_rank)
    if isinstance(data, DatasetSpec):
        yield from stage(f"loading {len(data.samples)} images…")
        loaded = yield from load_samples(data, cancel)
    else:
        loaded = data
    classes = list(loaded.classes)
    nc = len(classes)
    train_idx, val_idx = split_indices(len(loaded.samples), cfg.val_split, cfg.seed)
    if not train_idx:
        raise ValueError("no labelled images to train on: label some images (or accept pre-annotations) first")
    train_samples = [loaded.samples[i] for i in train_idx]
    val_samples = [loaded.samples[i] for i in val_idx][info.rank::info.world_size]
    paths = output_paths(cfg.out)

    yield from stage("building the model…")
    torch.manual_seed(cfg.seed)   # the model's initial weights (augmentation has its own generators)
    model, src_meta, start_epoch = _build_model(cfg, classes)
    arch = src_meta.arch if src_meta else cfg.arch
    encoder = src_meta.encoder if src_meta else cfg.encoder
    model_kwargs = dict(src_meta.model_kwargs) if src_meta else dict(cfg.model_kwargs)
    mean = tuple(src_meta.mean) if src_meta else IMAGENET_MEAN
    std = tuple(src_meta.std) if src_meta else IMAGENET_STD

    cuda = device.type == "cuda"
    amp_dtype = device_amp_dtype(device, cfg.amp)
    # channels-last: tensor cores on CUDA, and oneDNN's faster convolutions on the CPU (~1.3×)
    mem_format = torch.channels_last if cfg.channels_last and device.type in ("cuda", "cpu") \
        else torch.contiguous_format
    if cuda:
        torch.backends.cudnn.benchmark = True
    model = model.to(device=device, memory_format=mem_format)
    if info.enabled and cuda:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if cancel is not None:
        # Stop within a second even when one batch takes longer: every layer checks the token
        def _check(_module, _inputs) -> None:
            cancel.check()

        for mod in model.modules():
            if not any(True for _ in mod.children()):
                mod.register_forward_pre_hook(_check)
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    dev_text = describe_training_device(device, amp_dtype) + (f" × {info.world_size} processes" if info.enabled else "")

    yield from stage("preparing the data…")
    weights = balanced_class_weights(train_samples, nc) if cfg.class_weights == "balanced" else None
    criterion = build_loss(cfg.loss, nc, IGNORE_VALUE, weights).to(device)
    train_ds = TrainDataset(train_samples, cfg.crop_size, AugmentParams.named(cfg.augment), cfg.seed)
    n_epoch = max(len(train_ds), cfg.min_samples_per_epoch)
    epoch_ds = train_ds if n_epoch == len(train_ds) else CycleDataset(train_ds, n_epoch)
    # a sampler even for one process: the same seeded shuffling everywhere
    sampler = DistributedSampler(epoch_ds, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                 seed=cfg.seed)
    per_rank = len(sampler)
    drop_last = per_rank > cfg.batch_size and per_rank % cfg.batch_size == 1   # a batch of 1 breaks BN
    workers = cfg.num_workers if cfg.num_workers is not None else (
        0 if device.type == "cpu" else min(8, max(1, (os.cpu_count() or 2) // max(1, info.world_size) - 1)))
    loader = make_loader(epoch_ds, cfg.batch_size, sampler, workers, cuda, drop_last)
    val_loader = make_loader(ValDataset(val_samples, cfg.val_max_side), max(1, cfg.batch_size // 2), None,
                             min(workers, 2), cuda, False) if val_samples else None
    steps = len(loader)
    total_steps = steps * cfg.epochs

    optim = build_optimisation(model, cfg.lr, cfg.weight_decay, cfg.schedule, steps, cfg.epochs,
                               cfg.warmup_epochs, fp16=amp_dtype == torch.float16)
    opt, sched, scaler = optim.opt, optim.sched, optim.scaler
    best_miou: float | None = None
    best_epoch, since_best = 0, 0
    history: list[dict[str, Any]] = []
    if cfg.resume:
        st = restore_optimisation(optim, state_path_for(cfg.resume), start_epoch, steps)
        if st is not None:
            start_epoch = int(st["epoch"])
            best_miou, best_epoch = st["best_miou"], int(st["best_epoch"])
            since_best, history = int(st["since_best"]), list(st["history"])

    m = torch.tensor([v * 255.0 for v in mean], device=device).view(1, -1, 1, 1)
    s = torch.tensor([v * 255.0 for v in std], device=device).view(1, -1, 1, 1)

    def prep(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.to(device, non_blocking=True).float().sub_(m).div_(s)
        return x.contiguous(memory_format=mem_format), y.to(device, non_blocking=True)

    def make_meta(epoch: int, extra: dict[str, Any]) -> ModelMeta:
        training = {"config": jsonable(asdict(cfg)), "num_train": len(train_idx),
                    "num_val": len(val_idx), "device": dev_text, **jsonable(extra)}
        return ModelMeta(arch=arch, encoder=encoder, in_channels=3, classes=classes,
                         colors=list(loaded.colors) if len(loaded.colors) == nc else [],
                         mean=mean, std=std, train_size=cfg.crop_size, training=training, epoch=epoch,
                         model_kwargs=model_kwargs)

    base = {"epochs": cfg.epochs, "batches": steps, "device": dev_text}
    stopped = "completed"
    epoch = start_epoch
    done_epochs = start_epoch
    best_written = paths["best"].is_file() and cfg.resume is not None
    t_start, steps_run = time.perf_counter(), 0
    last_saved, last_saved_epoch = time.monotonic(), start_epoch
    lr = cfg.lr
    sync_every = 1 if device.type == "cpu" else 10   # .item() stalls the GPU queue: not every step
    yield from stage("starting the first epoch…" if start_epoch == 0 else f"resuming at epoch {start_epoch + 1}…")
    try:
        for epoch in range(start_epoch, cfg.epochs):
            sampler.set_epoch(epoch)
            train_ds.set_epoch(epoch)
            net.train()
            loss_sum = torch.zeros((), device=device)
            shown_loss = float("nan")
            t_epoch = time.perf_counter()
            for b, (x, y) in enumerate(loader):
                if cancel is not None:
                    cancel.check()
                x, y = prep(x, y)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    logits = net(x)
                loss = criterion(logits, y)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                lr = opt.param_groups[0]["lr"]   # the rate this step used (reported; the next differs)
                sched.step()
                loss_sum += loss.detach()
                steps_run += 1
                if b % sync_every == 0 or b == steps - 1:
                    shown_loss = float(loss_sum.item()) / (b + 1)
                elapsed = time.perf_counter() - t_start
                eta = elapsed / steps_run * ((cfg.epochs - epoch) * steps - b - 1)
                yield Progress(epoch * steps + b + 1, total_steps,
                               f"epoch {epoch + 1}/{cfg.epochs} batch {b + 1}/{steps} loss {shown_loss:.4f}",
                               {**base, "phase": "batch", "epoch": epoch + 1, "batch": b + 1,
                                "loss": shown_loss, "lr": lr, "eta_s": eta})
            n_batches = max(1, steps)
            train_loss = float(D.all_reduce_sum(np.array([float(loss_sum.item()), n_batches], np.float64),
                                                info, device)[0]) / (n_batches * info.world_size)
            record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss, "lr": lr,
                                      "time_s": time.perf_counter() - t_epoch}
            if val_loader is not None or info.enabled:
                # the bare model, not the DDP wrapper: its forward would start a collective
                # (buffer broadcast) that ranks with fewer validation batches never join
                val = yield from validate(model, val_loader, criterion, prep, amp_dtype, device, nc, classes,
                                          info, cancel, {**base, "epoch": epoch + 1})
                record.update(val)
            done_epochs = epoch + 1
            miou = record.get("miou")
            # without a validation set the latest weights are the best we know
            improved = miou is None or best_miou is None or miou > best_miou + 1e-6
            if improved:
                best_miou, best_epoch, since_best = miou, epoch + 1, 0
            else:
                since_best += 1
            record["best_miou"], record["best_epoch"] = best_miou, best_epoch
            history.append(jsonable(record))
            if info.is_main:
                # the last checkpoint + optimizer state are big (3× the weights): written at most
                # every save_interval_s and at the end, not after every short epoch
                due = time.monotonic() - last_saved >= cfg.save_interval_s or epoch + 1 == cfg.epochs
                if improved and (miou is not None or due or not best_written):
                    save_checkpoint(paths["best"], model, make_meta(epoch + 1, {"metrics": record}))
                    best_written = True
                write_history(paths["history"], history)
                if due:
                    save_checkpoint(paths["last"], model, make_meta(epoch + 1, {"metrics": record}))
                    save_state(paths["state"], epoch + 1, opt, sched, scaler, best_miou, best_epoch,
                                since_best, history)
                    last_saved, last_saved_epoch = time.monotonic(), epoch + 1
            elapsed = time.perf_counter() - t_start
            eta = elapsed / max(1, steps_run) * (cfg.epochs - epoch - 1) * steps
            yield Progress((epoch + 1) * steps, total_steps, _epoch_line(record),
                           {**base, "phase": "epoch", **record, "batch": steps, "loss": train_loss,
                            "eta_s": eta, "improved": improved})
            stop = cfg.patience > 0 and since_best >= cfg.patience and best_miou is not None
            if D.broadcast_flag(stop, info, device):
                stopped = "early-stopped"
                log.info("early stopping: no better val mIoU for %d epochs", cfg.patience)
                break
        if info.is_main and last_saved_epoch != done_epochs:
            save_checkpoint(paths["last"], model, make_meta(done_epochs, {"metrics": history[-1]}))
            if history and history[-1].get("miou") is None:
                save_checkpoint(paths["best"], model, make_meta(done_epochs, {"metrics": history[-1]}))
            save_state(paths["state"], done_epochs, opt, sched, scaler, best_miou, best_epoch, since_best,
                        history)
    except (GeneratorExit, Exception) as exc:
        if isinstance(exc, (GeneratorExit, Cancelled)) and info.is_main:
            # Stop: keep the best so far and save where we are (never lose the work done)
            meta = make_meta(done_epochs, {"stopped": "cancelled", "best_miou": best_miou})
            save_checkpoint(paths["last"], model, meta)
            save_state(paths["state"], done_epochs, opt, sched, scaler, best_miou, best_epoch,
                        since_best, history)
            if not best_written or best_miou is None:   # no validation yet: the latest is the best
                save_checkpoint(paths["best"], model, meta)
            log.info("training stopped at epoch %d; checkpoints in %s", epoch + 1, paths["best"].parent)
        if isinstance(exc, Cancelled):
            stopped = "cancelled"
        else:
            raise
    finally:
        del loader, val_loader   # ends persistent DataLoader workers now, not at interpreter exit
    if info.enabled:
        D.barrier(info)
    return TrainResult(str(paths["best"]) if best_written or paths["best"].is_file() else None,
                       str(paths["last"]), best_miou, best_epoch, done_epochs, history, stopped, classes,
                       dev_text, list(loaded.skipped))


def _fmt(v: Any, spec: str = ".4f") -> str:
    return "—" if v is None else format(v, spec)


def _epoch_line(r: dict[str, Any]) -> str:
    return (f"epoch {r['epoch']}: train loss {_fmt(r.get('train_loss'))}, val loss {_fmt(r.get('val_loss'))}, "
            f"mIoU {_fmt(r.get('miou'))}")
