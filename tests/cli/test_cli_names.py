"""One name for one thing on the command line: the same output kind has the same ``--format``
name in every command (old names still accepted), ``train --out`` names exactly one file,
``export --labels labels.txt`` works as in labelme2voc, and an unknown command is a usage error
instead of a window that fails to open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.algorithms import synthetic
from segstudio.cli import COMMANDS, main
from segstudio.core.io.labelme import read_labelme, write_labelme
from segstudio.core.model import ImageAnnotation, Shape

ROOT = Path(__file__).resolve().parents[2]


def segstudio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real ``segstudio`` process. An attempt to open a window fails fast, as on a server
    without a display (no offscreen platform to fall back on)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": "", "WAYLAND_DISPLAY": "",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "segstudio", *args], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=120)


# -- unknown commands ------------------------------------------------------------------------------
def test_unknown_command_is_a_usage_error_listing_the_commands(tmp_path):
    r = segstudio("annotate", "images/", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "unknown command 'annotate'" in r.stderr
    for name in [*COMMANDS, "gui"]:
        assert name in r.stderr
    assert "qt" not in (r.stderr + r.stdout).lower()   # the window was never tried


@pytest.mark.parametrize("argv, expect", [
    (["gui"], []),
    (["gui", "some/folder"], ["some/folder"]),
    (["path/to/folder"], ["path/to/folder"]),
    (["image.jpg"], ["image.jpg"]),
    (["./here"], ["./here"]),
    ([], []),
])
def test_paths_and_gui_still_open_the_window(monkeypatch, argv, expect):
    import segstudio.ui.app as app

    seen = []
    monkeypatch.setattr(app, "run_gui", lambda a: seen.append(list(a)) or 0)
    assert main(argv) == 0
    assert seen == [expect]


def test_an_existing_folder_without_a_separator_opens_the_window(monkeypatch, tmp_path):
    import segstudio.ui.app as app

    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path)
    seen = []
    monkeypatch.setattr(app, "run_gui", lambda a: seen.append(list(a)) or 0)
    assert main(["project"]) == 0 and seen == [["project"]]
    assert main(["projekt"]) == 2 and seen == [["project"]]   # a typo is not a folder


# -- one --format name per output kind -------------------------------------------------------------
@pytest.fixture()
def image(tmp_path: Path) -> Path:
    img, _ = synthetic.two_tone_shapes(64, 80, seed=1)
    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), img[:, :, ::-1])
    return path


def test_segment_png_is_an_alias_of_masks(image, tmp_path):
    r = segstudio("segment", "-m", "otsu", "--format", "png", "-q", str(image), str(tmp_path / "png"))
    assert r.returncode == 0, r.stderr
    assert main(["segment", "-m", "otsu", "--format", "masks", "-q", str(image), str(tmp_path / "masks")]) == 0
    a = (tmp_path / "png" / "a.png").read_bytes()
    assert a == (tmp_path / "masks" / "a.png").read_bytes()
    m = cv2.imread(str(tmp_path / "png" / "a.png"), cv2.IMREAD_UNCHANGED)
    assert m.dtype == np.uint8 and set(np.unique(m).tolist()) == {0, 1}


def test_segment_json_is_an_alias_of_labelme(image, tmp_path):
    assert main(["segment", "-m", "otsu", "-f", "json", "-q", str(image), str(tmp_path / "o")]) == 0
    assert read_labelme(tmp_path / "o" / "a.json").shapes


def test_unknown_format_names_the_canonical_choices(image, tmp_path):
    r = segstudio("segment", "-m", "otsu", "--format", "tiff", str(image), str(tmp_path / "o"))
    assert r.returncode == 2
    assert "invalid choice: 'tiff'" in r.stderr and "'labelme', 'masks'" in r.stderr
    assert not (tmp_path / "o").exists()


def test_help_names_the_same_formats_in_segment_and_predict():
    for cmd in ("segment", "predict"):
        r = segstudio(cmd, "--help")
        assert r.returncode == 0
        text = " ".join(r.stdout.split())
        assert "{labelme,masks}" in text and "png = masks" in text, cmd


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.set_num_threads(2)
    tiny = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
    model = build_model("Unet", "resnet18", 3, 3, **tiny)
    with torch.no_grad():   # class 1 ("road") everywhere
        model.segmentation_head[0].weight.zero_()
        model.segmentation_head[0].bias.copy_(torch.tensor([0.0, 4.0, 0.0]))
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "road", "tree"], model_kwargs=tiny)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "road.safetensors", model, meta)


@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out
@pytest.mark.parametrize("name", ["masks", "png"])
def test_predict_writes_masks_under_the_canonical_name_and_the_old_one(image, tmp_path, checkpoint, name):
    out = tmp_path / name
    assert main(["predict", "--model", str(checkpoint), "--device", "cpu", "--tile", "64", "--overlap", "16",
                 "--format", name, "-q", str(image), str(out)]) == 0
    m = cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED)
    assert m.shape == (64, 80) and (m == 1).all()
    assert (out / "labels.txt").read_text(encoding="utf-8").split() == ["__ignore__", "_background_",
                                                                       "road", "tree"]
    assert not list(out.glob("*.json"))

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_predict_save_checkpoint_refuses_a_name_it_would_not_write(checkpoint, tmp_path):
    r = segstudio("predict", "--model", str(checkpoint), "--device", "cpu",
                  "--save-checkpoint", str(tmp_path / "copy.pt"))
    assert r.returncode == 2 and "copy.safetensors" in r.stderr
    assert not list(tmp_path.iterdir())


# -- train --out names exactly one file ------------------------------------------------------------
@pytest.mark.parametrize("name, hint", [("model.ckpt", "model.safetensors"), ("model", "model.safetensors"),
                                        ("m.SAFETENSORS", "m.safetensors")])
def test_train_out_must_be_the_file_it_writes(tmp_path, name, hint):
    data = tmp_path / "data"
    data.mkdir()
    r = segstudio("train", "--data", str(data), "--out", str(tmp_path / name), "--epochs", "1")
    assert r.returncode == 2
    assert ".safetensors" in r.stderr and str(tmp_path / hint) in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]   # nothing written


# -- export --labels labels.txt (labelme2voc) ------------------------------------------------------
def _project(root: Path) -> Path:
    root.mkdir()
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(root / "p.png")
    shapes = [Shape("cat", [[0, 0], [9, 9]], "rectangle"), Shape("dog", [[20, 20], [29, 29]], "rectangle")]
    write_labelme(root / "p.json", ImageAnnotation("p.png", 50, 40, shapes, state="labelled"))
    return root


def test_export_takes_class_ids_from_a_labelme_labels_txt(tmp_path):
    src = _project(tmp_path / "src")
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\ndog\nbird\ncat\n", encoding="utf-8")
    r = segstudio("export", "--format", "voc", "--labels", str(labels), "-q", str(src), str(tmp_path / "voc"))
    assert r.returncode == 0, r.stderr
    names = (tmp_path / "voc" / "class_names.txt").read_text(encoding="utf-8").split()
    assert names == ["_background_", "dog", "bird", "cat"]
    cls = np.asarray(Image.open(tmp_path / "voc" / "SegmentationClass" / "p.png"))
    assert cls[5, 5] == 3 and cls[25, 25] == 1 and cls[35, 45] == 0   # cat = 3, dog = 1 as listed


def test_export_labels_file_in_latin1_keeps_its_names(tmp_path):
    """An old Windows tool's labels.txt reads as the project's own labels.txt does."""
    root = tmp_path / "src"
    root.mkdir()
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(root / "p.png")
    shapes = [Shape("café", [[0, 0], [9, 9]], "rectangle")]
    write_labelme(root / "p.json", ImageAnnotation("p.png", 50, 40, shapes, state="labelled"))
    labels = tmp_path / "labels.txt"
    labels.write_bytes("__ignore__\n_background_\nbus\ncafé\nbus\n".encode("latin-1"))
    r = segstudio("export", "-f", "voc", "--labels", str(labels), "-q", str(root), str(tmp_path / "voc"))
    assert r.returncode == 0, r.stderr
    names = (tmp_path / "voc" / "class_names.txt").read_text(encoding="utf-8").split()
    assert names == ["_background_", "bus", "café"]
    assert np.asarray(Image.open(tmp_path / "voc" / "SegmentationClass" / "p.png"))[5, 5] == 2


def test_export_labels_file_problems_are_usage_errors(tmp_path):
    src = _project(tmp_path / "src")
    empty = tmp_path / "empty.txt"
    empty.write_text("__ignore__\n_background_\n", encoding="utf-8")
    for labels, what in ((tmp_path / "none.txt", "no such file"), (empty, "lists no class")):
        r = segstudio("export", "-f", "voc", "--labels", str(labels), str(src), str(tmp_path / "o"))
        assert r.returncode == 2 and str(labels) in r.stderr and what in r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()
    good = tmp_path / "labels.txt"
    good.write_text("cat\n", encoding="utf-8")
    r = segstudio("export", "-f", "voc", "--labels", str(good), "--classes", "cat", str(src), str(tmp_path / "o"))
    assert r.returncode == 2 and "not allowed with" in r.stderr
