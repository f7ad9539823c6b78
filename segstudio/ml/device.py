"""Compute-device choice for inference and training: CUDA, then Apple MPS, then CPU.

May import: torch, stdlib. No Qt.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Devices usable here, best first (``cpu`` always last)."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if _mps_available():
        out.append("mps")
    out.append("cpu")
    return out


def pick_device(preferred: str | None = None) -> torch.device:
    """``None``/``"auto"`` → the best available; otherwise the named one (``cuda:1`` works).

    Asking for an unavailable device raises ``ValueError`` naming what is available.
    """
    if preferred in (None, "", "auto"):
        return torch.device(available_devices()[0])
    dev = torch.device(preferred)
    if dev.type not in ("cuda", "mps", "cpu"):
        raise ValueError(f"unsupported device {preferred!r}; use one of {', '.join(DEVICE_CHOICES)}")
    if dev.type not in available_devices():
        raise ValueError(f"device {preferred!r} is not available here; available: "
                         f"{', '.join(available_devices())}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {preferred!r} does not exist ({torch.cuda.device_count()} CUDA devices)")
    return dev


def amp_dtype(device: torch.device | str, amp: bool | str = True) -> torch.dtype | None:
    """The autocast dtype for mixed precision, or None for full float32.

    ``amp``: True (auto: bf16 where the GPU supports it, else fp16), ``"fp16"``, ``"bf16"``,
    False/``"fp32"``. Only CUDA uses mixed precision: on CPU/MPS autocast is slower or
    unsupported for many smp layers, so we keep float32 there.
    """
    dev = torch.device(device)
    if dev.type != "cuda" or amp in (False, None, "fp32", "off"):
        return None
    if amp in ("fp16", "float16"):
        return torch.float16
    if amp in ("bf16", "bfloat16"):
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def describe_device(device: torch.device | str) -> str:
    """A human-readable device name for the model info dialog and logs."""
    dev = torch.device(device)
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        return f"CUDA {idx}: {props.name} ({props.total_memory / 2**30:.0f} GiB)"
    if dev.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device out-of-memory error (CUDA's dedicated type, or MPS's RuntimeError)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_device_memory(device: torch.device | str) -> None:
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    elif dev.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
