"""Segment-Anything cost on this CPU: encoder time per image, decoder time per click.

For each family's tiny ONNX graphs (tests/sam/onnx_graphs.py: the real tensor names and
shapes, trivial arithmetic) — and for every real model found on this machine (``segstudio sam
models``) — it times, per image size:

- encode: our whole call (resize, normalise, pad, run) vs the raw ``session.run`` on a ready
  tensor — the difference is our pre-processing;
- click: our whole decode (prompt arrays, run, mask back to the original size, threshold) vs the
  raw decoder ``session.run`` — the difference is our post-processing (the target is ≤ 50 ms);
- cached: a click on a cached embedding through :class:`Predictor` (no encoder run).

``--smoke``: one small size, 2 repeats. Prints a markdown table (median ms).

``--gui-stall``: the real window (offscreen) with the AI polygon tool on a big image while a
slow encoder (a tiny-graph encoder with a stack of 3x3 convolutions, calibrated to run ≥ 2 s)
embeds it and prefetches the next image; a 5 ms QTimer on the GUI thread records the longest gap
(the method of bench_gui_stall.py), next to the same ticker on an idle window. Target: ≤ 50 ms.
With ``--smoke``: one small image and one convolution, a check that the mode still runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.sam.families import get_family, preprocess  # noqa: E402
from segstudio.sam.models import find_local, status_rows  # noqa: E402
from segstudio.sam.predictor import Predictor  # noqa: E402
from segstudio.sam.runtime import SamModel  # noqa: E402
from tests.sam import onnx_graphs as g  # noqa: E402


def median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench(label: str, model: SamModel, sizes, reps: int) -> list[str]:
    return [bench_one(label, model, h, w, reps) for h, w in sizes]


def bench_one(label: str, model: SamModel, h: int, w: int, reps: int) -> str:
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    tensor, _ = preprocess(model.family, img, model._enc_rank)
    enc_raw = median_ms(lambda: model.encoder.run(None, {model._enc_input: tensor}), reps)
    enc_ours = median_ms(lambda: model.encode(img), reps)
    emb = model.encode(img)
    click = [(w * 0.4, h * 0.6)]
    model.decode(emb, click)   # the feed, once, for the raw call below
    feed = {}
    orig = emb.frame.orig

    def raw_decode():
        from segstudio.sam.families import prompt_arrays

        if not feed:
            coords, labels = prompt_arrays(model.family, emb.frame, click, [], box=None)
            for name, (role, typ) in model._dec_inputs.items():
                feed[name] = (emb.features.get(role) if role in emb.features else
                              {"point_coords": coords, "point_labels": labels,
                               "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                               "has_mask_input": np.zeros(1, np.float32),
                               "orig_im_size": np.asarray(orig, np.int64 if "int64" in typ else np.float32)
                               }[role])
        model.decoder.run(None, feed)

    raw_decode()
    dec_raw = median_ms(raw_decode, reps)
    dec_ours = median_ms(lambda: model.decode(emb, click), reps)
    pred = Predictor(model, label)
    pred.embed("k", img)
    cached = median_ms(lambda: pred.segment("k", img, click), reps)
    return (f"| {label} | {w}x{h} | {enc_ours:.1f} | {enc_raw:.1f} | {enc_ours / enc_raw:.2f} "
            f"| {dec_ours:.1f} | {dec_raw:.1f} | {dec_ours / max(dec_raw, 1e-6):.2f} | {cached:.1f} |")


def slow_encoder(path: Path, convs: int) -> Path:
    """A "sam" encoder (image → image_embeddings 1x256x64x64) made slow on purpose: ``convs``
    3x3 convolutions 256→256 on the 64x64 map (≈ 4.8 GFLOP each), as a real ViT encoder is."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.full((256, 3, 1, 1), 1 / 3, np.float32), "w_in"),
             numpy_helper.from_array((rng.standard_normal((256, 256, 3, 3)) / (256 * 9)).astype(np.float32), "w3")]
    nodes = [h.make_node("AveragePool", ["image"], ["pool"], kernel_shape=[16, 16], strides=[16, 16]),
             h.make_node("Conv", ["pool", "w_in"], ["x0"])]
    for i in range(convs):
        nodes.append(h.make_node("Conv", [f"x{i}", "w3"], [f"x{i + 1}" if i < convs - 1 else "image_embeddings"],
                                 pads=[1, 1, 1, 1]))
    if not convs:
        nodes.append(h.make_node("Identity", ["x0"], ["image_embeddings"]))
    graph = h.make_graph(nodes, "slow_sam_encoder",
                         [h.make_tensor_value_info("image", T.FLOAT, [1, 3, 1024, 1024])],
                         [h.make_tensor_value_info("image_embeddings", T.FLOAT, [1, 256, 64, 64])], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def gui_stall(smoke: bool) -> int:
    """The longest GUI-thread gap while the window's AI tool embeds a big image (see the docstring)."""
    import os

    import bench_gui_stall as gs  # sets up throw-away user folders and the offscreen platform
    from PIL import Image
    from PySide6.QtWidgets import QApplication, QMessageBox

    from segstudio.sam.download import import_model

    app = QApplication.instance() or QApplication(sys.argv)
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-bench-sam-"))
    os.environ["SEGSTUDIO_SAM_DIR"] = str(tmp / "models")
    export = tmp / "export"
    export.mkdir()
    g.decoder(export / "decoder.onnx", "sam")
    img = np.zeros((1024, 1024, 3), np.uint8)
    convs, t_enc = 1, 0.0
    if "--convs" in sys.argv:
        convs = int(sys.argv[sys.argv.index("--convs") + 1])
    for _ in range(1 if smoke else 0 if "--convs" in sys.argv else 4):   # calibrate: encoder run ≥ 2 s on this (loaded) machine
        slow_encoder(export / "encoder.onnx", convs)
        model = SamModel(get_family("sam"), export / "encoder.onnx", export / "decoder.onnx")
        t_enc = median_ms(lambda m=model: m.encode(img), 1) / 1000
        if t_enc >= 2.0:
            break
        convs = max(convs + 1, int(np.ceil(convs * 2.5 / max(t_enc, 1e-3))))
    if "--convs" in sys.argv:
        slow_encoder(export / "encoder.onnx", convs)
    import_model(export, "slow", "sam")
    h, w = (480, 640) if smoke else (4000, 6000)
    timed = f"{t_enc:.2f} s per run headless (all cores)" if t_enc else "size from --convs"
    print(f"encoder: {convs} 3x3 convs 256→256, {timed}; {os.cpu_count()} cores",
          flush=True)
    print("| window state | image | embedding ready (s) | embed + prefetch done (s) | encoder runs "
          "| ORT intra-op threads | longest GUI-thread gap (ms) | median tick (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for run in range(1 if smoke else args_runs()):
        folder = tmp / f"images{run}"   # new files each run: no embedding cached on disk
        folder.mkdir()
        rng = np.random.default_rng(run)
        for name in ("a.png", "b.png"):
            small = rng.integers(0, 256, (h // 8, w // 8, 3), np.uint8)
            Image.fromarray(small).resize((w, h)).save(folder / name, compress_level=1)
        stall_run(app, gs, folder, w, h, smoke)
    return 0


def args_runs() -> int:
    """``--runs N`` (default 1): windows measured, each on new image files."""
    return int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 1


def stall_run(app, gs, folder: Path, w: int, h: int, smoke: bool) -> None:
    from segstudio.core.settings import Preferences
    from segstudio.ui.main_window import MainWindow

    win = MainWindow(Preferences(autosave_idle_s=0), features=["sam_tool"])
    win.resize(1200, 800)
    win.show()
    assert win.open_folder(folder), win.last_error
    gs.spin(app, lambda: win.controller.current_image() is not None, 120, 0.3)
    f = win.features["sam_tool"] if isinstance(win.features, dict) else next(
        x for x in win.features if type(x).__name__ == "SamTool")
    with gs.Ticker() as idle:
        gs.spin(app, lambda: False, 1.0 if smoke else 3.0, 0.0)
    busy = lambda: any(j is not None and j.is_running for j in f._jobs.values())  # noqa: E731
    t0 = time.perf_counter()
    with gs.Ticker() as tick:
        win.canvas.set_tool("ai_polygon")
        t_ready = gs.spin(app, lambda: f._emb is not None, 600, 0.0)
        t_done = gs.spin(app, lambda: not busy(), 600, 0.2)
    threads = f.predictor.model.encoder.get_session_options().intra_op_num_threads if f.predictor else -1
    print(f"| idle (no job) | {w}x{h} | – | – | 0 | – | {idle.longest() * 1000:.1f} | {idle.median() * 1000:.1f} |")
    print(f"| AI polygon: embed this image + prefetch the next | {w}x{h} | {t_ready - t0:.2f} "
          f"| {t_done - t0:.2f} | {len(f.encoder_threads)} | {threads or 'all cores'} "
          f"| {tick.longest() * 1000:.1f} | {tick.median() * 1000:.1f} |", flush=True)
    gs.close_window(app, win)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="one small size, 2 repeats")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--convs", type=int, help="--gui-stall: encoder size (default: calibrated to ≥ 2 s)")
    ap.add_argument("--runs", type=int, default=1, help="--gui-stall: windows measured")
    ap.add_argument("--gui-stall", action="store_true",
                    help="longest GUI-thread gap while the window's AI tool embeds a big image")
    args = ap.parse_args()
    if args.gui_stall:
        return gui_stall(args.smoke)
    sizes = [(480, 640)] if args.smoke else [(480, 640), (3000, 4000), (4000, 6000)]
    reps = 2 if args.smoke else args.reps
    print("| model | image | encode ms | raw encoder run ms | ratio | click ms | raw decoder run ms "
          "| ratio | click on cached embedding ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        variants = [("tiny graph, sam", "sam", {}), ("tiny graph, sam2", "sam2", {"orig_size": "int64"}),
                    ("tiny graph, sam2 low-res", "sam2", {"orig_size": None, "low_res": False})]
        for label, fam, kw in variants:
            enc, dec = g.model_pair(Path(tmp) / label.replace(" ", "_").replace(",", ""), fam, **kw)
            for row in bench(label, SamModel(get_family(fam), enc, dec), sizes, reps):
                print(row, flush=True)
    if not args.smoke:
        for r in status_rows():
            local = find_local(r["name"]) if r["status"] == "present" else None
            if local is not None:
                m = SamModel(get_family(local.family), local.files["encoder"], local.files["decoder"])
                for row in bench(r["name"], m, sizes[:2], max(3, reps // 2)):
                    print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
