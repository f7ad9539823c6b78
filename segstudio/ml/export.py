"""Deployment exports of a trained network: ONNX and TorchScript, with our metadata embedded.

The exported graph takes a normalised float32 ``(N, C, H, W)`` batch (H, W multiples of 32;
mean/std and class names are in the metadata) and returns ``(N, classes, H, W)`` logits.
ONNX: metadata in ``metadata_props["segstudio"]``; needs the ``onnx`` package (and
``onnxscript`` for torch's exporter) — a clear :class:`ExportError` says so when missing.
TorchScript: metadata in the archive's extra file ``segstudio_meta.json``.

May import: torch, segstudio.ml, segstudio.core, stdlib (onnx lazily). No Qt.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from segstudio.core.io.atomic import file_mode_for, make_temp_file
from segstudio.ml.checkpoint import ModelMeta

log = logging.getLogger(__name__)

META_FILE = "segstudio_meta.json"


class ExportError(RuntimeError):
    """An export that cannot be made (missing package, unsupported layer…)."""


def _example(meta: ModelMeta, size: int) -> torch.Tensor:
    size = max(32, (int(size) // 32) * 32)
    return torch.rand(1, meta.in_channels, size, size)


def _cpu_copy(model: nn.Module) -> nn.Module:
    # export a float32 CPU copy so the live model (maybe on the GPU, channels-last) is untouched
    return copy.deepcopy(model).to("cpu", memory_format=torch.contiguous_format).float().eval()


@contextlib.contextmanager
def _atomic_target(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp_file(path)
    os.close(fd)
    try:
        yield Path(tmp)
        with contextlib.suppress(OSError):   # not 0600 from mkstemp: as readable as any saved file
            os.chmod(tmp, file_mode_for(path))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def export_torchscript(model: nn.Module, meta: ModelMeta, path: str | Path, example_size: int = 256) -> Path:
    """Traces the network into a TorchScript archive (loadable with ``torch.jit.load``)."""
    path = Path(path)
    net = _cpu_copy(model)
    x = _example(meta, example_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # torch.jit is deprecated, still works
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        try:
            with torch.no_grad():
                traced = torch.jit.trace(net, x, check_trace=False)
        except Exception as exc:
            raise ExportError(f"TorchScript tracing of {meta.arch}/{meta.encoder} failed: {exc}") from exc
        with _atomic_target(path) as tmp:
            torch.jit.save(traced, str(tmp), _extra_files={META_FILE: meta.to_json()})
    return path


def load_torchscript_meta(path: str | Path) -> ModelMeta:
    """The metadata stored in a TorchScript export."""
    import json

    extra = {META_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return ModelMeta.from_dict(json.loads(extra[META_FILE]))


def export_onnx(model: nn.Module, meta: ModelMeta, path: str | Path, *, example_size: int = 256,
                opset: int | None = None, dynamic: bool = True) -> Path:
    """Exports to ONNX with dynamic batch/height/width (when ``dynamic``) and our metadata."""
    try:
        import onnx
    except ImportError as exc:
        raise ExportError("ONNX export needs the 'onnx' and 'onnxscript' packages: "
                          "pip install onnx onnxscript") from exc
    path = Path(path)
    net = _cpu_copy(model)
    x = _example(meta, example_size)
    kwargs: dict = {"input_names": ["image"], "output_names": ["logits"], "dynamo": True}
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamic:
        dim = torch.export.Dim
        kwargs["dynamic_shapes"] = {"x": {0: dim("batch"), 2: dim("height"), 3: dim("width")}}
    buf = io.StringIO()
    try:
        # the exporter prints its stages; keep the CLI's output ours
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(net, (x,), None, **kwargs)
    except ImportError as exc:
        raise ExportError(f"ONNX export needs onnxscript: pip install onnxscript ({exc})") from exc
    except Exception as exc:
        if dynamic:
            log.info("dynamic-shape ONNX export failed (%s); retrying with a fixed size", exc)
            return export_onnx(model, meta, path, example_size=example_size, opset=opset, dynamic=False)
        raise ExportError(f"ONNX export of {meta.arch}/{meta.encoder} failed: {exc}") from exc
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = "segstudio", meta.to_json()
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:
        raise ExportError(f"the exported ONNX graph does not validate: {exc}") from exc
    with _atomic_target(path) as tmp:
        onnx.save(proto, str(tmp))
    return path
