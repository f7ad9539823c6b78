"""Export → import round trips for every dataset format, on a hand-made project with holes,
overlaps, circles, right-to-left rectangles, __ignore__ regions, an empty image and a unicode
file name. The masks that come back must be pixel-equal to the ones drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats.base import ExportOptions, ImportOptions
from segstudio.core.formats.export_driver import export_dataset, items_from_project
from segstudio.core.formats.import_driver import classes_of, import_dataset, write_project
from segstudio.core.io.labelme import write_labelme
from segstudio.core.jobs import run_to_end
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.project_io import load_all, open_project
from segstudio.core.rasterize import class_value_map, shapes_to_label
from tests.support.builders import write_labels

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # pycocotools on numpy 2

H, W = 60, 80
CLASSES = ["cat", "dog"]


def ring_mask() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[2:20, 50:76] = True
    m[7:14, 57:68] = False        # the hole
    return m


def sample_shapes() -> list[Shape]:
    return [
        Shape("cat", [[5, 5], [40, 5], [40, 30], [5, 30]], "polygon"),
        Shape("dog", [[30, 20], [60, 22], [58, 50], [31, 49]], "polygon"),      # over the cat
        Shape("cat", np.zeros((0, 2)), "mask", mask=ring_mask()),             # with a hole
        Shape("dog", [[15, 45], [15, 53]], "circle"),
        Shape("cat", [[78, 58], [65, 40]], "rectangle"),                       # right-to-left
        Shape("__ignore__", [[0, 0], [8, 0], [8, 8], [0, 8]], "polygon"),       # over the cat
        Shape("dog", [[62, 25], [70, 25], [66, 33]], "polygon", group_id=7),   # one instance
        Shape("dog", [[72, 25], [79, 25], [76, 33]], "polygon", group_id=7),   # in two parts
    ]


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = {
        "a.png": sample_shapes(),
        "ünïcode 画像.png": [Shape("dog", [[10, 10], [50, 12], [30, 40]], "polygon")],
        "empty.png": [],
    }
    for name, shapes in images.items():
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / name)
        write_labelme(root / Path(name).with_suffix(".json"),
                      ImageAnnotation(name, W, H, shapes, state="labelled"))
    (root / "unlabelled.png").write_bytes((root / "a.png").read_bytes())   # no JSON: not exported
    write_labels(root, ["cat", "dog"])
    return root


def label_maps(shapes: list[Shape], drop_ignore: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if drop_ignore:
        shapes = [s for s in shapes if s.label != "__ignore__"]
    return shapes_to_label(shapes, H, W, class_value_map(CLASSES))


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Instance maps equal up to renumbering."""
    pairs = {(int(x), int(y)) for x, y in zip(a.ravel(), b.ravel())}
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


@pytest.fixture()
def project(tmp_path: Path):
    p = open_project(make_project(tmp_path / "proj"))
    assert load_all(p) == []
    return p


def export_import(project, tmp_path: Path, fmt: str, mode: str = "polygon", **opts):
    out = tmp_path / f"out_{fmt}"
    items = items_from_project(project)
    report = run_to_end(export_dataset(fmt, items, out, project.class_names(), options=ExportOptions(**opts)))
    assert report.images == 3
    imported = run_to_end(import_dataset(fmt, out, ImportOptions(mask_mode=mode)))
    return out, {Path(im.name).name: im for im in imported}


def original(project, name: str) -> list[Shape]:
    key = next(e.key for e in project.entries if e.image_path.name == name)
    return project.annotations[key].shapes


@pytest.mark.parametrize("mode", ["polygon", "mask"])
@pytest.mark.parametrize("fmt", ["voc", "masks"])
def test_class_png_formats_round_trip_pixel_equal(project, tmp_path, fmt, mode) -> None:
    _, back = export_import(project, tmp_path, fmt, mode)
    assert set(back) == {"a", "ünïcode 画像", "empty"}
    for name in ("a.png", "ünïcode 画像.png", "empty.png"):
        want_cls, want_ins = label_maps(original(project, name))
        got_cls, got_ins = label_maps(back[Path(name).stem].annotation.shapes)
        np.testing.assert_array_equal(got_cls, want_cls, err_msg=f"{fmt} {mode} {name}")
        if fmt == "voc":   # instances come back from SegmentationObject
            want_ins[want_cls == 255] = 0
            got_ins[got_cls == 255] = 0
            assert same_partition(got_ins, want_ins)
    assert (label_maps(back["a"].annotation.shapes)[0] == 255).sum() == 81   # 9×9 ignore square
    assert back["empty"].annotation.shapes == []


