"""Tiny ONNX encoder/decoder graphs with the exact input/output names and shapes of each family.

The encoders pool the normalised image down to the published feature shapes. The decoders
output a known disk (radius ``R`` encoder-frame px) around the mean of the prompt's positive
points (labels 1, 2, 3: a click, or the centre of a box) — computed from ``point_coords`` inside
the graph, so every coordinate transform of the real pipeline (resize, padding, original size,
region crops) is checked end to end by where the mask lands. Two masks come out: an empty one
with IoU 0.1 and the disk with IoU 0.9, so the best-mask choice is checked too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

R = 40.0     # disk radius in encoder-frame pixels (1024 frame)
OPSET = 17


def _const(name: str, value, dtype=np.float32) -> onnx.NodeProto:
    return h.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, dtype), name))


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def encoder(path: Path, family: str, input_name: str = "image", names: dict | None = None) -> Path:
    """``family`` "sam": image → image_embeddings 1x256x64x64; "sam2": image → high_res_feats_0
    1x32x256x256, high_res_feats_1 1x64x128x128, image_embed 1x256x64x64 (``names`` renames)."""
    names = names or {}
    nodes, outputs = [], []
    heads = ([("image_embeddings", 256, 16)] if family == "sam" else
             [("high_res_feats_0", 32, 4), ("high_res_feats_1", 64, 8), ("image_embed", 256, 16)])
    for out, ch, k in heads:
        out = names.get(out, out)
        nodes.append(h.make_node("AveragePool", [input_name], [f"{out}_pool"], kernel_shape=[k, k], strides=[k, k]))
        nodes.append(_const(f"{out}_w", np.full((ch, 3, 1, 1), 1 / 3)))
        nodes.append(h.make_node("Conv", [f"{out}_pool", f"{out}_w"], [out]))
        outputs.append(h.make_tensor_value_info(out, T.FLOAT, [1, ch, 1024 // k, 1024 // k]))
    graph = h.make_graph(nodes, f"{family}_encoder",
                         [h.make_tensor_value_info(input_name, T.FLOAT, [1, 3, 1024, 1024])], outputs)
    return _save(graph, path)


def _disk_nodes(prefix: str, xs: str, ys: str, sx: str, sy: str, embed: str) -> list:
    """Nodes making ``{prefix}_logits`` [1, 2, len(ys), len(xs)] from pixel index ranges."""
    n = []
    for a, s, c in (("x", sx, "cx"), ("y", sy, "cy")):
        src = xs if a == "x" else ys
        n += [h.make_node("Add", [src, "half"], [f"{prefix}_{a}c"]),
              h.make_node("Mul", [f"{prefix}_{a}c", s], [f"{prefix}_{a}f"]),
              h.make_node("Sub", [f"{prefix}_{a}f", c], [f"{prefix}_{a}d"]),
              h.make_node("Mul", [f"{prefix}_{a}d", f"{prefix}_{a}d"], [f"{prefix}_{a}2"])]
    n += [h.make_node("Unsqueeze", [f"{prefix}_y2", "ax1"], [f"{prefix}_y2c"]),
          h.make_node("Unsqueeze", [f"{prefix}_x2", "ax0"], [f"{prefix}_x2r"]),
          h.make_node("Add", [f"{prefix}_y2c", f"{prefix}_x2r"], [f"{prefix}_d2"]),
          h.make_node("Sub", ["r2", f"{prefix}_d2"], [f"{prefix}_disk0"]),
          h.make_node("Add", [f"{prefix}_disk0", embed], [f"{prefix}_disk"]),
          h.make_node("Sub", [f"{prefix}_disk", "big"], [f"{prefix}_empty"]),
          h.make_node("Unsqueeze", [f"{prefix}_disk", "ax01"], [f"{prefix}_d4"]),
          h.make_node("Unsqueeze", [f"{prefix}_empty", "ax01"], [f"{prefix}_e4"]),
          h.make_node("Concat", [f"{prefix}_e4", f"{prefix}_d4"], [f"{prefix}_logits"], axis=1)]
    return n


def _snap_nodes(objects: list) -> list:
    """``c`` = the row of ``objects`` nearest to ``c_click``."""
    return [_const("objs", np.asarray(objects, np.float32).reshape(-1, 2)),
            h.make_node("Sub", ["objs", "c_click"], ["o_d"]),
            h.make_node("Mul", ["o_d", "o_d"], ["o_d2"]),
            h.make_node("ReduceSum", ["o_d2", "ax1"], ["o_dist"], keepdims=0),
            h.make_node("ArgMin", ["o_dist"], ["o_i"], axis=0, keepdims=0),
            h.make_node("Gather", ["objs", "o_i"], ["c"], axis=0)]


def decoder(path: Path, family: str, orig_size: str | None = "float", low_res: bool = True,
            names: dict | None = None, objects: list | None = None) -> Path:
    """A decoder of ``family`` ("sam": image_embeddings in, masks/iou_predictions/low_res_masks
    out; "sam2": image_embed + high_res_feats_0/1 in, masks/iou_predictions out).

    ``orig_size``: the dtype of ``orig_im_size`` ("float" as SAM, "int64" as osam's SAM 2.1) —
    masks then come out at the original size — or None: no such input, masks at 256x256 over
    the encoder frame (samexporter's SAM 2 decoder).

    ``objects``: (x, y) centres in the 1024 encoder frame; the disk is then drawn around the
    centre nearest to the prompt — an image of a few objects that every click "finds", as
    "segment everything" needs (many grid points → the same few masks)."""
    names = names or {}
    nm = lambda s: names.get(s, s)  # noqa: E731
    feats = ([("image_embeddings", [1, 256, 64, 64])] if family == "sam" else
             [("image_embed", [1, 256, 64, 64]), ("high_res_feats_0", [1, 32, 256, 256]),
              ("high_res_feats_1", [1, 64, 128, 128])])
    inputs = [h.make_tensor_value_info(nm(n), T.FLOAT, s) for n, s in feats]
    inputs += [h.make_tensor_value_info("point_coords", T.FLOAT, [1, "N", 2]),
               h.make_tensor_value_info("point_labels", T.FLOAT, [1, "N"]),
               h.make_tensor_value_info("mask_input", T.FLOAT, [1, 1, 256, 256]),
               h.make_tensor_value_info("has_mask_input", T.FLOAT, [1])]
    if orig_size:
        inputs.append(h.make_tensor_value_info("orig_im_size", T.INT64 if orig_size == "int64" else T.FLOAT, [2]))
    n = [_const("half", 0.5), _const("one", 1.0), _const("r2", R * R), _const("big", 1e6),
         _const("ax0", [0], np.int64), _const("ax1", [1], np.int64), _const("ax2", [2], np.int64),
         _const("ax01", [0, 1], np.int64), _const("i0", 0, np.int64), _const("i1", 1, np.int64),
         _const("shape2", [2], np.int64), _const("zero", 0.0), _const("four", 4.0),
         _const("frame", 1024.0), _const("n256", 256.0),
         # the positive points' mean: a click, or the centre of a box (labels 2 and 3)
         h.make_node("GreaterOrEqual", ["point_labels", "one"], ["pos_b"]),
         h.make_node("Cast", ["pos_b"], ["pos"], to=T.FLOAT),
         h.make_node("Unsqueeze", ["pos", "ax2"], ["pos3"]),
         h.make_node("Mul", ["point_coords", "pos3"], ["wc"]),
         h.make_node("ReduceSum", ["wc", "ax1"], ["num"], keepdims=0),
         h.make_node("ReduceSum", ["pos", "ax1"], ["den"], keepdims=1),
         h.make_node("Div", ["num", "den"], ["c2"]),
         h.make_node("Reshape", ["c2", "shape2"], ["c_click" if objects else "c"]),
         *(_snap_nodes(objects) if objects else []),
         h.make_node("Gather", ["c", "i0"], ["cx"]),
         h.make_node("Gather", ["c", "i1"], ["cy"]),
         # every feature map is really used (wrong shapes or names fail at run time)
         *[h.make_node("ReduceMean", [nm(f)], [f"{f}_m"], keepdims=0) for f, _ in feats],
         h.make_node("Sum", [f"{f}_m" for f, _ in feats], ["fsum"]),
         h.make_node("Mul", ["fsum", "zero"], ["embed0"]),
         # low-resolution logits over the 1024 encoder frame
         h.make_node("Range", ["zero", "n256", "one"], ["lr_idx"]),
         *_disk_nodes("lr", "lr_idx", "lr_idx", "four", "four", "embed0")]
    outputs = [h.make_tensor_value_info("iou_predictions", T.FLOAT, [1, 2])]
    n.append(_const("iou_predictions", [[0.1, 0.9]]))
    if orig_size:
        n += [h.make_node("Cast", ["orig_im_size"], ["osz"], to=T.FLOAT),
              h.make_node("Gather", ["osz", "i0"], ["H"]),
              h.make_node("Gather", ["osz", "i1"], ["W"]),
              h.make_node("Range", ["zero", "W", "one"], ["xs"]),
              h.make_node("Range", ["zero", "H", "one"], ["ys"])]
        if family == "sam":   # long side → 1024, both axes by the same factor
            n += [h.make_node("Max", ["H", "W"], ["L"]), h.make_node("Div", ["frame", "L"], ["sx"]),
                  h.make_node("Identity", ["sx"], ["sy"])]
        else:                 # stretched to 1024x1024
            n += [h.make_node("Div", ["frame", "W"], ["sx"]), h.make_node("Div", ["frame", "H"], ["sy"])]
        n += _disk_nodes("full", "xs", "ys", "sx", "sy", "embed0")
        n.append(h.make_node("Identity", ["full_logits"], ["masks"]))
        outputs.append(h.make_tensor_value_info("masks", T.FLOAT, [1, 2, "H", "W"]))
    else:
        n.append(h.make_node("Identity", ["lr_logits"], ["masks"]))
        outputs.append(h.make_tensor_value_info("masks", T.FLOAT, [1, 2, 256, 256]))
    if low_res:
        n.append(h.make_node("Identity", ["lr_logits"], ["low_res_masks"]))
        outputs.append(h.make_tensor_value_info("low_res_masks", T.FLOAT, [1, 2, 256, 256]))
    graph = h.make_graph(n, f"{family}_decoder", inputs, outputs)
    return _save(graph, path)


def model_pair(folder: Path, family: str, **decoder_kw) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    enc = encoder(folder / "encoder.onnx", "sam" if family == "sam" else "sam2")
    dec = decoder(folder / "decoder.onnx", "sam" if family == "sam" else "sam2", **decoder_kw)
    return enc, dec
