"""``segstudio predict``: a file for every image, labelme or PNG, existing work kept."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.cli import main  # noqa: E402
from segstudio.core.io.labelme import read_labelme  # noqa: E402
from segstudio.core.rasterize import shape_mask  # noqa: E402

TINY = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny Unet whose head says "road" everywhere (zero weights, biased towards class 1)."""
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.set_num_threads(2)
    model = build_model("Unet", "resnet18", 3, 3, **TINY)
    head = model.segmentation_head[0]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 4.0, 0.0]))
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "road", "tree"], model_kwargs=dict(TINY))
    return save_checkpoint(tmp_path_factory.mktemp("model") / "road.safetensors", model, meta)


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "images"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a.png": (64, 96), "sub/b.jpg": (80, 70), "c.png": (50, 50)}.items():
        cv2.imwrite(str(src / name), (rng.random((h, w, 3)) * 255).astype(np.uint8))
    return src


def _user_json(path, w, h):
    path.write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "imagePath": "c.png", "imageData": None,
        "imageHeight": h, "imageWidth": w, "custom": 42,
        "shapes": [{"label": "tree", "points": [[1, 1], [20, 1], [20, 20]], "group_id": None,
                    "description": "mine", "shape_type": "polygon", "flags": {}}]}))


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_labelme_sidecars_for_every_image_person_labels_untouched(folder, checkpoint):
    _user_json(folder / "c.json", 50, 50)      # a person's labelme file (no segstudio key)
    mine = _sha(folder / "c.json")
    args = ["predict", "--model", str(checkpoint), "--device", "cpu", "--tile", "64", "--overlap",
            "16", "--quiet", str(folder), str(folder)]
    assert main(args) == 0
    assert _sha(folder / "c.json") == mine     # skipped by default
    for img, (h, w) in {"a.png": (64, 96), "sub/b.jpg": (80, 70)}.items():
        path = (folder / img).with_suffix(".json")
        ann = read_labelme(path)
        assert ann.state == "pre-annotated"
        assert (path.parent / ann.image_path).resolve() == (folder / img).resolve()
        road = [s for s in ann.shapes if s.label == "road"]
        assert len(road) == 1
        assert shape_mask(road[0], h, w).mean() > 0.95       # the model says road everywhere
    # an explicit choice: the person's shapes are kept, the model's added, still labelled
    assert main(args + ["--include-labelled"]) == 0
    merged = read_labelme(folder / "c.json")
    assert merged.state == "labelled"
    assert [s.description for s in merged.shapes if s.label == "tree"] == ["mine"]
    assert [s.label for s in merged.shapes] == ["tree", "road"]
    assert merged.extra.get("custom") == 42


def test_skip_and_replace_existing(folder, checkpoint):
    _user_json(folder / "c.json", 50, 50)
    before = (folder / "c.json").read_bytes()
    args = ["predict", "--model", str(checkpoint), "--device", "cpu", "--tile", "64", "--quiet"]
    assert main(args + ["--existing", "skip", str(folder), str(folder)]) == 0
    assert (folder / "c.json").read_bytes() == before
    assert (folder / "a.json").is_file()
    assert main(args + ["--existing", "replace", str(folder / "c.png"), str(folder)]) == 0
    assert (folder / "c.json").read_bytes() == before        # a person's file: still skipped
    assert main(args + ["--existing", "replace", "--include-labelled", str(folder / "c.png"), str(folder)]) == 0
    replaced = read_labelme(folder / "c.json")
    assert [s.label for s in replaced.shapes] == ["road"] and replaced.state == "labelled"


def test_class_index_pngs(folder, checkpoint, tmp_path):
    out = tmp_path / "masks"
    rc = main(["predict", "--model", str(checkpoint), "--device", "cpu", "--format", "png",
               "--tile", "64", "--quiet", str(folder), str(out)])
    assert rc == 0
    for img, (h, w) in {"a.png": (64, 96), "sub/b.png": (80, 70), "c.png": (50, 50)}.items():
        arr = cv2.imread(str(out / img), cv2.IMREAD_UNCHANGED)
        assert arr.shape == (h, w) and (arr == 1).all()
    assert (out / "labels.txt").read_text().split() == ["__ignore__", "_background_", "road", "tree"]


def test_unreadable_json_is_never_overwritten(folder, checkpoint, capsys):
    (folder / "c.json").write_text("{ not json")
    rc = main(["predict", "--model", str(checkpoint), "--device", "cpu", "--tile", "64", "--quiet",
               str(folder), str(folder)])
    assert rc == 1
    assert (folder / "c.json").read_text() == "{ not json"
    assert "c.json" in capsys.readouterr().err
    assert (folder / "a.json").is_file()


def test_bad_model_file_is_a_message_not_a_traceback(folder, tmp_path, capsys):
    bogus = tmp_path / "model.safetensors"
    bogus.write_bytes(b"garbage")
    assert main(["predict", "--model", str(bogus), "--device", "cpu", str(folder), str(tmp_path / "o")]) == 2
    assert "model.safetensors" in capsys.readouterr().err
