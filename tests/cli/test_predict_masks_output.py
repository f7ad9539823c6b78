"""``segstudio predict --format masks``: the class PNG is the model's argmax, and no shapes are
ever built for it (shapes of a fragmented 24-Mpixel prediction cost gigabytes); the memory
benchmark's smoke mode runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.cli import main  # noqa: E402
from segstudio.core.io.labelme import read_labelme  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}


@pytest.fixture(scope="module")
def noisy_model(tmp_path_factory):
    """A random tiny Unet with 4 classes: its argmax is fragmented on a textured image."""
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.manual_seed(0)
    model = build_model("Unet", "resnet18", 3, 4, **TINY)
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "a", "b", "c"], model_kwargs=dict(TINY))
    path = save_checkpoint(tmp_path_factory.mktemp("model") / "noisy.safetensors", model, meta)
    return path, model.eval(), meta


def _image(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((96, 128, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    path = tmp_path / "src" / "photo.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), img)
    return path


def _argmax(model, meta, path: Path) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    x = (x - torch.tensor(meta.mean).view(1, -1, 1, 1)) / torch.tensor(meta.std).view(1, -1, 1, 1)
    with torch.inference_mode():
        return model(x).argmax(1)[0].numpy().astype(np.uint8)


def test_png_is_the_argmax_and_no_shape_is_built(tmp_path, noisy_model, monkeypatch, torch_two_threads):
    ckpt, model, meta = noisy_model
    img = _image(tmp_path)

    def no_shapes(*_a, **_k):
        raise AssertionError("class PNG output must not convert the prediction to shapes")

    import segstudio.core.label_shapes as label_shapes
    import segstudio.ml.batch as batch

    monkeypatch.setattr(batch, "prediction_to_shapes", no_shapes)
    monkeypatch.setattr(label_shapes, "label_map_to_shapes", no_shapes)
    monkeypatch.setattr(label_shapes, "crop_to_shapes", no_shapes)
    out = tmp_path / "out"
    # one tile (the image fits): the blended logits are the network's, exactly
    rc = main(["predict", "--model", str(ckpt), "--device", "cpu", "--format", "masks", "--tile", "128",
               "--quiet", str(img), str(out)])
    assert rc == 0
    png = cv2.imread(str(out / "photo.png"), cv2.IMREAD_UNCHANGED)
    want = _argmax(model, meta, img)
    assert len(np.unique(want)) >= 3   # a real, fragmented prediction
    np.testing.assert_array_equal(png, want)


def test_json_shapes_reproduce_the_fragmented_argmax(tmp_path, noisy_model, torch_two_threads):
    from segstudio.core.rasterize import class_value_map, shapes_to_label

    ckpt, model, meta = noisy_model
    img = _image(tmp_path)
    out = tmp_path / "out"
    rc = main(["predict", "--model", str(ckpt), "--device", "cpu", "--tile", "128", "--tolerance", "0",
               "--min-area", "0", "--quiet", str(img), str(out)])
    assert rc == 0
    ann = read_labelme(out / "photo.json")
    got, _ = shapes_to_label(ann.shapes, 96, 128, class_value_map(meta.classes))
    want = _argmax(model, meta, img)
    for v in range(1, 4):
        inter, union = ((got == v) & (want == v)).sum(), ((got == v) | (want == v)).sum()
        assert inter / max(1, union) >= 0.99, meta.classes[v]
    # pieces with holes share one mask shape per class, never one full-size mask per piece
    masks = [s for s in ann.shapes if s.shape_type == "mask"]
    assert len(masks) == len({s.label for s in masks})


@pytest.mark.slow
def test_memory_benchmark_smoke_mode_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_predict_memory.py"), "--smoke"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 320×256")]
    assert len(rows) == 3 and "shapes" in rows[-1]
