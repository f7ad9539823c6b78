"""segstudio checkpoints: ONE ``.safetensors`` file, weights + metadata JSON in its header.

Loading never unpickles: our checkpoints are safetensors; plain PyTorch state dicts from
elsewhere are read with ``torch.load(weights_only=True)``, which refuses pickled code (a file
that needs it raises :class:`CheckpointError` without running anything). A plain state dict
can be imported by stating architecture, encoder and classes (:func:`import_state_dict`).

Reading plain state dicts safely is :mod:`segstudio.ml.state_dict` (shared with
:mod:`segstudio.ml.models`, which imports it, not this module: no import cycle).

May import: torch, safetensors, segstudio.ml.models, segstudio.ml.state_dict, segstudio.core
(model colours), stdlib.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segstudio.core.io.atomic import file_mode_for, make_temp_file
from segstudio.core.model import BACKGROUND_LABEL, default_color
from segstudio.ml.state_dict import CheckpointError, check_file, looks_like_safetensors, read_plain_state_dict

log = logging.getLogger(__name__)

FORMAT_NAME = "segstudio-checkpoint"
FORMAT_VERSION = 1
META_KEY = "segstudio"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _version() -> str:
    from segstudio import __version__

    return __version__


@dataclass
class ModelMeta:
    """What is needed to rebuild, feed and describe a network."""

    arch: str
    encoder: str
    in_channels: int = 3
    classes: list[str] = field(default_factory=lambda: [BACKGROUND_LABEL])  # index 0 = background
    colors: list[tuple[int, int, int]] = field(default_factory=list)        # one per class
    mean: tuple[float, ...] = IMAGENET_MEAN      # per channel, on 0..1 scaled input
    std: tuple[float, ...] = IMAGENET_STD
    train_size: int | tuple[int, int] | None = None
    segstudio_version: str = field(default_factory=_version)
    training: dict[str, Any] = field(default_factory=dict)   # summary: epochs, metrics, dataset…
    epoch: int = 0
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # extra smp constructor arguments

    def __post_init__(self) -> None:
        self.classes = [str(c) for c in self.classes]
        if not self.classes:
            raise ValueError("a model needs at least one class")
        if not self.colors:
            self.colors = [(0, 0, 0) if i == 0 and c == BACKGROUND_LABEL else default_color(i - 1)
                           for i, c in enumerate(self.classes)]
        self.colors = [tuple(int(v) for v in c) for c in self.colors]  # type: ignore[misc]
        if len(self.colors) != len(self.classes):
            raise ValueError(f"{len(self.colors)} colours for {len(self.classes)} classes")
        n = self.in_channels
        self.mean = _per_channel(self.mean, n, "mean")
        self.std = _per_channel(self.std, n, "std")
        if isinstance(self.train_size, list):
            self.train_size = tuple(self.train_size)  # type: ignore[assignment]
        _check_sizes(self)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_json(self) -> str:
        d = asdict(self)
        d["format"], d["format_version"] = FORMAT_NAME, FORMAT_VERSION
        return json.dumps(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelMeta:
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("arch", "encoder", "classes") if k not in d]
        if missing:
            raise ValueError(f"metadata lacks {', '.join(missing)}")
        unknown = sorted(set(d) - known - {"format", "format_version"})
        if unknown:
            log.info("ignoring unknown checkpoint metadata keys %s", unknown)
        return cls(**{k: v for k, v in d.items() if k in known})


#: constructor arguments the metadata's own fields set; in ``model_kwargs`` they would clash
#: (``encoder_weights`` there would even download weights while loading a checkpoint)
RESERVED_MODEL_KWARGS = ("encoder_name", "encoder_weights", "in_channels", "classes")
#: bounds on sizes in metadata, far above any real network's: a file stating more is broken
#: or hostile, and is refused before anything is allocated
MAX_CHANNELS = 4096
MAX_CLASSES = 65536


def _check_sizes(meta: ModelMeta) -> None:
    if not isinstance(meta.model_kwargs, dict):
        raise ValueError(f"model_kwargs must be an object, got {type(meta.model_kwargs).__name__}")
    reserved = [k for k in RESERVED_MODEL_KWARGS if k in meta.model_kwargs]
    if reserved:
        raise ValueError(f"model_kwargs may not set {', '.join(reserved)} (the metadata's own fields do)")
    if not (isinstance(meta.in_channels, int) and 1 <= meta.in_channels <= MAX_CHANNELS):
        raise ValueError(f"in_channels must be an integer in 1..{MAX_CHANNELS}, got {meta.in_channels!r}")
    if len(meta.classes) > MAX_CLASSES:
        raise ValueError(f"{len(meta.classes)} classes (at most {MAX_CLASSES})")
    for key, value in meta.model_kwargs.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, int) and not isinstance(v, bool) and not -MAX_CHANNELS <= v <= MAX_CHANNELS:
                raise ValueError(f"model_kwargs {key} = {value!r} is out of range (sizes up to {MAX_CHANNELS})")


def _per_channel(values, n: int, what: str) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values)
    if len(vals) == n:
        return vals
    if len(vals) == 1:
        return vals * n
    if len(vals) == 3:
        # ImageNet RGB statistics for a model with other channels: keep RGB, average the rest
        avg = sum(vals) / 3
        return (avg,) if n == 1 else tuple(vals[i] if i < 3 else avg for i in range(n))
    raise ValueError(f"{what} has {len(vals)} values for {n} input channels")


# -- saving ------------------------------------------------------------------------------------
def save_checkpoint(path: str | Path, model: nn.Module, meta: ModelMeta) -> Path:
    """Writes weights + metadata atomically to ``path`` (``.safetensors`` added if missing)."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    # safetensors refuses shared storage; state_dict copies above break any aliasing
    state = {k: v.clone() if _shares(v, state) else v for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp_file(path)
    os.close(fd)
    try:
        save_file(state, tmp, metadata={META_KEY: meta.to_json()})
        with contextlib.suppress(OSError):   # not 0600 from mkstemp: as readable as any saved file
            os.chmod(tmp, file_mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _shares(t: torch.Tensor, state: dict[str, torch.Tensor]) -> bool:
    ptr = t.untyped_storage().data_ptr()
    return sum(1 for v in state.values() if v.untyped_storage().data_ptr() == ptr) > 1


# -- loading -----------------------------------------------------------------------------------
def read_meta(path: str | Path) -> ModelMeta:
    """Only the metadata of a segstudio checkpoint (cheap: reads the header)."""
    from safetensors import safe_open

    path = Path(path)
    check_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:
        raise CheckpointError(f"{path}: not a safetensors file ({exc})") from exc
    if META_KEY not in header:
        raise CheckpointError(f"{path}: a safetensors file without segstudio metadata; import it with "
                              f"architecture, encoder and classes instead")
    try:
        return ModelMeta.from_dict(json.loads(header[META_KEY]))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: invalid segstudio metadata: {exc}") from exc


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelMeta]:
    """The network (eval mode, on ``device``) and its metadata. Never unpickles."""
    from safetensors.torch import load_file

    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        check_file(path)
        if looks_like_safetensors(path):
            pass
        else:
            # Read safely anyway so a malicious pickle is reported as such, never executed.
            read_plain_state_dict(path)
            raise CheckpointError(f"{path}: a plain PyTorch state dict, not a segstudio checkpoint; "
                                  f"import it by stating architecture, encoder and classes")
    meta = read_meta(path)
    _check_file_shapes(meta, path)   # before allocating what the metadata describes
    state = load_file(str(path), device="cpu")
    model = build_from_meta(meta, path)
    _load_state(model, state, meta, path)
    return model.to(device).eval(), meta


def build_from_meta(meta: ModelMeta, path: str | Path | None = None) -> nn.Module:
    from segstudio.ml.models import ModelBuildError, build_model

    try:
        return build_model(meta.arch, meta.encoder, meta.in_channels, meta.num_classes,
                           encoder_weights=None, **meta.model_kwargs)
    except ModelBuildError as exc:
        where = f"{path}: " if path else ""
        raise CheckpointError(f"{where}metadata describes a model that cannot be built: {exc}") from exc


def _check_file_shapes(meta: ModelMeta, path: Path) -> None:
    """Refuses metadata whose network does not match the file's tensors, without allocating it:
    the network is built on PyTorch's "meta" device (shapes only) and compared with the shapes
    in the safetensors header. Metadata claiming huge layers the file lacks (9.6 GB of
    ``decoder_channels``) fails here in milliseconds instead of exhausting memory."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}   # noqa: SIM118
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    with torch.device("meta"):
        skeleton = build_from_meta(meta, path)
    _compare_shapes({k: tuple(v.shape) for k, v in skeleton.state_dict().items()}, shapes, meta, path)


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], meta: ModelMeta, path: Path) -> None:
    _compare_shapes({k: tuple(v.shape) for k, v in model.state_dict().items()},
                    {k: tuple(v.shape) for k, v in state.items()}, meta, path)
    model.load_state_dict(state, strict=True)


def _compare_shapes(target: dict[str, tuple], state: dict[str, tuple], meta: ModelMeta, path: Path) -> None:
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    wrong = [(k, state[k], target[k]) for k in target if k in state and state[k] != target[k]]
    if missing or unexpected or wrong:
        desc = (f"{meta.arch}/{meta.encoder}, {meta.in_channels} input channels, "
                f"{meta.num_classes} classes")
        parts = []
        if wrong:
            k, got, exp = wrong[0]
            parts.append(f"{len(wrong)} tensors have the wrong shape (e.g. {k}: file {got}, "
                         f"metadata implies {exp})")
        if missing:
            parts.append(f"{len(missing)} tensors missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
        raise CheckpointError(f"{path}: weights do not match the metadata ({desc}): " + "; ".join(parts))


def import_state_dict(path: str | Path, arch: str, encoder: str, classes: list[str], *, in_channels: int = 3,
                      device: str | torch.device = "cpu", **meta_kwargs: Any) -> tuple[nn.Module, ModelMeta]:
    """Wraps a plain smp/PyTorch state dict into (model, meta) given what the file cannot say.

    ``meta_kwargs`` fill other :class:`ModelMeta` fields (colors, mean, std, model_kwargs…).
    Save the result with :func:`save_checkpoint` to get a self-describing checkpoint.
    """
    path = Path(path)
    meta = ModelMeta(arch=arch, encoder=encoder, in_channels=in_channels, classes=list(classes),
                     **meta_kwargs)
    state = read_plain_state_dict(path)
    with torch.device("meta"):   # shapes first: nothing allocated for a mismatching description
        skeleton = build_from_meta(meta, path)
    _compare_shapes({k: tuple(v.shape) for k, v in skeleton.state_dict().items()},
                    {k: tuple(v.shape) for k, v in state.items()}, meta, path)
    model = build_from_meta(meta, path)
    _load_state(model, state, meta, path)
    meta.training.setdefault("imported_from", str(path))
    return model.to(device).eval(), meta
