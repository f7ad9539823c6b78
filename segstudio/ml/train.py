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

The run in three parts: :mod:`segstudio.ml.train_setup` (start-up → a ``TrainRun``), the epochs
here, and :mod:`segstudio.ml.train_checkpoints` (best score, history, what is written when);
:mod:`segstudio.ml.validate` scores each epoch. The options are :mod:`segstudio.ml.options`.

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from segstudio.core.jobs import Cancelled, CancelToken, Progress
from segstudio.ml import distributed as D
from segstudio.ml.data import DatasetSpec, LoadedData
from segstudio.ml.optim import lr_lambda
from segstudio.ml.options import TrainConfig
from segstudio.ml.train_checkpoints import RunCheckpoints
from segstudio.ml.train_setup import TrainRun, describe_training_device, resolve_device, setup_run
from segstudio.ml.train_state import output_paths
from segstudio.ml.validate import validate

__all__ = ["TrainConfig", "TrainResult", "train_job", "lr_lambda", "output_paths", "resolve_device",
           "describe_training_device"]

log = logging.getLogger(__name__)


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


def train_job(cfg: TrainConfig, data: DatasetSpec | LoadedData,
              cancel: CancelToken | None = None) -> Generator[Progress, None, TrainResult]:
    """Trains a model on ``data``; see the module docstring for events, files and stopping."""
    wants_cuda = cfg.device.startswith("cuda") or (cfg.device == "auto" and torch.cuda.is_available())
    info = D.init_distributed("cuda" if wants_cuda else "cpu")
    try:
        run = yield from setup_run(cfg, data, cancel, info)
        return (yield from _train(run, cancel))
    except Cancelled:
        # only start-up raises this far (the loop saves and returns): nothing trained, nothing written
        log.info("training stopped before its first batch; no checkpoint written")
        return TrainResult(None, None, None, 0, 0, [], "cancelled", list(data.classes), "", list(data.skipped))
    finally:
        D.shutdown(info)


@dataclass
class _Pace:
    """Steps run and time since the first batch (the ETA), and the learning rate last used."""

    lr: float
    t_start: float = field(default_factory=time.perf_counter)
    steps_run: int = 0

    def eta(self, steps_left: int) -> float:
        return (time.perf_counter() - self.t_start) / max(1, self.steps_run) * steps_left


def _train(run: TrainRun, cancel: CancelToken | None) -> Generator[Progress, None, TrainResult]:
    """The epochs of a prepared run: train, validate, keep checkpoints, stop early or on Stop."""
    cfg, info = run.cfg, run.info
    ckpt = RunCheckpoints(run)
    base = {"epochs": cfg.epochs, "batches": run.steps, "device": run.dev_text}
    pace = _Pace(cfg.lr)
    stopped = "completed"
    epoch = run.start_epoch
    try:
        for epoch in range(run.start_epoch, cfg.epochs):
            record = yield from _train_epoch(run, epoch, pace, base, cancel=cancel)
            if run.val_loader is not None or info.enabled:
                # the bare model, not the DDP wrapper: its forward would start a collective
                # (buffer broadcast) that ranks with fewer validation batches never join
                val = yield from validate(run.model, run.val_loader, run.criterion, run.prep,
                                          amp_dtype=run.amp_dtype,
                                          device=run.device, nc=len(run.classes), classes=run.classes,
                                          info=info, cancel=cancel,
                                          base={**base, "epoch": epoch + 1})
                record.update(val)
            improved = ckpt.epoch_done(epoch + 1, record)
            yield Progress((epoch + 1) * run.steps, run.steps * cfg.epochs, _epoch_line(record),
                           {**base, "phase": "epoch", **record, "batch": run.steps,
                            "loss": record["train_loss"], "eta_s": pace.eta((cfg.epochs - epoch - 1) * run.steps),
                            "improved": improved})
            if D.broadcast_flag(ckpt.should_stop_early(), info, run.device):
                stopped = "early-stopped"
                log.info("early stopping: no better val mIoU for %d epochs", cfg.patience)
                break
        ckpt.finish()
    except (GeneratorExit, Exception) as exc:
        if isinstance(exc, (GeneratorExit, Cancelled)):
            ckpt.stopped(epoch)   # Stop: keep the best so far and save where we are
        if isinstance(exc, Cancelled):
            stopped = "cancelled"
        else:
            raise
    finally:
        run.loader = run.val_loader = None   # ends persistent DataLoader workers now, not at exit
    if info.enabled:
        D.barrier(info)
    paths = run.paths
    return TrainResult(str(paths["best"]) if ckpt.best_written or paths["best"].is_file() else None,
                       str(paths["last"]), ckpt.best_miou, ckpt.best_epoch, ckpt.done_epochs, ckpt.history,
                       stopped, run.classes, run.dev_text, list(run.loaded.skipped))


def _train_epoch(run: TrainRun, epoch: int, pace: _Pace, base: dict[str, Any],
                 *, cancel: CancelToken | None) -> Generator[Progress, None, dict[str, Any]]:
    """One pass over the training crops (a job yielding per batch); returns the epoch's record."""
    cfg, device, steps = run.cfg, run.device, run.steps
    opt, sched, scaler = run.optim.opt, run.optim.sched, run.optim.scaler
    run.sampler.set_epoch(epoch)
    run.train_ds.set_epoch(epoch)
    run.net.train()
    loss_sum = torch.zeros((), device=device)
    shown_loss = float("nan")
    sync_every = 1 if device.type == "cpu" else 10   # .item() stalls the GPU queue: not every step
    t_epoch = time.perf_counter()
    for b, (x, y) in enumerate(run.loader):
        if cancel is not None:
            cancel.check()
        x, y = run.prep(x, y)
        with torch.autocast(device.type, dtype=run.amp_dtype, enabled=run.amp_dtype is not None):
            logits = run.net(x)
        loss = run.criterion(logits, y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        pace.lr = opt.param_groups[0]["lr"]   # the rate this step used (reported; the next differs)
        sched.step()
        loss_sum += loss.detach()
        pace.steps_run += 1
        if b % sync_every == 0 or b == steps - 1:
            shown_loss = float(loss_sum.item()) / (b + 1)
        yield Progress(epoch * steps + b + 1, steps * cfg.epochs,
                       f"epoch {epoch + 1}/{cfg.epochs} batch {b + 1}/{steps} loss {shown_loss:.4f}",
                       {**base, "phase": "batch", "epoch": epoch + 1, "batch": b + 1,
                        "loss": shown_loss, "lr": pace.lr, "eta_s": pace.eta((cfg.epochs - epoch) * steps - b - 1)})
    n_batches = max(1, steps)
    train_loss = float(D.all_reduce_sum(np.array([float(loss_sum.item()), n_batches], np.float64),
                                        run.info, device)[0]) / (n_batches * run.info.world_size)
    return {"epoch": epoch + 1, "train_loss": train_loss, "lr": pace.lr, "time_s": time.perf_counter() - t_epoch}


def _fmt(v: Any, spec: str = ".4f") -> str:
    return "—" if v is None else format(v, spec)


def _epoch_line(r: dict[str, Any]) -> str:
    return (f"epoch {r['epoch']}: train loss {_fmt(r.get('train_loss'))}, val loss {_fmt(r.get('val_loss'))}, "
            f"mIoU {_fmt(r.get('miou'))}")
