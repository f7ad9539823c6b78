"""``segstudio sam`` and ``segstudio segment --method sam`` through the CLI: model status,
import, labelme's osam cache, download (sha256, cancel, offline), clicks on an EXIF-rotated
photo and rectangles → masks on a folder."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme
from segstudio.core.rasterize import shape_mask
from segstudio.sam import download, models
from tests.sam import onnx_graphs as g


@pytest.fixture()
def sam_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_SAM_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture()
def imported(sam_dirs):
    g.model_pair(sam_dirs / "export", "sam")
    assert main(["sam", "import", "tiny", str(sam_dirs / "export"), "--family", "sam"]) == 0
    return "tiny"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def centre(shape, h: int, w: int) -> tuple[float, float]:
    ys, xs = np.nonzero(shape_mask(shape, h, w))
    return xs.mean() + 0.5, ys.mean() + 0.5


def test_missing_model_says_which_and_how_to_get_it(sam_dirs, tmp_path, capsys):
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(img)
    assert main(["segment", "--method", "sam", "--param", "model=sam2.1-tiny", "--point", "5,5",
                 str(img), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "'sam2.1-tiny' is not on this machine" in err
    assert "segstudio sam download sam2.1-tiny" in err and "segstudio sam import sam2.1-tiny" in err
    assert not (tmp_path / "out").exists()


def test_models_lists_imported_model_as_present(imported, capsys):
    capsys.readouterr()
    assert main(["sam", "models"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "present" in rows["tiny"] and " sam " in rows["tiny"]
    assert "missing" in rows["sam2.1-tiny"]


def test_click_on_exif_rotated_photo_lands_on_the_click(imported, tmp_path):
    # stored 300 wide x 200 high with orientation 6: displayed 200 wide x 300 high
    raw = np.random.default_rng(1).integers(0, 256, (200, 300, 3), np.uint8)
    im = Image.fromarray(raw)
    exif = im.getexif()
    exif[0x0112] = 6
    src = tmp_path / "photo.jpg"
    im.save(src, exif=exif, quality=95)
    out = tmp_path / "out"
    assert main(["segment", "--method", "sam", "--param", f"model={imported}", "--point", "60,210",
                 "--label", "cell", "-q", str(src), str(out)]) == 0
    ann = read_labelme(out / "photo.json")
    assert (ann.width, ann.height) == (200, 300)
    [shape] = ann.shapes
    assert shape.label == "cell" and ann.state == "pre-annotated"
    cx, cy = centre(shape, 300, 200)
    assert abs(cx - 60) < 1.0 and abs(cy - 210) < 1.0


def test_rectangles_become_masks_of_their_class(imported, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    boxes = {"a": [("car", (20, 30, 120, 90)), ("person", (150, 40, 190, 140))], "b": [("car", (10, 10, 70, 50))]}
    for stem, rects in boxes.items():
        Image.fromarray(np.full((160, 240, 3), 90, np.uint8)).save(src / f"{stem}.png")
        shapes = [{"label": lab, "points": [[x0, y0], [x1, y1]], "shape_type": "rectangle",
                   "group_id": None, "description": "", "flags": {}} for lab, (x0, y0, x1, y1) in rects]
        shapes.append({"label": "road", "points": [[0, 150], [239, 150], [239, 159]], "shape_type": "polygon",
                       "group_id": None, "description": "", "flags": {}})
        (src / f"{stem}.json").write_text(json.dumps({
            "version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"{stem}.png",
            "imageData": None, "imageHeight": 160, "imageWidth": 240}))
    before = {p.name: sha(p) for p in src.iterdir()}
    out = tmp_path / "out"
    assert main(["segment", "--method", "sam", "--param", f"model={imported}", "--from-rectangles",
                 "-q", str(src), str(out)]) == 0
    for stem, rects in boxes.items():
        ann = read_labelme(out / f"{stem}.json")
        assert [s.shape_type for s in ann.shapes] == ["polygon"] * (len(rects) + 1)
        assert [s.label for s in ann.shapes] == [lab for lab, _ in rects] + ["road"]
        for s, (_, (x0, y0, x1, y1)) in zip(ann.shapes, rects):
            cx, cy = centre(s, 160, 240)
            assert abs(cx - (x0 + x1) / 2) < 1.0 and abs(cy - (y0 + y1) / 2) < 1.0
    assert before == {p.name: sha(p) for p in src.iterdir()}   # the person's files untouched


@pytest.fixture()
def known_tiny(sam_dirs, monkeypatch):
    """A known model whose published files are the tiny graphs (served over HTTP in tests)."""
    enc, dec = g.model_pair(sam_dirs / "published", "sam")
    model = models.KnownModel("tiny-known", "sam", "tiny", "MIT", {
        "encoder": models.Blob("http://127.0.0.1:{port}/encoder.onnx", sha(enc)),
        "decoder": models.Blob("http://127.0.0.1:{port}/decoder.onnx", sha(dec))}, osam_name="tiny:1")
    monkeypatch.setitem(models.KNOWN_MODELS, "tiny-known", model)
    return model, enc, dec


def test_labelme_osam_cache_is_used_without_copying(known_tiny, sam_dirs, tmp_path, capsys):
    model, enc, dec = known_tiny
    blobs = models.osam_blobs_dir()
    blobs.mkdir(parents=True)
    for f in (enc, dec):
        (blobs / f"sha256:{sha(f)}").write_bytes(f.read_bytes())
    local = models.require("tiny-known")
    assert local.where == "osam" and local.files["encoder"].parent == blobs
    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(img)
    assert main(["segment", "--method", "sam", "--param", "model=tiny-known", "--point", "40,50",
                 "-q", str(img), str(tmp_path / "o")]) == 0
    assert not (models.models_dir() / "tiny-known").exists()


def _serve(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _with_port(model, port):
    files = {r: models.Blob(b.url.format(port=port), b.sha256) for r, b in model.files.items()}
    return models.KnownModel(model.name, model.family, model.title, model.licence, files)


def test_download_checks_sha256_and_cancel_leaves_nothing(known_tiny, sam_dirs, monkeypatch):
    model, enc, dec = known_tiny
    server = _serve(enc.parent)
    try:
        monkeypatch.setitem(models.KNOWN_MODELS, "tiny-known", _with_port(model, server.server_port))
        monkeypatch.setattr(download, "CHUNK", 4096)   # several progress steps for a small file
        job = download.download_job("tiny-known")
        next(job), next(job)
        job.close()   # cancel
        folder = models.models_dir() / "tiny-known"
        assert not any(folder.glob("*")) if folder.exists() else True
        assert main(["sam", "download", "tiny-known", "-q"]) == 0
        assert sha(folder / "encoder.onnx") == sha(enc) and sha(folder / "decoder.onnx") == sha(dec)
        # a corrupted publication is refused and nothing is kept
        (folder / "decoder.onnx").unlink()
        dec.write_bytes(dec.read_bytes() + b"tampered")
        with pytest.raises(download.ChecksumError, match="sha256"):
            list(download.download_job("tiny-known"))
        assert not (folder / "decoder.onnx").exists() and not list(folder.glob("*.part"))
    finally:
        server.shutdown()


def test_offline_download_fails_at_once_naming_the_model(sam_dirs, monkeypatch, capsys):
    monkeypatch.setenv("SEGSTUDIO_OFFLINE", "1")
    assert main(["sam", "download", "sam2.1-small", "-q"]) == 1
    err = capsys.readouterr().err
    assert "cannot download 'sam2.1-small'" in err and "segstudio sam import sam2.1-small" in err


def test_present_model_needs_no_network(known_tiny, sam_dirs, monkeypatch):
    model, enc, dec = known_tiny
    assert main(["sam", "import", str(enc.parent)]) == 0     # matched by sha256
    monkeypatch.setattr(download, "reachable", lambda *a, **k: pytest.fail("network checked"))
    assert list(download.download_job("tiny-known")) == []
