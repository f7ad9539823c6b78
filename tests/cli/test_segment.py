"""``segstudio segment``: folders in, labelme JSON or masks out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme
from segstudio.core.rasterize import shape_mask


@pytest.fixture()
def folder(tmp_path: Path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    truth = {}
    for name, seed in (("a.png", 1), ("sub/b.png", 2)):
        img, gt = synthetic.two_tone_shapes(64, 80, seed=seed)
        cv2.imwrite(str(src / name), img[:, :, ::-1])
        truth[name] = gt
    return src, truth


def test_folder_to_labelme(folder, tmp_path, capsys):
    src, truth = folder
    out = tmp_path / "out"
    assert main(["segment", "--method", "otsu", "--param", "blur_sigma=1.5", "--label", "blob", "-q",
                 str(src), str(out)]) == 0
    for name, gt in truth.items():
        path = out / Path(name).with_suffix(".json")
        ann = read_labelme(path)
        assert ann.state == "pre-annotated"
        assert {s.label for s in ann.shapes} == {"blob"}
        assert (ann.width, ann.height) == (80, 64)
        assert (path.parent / ann.image_path).resolve() == (src / name).resolve()
        union = np.zeros(gt.shape, bool)
        for s in ann.shapes:
            union |= shape_mask(s, 64, 80)
        assert synthetic.iou(union, gt) >= 0.95
    assert "wrote 2 file(s)" in capsys.readouterr().out


def test_masks_format(folder, tmp_path):
    src, truth = folder
    out = tmp_path / "masks"
    assert main(["segment", "-m", "otsu", "--format", "masks", "-q", str(src / "a.png"), str(out)]) == 0
    m = cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED)
    assert m.dtype == np.uint8 and set(np.unique(m)) <= {0, 1}
    assert synthetic.iou(m == 1, truth["a.png"]) >= 0.95


def test_existing_outputs_are_kept(folder, tmp_path, capsys):
    src, _ = folder
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.json").write_text("{\"mine\": true}")
    assert main(["segment", "-m", "otsu", "-q", str(src), str(out)]) == 1
    assert json.loads((out / "a.json").read_text()) == {"mine": True}
    assert "a.json: exists already" in capsys.readouterr().err
    assert (out / "sub" / "b.json").exists()
    assert main(["segment", "-m", "otsu", "-q", "--overwrite", str(src), str(out)]) == 0
    assert "shapes" in json.loads((out / "a.json").read_text())


def test_bad_parameter_message(folder, tmp_path, capsys):
    src, _ = folder
    assert main(["segment", "-m", "adaptive", "-p", "block_size=4", str(src), str(tmp_path / "o")]) == 2
    assert "method 'adaptive': parameter 'block_size' must be odd, got 4" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_image_named_and_rest_done(folder, tmp_path, capsys):
    src, _ = folder
    (src / "broken.png").write_bytes(b"not a png")
    assert main(["segment", "-m", "otsu", "-q", str(src), str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err
    assert (tmp_path / "o" / "a.json").exists()


def test_prompted_method_with_box(tmp_path):
    img, gt, box = synthetic.textured_object(96, 96, seed=1)
    cv2.imwrite(str(tmp_path / "t.png"), img[:, :, ::-1])
    assert main(["segment", "-m", "box_cut", "--box", ",".join(map(str, box)), "-q",
                 str(tmp_path / "t.png"), str(tmp_path / "o")]) == 0
    ann = read_labelme(tmp_path / "o" / "t.json")
    union = np.zeros(gt.shape, bool)
    for s in ann.shapes:
        union |= shape_mask(s, 96, 96)
    assert synthetic.iou(union, gt) >= 0.9


def test_list(capsys):
    assert main(["segment", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("otsu", "adaptive", "watershed", "kmeans", "grabcut", "box_cut", "magic_wand"):
        assert f"\n{name} " in "\n" + out
    assert "block_size=51 (int [3..1001])" in out

@pytest.mark.slow   # ≥ 2 s on a 2-core machine: make test-fast leaves it out

def test_segment_in_place_never_touches_what_a_person_labelled(folder, capsys):
    """SRC SRC with a person's labelme file (no segstudio key) beside an image without one: the
    person's file keeps its bytes, even with --overwrite; --include-labelled adds shapes to it and
    it stays labelled."""
    import hashlib
    import subprocess
    import sys

    src, _ = folder
    person = {"version": "5.5.0", "flags": {}, "imagePath": "a.png", "imageData": None,
              "imageHeight": 64, "imageWidth": 80,
              "shapes": [{"label": "cell", "points": [[1, 1], [20, 1], [20, 20]], "group_id": None,
                          "description": "mine", "shape_type": "polygon", "flags": {}}]}
    (src / "a.json").write_text(json.dumps(person))
    sha = hashlib.sha256((src / "a.json").read_bytes()).hexdigest()
    run = [sys.executable, "-m", "segstudio", "segment", "-m", "otsu", "-q", "--overwrite", str(src), str(src)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 skipped (labelled by a person)" in done.stdout
    assert hashlib.sha256((src / "a.json").read_bytes()).hexdigest() == sha
    assert read_labelme(src / "sub" / "b.json").state == "pre-annotated"

    assert main(["segment", "-m", "otsu", "-q", "--include-labelled", str(src), str(src)]) == 1   # b.json exists
    ann = read_labelme(src / "a.json")
    assert ann.state == "labelled"
    assert ann.shapes[0].description == "mine" and len(ann.shapes) > 1
    assert {s.label for s in ann.shapes[1:]} == {"object"}


def test_masks_into_the_images_own_folder_never_overwrite_a_source_image(tmp_path) -> None:
    """``--format masks SRC SRC --overwrite``: x.png → x.png would replace the photo itself."""
    import hashlib

    import cv2
    import numpy as np

    from segstudio.cli import main as cli_main

    src = tmp_path / "photos"
    src.mkdir()
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:30, 15:45] = 200
    cv2.imwrite(str(src / "a.png"), img)
    cv2.imwrite(str(src / "b.jpg"), img)
    cv2.imwrite(str(src / "b.png"), img)          # b.jpg's mask would land on this photo too
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    rc = cli_main(["segment", "--method", "otsu", "--format", "masks", "--overwrite", str(src), str(src)])
    assert rc == 2
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()} == before
