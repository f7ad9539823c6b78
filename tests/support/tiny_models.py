"""A tiny segmentation network and its checkpoint metadata (3-level ResNet-18 U-Net, three
classes, no pretrained weights) for the checkpoint and model tests. Imports torch: only the ml
tests use it (after their ``pytest.importorskip("torch")``)."""

from __future__ import annotations

import torch

from segstudio.ml.checkpoint import ModelMeta
from segstudio.ml.models import build_model

TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
CLASSES = ["_background_", "road", "tree"]


def tiny_model(seed: int = 0, classes: int = 3):
    torch.manual_seed(seed)
    return build_model("Unet", "resnet18", 3, classes, encoder_weights=None, **TINY).eval()


def tiny_meta(**kw) -> ModelMeta:
    return ModelMeta(arch="Unet", encoder="resnet18", in_channels=3, classes=list(CLASSES),
                     model_kwargs=dict(TINY), **kw)
