"""ONNX Runtime sessions of one encoder/decoder pair: image → embedding, embedding + prompt → masks.

:class:`SamModel` asks its family row (:mod:`segstudio.sam.families`) how to feed the graphs;
tensor names are matched by role, so exports from different tools work unchanged. CPU by
default; CUDA when ``onnxruntime-gpu`` is installed (it replaces ``onnxruntime``, the two
packages conflict) and ``SEGSTUDIO_SAM_PROVIDER`` is not ``cpu``.

Pure: numpy, onnxruntime (imported when a model is opened), segstudio.sam.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.sam.families import (
    ROLE_BY_CHANNELS,
    ROLE_NAMES,
    Family,
    Frame,
    preprocess,
    prompt_arrays,
)
from segstudio.sam.upscale import mask_window

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """A model file cannot be opened or does not follow its family's convention (names the file)."""


def providers() -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if os.environ.get("SEGSTUDIO_SAM_PROVIDER", "").lower() != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@dataclass
class Embedding:
    """The encoder's outputs for one image (or one region of it), with where it came from."""

    features: dict[str, np.ndarray]             # role → array (image_embed, feats_0, feats_1)
    frame: Frame
    offset: tuple[int, int] = (0, 0)            # (x0, y0) of the region in the full image
    full_size: tuple[int, int] = (0, 0)         # (h, w) of the full image
    meta: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.features.values())


@dataclass
class Prediction:
    mask: np.ndarray          # HxW bool over the full image (zero outside ``window``)
    score: float              # the decoder's predicted IoU of the chosen mask
    logits: np.ndarray        # float32 logits inside ``window`` (where the mask can be positive)
    window: tuple[int, int, int, int] = (0, 0, 0, 0)   # (x0, y0, x1, y1) in full-image pixels

    @property
    def window_mask(self) -> np.ndarray:
        """The mask inside ``window`` only: what a preview needs on a 24-Mpixel image."""
        return self.logits > 0.0


def _role(name: str, shape: list) -> str | None:
    if name in ROLE_NAMES:
        return ROLE_NAMES[name]
    if len(shape) == 4 and isinstance(shape[1], int):
        return ROLE_BY_CHANNELS.get(shape[1])
    return None


