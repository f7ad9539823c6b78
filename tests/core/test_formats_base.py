"""The shared export driver: deterministic split, class selection, image copy/link, naming."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats.base import ExportItem, ExportOptions
from segstudio.core.formats.export_driver import (
    assign_splits,
    export_dataset,
    items_from_project,
    safe_name,
)
from segstudio.core.io.labelme import write_labelme
from segstudio.core.jobs import Progress, run_to_end
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.project_io import open_project


def test_split_is_deterministic_exact_and_seeded() -> None:
    names = [f"img{i:03d}" for i in range(100)]
    a = assign_splits(names, (0.7, 0.2, 0.1), seed=5)
    assert a == assign_splits(list(reversed(names)), (0.7, 0.2, 0.1), seed=5)   # order-free
    counts = {s: list(a.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 70, "val": 20, "test": 10}
    assert a != assign_splits(names, (0.7, 0.2, 0.1), seed=6)
    assert set(assign_splits(names, (1, 0, 0), 0).values()) == {"train"}


def test_safe_name_flattens_folders_and_keeps_unicode() -> None:
    assert safe_name("sub/dir/ça 1.png") == "sub__dir__ça 1"
    assert safe_name('a:b?.jpg') == "a_b_"


def test_project_items_skip_unlabelled_and_dedupe_names(tmp_path: Path) -> None:
    for rel in ("x.png", "sub__y.png", "sub/y.png", "no_json.png"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p)
    write_labelme(tmp_path / "x.json", ImageAnnotation("x.png", 8, 8, state="labelled"))
    write_labelme(tmp_path / "sub" / "y.json", ImageAnnotation("y.png", 8, 8, state="labelled"))
    write_labelme(tmp_path / "sub__y.json", ImageAnnotation("sub__y.png", 8, 8, state="labelled"))
    project = open_project(tmp_path)
    names = sorted(it.name for it in items_from_project(project))
    assert names == ["sub__y", "sub__y_2", "x"]   # two images flatten to one name: made unique
    everything = sorted(it.name for it in items_from_project(project, include_unlabelled=True))
    assert len(everything) == 4 and len(set(n.lower() for n in everything)) == 4


def _one_item(tmp_path: Path) -> list[ExportItem]:
    img = tmp_path / "src.png"
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(img)
    shapes = [Shape("a", [[0, 0], [4, 4]], "rectangle"), Shape("b", [[5, 5], [9, 9]], "rectangle")]
    return [ExportItem("src", img, ImageAnnotation("src.png", 10, 10, shapes))]


def test_class_selection_skips_and_reports_other_classes(tmp_path: Path) -> None:
    report = run_to_end(export_dataset("masks", _one_item(tmp_path), tmp_path / "out", ["a", "b"],
                                       options=ExportOptions(classes=("b",))))
    arr = np.asarray(Image.open(tmp_path / "out" / "masks" / "src.png"))
    assert (arr == 1).sum() == 25 and (arr != 1).sum() == 75     # b is class 1 now; a not drawn
    assert report.skipped_labels == {"a": 1}


@pytest.mark.parametrize("mode", ["copy", "link", "none"])
def test_images_are_copied_linked_or_left_out(tmp_path: Path, mode: str) -> None:
    items = _one_item(tmp_path)
    run_to_end(export_dataset("masks", items, tmp_path / "out", ["a", "b"], options=ExportOptions(images=mode)))
    dest = tmp_path / "out" / "images" / "src.png"
    if mode == "none":
        assert not dest.exists()
        return
    assert dest.read_bytes() == items[0].image_path.read_bytes()
    same_file = os.path.samefile(dest, items[0].image_path)
    assert same_file == (mode == "link")


def test_export_yields_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    items = _one_item(tmp_path) * 1
    items += [ExportItem(f"n{i}", items[0].image_path, items[0].annotation) for i in range(5)]
    job = export_dataset("voc", items, tmp_path / "voc", ["a", "b"], options=ExportOptions())
    first = next(job)
    assert isinstance(first, Progress) and first.total == 6
    next(job)
    job.close()                                   # what cancel does: stop iterating
    assert len(list((tmp_path / "voc" / "SegmentationClass").glob("*.png"))) == 1


def test_export_refuses_to_write_into_the_project(tmp_path: Path) -> None:
    items = _one_item(tmp_path)
    with pytest.raises(ValueError, match="holds the project's files"):
        export_dataset("labelme", items, tmp_path, ["a", "b"], options=ExportOptions())
    assert not (tmp_path / "labels.txt").exists()
