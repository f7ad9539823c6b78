"""Start-up of a training run: device, images, split, network, data loaders, optimizer — all a
:class:`TrainRun` the loop in :mod:`segstudio.ml.train` then only reads.

:func:`setup_run` is a job: it yields a ``"setup"`` Progress between its steps (each can take
seconds: CUDA init, decoding images, importing smp and building the network) and checks the
:class:`~segstudio.core.jobs.CancelToken` there and per image, so a Stop during start-up ends the
job before any training, with nothing written.

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from segstudio.core.jobs import CancelToken, Progress
from segstudio.core.rasterize import IGNORE_VALUE
from segstudio.ml import distributed as D
from segstudio.ml.augment import AugmentParams
from segstudio.ml.checkpoint import IMAGENET_MEAN, IMAGENET_STD, ModelMeta, load_checkpoint
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
from segstudio.ml.optim import Optimisation, build_optimisation, restore_optimisation
from segstudio.ml.options import TrainConfig
from segstudio.ml.train_state import output_paths, state_path_for

log = logging.getLogger(__name__)


@dataclass
class TrainRun:
    """What start-up prepared: the network, its data and optimizer, and where the run writes."""

    cfg: TrainConfig
    info: D.DistInfo
    device: torch.device
    amp_dtype: torch.dtype | None
    mem_format: torch.memory_format
    dev_text: str                     # the device in words, for the events and the checkpoint
    loaded: LoadedData
    num_train: int
    num_val: int
    paths: dict[str, Path]
    model: torch.nn.Module            # the bare network (saved, validated)
    net: torch.nn.Module              # what trains: the model or its DDP wrapper
    arch: str
    encoder: str
    model_kwargs: dict[str, Any]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    criterion: torch.nn.Module
    train_ds: TrainDataset
    sampler: DistributedSampler
    loader: Any
    val_loader: Any
    optim: Optimisation
    start_epoch: int
    resumed: dict[str, Any] | None    # the training state a resumed run continues (best, history…)
    norm_mean: torch.Tensor           # on the device, 0..255 scale: uint8 batches are normalised there
    norm_std: torch.Tensor

    @property
    def classes(self) -> list[str]:
        return list(self.loaded.classes)

    @property
    def steps(self) -> int:
        return len(self.loader)

    def prep(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch on the device: images normalised in the model's memory format, labels as they are."""
        x = x.to(self.device, non_blocking=True).float().sub_(self.norm_mean).div_(self.norm_std)
        return x.contiguous(memory_format=self.mem_format), y.to(self.device, non_blocking=True)


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


def build_network(cfg: TrainConfig, classes: list[str]) -> tuple[torch.nn.Module, ModelMeta | None, int]:
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
        model = build_model(meta.arch, meta.encoder, meta.in_channels, len(classes), encoder_weights=None,
                            **meta.model_kwargs)
        target = model.state_dict()
        fit = {k: v for k, v in src.state_dict().items() if k in target and v.shape == target[k].shape}
        model.load_state_dict(fit, strict=False)
        log.info("continuing from %s with a new head for %d classes (%d of %d tensors kept)",
                 cfg.init_from, len(classes), len(fit), len(target))
        return model, meta, 0
    model = build_model(cfg.arch, cfg.encoder, 3, len(classes), encoder_weights=cfg.encoder_weights,
                        **cfg.network_kwargs())
    return model, None, 0


def setup_run(cfg: TrainConfig, data: DatasetSpec | LoadedData, cancel: CancelToken | None,
              info: D.DistInfo) -> Generator[Progress, None, TrainRun]:
    """Prepares a run (a job; see the module docstring)."""
    def stage(message: str) -> Generator[Progress, None, None]:
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
    train_idx, val_idx = split_indices(len(loaded.samples), cfg.val_split, cfg.seed)
    if not train_idx:
        raise ValueError("no labelled images to train on: label some images (or accept pre-annotations) first")
    train_samples = [loaded.samples[i] for i in train_idx]
    val_samples = [loaded.samples[i] for i in val_idx][info.rank::info.world_size]

    yield from stage("building the model…")
    torch.manual_seed(cfg.seed)   # the model's initial weights (augmentation has its own generators)
    model, src_meta, start_epoch = build_network(cfg, classes)
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
        _check_token_in_every_layer(model, cancel)
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    dev_text = describe_training_device(device, amp_dtype) + (f" × {info.world_size} processes" if info.enabled else "")

    yield from stage("preparing the data…")
    nc = len(classes)
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
    loader = make_loader(epoch_ds, cfg.batch_size, sampler, workers, pin=cuda, drop_last=drop_last)
    val_loader = make_loader(ValDataset(val_samples, cfg.val_max_side), max(1, cfg.batch_size // 2), None,
                             min(workers, 2), pin=cuda, drop_last=False) if val_samples else None
    steps = len(loader)
    optim = build_optimisation(model, cfg.lr, cfg.weight_decay, cfg.schedule, steps_per_epoch=steps,
                               epochs=cfg.epochs,
                               warmup_epochs=cfg.warmup_epochs, fp16=amp_dtype == torch.float16)
    resumed = None
    if cfg.resume:
        resumed = restore_optimisation(optim, state_path_for(cfg.resume), start_epoch, steps)
        if resumed is not None:
            start_epoch = int(resumed["epoch"])
    mean = tuple(src_meta.mean) if src_meta else IMAGENET_MEAN
    std = tuple(src_meta.std) if src_meta else IMAGENET_STD
    run = TrainRun(
        cfg=cfg, info=info, device=device, amp_dtype=amp_dtype, mem_format=mem_format, dev_text=dev_text,
        loaded=loaded, num_train=len(train_idx), num_val=len(val_idx), paths=output_paths(cfg.out),
        model=model, net=net, arch=src_meta.arch if src_meta else cfg.arch,
        encoder=src_meta.encoder if src_meta else cfg.encoder,
        model_kwargs=dict(src_meta.model_kwargs) if src_meta else cfg.network_kwargs(),
        mean=mean, std=std, criterion=criterion, train_ds=train_ds, sampler=sampler, loader=loader,
        val_loader=val_loader, optim=optim, start_epoch=start_epoch, resumed=resumed,
        norm_mean=torch.tensor([v * 255.0 for v in mean], device=device).view(1, -1, 1, 1),
        norm_std=torch.tensor([v * 255.0 for v in std], device=device).view(1, -1, 1, 1))
    yield from stage("starting the first epoch…" if start_epoch == 0 else f"resuming at epoch {start_epoch + 1}…")
    return run


def _check_token_in_every_layer(model: torch.nn.Module, cancel: CancelToken) -> None:
    # Stop within a second even when one batch takes longer: every layer checks the token
    def _check(_module, _inputs) -> None:
        cancel.check()

    for mod in model.modules():
        if not any(True for _ in mod.children()):
            mod.register_forward_pre_hook(_check)