class SamModel:
    """One encoder/decoder pair. Thread-safe: ONNX Runtime sessions may be run concurrently."""

    def __init__(self, family: Family, encoder: str | Path, decoder: str | Path,
                 *, provider_list: list[str] | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        self.family = family
        self.paths = (Path(encoder), Path(decoder))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        provs = provider_list or providers()
        sessions = []
        for path in self.paths:
            try:
                sessions.append(ort.InferenceSession(str(path), sess_options=opts, providers=provs))
            except Exception as exc:   # onnxruntime raises its own exception types
                raise ModelError(f"{path}: not a usable ONNX model ({exc})") from None
        self.encoder, self.decoder = sessions
        enc_in = self.encoder.get_inputs()
        if len(enc_in) != 1:
            raise ModelError(f"{self.paths[0]}: an image encoder has one input, this one has "
                             f"{[i.name for i in enc_in]}")
        self._enc_input = enc_in[0].name
        self._enc_rank = len(enc_in[0].shape)
        self._enc_outputs = {}
        for o in self.encoder.get_outputs():
            role = _role(o.name, o.shape)
            if role in ("image_embed", "feats_0", "feats_1"):
                self._enc_outputs[o.name] = role
        if "image_embed" not in self._enc_outputs.values():
            raise ModelError(f"{self.paths[0]}: no image embedding output among "
                             f"{[o.name for o in self.encoder.get_outputs()]}")
        self._dec_inputs: dict[str, tuple[str, str]] = {}
        for i in self.decoder.get_inputs():
            role = _role(i.name, i.shape)
            if role is None:
                raise ModelError(f"{self.paths[1]}: unknown decoder input {i.name!r} for the "
                                 f"{family.name!r} family")
            self._dec_inputs[i.name] = (role, i.type)
        self._dec_outputs = {o.name: ROLE_NAMES.get(o.name) for o in self.decoder.get_outputs()}
        if "masks" not in self._dec_outputs.values():
            raise ModelError(f"{self.paths[1]}: no 'masks' output")
        self._lock = threading.Lock()

    # -- encoder ---------------------------------------------------------------------------
    def encode(self, image_rgb8: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> Embedding:
        """Runs the encoder on the image, or on ``roi`` (x0, y0, x1, y1) of it: a zoomed-in
        region of a big image is embedded at full encoder resolution, so small objects keep
        their detail."""
        img = np.asarray(image_rgb8)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 image, got {img.shape} {img.dtype}")
        H, W = img.shape[:2]
        x0, y0 = 0, 0
        if roi is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in roi)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise ValueError(f"region {roi} is empty or outside the {W}x{H} image")
            img = np.ascontiguousarray(img[y0:y1, x0:x1])
        tensor, frame = preprocess(self.family, img, self._enc_rank)
        outs = self.encoder.run(list(self._enc_outputs), {self._enc_input: tensor})
        feats = {role: np.asarray(a) for role, a in zip(self._enc_outputs.values(), outs)}
        return Embedding(feats, frame, (x0, y0), (H, W))

    # -- decoder ---------------------------------------------------------------------------
    def decode(self, emb: Embedding, fg: list = (), bg: list = (), box: tuple | None = None,
               *, mask_input: np.ndarray | None = None) -> Prediction:
        """The best mask (highest predicted IoU) for clicks ``fg``/``bg`` and ``box``, in full
        image pixel coordinates."""
        masks, iou = self.decode_raw(emb, fg, bg, box, mask_input=mask_input)
        best = int(np.argmax(iou)) if len(iou) == len(masks) else 0
        return self.to_prediction(emb, masks[best], float(iou[best]) if len(iou) else 0.0)

    def to_prediction(self, emb: Embedding, mask: np.ndarray, score: float) -> Prediction:
        """One decoder mask (low-resolution or full-size logits) as a Prediction over the full image."""
        ox, oy = emb.offset
        # only the bounding box of the positive area is upscaled (a click on 24 Mpixel: ms, not s)
        (x0, y0, x1, y1), logits = mask_window(self.family, emb.frame, mask)
        H, W = emb.full_size
        full = np.zeros((H, W), bool)
        full[oy + y0:oy + y1, ox + x0:ox + x1] = logits > 0.0
        return Prediction(full, score, logits, (ox + x0, oy + y0, ox + x1, oy + y1))

    def decode_raw(self, emb: Embedding, fg: list = (), bg: list = (), box: tuple | None = None,
                   *, mask_input: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every mask the decoder gives for one prompt (K x h x w logits, low-resolution or at
        the original size) and their predicted IoUs (K): what "segment everything" filters."""
        if not fg and box is None:
            raise ValueError("a Segment-Anything prompt needs a foreground click or a box")
        ox, oy = emb.offset
        shift = lambda pts: [(x - ox, y - oy) for x, y in pts]  # noqa: E731
        lbox = None if box is None else (box[0] - ox, box[1] - oy, box[2] - ox, box[3] - oy)
        coords, labels = prompt_arrays(self.family, emb.frame, shift(fg), shift(bg), box=lbox)
        lr = self.family.low_res
        feed: dict[str, np.ndarray] = {}
        for name, (role, typ) in self._dec_inputs.items():
            if role in emb.features:
                feed[name] = emb.features[role]
            elif role == "point_coords":
                feed[name] = coords
            elif role == "point_labels":
                feed[name] = labels
            elif role == "mask_input":
                feed[name] = (mask_input if mask_input is not None
                              else np.zeros((1, 1, lr, lr), np.float32)).astype(np.float32)
            elif role == "has_mask_input":
                feed[name] = np.array([1.0 if mask_input is not None else 0.0], np.float32)
            elif role == "orig_im_size":
                dtype = np.int64 if "int64" in typ else np.int32 if "int32" in typ else np.float32
                feed[name] = np.asarray(emb.frame.orig, dtype)
            else:
                raise ModelError(f"{self.paths[1]}: the decoder wants {name!r}, which the image "
                                 f"encoder did not give")
        outs = dict(zip(self._dec_outputs, self.decoder.run(list(self._dec_outputs), feed)))
        by_role = {self._dec_outputs[n]: v for n, v in outs.items() if self._dec_outputs[n]}
        masks = by_role["masks"]
        if self.family.frame == "longest_side" and "low_res_masks" in by_role:
            masks = by_role["low_res_masks"]   # see families: the traced masks may be aspect-frozen
        masks = np.asarray(masks).reshape(-1, *np.shape(masks)[-2:])
        iou = np.asarray(by_role.get("iou", np.zeros(len(masks))), np.float32).reshape(-1)
        return masks, iou
