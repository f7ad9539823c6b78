"""The whole headless pipeline on a project shaped like real data (issue 10, "what must hold").

One folder as a user brings it: a microscopy-like image a person labelled with 300 nucleus
instances (each its own ``group_id``), labelme's tutorial-style file whose ``imagePath`` names
the JSON itself and whose pixels live only in ``imageData``, and two unlabelled photos; a
``labels.txt``. Every step is a CLI call (``segstudio.cli.main``, as the console runs it):
check → segment (Otsu) in place → export VOC → import it back → evaluate → predict in place with
a random model (a fragmented prediction) → predict class PNGs. Judged by what is on disk: the
person's two files keep their bytes (sha256) and their *labelled* state through every step,
pre-annotations land only on the unlabelled images, the VOC objects keep all 300 instances, and
the import evaluates to IoU 1 against the source.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.labelme import read_labelme
from segstudio.core.rasterize import shapes_to_label

torch = pytest.importorskip("torch")

N_NUCLEI = 300
H, W = 360, 480


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _nuclei_image(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """A dark field with 300 bright, separate nuclei (ellipse-ish polygons) and their outlines."""
    img = (rng.normal(30, 6, (H, W, 3))).clip(0, 255).astype(np.uint8)
    polys: list[np.ndarray] = []
    cols, rows = 20, 15   # 300 cells on a jittered grid, none touching
    for k in range(N_NUCLEI):
        cy = (k // cols + 0.5) * H / rows + rng.uniform(-2, 2)
        cx = (k % cols + 0.5) * W / cols + rng.uniform(-2, 2)
        ry, rx = rng.uniform(4, 7), rng.uniform(4, 8)
        t = np.linspace(0, 2 * np.pi, 14, endpoint=False)
        poly = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], (200, 170, 220))
        polys.append(poly)
    return img, polys


def _photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (0, 0), 3)
    cv2.circle(base, (w // 3, h // 2), min(h, w) // 5, (240, 240, 240), -1)
    return base


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    root = tmp_path / "project"
    root.mkdir()
    (root / "labels.txt").write_text("__ignore__\n_background_\nnucleus\nblob\n", encoding="utf-8")
    img, polys = _nuclei_image(rng)
    cv2.imwrite(str(root / "cells.png"), img)
    shapes = [{"label": "nucleus", "points": p.round(2).tolist(), "group_id": i + 1, "description": "",
               "shape_type": "polygon", "flags": {}, "mask": None} for i, p in enumerate(polys)]
    (root / "cells.json").write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "cells.png", "imageData": None,
        "imageHeight": H, "imageWidth": W}), encoding="utf-8")
    # labelme's tutorial habit: imagePath names the JSON itself, the pixels are only in imageData
    tut = _photo(rng, 120, 160)
    ok, png = cv2.imencode(".png", tut)
    assert ok
    (root / "tutorial.json").write_text(json.dumps({
        "version": "4.0.0", "flags": {}, "imagePath": "tutorial.json",
        "imageData": base64.b64encode(png.tobytes()).decode("ascii"), "imageHeight": 120, "imageWidth": 160,
        "shapes": [{"label": "blob", "points": [[25, 30], [80, 30], [80, 90], [25, 90]], "group_id": None,
                    "shape_type": "polygon", "flags": {}},
                   {"label": "nucleus", "points": [[120, 60], [135, 60]], "group_id": None,
                    "shape_type": "circle", "flags": {}}]}), encoding="utf-8")
    for name in ("street_a.jpg", "street_b.jpg"):
        cv2.imwrite(str(root / name), _photo(rng, 200, 300))
    return root


@pytest.fixture
def random_model(tmp_path: Path) -> Path:
    from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
    from segstudio.ml.models import build_model

    torch.manual_seed(0)
    kw = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}
    model = build_model("Unet", "resnet18", 3, 3, encoder_weights=None, **kw)
    meta = ModelMeta("Unet", "resnet18", 3, ["_background_", "nucleus", "blob"], model_kwargs=kw)
    return save_checkpoint(tmp_path / "random.safetensors", model, meta)


def test_the_whole_pipeline_keeps_the_persons_files_and_every_instance(project, random_model, tmp_path,
                                                                     capsys, torch_two_threads):
    person = [project / "cells.json", project / "tutorial.json"]
    sums = {p: _sha(p) for p in person}

    assert main(["check", str(project)]) == 0

    # classical pre-annotation in place: segment walks image files, so the person's cells.png is
    # skipped (the tutorial JSON has no image file to segment), the photos get JSONs
    assert main(["segment", "--method", "otsu", "--label", "blob", str(project), str(project)]) == 0
    assert "wrote 2 file(s)" in (out := capsys.readouterr().out) and "1 skipped (labelled by a person)" in out
    assert {p: _sha(p) for p in person} == sums
    for name in ("street_a", "street_b"):
        ann = read_labelme(project / f"{name}.json")
        assert ann.state == "pre-annotated" and ann.shapes

    # VOC export keeps all 300 instances (16-bit objects + labelme's .npy) and the tutorial image
    voc = tmp_path / "voc"
    assert main(["export", "--format", "voc", "--labels", str(project / "labels.txt"), "--quiet",
                 str(project), str(voc)]) == 0
    objects = np.load(voc / "SegmentationObjectNpy" / "cells.npy")
    assert len(np.unique(objects[objects > 0])) == N_NUCLEI
    cells = read_labelme(project / "cells.json")
    want = shapes_to_label(cells.shapes, H, W, {"nucleus": 2}, dtype=np.uint8)[0]
    got = np.asarray(Image.open(voc / "SegmentationClass" / "cells.png"))   # palette indices
    # palette PNG: values are the class ids of labels.txt (nucleus = 1 after _background_)
    np.testing.assert_array_equal(got == 1, want == 2)
    split_names = (voc / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    split_names += (voc / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    assert {"cells", "tutorial", "street_a", "street_b"} <= set(split_names)

    # import the dataset into a new project and compare it with the source: IoU 1 and PQ 1
    back = tmp_path / "back"
    assert main(["import", "--format", "voc", str(voc), str(back)]) == 0
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--pred", str(back), "--gt", str(project), "--json", str(report)]) == 0
    ev = json.loads(report.read_text())
    assert ev["semantic"]["per_class_iou"]["nucleus"] == pytest.approx(1.0)
    assert ev["instances"]["per_class"]["nucleus"]["tp"] >= N_NUCLEI

    # a random model (fragmented prediction) in place: only the pre-annotated photos change
    before = {n: _sha(project / f"{n}.json") for n in ("street_a", "street_b")}
    assert main(["predict", "--model", str(random_model), "--device", "cpu", "--existing", "replace",
                 "--quiet", str(project), str(project)]) == 0
    assert {p: _sha(p) for p in person} == sums
    for name in ("street_a", "street_b"):
        ann = read_labelme(project / f"{name}.json")
        assert ann.state == "pre-annotated" and _sha(project / f"{name}.json") != before[name]
    # class PNGs of every image, the tutorial one from its imageData
    masks = tmp_path / "masks"
    assert main(["predict", "--model", str(random_model), "--device", "cpu", "--format", "masks",
                 "--quiet", str(project), str(masks)]) == 0
    pngs = {p.stem: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in masks.glob("*.png")}
    assert {"cells", "tutorial", "street_a", "street_b"} <= set(pngs)
    assert pngs["cells"].shape == (H, W) and pngs["tutorial"].shape == (120, 160)
    assert pngs["street_a"].max() <= 2

    # labelme output into a new folder: the tutorial file's pixels travel in its imageData
    pre = tmp_path / "pre"
    assert main(["predict", "--model", str(random_model), "--device", "cpu", "--quiet", str(project), str(pre)]) == 0
    src_tut, out_tut = (json.loads((d / "tutorial.json").read_text()) for d in (project, pre))
    assert out_tut["imageData"] == src_tut["imageData"] and out_tut["imagePath"] == "tutorial.json"
    assert out_tut["shapes"] and read_labelme(pre / "tutorial.json").state == "pre-annotated"
    assert main(["check", str(pre)]) == 0

    # after everything: the person's files are byte-identical and still labelled
    assert {p: _sha(p) for p in person} == sums
    assert all(read_labelme(p).state == "labelled" for p in person)
    assert main(["check", str(project)]) == 0
