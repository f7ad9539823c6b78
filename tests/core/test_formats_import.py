"""Importing datasets made elsewhere: old labelme files with embedded images, VOC without a
class list, mask PNGs with a plain names file."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats.base import ImportOptions
from segstudio.core.formats.import_driver import import_dataset, import_to_project
from segstudio.core.jobs import run_to_end
from segstudio.core.project_io import load_all, open_project
from segstudio.core.rasterize import class_value_map, shapes_to_label


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_old_labelme_with_embedded_image_becomes_a_project(tmp_path: Path) -> None:
    src = tmp_path / "old"
    src.mkdir()
    pixels = np.full((20, 30, 3), 77, np.uint8)
    old = {   # labelme 3.x: colours per shape, no shape_type / group_id, image only embedded
        "version": "3.16.7", "flags": {}, "lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128],
        "shapes": [{"label": "leaf", "line_color": None, "fill_color": None,
                    "points": [[2, 2], [12, 2], [12, 12], [2, 12]]}],
        "imagePath": "gone.png", "imageData": base64.b64encode(png_bytes(pixels)).decode(),
        "imageHeight": 20, "imageWidth": 30,
    }
    (src / "gone.json").write_text(json.dumps(old), encoding="utf-8")
    out, images = run_to_end(import_to_project("labelme", src, tmp_path / "proj"))
    assert len(images) == 1
    project = open_project(out)
    assert load_all(project) == []
    (entry,) = project.entries
    assert np.array_equal(np.asarray(Image.open(entry.image_path)), pixels)
    ann = project.annotations[entry.key]
    cls, _ = shapes_to_label(ann.shapes, 20, 30, class_value_map(["leaf"]))
    assert (cls == 1).sum() == 121
    assert (out / "labels.txt").read_text().splitlines() == ["__ignore__", "_background_", "leaf"]


def test_voc_without_class_names_gets_numbered_classes(tmp_path: Path) -> None:
    (tmp_path / "SegmentationClass").mkdir()
    lbl = np.zeros((10, 10), np.uint8)
    lbl[2:5, 2:5] = 3
    lbl[7:, 7:] = 255
    Image.fromarray(lbl, mode="L").save(tmp_path / "SegmentationClass" / "x.png")
    (im,) = run_to_end(import_dataset("voc", tmp_path, ImportOptions()))
    assert sorted(s.label for s in im.annotation.shapes) == ["__ignore__", "class_3"]
    assert im.image_path is None
    with pytest.raises(ValueError, match="no image found for 1 annotation"):   # nothing written
        run_to_end(import_to_project("voc", tmp_path, tmp_path / "proj"))
    assert not (tmp_path / "proj").exists()


def test_masks_with_a_names_file(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    m = np.zeros((8, 8), np.uint8)
    m[:4] = 1
    m[6:, :] = 2
    Image.fromarray(m).save(tmp_path / "masks" / "y.png")
    names = tmp_path / "names.txt"
    names.write_text("sky\nsea\n", encoding="utf-8")
    (im,) = run_to_end(import_dataset("masks", tmp_path, ImportOptions(mask_mode="mask"), class_map=names))
    assert [(s.label, s.shape_type, int(s.mask.sum())) for s in im.annotation.shapes] == \
        [("sky", "mask", 32), ("sea", "mask", 16)]
    with pytest.raises(ValueError, match="classes.json"):
        run_to_end(import_dataset("masks", tmp_path, ImportOptions()))


def test_unknown_format_is_named() -> None:
    with pytest.raises(ValueError, match="unknown format 'tiff'"):
        import_dataset("tiff", ".")
