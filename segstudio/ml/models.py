"""Model factory over segmentation-models-pytorch architectures and encoders.

``build_model`` is the one place a network is constructed (training, checkpoint loading,
import of plain state dicts, benchmarks). Pretrained ImageNet encoder weights are downloaded
by smp when reachable; offline the download error becomes a :class:`PretrainedWeightsError`
with a message saying what to do instead. A local weights file can stand in for the download.

The architectures and encoders on offer are listed by smp itself (:mod:`segstudio.ml.options`).

May import: torch, segmentation_models_pytorch, safetensors, segstudio.ml.options,
segstudio.ml.state_dict, segstudio.ml.weights, stdlib. No Qt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segstudio.ml import options

log = logging.getLogger(__name__)


class ModelBuildError(ValueError):
    """Unknown architecture/encoder or an invalid combination (message says which)."""


class PretrainedWeightsError(RuntimeError):
    """Pretrained encoder weights could not be obtained (offline, or a bad local file)."""


def _smp():
    import segmentation_models_pytorch as smp

    return smp


def list_architectures() -> list[str]:
    """Architectures the installed smp provides (canonical smp class names, smp's order)."""
    return list(options.architectures())


def list_encoders() -> list[str]:
    """Encoder names known to the installed smp (``tu-<timm name>`` encoders work too)."""
    return list(options.encoders())


def canonical_arch(arch: str) -> str:
    """The smp class name for ``arch`` (case-insensitive; ``Unet++``/``DeepLabV3+`` accepted)."""
    try:
        return options.canonical_arch(arch)
    except ValueError as exc:
        raise ModelBuildError(str(exc)) from None


def _is_network_error(exc: BaseException) -> bool:
    """True for errors meaning 'could not fetch from the hub' (no network, no cache)."""
    names = {type(e).__name__ for e in _chain(exc)}
    network_names = {"LocalEntryNotFoundError", "ConnectionError", "ConnectTimeout", "ReadTimeout",
                     "URLError", "HTTPError", "HfHubHTTPError", "OfflineModeIsEnabled", "MaxRetryError",
                     "gaierror", "TimeoutError", "NewConnectionError"}
    return bool(names & network_names) or any(isinstance(e, (ConnectionError, TimeoutError))
                                               for e in _chain(exc))


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def build_model(arch: str, encoder: str, in_channels: int, num_classes: int,
                *, encoder_weights: str | None = None, **model_kwargs: Any) -> nn.Module:
    """An smp segmentation network producing ``num_classes`` logits per pixel.

    ``encoder_weights``: None (random init), ``"imagenet"`` (downloaded via smp; offline →
    :class:`PretrainedWeightsError`) or a path to a local weights file (``.safetensors`` or a
    plain ``.pth`` state dict of the encoder or of a whole smp model). ``model_kwargs`` go to
    the smp constructor (e.g. ``encoder_depth=3, decoder_channels=(64, 32, 16)``) and must be
    stored in the checkpoint metadata so the network can be rebuilt.
    """
    smp = _smp()
    name = canonical_arch(arch)
    if in_channels < 1 or num_classes < 1:
        raise ModelBuildError(f"in_channels and num_classes must be ≥ 1 (got {in_channels}, {num_classes})")
    local_file: Path | None = None
    hub_weights = encoder_weights
    if encoder_weights is not None and encoder_weights not in ("imagenet",) and (
            Path(encoder_weights).suffix or Path(encoder_weights).exists()):
        local_file = Path(encoder_weights)
        if not local_file.is_file():
            raise PretrainedWeightsError(f"encoder weights file {local_file} does not exist")
        hub_weights = None
    cls = getattr(smp, name)
    if hub_weights is not None:
        _refuse_unreachable_weights(encoder, hub_weights)
    try:
        model = cls(encoder_name=encoder, encoder_weights=hub_weights, in_channels=in_channels,
                    classes=num_classes, **model_kwargs)
    except KeyError as exc:
        msg = str(exc.args[0]) if exc.args else str(exc)
        if "Wrong encoder name" in msg:
            raise ModelBuildError(f"unknown encoder {encoder!r} (see list_encoders())") from exc
        if "pretrained weights" in msg:
            raise PretrainedWeightsError(f"encoder {encoder!r} has no {encoder_weights!r} weights: {msg}") from exc
        raise ModelBuildError(f"cannot build {name} with encoder {encoder!r}: {msg}") from exc
    except (TypeError, ValueError, AssertionError) as exc:
        raise ModelBuildError(f"cannot build {name} with encoder {encoder!r}: {exc}") from exc
    except Exception as exc:  # the hub client raises many types; sort network errors out
        if hub_weights is not None and (_is_network_error(exc) or isinstance(exc, OSError)):
            raise PretrainedWeightsError(
                f"could not download {hub_weights} weights for {encoder}: no network "
                f"({type(exc).__name__}); use encoder_weights=None for random initialisation "
                f"or point to a local weights file") from exc
        raise
    if local_file is not None:
        load_encoder_weights(model, local_file)
    return model


def _refuse_unreachable_weights(encoder: str, weights: str) -> None:
    """Fails at once when the weights are neither cached nor downloadable (offline), instead
    of after the hub client's retries (~25 s)."""
    from segstudio.ml.weights import OFFLINE, weights_availability

    if weights_availability(encoder).state == OFFLINE:
        raise PretrainedWeightsError(
            f"could not download {weights} weights for {encoder}: they are not cached and there is "
            f"no network; use encoder_weights=None for random initialisation or point to a local "
            f"weights file")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A tensor dict from ``path`` without unpickling code (safetensors or weights_only)."""
    from segstudio.ml.state_dict import read_plain_state_dict

    return read_plain_state_dict(path)


def load_encoder_weights(model: nn.Module, path: str | Path) -> None:
    """Loads a local encoder (or whole-model) state dict into ``model.encoder``.

    Tensors whose shape does not fit (e.g. the first conv for other input channels) are
    skipped with a warning; a file that matches almost nothing is refused.
    """
    path = Path(path)
    state = _read_state_dict(path)
    if any(k.startswith("encoder.") for k in state):
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    target = model.encoder.state_dict()  # type: ignore[union-attr]
    usable = {k: v for k, v in state.items() if k in target and tuple(v.shape) == tuple(target[k].shape)}
    skipped = [k for k in state if k not in usable]
    if len(usable) < 0.5 * len(target):
        raise PretrainedWeightsError(
            f"{path}: only {len(usable)} of {len(target)} encoder tensors match this encoder; "
            f"is it the right file for this encoder?")
    if skipped:
        log.warning("%s: %d tensors skipped (name or shape mismatch), e.g. %s", path, len(skipped),
                    ", ".join(skipped[:3]))
    model.encoder.load_state_dict(usable, strict=False)  # type: ignore[union-attr]
    log.info("loaded %d encoder tensors from %s", len(usable), path)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
