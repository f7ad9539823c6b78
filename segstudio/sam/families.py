"""The model families: how each published ONNX encoder/decoder pair is fed and read back.

One row of :data:`FAMILIES` per convention — everything that differs between SAM-style exports
is declared here, and :mod:`segstudio.sam.runtime` asks the row:

- ``sam`` — the original Segment-Anything export (segment-anything's ``scripts/export_onnx_model.py``
  decoder; encoders from samexporter / labelme / osam): SAM ViT-B/L/H, MobileSAM and other
  exports of that signature. The image's long side is resized to 1024 (rounded as
  ``ResizeLongestSide``), normalised with ImageNet statistics on 0..255 and padded bottom/right
  to 1024×1024; clicks are scaled by the same factors; a padding point (0, 0) label -1 ends the
  point list when no box is given. The decoder's ``masks`` output may have been traced with the
  exporter's dummy aspect ratio (samexporter's note), so its ``low_res_masks`` (256×256 over the
  padded 1024 frame) are post-processed here when present: upscale, crop the unpadded part,
  resize to the original size.
- ``sam2`` — SAM 2 / 2.1 exports (samexporter, ONNX-SAM2): the image is stretched to 1024×1024
  (no aspect kept), scaled to 0..1 and normalised with ImageNet statistics; clicks are scaled by
  1024/W and 1024/H; the decoder pads points itself; masks are at the original size when the
  export takes ``orig_im_size``, else low-resolution over the stretched frame (resized here).
- ``sam2-osam`` — osam's (labelme's) SAM 2.1 blobs: the ``sam2`` frame, fed exactly as osam
  feeds them (``x/255 - mean/std``), since that is how those blobs are used in labelme.

Tensor names differ between exporters (``image_embed`` vs ``image_embeddings``,
``high_res_feats_0`` vs ``high_res_features1``), so :data:`ROLE_NAMES` maps every known name to
a role, and a feature map whose name is unknown is recognised by its channel count.

Pure: numpy + OpenCV + PIL.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    frame: str                     # "longest_side" (resize long side + pad) | "stretch" (to a square)
    normalise: str                 # "imagenet" (exact) | "osam_sam2" (osam's own feeding of its blobs)
    padding_point: bool            # append (0, 0) label -1 when there is no box (SAM's decoder needs it)
    input_size: int = 1024
    low_res: int = 256
    description: str = ""


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("sam", "Segment Anything (ViT-B/L/H, MobileSAM)", "longest_side", "imagenet", True,
           description="original SAM ONNX convention: long side 1024, padded; image_embeddings 1x256x64x64"),
    Family("sam2", "SAM 2 / 2.1", "stretch", "imagenet", False,
           description="SAM 2.1 convention: image stretched to 1024x1024; image_embed + high_res_feats_0/1"),
    Family("sam2-osam", "SAM 2.1 (osam / labelme blobs)", "stretch", "osam_sam2", False,
           description="osam's SAM 2.1 exports, fed as osam feeds them"),
)}

#: every tensor name known from public exporters → the role it plays
ROLE_NAMES: dict[str, str] = {
    "image_embeddings": "image_embed", "image_embed": "image_embed",
    "high_res_feats_0": "feats_0", "high_res_features1": "feats_0",
    "high_res_feats_1": "feats_1", "high_res_features2": "feats_1",
    "point_coords": "point_coords", "point_labels": "point_labels",
    "mask_input": "mask_input", "has_mask_input": "has_mask_input", "orig_im_size": "orig_im_size",
    "masks": "masks", "iou_predictions": "iou", "scores": "iou", "low_res_masks": "low_res_masks",
}
#: channel count of each image feature map (SAM 2's high-resolution features; 256 = embedding)
ROLE_BY_CHANNELS = {256: "image_embed", 32: "feats_0", 64: "feats_1"}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})") from None


@dataclass(frozen=True)
class Frame:
    """Where an image of ``orig`` (h, w) lands in the encoder's square input."""

    orig: tuple[int, int]
    resized: tuple[int, int]       # (h, w) of the image inside the input square
    size: int

    @property
    def scale_xy(self) -> tuple[float, float]:
        return self.resized[1] / self.orig[1], self.resized[0] / self.orig[0]


def frame_for(family: Family, h: int, w: int) -> Frame:
    s = family.input_size
    if family.frame == "stretch":
        return Frame((h, w), (s, s), s)
    scale = s / max(h, w)
    # ResizeLongestSide's rounding: int(v * scale + 0.5)
    return Frame((h, w), (int(h * scale + 0.5), int(w * scale + 0.5)), s)


def preprocess(family: Family, image_rgb8: np.ndarray, rank: int = 4) -> tuple[np.ndarray, Frame]:
    """The encoder's input for an HxWx3 uint8 RGB image, and the frame it was put in.

    ``rank`` 3: a SAM encoder exported with its preprocessing inside (samexporter
    ``--use-preprocess``) takes the resized HxWx3 float image itself."""
    h, w = image_rgb8.shape[:2]
    fr = frame_for(family, h, w)
    rh, rw = fr.resized
    if family.frame == "longest_side":
        # PIL bilinear, as segment-anything's ResizeLongestSide.apply_image
        resized = np.asarray(Image.fromarray(image_rgb8).resize((rw, rh), Image.BILINEAR), np.float32)
    else:
        resized = cv2.resize(image_rgb8, (rw, rh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if rank == 3:
        return resized, fr
    mean = np.asarray(IMAGENET_MEAN, np.float32)
    std = np.asarray(IMAGENET_STD, np.float32)
    if family.normalise == "osam_sam2":
        x = resized / 255.0 - mean / std
    elif family.frame == "longest_side":
        x = (resized - mean * 255.0) / (std * 255.0)
    else:
        x = (resized / 255.0 - mean) / std
    out = np.zeros((1, 3, fr.size, fr.size), np.float32)
    out[0, :, :rh, :rw] = x.transpose(2, 0, 1)   # zero padding after normalisation, as SAM pads
    return out, fr


def prompt_arrays(family: Family, frame: Frame, fg: list, bg: list, *, box: tuple | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``point_coords`` (1xNx2 float32, in the encoder frame) and ``point_labels`` (1xN float32):
    1 foreground, 0 background, 2/3 the box corners, -1 the padding point."""
    pts = [(float(x), float(y)) for x, y in fg] + [(float(x), float(y)) for x, y in bg]
    labels = [1.0] * len(fg) + [0.0] * len(bg)
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        pts += [(min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))]
        labels += [2.0, 3.0]
    coords = np.asarray(pts, np.float64).reshape(-1, 2)
    sx, sy = frame.scale_xy
    coords = coords * (sx, sy)
    if box is None and family.padding_point:
        coords = np.concatenate([coords, [[0.0, 0.0]]])
        labels.append(-1.0)
    return coords[None].astype(np.float32), np.asarray(labels, np.float32)[None]


def masks_to_original(family: Family, frame: Frame, masks: np.ndarray) -> np.ndarray:
    """Kx h x w logits over the original image from the decoder's K x h' x w' logits: at the
    original size already, or low-resolution over the (padded / stretched) encoder frame."""
    h, w = frame.orig
    if masks.shape[-2:] == (h, w):
        return masks
    out = np.empty((masks.shape[0], h, w), np.float32)
    for k, m in enumerate(masks.astype(np.float32, copy=False)):
        if family.frame == "longest_side":
            m = cv2.resize(m, (frame.size, frame.size), interpolation=cv2.INTER_LINEAR)
            m = m[:frame.resized[0], :frame.resized[1]]
        out[k] = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
    return out
