"""Files of a training run besides the checkpoints: where they go, the resumable training state
(epoch, optimizer, scheduler, scaler, history — tensors and plain values only, read back with
``torch.load(weights_only=True)``, so nothing is unpickled) and the JSON history.

May import: torch, numpy, segstudio.core.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FORMAT = "segstudio-train-state"


def output_paths(out: str | Path) -> dict[str, Path]:
    """Where a run writes: ``best`` (= out), ``last``, ``state``, ``history``."""
    best = Path(out)
    if best.suffix != ".safetensors":
        best = best.with_name(best.name + ".safetensors")
    stem = best.name[: -len(".safetensors")]
    return {"best": best, "last": best.with_name(f"{stem}.last.safetensors"),
            "state": best.with_name(f"{stem}.last.state.pt"),
            "history": best.with_name(f"{stem}.history.json")}


def state_path_for(checkpoint: str | Path) -> Path:
    p = Path(checkpoint)
    stem = p.name[: -len(".safetensors")] if p.name.endswith(".safetensors") else p.name
    return p.with_name(f"{stem}.state.pt")


def save_state(path: Path, epoch: int, opt, sched, *, scaler, best_miou, best_epoch: int, since_best: int,
                history: list[dict[str, Any]]) -> None:
    state = {"format": STATE_FORMAT, "epoch": epoch, "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
             "best_miou": best_miou, "best_epoch": best_epoch, "since_best": since_best,
             "history": history, "torch_rng": torch.get_rng_state()}
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path: Path) -> dict[str, Any]:
    """A training state file, read without unpickling code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable training state ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: not a segstudio training state file")
    return state


def jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def write_history(path: Path, history: list[dict[str, Any]]) -> None:
    from segstudio.core.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(jsonable(history), indent=1))