@pytest.mark.parametrize("coco_masks", ["polygon", "rle"])
def test_coco_round_trip_pixel_equal(project, tmp_path, coco_masks) -> None:
    _, back = export_import(project, tmp_path, "coco", coco_masks=coco_masks)
    for name in ("a.png", "ünïcode 画像.png", "empty.png"):
        # COCO has no ignore class: compare with the drawing minus its __ignore__ shapes
        want_cls, want_ins = label_maps(original(project, name), drop_ignore=True)
        got_cls, got_ins = label_maps(back[Path(name).stem].annotation.shapes)
        np.testing.assert_array_equal(got_cls, want_cls, err_msg=name)
        assert same_partition(got_ins, want_ins)
    if coco_masks == "polygon":   # polygons stay polygons (exactly as drawn)
        polys = [s for s in back["a"].annotation.shapes if s.shape_type == "polygon"]
        np.testing.assert_allclose(polys[0].points, original(project, "a.png")[0].points)


def test_yolo_round_trip_polygons_and_rectangles(tmp_path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    shapes = [Shape("cat", [[5, 5], [40, 5], [40, 30], [5, 30]], "polygon"),
              Shape("dog", [[30.5, 20.25], [60, 22], [58, 50], [31, 49]], "polygon"),
              Shape("cat", [[78, 58], [65, 40]], "rectangle")]
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "ü.png")
    write_labelme(root / "ü.json", ImageAnnotation("ü.png", W, H, shapes, state="labelled"))
    p = open_project(root)
    load_all(p)
    out = tmp_path / "yolo"
    run_to_end(export_dataset("yolo", items_from_project(p), out, ["cat", "dog"], options=ExportOptions()))
    assert (out / "labels" / "train" / "ü.txt").read_text().count("\n") == 3
    back = run_to_end(import_dataset("yolo", out))
    np.testing.assert_array_equal(label_maps(back[0].annotation.shapes)[0], label_maps(shapes)[0])


def test_labelme_round_trip_keeps_shapes(project, tmp_path) -> None:
    _, back = export_import(project, tmp_path, "labelme")
    for name in ("a.png", "ünïcode 画像.png", "empty.png"):
        got = back[Path(name).stem].annotation.shapes
        want = original(project, name)
        assert len(got) == len(want)
        assert all(a.same_as(b) for a, b in zip(got, want))


def test_import_writes_a_project_that_opens(project, tmp_path) -> None:
    _, back = export_import(project, tmp_path, "voc")
    images = list(back.values())
    out = run_to_end(write_project(images, tmp_path / "imported", classes_of(images)))
    p2 = open_project(out)
    assert load_all(p2) == []
    assert set(p2.class_names()) >= {"cat", "dog"}
    for e in p2.entries:
        stem = e.image_path.stem
        got = label_maps(p2.annotations[e.key].shapes)[0]
        want = label_maps(original(project, f"{stem}.png"))[0]
        np.testing.assert_array_equal(got, want)
    # importing again into the same project: every image there is now a person's labelled file
    # (imported labels count as labelled), so each is skipped and no file changes (issue 10.1)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    run_to_end(write_project(images, out, classes_of(images)))
    assert all(im.skipped for im in images)
    after = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


def test_export_reads_unsaved_edits(project, tmp_path) -> None:
    key = next(e.key for e in project.entries if e.image_path.name == "empty.png")
    project.annotations[key].shapes.append(Shape("dog", [[9, 9], [0, 0]], "rectangle"))
    out = tmp_path / "masks"
    run_to_end(export_dataset("masks", items_from_project(project), out, project.class_names(),
                              options=ExportOptions()))
    arr = np.asarray(Image.open(out / "masks" / "empty.png"))
    assert (arr == 2).sum() == 100 and (arr != 2).sum() == H * W - 100
