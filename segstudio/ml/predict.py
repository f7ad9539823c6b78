"""Tiled sliding-window inference: any image size in bounded memory, without seams.

The image is cut into ``tile``-sized windows overlapping by ``overlap`` pixels; windows are
batched through the network and their logits are blended with a cosine ramp over the overlap
(no ramp at the image border, where no neighbour exists), so neighbouring tiles fade into each
other instead of meeting at a seam. Blending happens on the CPU in float32, but only in a
band of tile rows at a time: rows that no later tile touches are finalised (argmax + softmax
confidence) and dropped, so memory is ``C × tile × width`` floats, not ``C × H × W``.

GPU: mixed precision (autocast bf16/fp16) and channels-last on CUDA; an out-of-memory error
halves the batch (with a Progress message) down to 1 before giving up with a clear
:class:`PredictionError`. Cancellation: the job yields per tile; passing a
:class:`~segstudio.core.jobs.CancelToken` also checks it inside the network's forward pass,
so even one slow CPU tile is abandoned within a second.

May import: torch, numpy, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from segstudio.core.jobs import Cancelled, CancelToken, Progress
from segstudio.ml.checkpoint import ModelMeta
from segstudio.ml.device import amp_dtype, free_device_memory, is_out_of_memory

log = logging.getLogger(__name__)

#: smp networks need inputs divisible by their output stride (2**encoder_depth ≤ 32).
SIZE_MULTIPLE = 32
_FINALISE_ROWS = 64    # rows converted to labels at once (bounds the division/softmax temporaries:
                       # C × 64 × W floats, 18 MB for 12 classes on a 6000-px-wide image)


class PredictionError(RuntimeError):
    """Inference could not run (bad input, out of memory at batch size 1…)."""


@dataclass
class PredictionResult:
    label_map: np.ndarray            # HxW uint8 (int32 beyond 256 classes): class index per pixel
    confidence: np.ndarray | None    # HxW float32: softmax probability of the chosen class (None
                                     # when not asked for: class PNG output needs only the map)
    classes: list[str] = field(default_factory=list)
    logits: np.ndarray | None = None  # (C, H, W) float32, only with keep_logits=True
    info: dict[str, Any] = field(default_factory=dict)   # device, tiles, batch size, seconds…


# -- geometry of the tiling ----------------------------------------------------------------------
def _round_up(n: int, m: int) -> int:
    return int(math.ceil(n / m) * m)


def tile_positions(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, length)`` with windows of ``tile`` (last one flush with the end)."""
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """1-D blending weights: a raised-cosine rise over ``overlap`` px at the ends that have a
    neighbour (``at_start``/``at_end``), flat 1 elsewhere. Strictly positive."""
    w = np.ones(n, dtype=np.float32)
    r = min(overlap, n // 2)
    if r > 0:
        rise = (0.5 - 0.5 * np.cos(np.pi * (np.arange(r, dtype=np.float32) + 0.5) / r)).astype(np.float32)
        if at_start:
            w[:r] = rise
        if at_end:
            w[n - r:] = rise[::-1]
    return w


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> tuple[int, int, list[tuple[int, int]]]:
    """(tile height, tile width, row-major list of (y, x)) for an image of that size.

    Tiles are multiples of :data:`SIZE_MULTIPLE`; an image smaller than a tile gets one tile
    of its size rounded up (padded by reflection).
    """
    tile = max(SIZE_MULTIPLE, (int(tile) // SIZE_MULTIPLE) * SIZE_MULTIPLE)
    overlap = max(0, min(int(overlap), tile // 2))
    th, tw = min(tile, _round_up(height, SIZE_MULTIPLE)), min(tile, _round_up(width, SIZE_MULTIPLE))
    ys, xs = tile_positions(height, th, overlap), tile_positions(width, tw, overlap)
    return th, tw, [(y, x) for y in ys for x in xs]


# -- input preparation ---------------------------------------------------------------------------
def prepare_image(image: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """HxWxC uint8 with the model's number of channels (gray ↔ RGB converted), or an error."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise PredictionError(f"expected an 8-bit image (use core.io.images.to_rgb8), got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise PredictionError(f"expected an HxW or HxWxC image, got shape {img.shape}")
    c, want = img.shape[2], meta.in_channels
    if c == want:
        return img
    if want == 1 and c >= 3:
        gray = img[:, :, 0] * 0.299 + img[:, :, 1] * 0.587 + img[:, :, 2] * 0.114
        return np.clip(gray + 0.5, 0, 255).astype(np.uint8)[:, :, None]
    if c == 1 and want == 3:
        return np.repeat(img, 3, axis=2)
    if c == 4 and want == 3:
        return img[:, :, :3]
    raise PredictionError(f"the model expects {want} input channels; the image has {c}")


def _extract(img: np.ndarray, y: int, x: int, th: int, *, tw: int) -> np.ndarray:
    patch = img[y:y + th, x:x + tw]
    ph, pw = th - patch.shape[0], tw - patch.shape[1]
    if ph or pw:   # only when the image is smaller than the tile
        patch = np.pad(patch, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    return patch


# -- cancellation inside the forward pass ----------------------------------------------------------
def _install_cancel_hooks(model: nn.Module, token: CancelToken | None) -> list:
    if token is None:
        return []

    def check(_module, _inputs):
        token.check()

    # every leaf module checks the token: a single leaf is a small fraction of a tile's forward
    return [m.register_forward_pre_hook(check) for m in model.modules()
            if len(list(m.children())) == 0 or m is model]


# -- the job ---------------------------------------------------------------------------------------
class _BandBlender:
    """Accumulates weighted logits for a band of rows and finalises rows once complete."""

    def __init__(self, num_classes: int, height: int, width: int, band_rows: int, *, keep_logits: bool,
                 confidence: bool = True) -> None:
        self.c, self.h, self.w = num_classes, height, width
        self.rows = min(band_rows, height)
        self.acc = np.zeros((num_classes, self.rows, width), dtype=np.float32)
        self.wsum = np.zeros((self.rows, width), dtype=np.float32)
        self.y0 = 0
        dtype = np.uint8 if num_classes <= 256 else np.int32
        self.label_map = np.zeros((height, width), dtype=dtype)
        self.confidence = np.zeros((height, width), dtype=np.float32) if confidence else None
        self.logits = np.zeros((num_classes, height, width), dtype=np.float32) if keep_logits else None
        self.row_hook: Callable[[int, np.ndarray], None] | None = None

    def add(self, y: int, x: int, logits: np.ndarray, weight: np.ndarray) -> None:
        """``logits`` (C, h, w) and ``weight`` (h, w) already cropped to the image."""
        if y > self.y0:
            self._advance(y)
        h, w = weight.shape
        r0 = y - self.y0
        np.multiply(logits, weight, out=logits)   # in place: the batch's logits are not reused
        self.acc[:, r0:r0 + h, x:x + w] += logits
        self.wsum[r0:r0 + h, x:x + w] += weight

    def _advance(self, new_y0: int) -> None:
        shift = new_y0 - self.y0
        self._finalise(min(shift, self.rows))
        keep = self.rows - shift
        if keep > 0:
            self.acc[:, :keep] = self.acc[:, shift:].copy()
            self.wsum[:keep] = self.wsum[shift:].copy()
            self.acc[:, keep:] = 0
            self.wsum[keep:] = 0
        else:
            self.acc[:] = 0
            self.wsum[:] = 0
        self.y0 = new_y0

    def _finalise(self, nrows: int) -> None:
        nrows = min(nrows, self.h - self.y0)
        for r in range(0, nrows, _FINALISE_ROWS):
            r1 = min(nrows, r + _FINALISE_ROWS)
            logits = self.acc[:, r:r1] / np.maximum(self.wsum[r:r1], 1e-12)
            gy = slice(self.y0 + r, self.y0 + r1)
            self.label_map[gy] = logits.argmax(axis=0)
            if self.logits is not None:
                self.logits[:, gy] = logits
            if self.row_hook is not None:   # before the in-place softmax below
                self.row_hook(self.y0 + r, logits)
            if self.confidence is None:
                continue
            # confidence = softmax probability of the arg-max class = 1 / sum(exp(l - max)),
            # computed in place (one band-sized temporary instead of three)
            logits -= logits.max(axis=0)
            np.exp(logits, out=logits)
            self.confidence[gy] = 1.0 / logits.sum(axis=0)

    def finish(self) -> None:
        self._finalise(self.rows)


def _to_batch(patches: list[np.ndarray], device: torch.device, mean: torch.Tensor, std: torch.Tensor,
              *, channels_last: bool) -> torch.Tensor:
    # uint8 travels to the device (4× less transfer than float), normalisation happens there
    x = torch.from_numpy(np.stack(patches)).to(device, non_blocking=True)
    # NHWC → NCHW by strides only: the batch stays channels-last in memory on every device. On
    # the CPU a plain contiguous NCHW batch made oneDNN's convolutions reorder their inputs and
    # cost ~300 MB more peak RSS per 4×1024² batch (measured; benchmarks/bench_predict_memory.py)
    x = x.permute(0, 3, 1, 2).float().div_(255.0).sub_(mean).div_(std)
    return x.contiguous(memory_format=torch.channels_last)


def predict_image(model: nn.Module, meta: ModelMeta, image_rgb8: np.ndarray,
                  device: str | torch.device = "cpu", *, tile: int = 1024, overlap: int = 128,
                  batch_size: int = 4, amp: bool | str = True, cancel: CancelToken | None = None,
                  keep_logits: bool = False, row_hook: Callable[[int, np.ndarray], None] | None = None,
                  confidence: bool = True) -> Generator[Progress, None, PredictionResult]:
    """Per-pixel classes and confidence for one image; yields a Progress per tile.

    ``amp``: mixed precision on CUDA (True = bf16 if supported else fp16; "fp16"/"bf16";
    False = fp32); ignored on CPU/MPS. ``cancel`` makes a running forward pass stop too.
    ``row_hook(first_row, logits)`` sees the blended (C, rows, W) logits of each band of rows as
    it is finalised, top to bottom, so per-pixel statistics (e.g. uncertainty scores) need no
    C×H×W array. ``confidence=False`` skips the confidence map (H×W float32: 96 MB for a
    24-Mpixel photo) when nothing will read it.
    """
    t_start = time.perf_counter()
    img = prepare_image(image_rgb8, meta)
    height, width = img.shape[:2]
    dev = torch.device(device)
    th, tw, positions = plan_tiles(height, width, tile, overlap)
    ov = max(0, min(int(overlap), min(th, tw) // 2))
    dtype = amp_dtype(dev, amp)
    channels_last = dev.type == "cuda"
    model.eval()
    if next(model.parameters()).device != dev or channels_last:
        model.to(dev, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    mean = torch.tensor(meta.mean, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    std = torch.tensor(meta.std, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    blender = _BandBlender(meta.num_classes, height, width, th, keep_logits=keep_logits,
                           confidence=confidence)
    blender.row_hook = row_hook
    total = len(positions)
    bs = max(1, int(batch_size))
    ramps: dict[tuple, np.ndarray] = {}
    hooks = _install_cancel_hooks(model, cancel)
    done = 0
    yield Progress(0, total, f"{total} tiles of {tw}×{th}")
    try:
        while done < total:
            if cancel is not None:
                cancel.check()
            chunk = positions[done:done + bs]
            out, oom = None, None
            try:
                autocast = (torch.autocast(dev.type, dtype=dtype) if dtype is not None
                            else contextlib.nullcontext())
                with torch.inference_mode(), autocast:
                    x = _to_batch([_extract(img, y, x0, th, tw=tw) for y, x0 in chunk], dev, mean, std,
                                  channels_last=channels_last)
                    out = model(x).float().cpu().numpy()
                    del x
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - only OOM is handled, the rest re-raised
                if not is_out_of_memory(exc):
                    raise
                oom = str(exc).splitlines()[0] if str(exc) else "out of memory"
            if oom is not None:
                # handled outside the except block so the traceback (and its tensors) is freed
                free_device_memory(dev)
                if bs == 1:
                    raise PredictionError(f"out of memory on {dev} even with one {tw}×{th} tile; "
                                          f"use a smaller tile or the CPU ({oom})")
                bs = max(1, bs // 2)
                log.warning("out of memory on %s; batch size reduced to %d", dev, bs)
                yield Progress(done, total, f"{dev.type.upper()} out of memory: batch size reduced to {bs}")
                continue
            assert out is not None
            if out.ndim != 4 or out.shape[1] != meta.num_classes or out.shape[2:] != (th, tw):
                raise PredictionError(f"the network returned shape {tuple(out.shape)} for tiles of "
                                      f"{(th, tw)} and {meta.num_classes} classes")
            for (y, x0), logits in zip(chunk, out):
                h, w = min(th, height - y), min(tw, width - x0)
                rk = (y > 0, y + th < height, x0 > 0, x0 + tw < width, h, w)
                weight = ramps.get(rk)
                if weight is None:
                    wy = ramp(th, ov, y > 0, y + th < height)[:h]
                    wx = ramp(tw, ov, x0 > 0, x0 + tw < width)[:w]
                    weight = ramps.setdefault(rk, np.outer(wy, wx))
                blender.add(y, x0, logits[:, :h, :w], weight)
                done += 1
                yield Progress(done, total, f"tile {done}/{total}")
            # drop this batch's logits before the next forward pass (a loop variable would keep
            # the whole (batch, C, tile, tile) array alive through it: 200 MB for 12 classes)
            del logits
            out = None
        blender.finish()
    finally:
        for hk in hooks:
            hk.remove()
    info = {"device": str(dev), "tiles": total, "tile_size": (th, tw), "overlap": ov, "batch_size": bs,
            "amp": None if dtype is None else str(dtype).replace("torch.", ""),
            "seconds": time.perf_counter() - t_start}
    return PredictionResult(blender.label_map, blender.confidence, list(meta.classes), blender.logits, info)
