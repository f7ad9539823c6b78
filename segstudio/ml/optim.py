"""The optimisation of a training run: AdamW with parameter groups, the learning-rate
schedules (cosine with warm-up, one-cycle, constant), the gradient scaler, and restoring them
from a resumable training state.

Kept apart from :mod:`segstudio.ml.train` so the loop reads as a loop, and so the schedules can
be tested on their own.

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from segstudio.ml.options import SCHEDULES
from segstudio.ml.train_state import load_state

log = logging.getLogger(__name__)


def lr_lambda(schedule: str, total: int, warmup: int) -> Callable[[int], float]:
    """Multiplier of the base lr at a step: linear warm-up, then cosine decay to 1 %."""
    def f(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if warmup > 0 and step < warmup:
            return 0.1 + 0.9 * step / warmup
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t))
    return f


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # no decay on norms and biases (decaying BN scales towards 0 only hurts)
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass
class Optimisation:
    """The optimizer, its per-step scheduler and the fp16 gradient scaler of one run."""

    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler


def build_optimisation(model: torch.nn.Module, lr: float, weight_decay: float, schedule: str,
                       *, steps_per_epoch: int, epochs: int, warmup_epochs: float,
                       fp16: bool) -> Optimisation:
    """AdamW + the chosen schedule, stepped once per batch over ``epochs × steps_per_epoch``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    total = steps_per_epoch * epochs
    opt = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr)
    if schedule == "onecycle":
        sched: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=max(1, total))
    else:
        warm = int(round(warmup_epochs * steps_per_epoch))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(schedule, total, warm))
    return Optimisation(opt, sched, torch.amp.GradScaler("cuda", enabled=fp16))


def restore_optimisation(o: Optimisation, state_path: Path, start_epoch: int,
                         steps_per_epoch: int) -> dict[str, Any] | None:
    """Loads optimizer, scheduler and scaler from a training state file; returns the state
    (epoch, best mIoU, history…), or None when there is none (the schedule is then fast-forwarded
    to ``start_epoch`` so the learning rate continues where it was)."""
    if state_path.is_file():
        st = load_state(state_path)
        o.opt.load_state_dict(st["optimizer"])
        o.sched.load_state_dict(st["scheduler"])
        o.scaler.load_state_dict(st["scaler"])
        return st
    log.warning("%s: no training state next to the checkpoint; resuming at epoch %d with a "
                "fresh optimizer", state_path, start_epoch)
    for _ in range(start_epoch * steps_per_epoch):
        o.sched.step()
    return None
