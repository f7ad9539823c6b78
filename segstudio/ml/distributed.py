"""Multi-process training with PyTorch's own engine (``torch.distributed`` + DDP).

``torchrun --nproc_per_node N -m segstudio train ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` (and the rendezvous address) in their environment;
:func:`init_distributed` turns that into a process group — NCCL for CUDA, Gloo for the CPU —
and pins each process to GPU ``LOCAL_RANK``. Without those variables everything here is a
no-op for a single process, so the same training code runs both ways.

Only rank 0 writes checkpoints and prints; metrics are summed over ranks (:func:`all_reduce_sum`).

May import: torch, numpy, stdlib.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialised_here: bool = False   # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """True when the environment describes a multi-process job (torchrun or similar)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_distributed(device_type: str) -> DistInfo:
    """Joins the process group described by the environment (no-op for a single process).

    ``device_type`` ("cuda" or "cpu") picks the backend. Reuses a group that already exists.
    """
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if not launched_by_torchrun():
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("this PyTorch build has no torch.distributed; run a single process")
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_type == "cuda" and dist.is_nccl_available() else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local)
    dist.init_process_group(backend=backend, rank=rank, world_size=world)
    log.info("distributed: rank %d of %d (local %d), backend %s", rank, world, local, backend)
    return DistInfo(rank, world, local, initialised_here=True)


def shutdown(info: DistInfo) -> None:
    if info.initialised_here and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: np.ndarray, info: DistInfo, device: torch.device) -> np.ndarray:
    """Element-wise sum over ranks (float64/int64 arrays, e.g. confusion matrices and loss sums)."""
    if not info.enabled:
        return values
    t = torch.as_tensor(np.ascontiguousarray(values), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().numpy()


def broadcast_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """Rank 0's decision (e.g. early stop) for every rank, so all leave the loop together."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=device, dtype=torch.int64)
    dist.broadcast(t, src=0)
    return bool(t.item())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
