"""Segment everything: a grid of point prompts → deduplicated instance masks (pre-annotation).

As Segment-Anything's automatic mask generator: every grid point is a one-click prompt; each of
the decoder's masks is kept when its predicted IoU and its *stability* (IoU of the logits
thresholded at +offset and at −offset: a mask that barely changes with the threshold is a
confident one) pass their thresholds and its area is large enough; then duplicates are removed
by non-max suppression on mask IoU, the better-scored mask (predicted IoU × stability) winning.

Memory stays bounded on 24-Mpixel photos: a candidate is stored as its tight bounding box and
the boolean mask inside it, suppression runs as candidates arrive (so only the distinct
instances found so far are held), and two masks are compared only inside the intersection of
their boxes — disjoint boxes cost nothing.

The decoder is run once per point: the published SAM decoder export takes one prompt per run
(batch 1), and so do the graphs we test, so no batched path is claimed.

Pure: numpy, segstudio.core, segstudio.sam.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from segstudio.core.jobs import Progress
from segstudio.core.model import Shape
from segstudio.sam.runtime import Embedding, SamModel


@dataclass(frozen=True)
class EverythingParams:
    points_per_side: int = 16       # grid of n × n clicks over the image (or the embedded region)
    pred_iou: float = 0.88          # the decoder's predicted IoU must reach this
    stability: float = 0.92         # IoU(logits > +offset, logits > −offset) must reach this
    stability_offset: float = 1.0
    min_area: int = 100             # px of the full image
    nms_iou: float = 0.7            # a mask overlapping a better one by more than this is a duplicate


PARAM_HELP = {
    "points_per_side": "grid of N×N point prompts", "pred_iou": "predicted-IoU threshold",
    "stability": "stability-score threshold", "stability_offset": "logit offset of the stability score",
    "min_area": "smallest instance kept (px)", "nms_iou": "mask IoU above which a mask is a duplicate",
}


@dataclass
class Instance:
    box: tuple[int, int, int, int]   # (x0, y0, x1, y1) tight, half-open, full-image pixels
    mask: np.ndarray                 # bool, the box's size
    score: float                     # predicted IoU × stability
    pred_iou: float
    stability: float

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    def full(self, h: int, w: int) -> np.ndarray:
        out = np.zeros((h, w), bool)
        x0, y0, x1, y1 = self.box
        out[y0:y1, x0:x1] = self.mask
        return out


def grid_points(n: int, *, x0: int, y0: int, w: int, h: int) -> list[tuple[float, float]]:
    """n × n points at the centres of an n × n grid of cells over the (x0, y0, w, h) region."""
    return [(x0 + (i + 0.5) * w / n, y0 + (j + 0.5) * h / n) for j in range(n) for i in range(n)]


def stability_score(logits: np.ndarray, offset: float) -> float:
    """IoU of ``logits > offset`` and ``logits > -offset`` (1.0: the threshold does not matter)."""
    union = int(np.count_nonzero(logits > -offset))
    return 1.0 if union == 0 else int(np.count_nonzero(logits > offset)) / union


def mask_iou(a: Instance, b: Instance) -> float:
    """IoU of two instances, computed only inside the intersection of their boxes."""
    ix0, iy0 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    ix1, iy1 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    if ix1 <= ix0 or iy1 <= iy0:
        return 0.0
    sa = a.mask[iy0 - a.box[1]:iy1 - a.box[1], ix0 - a.box[0]:ix1 - a.box[0]]
    sb = b.mask[iy0 - b.box[1]:iy1 - b.box[1], ix0 - b.box[0]:ix1 - b.box[0]]
    inter = int(np.count_nonzero(sa & sb))
    union = a.area + b.area - inter
    return inter / union if union else 0.0


def add_with_nms(kept: list[Instance], cand: Instance, nms_iou: float) -> None:
    """Greedy NMS as candidates arrive: ``cand`` joins ``kept`` unless a kept mask overlapping it
    by more than ``nms_iou`` scores at least as well; the kept masks it beats are dropped."""
    beaten = []
    for k in kept:
        if mask_iou(k, cand) > nms_iou:
            if k.score >= cand.score:
                return
            beaten.append(k)
    for k in beaten:
        kept.remove(k)
    kept.append(cand)


def _candidate(model: SamModel, emb: Embedding, logits_lr: np.ndarray, pred_iou: float,
               *, p: EverythingParams) -> Instance | None:
    stab = stability_score(logits_lr, p.stability_offset)
    if stab < p.stability:
        return None
    pred = model.to_prediction(emb, logits_lr, pred_iou)
    m = pred.window_mask
    if m.size == 0 or np.count_nonzero(m) < p.min_area:
        return None
    rows, cols = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
    wx0, wy0 = pred.window[:2]
    box = (wx0 + int(cols[0]), wy0 + int(rows[0]), wx0 + int(cols[-1]) + 1, wy0 + int(rows[-1]) + 1)
    crop = np.ascontiguousarray(m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    return Instance(box, crop, pred_iou * stab, pred_iou, stab)


def segment_everything(model: SamModel, emb: Embedding, params: EverythingParams = EverythingParams()
                       ) -> Generator[Progress, None, list[Instance]]:
    """Deduplicated instances of the embedded image (or region), largest first — so, drawn in
    order, a small object inside a big one stays visible (later shapes paint over earlier).

    A generator: yields Progress per point (cancel by closing it), returns the instances."""
    h, w = emb.frame.orig
    ox, oy = emb.offset
    points = grid_points(max(1, int(params.points_per_side)), x0=ox, y0=oy, w=w, h=h)
    kept: list[Instance] = []
    for n, pt in enumerate(points, start=1):
        masks, ious = model.decode_raw(emb, [pt])
        for k, logits in enumerate(masks):
            score = float(ious[k]) if k < len(ious) else 0.0
            if score < params.pred_iou:
                continue
            cand = _candidate(model, emb, logits, score, p=params)
            if cand is not None:
                add_with_nms(kept, cand, params.nms_iou)
        if n % 8 == 0 or n == len(points):
            yield Progress(n, len(points), f"segment everything: {len(kept)} instance(s)")
    return sorted(kept, key=lambda i: -i.area)


def instance_shapes(instances: list[Instance], label: str, size: tuple[int, int], *, mode: str = "polygon",
                    tolerance: float = 1.0, min_area: float = 10.0) -> list[Shape]:
    """Shapes (through :func:`segstudio.sam.predictor.mask_shapes`) of each instance, each its
    own ``group_id`` so instances of one class stay distinct in an instance export."""
    from segstudio.sam.predictor import mask_shapes

    shapes: list[Shape] = []
    h, w = size
    for gid, inst in enumerate(instances, start=1):
        if mode == "polygon":   # on the instance's box only: cheap on big images
            got = mask_shapes(inst.mask, label, "polygon", tolerance=tolerance, min_area=min_area,
                              largest_only=True)
            for s in got:
                s.points = np.asarray(s.points, np.float64) + inst.box[:2]
        else:
            got = mask_shapes(inst.full(h, w), label, "mask", tolerance=tolerance, min_area=min_area)
        for s in got:
            s.group_id = gid
        shapes += got
    return shapes
