"""``segstudio rank`` through the real process: unlabelled and pre-annotated images only, most
uncertain first, the same scores as the library, --json contents, and the cache reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _segstudio(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "segstudio", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def project(tmp_path):
    import cv2

    from segstudio.core.io.labelme import write_labelme
    from segstudio.core.model import LABELLED, PRE_ANNOTATED, ImageAnnotation, Shape
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = ["a.png", "b.png", "sub/c.png", "d.png", "e.png"]
    for i, name in enumerate(names):
        img = (rng.random((48 + 8 * i, 64, 3)) * 255 * (i + 1) / 5).astype(np.uint8)
        cv2.imwrite(str(root / name), img)
    box = Shape("a", np.array([[2, 2], [20, 2], [20, 20], [2, 20]], float), "polygon")
    write_labelme(root / "d.json", ImageAnnotation("d.png", 64, 72, [box], state=LABELLED))
    write_labelme(root / "e.json", ImageAnnotation("e.png", 64, 80, [box], state=PRE_ANNOTATED))
    torch.manual_seed(0)
    tiny = {"encoder_depth": 3, "decoder_channels": [16, 8, 4]}
    model = build_model("Unet", "tu-resnet10t", 3, 3, **tiny)
    ck = tmp_path / "model.safetensors"
    save_checkpoint(ck, model, ModelMeta("Unet", "tu-resnet10t", 3, ["_background_", "a", "b"],
                                         model_kwargs=tiny))
    return root, ck


def test_rank_lists_images_a_person_has_not_labelled_most_uncertain_first(project, tmp_path):
    from segstudio.core.io.images import load_image, to_rgb8
    from segstudio.core.jobs import run_to_end
    from segstudio.core.score_cache import file_sha256
    from segstudio.ml.checkpoint import load_checkpoint
    from segstudio.ml.uncertainty import ScoreOptions, score_image

    root, ck = project
    out = tmp_path / "rank.json"
    r = _segstudio("rank", "--model", str(ck), "--device", "cpu", "--json", str(out), "-q", str(root))
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())
    images = [row["image"] for row in rows]
    # d.png was labelled by a person; e.png is only pre-annotated, so it is a candidate
    assert sorted(images) == ["a.png", "b.png", "e.png", "sub/c.png"]
    assert all(set(row) >= {"image", "score", "entropy", "margin", "state"} for row in rows)
    assert {row["image"]: row["state"] for row in rows}["e.png"] == "pre-annotated"
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    model, meta = load_checkpoint(ck)
    for row in rows:
        img = to_rgb8(load_image(root / row["image"]))
        expect = run_to_end(score_image(model, meta, img, "cpu", options=ScoreOptions())).score
        assert row["score"] == pytest.approx(expect, abs=1e-5)
    # the printed table lists them in the same order
    table = [line.split() for line in r.stdout.splitlines()]
    listed = [cells[-1] for cells in table if len(cells) == 5 and cells[0].isdigit()]
    assert listed == images
    assert "4 images ranked (0 from the cache), 1 labelled left out" in r.stdout
    assert (root / ".segstudio" / "scores" / f"{file_sha256(ck)}.json").is_file()
    again = _segstudio("rank", "--model", str(ck), "--device", "cpu", "-q", str(root))
    assert again.returncode == 0 and "4 images ranked (4 from the cache)" in again.stdout


def test_rank_missing_checkpoint_is_a_message_not_a_traceback(project):
    root, _ = project
    r = _segstudio("rank", "--model", str(root / "nope.safetensors"), str(root))
    assert r.returncode == 2 and "nope.safetensors: no such checkpoint file" in r.stderr
    assert "Traceback" not in r.stderr
