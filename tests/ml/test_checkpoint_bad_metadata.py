"""Checkpoint metadata that is broken or hostile: a message naming the file, nothing allocated.

A segstudio checkpoint's metadata says how to build the network before its weights are read.
Metadata with ``encoder_weights`` in ``model_kwargs`` used to crash with a TypeError (and could
download weights); ``decoder_channels`` far larger than the file's tensors used to allocate the
described network (gigabytes) before the weights were compared.
"""

from __future__ import annotations

import json
import resource

import pytest

torch = pytest.importorskip("torch")

from segstudio.ml.checkpoint import META_KEY, CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from tests.support.tiny_models import tiny_meta, tiny_model  # noqa: E402


def _with_meta(tmp_path, name: str, **changes):
    """A valid tiny checkpoint whose metadata JSON is then edited (as a hand edit would)."""
    from safetensors.torch import load_file, save_file

    good = save_checkpoint(tmp_path / "good.safetensors", tiny_model(), tiny_meta())
    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as f:
        meta = json.loads(f.metadata()[META_KEY])
    for key, value in changes.items():
        if key.startswith("model_kwargs."):
            meta["model_kwargs"][key.split(".", 1)[1]] = value
        else:
            meta[key] = value
    path = tmp_path / name
    save_file(load_file(str(good)), str(path), metadata={META_KEY: json.dumps(meta)})
    return path


def test_encoder_weights_in_model_kwargs_is_named(tmp_path):
    path = _with_meta(tmp_path, "ew.safetensors", **{"model_kwargs.encoder_weights": "imagenet"})
    with pytest.raises(CheckpointError, match=r"ew\.safetensors.*encoder_weights"):
        load_checkpoint(path)


def test_huge_decoder_channels_are_refused_before_allocating(tmp_path):
    path = _with_meta(tmp_path, "big.safetensors", **{"model_kwargs.decoder_channels": [4000, 4000, 4000]})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match=r"big\.safetensors: weights do not match"):
        load_checkpoint(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300   # the described decoder alone is ~1.2 GB of float32


def test_absurd_sizes_are_out_of_range(tmp_path):
    path = _with_meta(tmp_path, "absurd.safetensors", **{"model_kwargs.decoder_channels": [10**7, 16, 8]})
    with pytest.raises(CheckpointError, match=r"absurd\.safetensors.*decoder_channels.*out of range"):
        load_checkpoint(path)


def test_a_valid_checkpoint_still_loads(tmp_path):
    model, meta = load_checkpoint(save_checkpoint(tmp_path / "ok.safetensors", tiny_model(), tiny_meta()))
    assert meta.model_kwargs["decoder_channels"] in ((32, 16, 8), [32, 16, 8])
    x = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (1, 3, 32, 32)
