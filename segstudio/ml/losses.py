"""Training losses: cross-entropy, Dice, focal, Lovász, Tversky and sums of them.

smp's implementations are used where they exist (all take ``ignore_index``, so ``__ignore__``
pixels — value 255 — never contribute); optional per-class weights counter class imbalance.
Names are combined with ``+``: ``"ce+dice"`` is the sum of both terms, as is customary (each
term is of order 1 at the start of training).

May import: torch, segmentation_models_pytorch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

LOSSES = ("ce", "dice", "focal", "lovasz", "tversky", "jaccard")   # the dialog suggests options.LOSS_CHOICES


class CombinedLoss(nn.Module):
    """Sum of named terms; ``forward(logits (N,C,H,W), target (N,H,W) int64)``."""

    def __init__(self, terms: dict[str, nn.Module]) -> None:
        super().__init__()
        self.terms = nn.ModuleDict(terms)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # the losses run in fp32 even under autocast: log-softmax sums lose too much in fp16
        logits = logits.float()
        total = logits.new_zeros(())
        for term in self.terms.values():
            total = total + term(logits, target)
        return total


class _CrossEntropy(nn.Module):
    def __init__(self, weight: torch.Tensor | None, ignore_index: int) -> None:
        super().__init__()
        self.register_buffer("weight", weight, persistent=False)
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not (target != self.ignore_index).any():
            return logits.sum() * 0.0   # an all-ignore crop: no signal, but keep the graph valid
        return nn.functional.cross_entropy(logits, target, weight=self.weight, ignore_index=self.ignore_index)


def _term(name: str, num_classes: int, ignore_index: int, weights: list[float] | None) -> nn.Module:
    from segmentation_models_pytorch import losses as L

    w = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
    if name == "ce":
        return _CrossEntropy(w, ignore_index)
    if name == "dice":
        return L.DiceLoss("multiclass", ignore_index=ignore_index, class_weights=weights)
    if name == "jaccard":
        return L.JaccardLoss("multiclass", ignore_index=ignore_index, class_weights=weights)
    if name == "focal":
        return L.FocalLoss("multiclass", ignore_index=ignore_index, class_weights=weights)
    if name == "lovasz":
        return L.LovaszLoss("multiclass", ignore_index=ignore_index)
    if name == "tversky":
        # α < β weighs false negatives more: better recall of small structures
        return L.TverskyLoss("multiclass", ignore_index=ignore_index, alpha=0.3, beta=0.7,
                             class_weights=weights)
    raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)} or a '+' combination")


def build_loss(name: str, num_classes: int, ignore_index: int = 255,
               class_weights: Sequence[float] | None = None) -> CombinedLoss:
    """A loss module for ``name`` (e.g. ``"ce+dice"``) over ``num_classes`` classes."""
    parts = [p.strip().lower() for p in name.split("+") if p.strip()]
    if not parts:
        raise ValueError("empty loss name")
    weights = None if class_weights is None else [float(x) for x in class_weights]
    if weights is not None and len(weights) != num_classes:
        raise ValueError(f"{len(weights)} class weights for {num_classes} classes")
    return CombinedLoss({p: _term(p, num_classes, ignore_index, weights) for p in parts})
