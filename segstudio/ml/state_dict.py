"""Reading tensors from a file without unpickling code: a safetensors file, or a plain PyTorch
state dict through ``torch.load(weights_only=True)`` (which refuses pickled objects). Used to
load segstudio checkpoints (:mod:`segstudio.ml.checkpoint`) and local encoder weights
(:mod:`segstudio.ml.models`); both import this module, neither imports the other for it.

May import: torch, safetensors, stdlib.
"""

from __future__ import annotations

from pathlib import Path

import torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


def check_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")


def looks_like_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_plain_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file or a plain PyTorch state dict — never unpickles code.

    Unwraps the usual containers (``{"state_dict": …}``, ``{"model": …}``) and a
    ``module.`` prefix left by DataParallel.
    """
    import pickle

    path = Path(path)
    check_file(path)
    if path.suffix.lower() == ".safetensors" or looks_like_safetensors(path):
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: the file contains Python objects other than tensors "
            f"(loading it could run code). Only plain state dicts or .safetensors are accepted. "
            f"Details: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch file ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: does not hold a state dict (a mapping of names to tensors)")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)
