"""Bad or surprising input on disk: the user's files are never lost, and messages name the file.

Each test guards a defect found in review: an image replaced by one of another size after its
JSON was written, a JSON refused for saving because its *image* failed, preferences losing
keys, class colours that the canvas cannot paint.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.core.class_edits import ChangeClass
from segstudio.core.formats.base import ExportItem
from segstudio.core.history import History
from segstudio.core.io.labelme import AnnotationError, annotation_from_dict, read_labelme, write_labelme
from segstudio.core.project_io import load_all, load_annotation, open_project, save_annotation
from segstudio.core.settings import Preferences, load_preferences, save_preferences


def _img(path, w, h, value=90):
    Image.fromarray(np.full((h, w, 3), value, dtype=np.uint8)).save(path)


def _mask_b64(crop: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", crop.astype(np.uint8))
    assert ok
    return base64.b64encode(png.tobytes()).decode("ascii")


def _doc(image_path, w, h, shapes, **extra):
    return {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
            "imageData": None, "imageHeight": h, "imageWidth": w, **extra}


MASK_SHAPE = {"label": "cat", "points": [[5, 4], [14, 11]], "shape_type": "mask",
              "mask": _mask_b64(np.ones((8, 10)))}
TRIANGLE = {"label": "dog", "points": [[1, 1], [30, 1], [30, 20]], "shape_type": "polygon"}


# -- an image that changed size since its JSON was written --------------------------------------
def test_image_resized_after_json_masks_follow_the_image(tmp_path, caplog):
    _img(tmp_path / "a.png", 64, 48)                     # the JSON below was written for 40x30
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE, TRIANGLE], custom=7)))
    project = open_project(tmp_path)
    key = project.entries[0].key
    with caplog.at_level(logging.WARNING):
        ann = load_annotation(project, key)
    assert (ann.width, ann.height) == (64, 48)
    mask = ann.shapes[0].mask
    assert mask.shape == (48, 64)                         # painting on it cannot run off the array
    assert mask.sum() == 80 and mask[4:12, 5:15].all()    # the pixels stay where they were
    np.testing.assert_array_equal(ann.shapes[1].points, [[1, 1], [30, 1], [30, 20]])
    assert any("a.json" in r.getMessage() and "40x30" in r.getMessage() and "64x48" in r.getMessage()
               for r in caplog.records)
    assert not ann.dirty                                  # nothing is written behind the user's back
    ann.set_dirty(True)
    assert save_annotation(project, key)
    doc = json.loads((tmp_path / "a.json").read_text())
    assert (doc["imageWidth"], doc["imageHeight"], doc["custom"]) == (64, 48, 7)
    assert doc["shapes"][0]["points"] == [[5.0, 4.0], [14.0, 11.0]]


def test_image_resized_export_item_uses_the_image_size(tmp_path):
    _img(tmp_path / "a.png", 64, 48)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE])))
    ann = ExportItem("a", tmp_path / "a.png", None, tmp_path / "a.json").load()
    assert (ann.width, ann.height) == (64, 48) and ann.shapes[0].mask.shape == (48, 64)


def test_image_shrunk_after_json_mask_is_clipped_not_an_error(tmp_path):
    _img(tmp_path / "a.png", 12, 10)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [MASK_SHAPE])))
    project = open_project(tmp_path)
    ann = load_annotation(project, project.entries[0].key)
    assert ann.shapes[0].mask.shape == (10, 12)
    assert ann.shapes[0].mask.sum() == (10 - 4) * (12 - 5)


def test_huge_image_size_in_a_json_is_a_named_error_not_a_crash():
    d = _doc("x.png", 10**9, 10**9, [MASK_SHAPE])
    with pytest.raises(AnnotationError, match=r"x\.json: shapes\[0\] \('cat'\).*too large"):
        annotation_from_dict(d, "x.json")


# -- saving --------------------------------------------------------------------------------------
def test_rename_saves_a_json_whose_image_is_unreadable(tmp_path):
    """entry.error about the *image* must not block saving a JSON that loaded fine."""
    _img(tmp_path / "a.png", 40, 30)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n-- truncated --")
    for n in "ab":
        (tmp_path / f"{n}.json").write_text(json.dumps(_doc(f"{n}.png", 40, 30, [TRIANGLE])))
    project = open_project(tmp_path)
    assert load_all(project) == []
    kb = str(tmp_path / "b.json")
    project.entry(kb).error = f"{tmp_path / 'b.png'}: corrupt or truncated image"   # as the GUI does
    History(project, 10**8).push(ChangeClass("dog", {"name": "wolf"}))
    for e in project.entries:
        assert save_annotation(project, e.key)
    for n in "ab":
        assert json.loads((tmp_path / f"{n}.json").read_text())["shapes"][0]["label"] == "wolf"


def test_a_json_that_does_not_load_is_still_never_overwritten(tmp_path):
    _img(tmp_path / "a.png", 40, 30)
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    project = open_project(tmp_path)
    key = project.entries[0].key
    ann = load_annotation(project, key)
    (tmp_path / "a.json").write_text("{broken")          # changed on disk by another program
    project.entry(key).error = "a.json: invalid JSON"
    ann.set_dirty(True)
    with pytest.raises(AnnotationError, match="a.json: not saved"):
        save_annotation(project, key)
    assert (tmp_path / "a.json").read_text() == "{broken"


def test_failed_replace_leaves_the_old_file_and_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    before = path.read_bytes()
    ann = read_labelme(path)
    ann.shapes[0].label = "changed"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_labelme(path, ann)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


# -- class list ----------------------------------------------------------------------------------
def test_labels_txt_with_bom_duplicates_and_blank_lines(tmp_path):
    _img(tmp_path / "a.png", 8, 8)
    (tmp_path / "labels.txt").write_bytes(
        "\ufeff__ignore__\r\n_background_\r\n\r\ncat\r\n  dog  \r\ncat\r\n\r\n".encode())
    project = open_project(tmp_path)
    assert project.class_names() == ["cat", "dog"]
    assert project.has_ignore_class


def test_class_colours_the_canvas_cannot_paint_fall_back_to_defaults(tmp_path, caplog):
    _img(tmp_path / "a.png", 8, 8)
    (tmp_path / ".segstudio").mkdir()
    (tmp_path / ".segstudio" / "classes.json").write_text(json.dumps({"classes": [
        {"name": "short", "color": [1, 2]},
        {"name": "big", "color": [300, 0, 0], "visible": "no"},
        {"name": "good", "color": [10, 20, 30], "visible": False},
    ]}))
    with caplog.at_level(logging.WARNING):
        project = open_project(tmp_path)
    colors = {c.name: tuple(c.color) for c in project.classes}
    assert colors["good"] == (10, 20, 30) and not project.get_class("good").visible
    for name in ("short", "big"):
        assert len(colors[name]) == 3 and all(0 <= v <= 255 for v in colors[name])
    assert colors["big"] != (300, 0, 0) and project.get_class("big").visible
    assert any("classes.json" in r.getMessage() and "short" in r.getMessage() for r in caplog.records)


# -- preferences ---------------------------------------------------------------------------------
def test_preferences_keep_unknown_keys(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text(json.dumps({"brush_radius": 3, "plugin_option": {"a": 1}}))
    prefs = load_preferences(path)
    assert prefs.brush_radius == 3.0
    prefs.brush_radius = 5.0
    save_preferences(prefs, path)
    data = json.loads(path.read_text())
    assert data["plugin_option"] == {"a": 1} and data["brush_radius"] == 5.0


def test_broken_preferences_are_kept_aside_before_being_replaced(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text('{"brush_radius": 3,}')              # a hand edit with a trailing comma
    prefs = load_preferences(path)
    assert prefs == Preferences()
    save_preferences(prefs, path)
    assert (tmp_path / "preferences.json.broken").read_text() == '{"brush_radius": 3,}'
    assert json.loads(path.read_text())["brush_radius"] == Preferences().brush_radius


def test_non_finite_preferences_fall_back_to_defaults(tmp_path):
    path = tmp_path / "preferences.json"
    path.write_text('{"brush_radius": NaN, "autosave_idle_s": Infinity, "fill_opacity": 0.5}')
    prefs = load_preferences(path)
    assert prefs.brush_radius == Preferences().brush_radius
    assert prefs.autosave_idle_s == Preferences().autosave_idle_s
    assert prefs.fill_opacity == 0.5


# -- folders -------------------------------------------------------------------------------------
def test_folder_with_only_jsons_names_each_missing_image(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_doc("a.png", 40, 30, [TRIANGLE])))
    (tmp_path / "notes.json").write_text(json.dumps({"not": "labelme"}))
    project = open_project(tmp_path)
    assert len(project.entries) == 1
    err = project.entries[0].error
    assert err is not None and "a.json" in err and "a.png" in err and "not found" in err


def test_empty_folder_opens_with_no_entries(tmp_path):
    project = open_project(tmp_path)
    assert project.entries == [] and project.classes == []


# -- importing into a folder that already holds files ---------------------------------------------
def _imported(tmp_path, name, value):
    from segstudio.core.formats.base import ImportedImage
    from segstudio.core.model import ImageAnnotation

    src = tmp_path / "src" / f"{name}.png"
    src.parent.mkdir(exist_ok=True)
    _img(src, 8, 6, value)
    return ImportedImage(name, ImageAnnotation(src.name, 8, 6), image_path=src)


def test_import_never_overwrites_an_image_already_in_the_output_folder(tmp_path):
    from segstudio.core.formats.base import DatasetError
    from segstudio.core.formats.import_driver import write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    _img(out / "b.png", 8, 6, 200)                        # the user's own photo, no JSON yet
    mine = (out / "b.png").read_bytes()
    images = [_imported(tmp_path, "a", 10), _imported(tmp_path, "b", 20)]
    with pytest.raises(DatasetError, match=r"b\.png: a different image already exists"):
        run_to_end(write_project(images, out, []))
    assert (out / "b.png").read_bytes() == mine
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]   # checked before writing anything


def test_import_refuses_an_existing_json_before_writing_anything(tmp_path):
    from segstudio.core.formats.base import DatasetError
    from segstudio.core.formats.import_driver import write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    (out / "b.json").write_text("{}")
    images = [_imported(tmp_path, "a", 10), _imported(tmp_path, "b", 20)]
    with pytest.raises(DatasetError, match=r"b\.json: already exists"):
        run_to_end(write_project(images, out, []))
    assert sorted(p.name for p in out.iterdir()) == ["b.json"]


def test_import_with_the_same_image_already_there_writes_its_json(tmp_path):
    from segstudio.core.formats.import_driver import write_project
    from segstudio.core.jobs import run_to_end

    out = tmp_path / "proj"
    out.mkdir()
    im = _imported(tmp_path, "a", 10)
    (out / "a.png").write_bytes(im.image_path.read_bytes())   # e.g. a re-run after an interrupted import
    run_to_end(write_project([im], out, ["x"]))
    assert json.loads((out / "a.json").read_text())["imagePath"] == "a.png"


# -- issue 10 item 6: images that live elsewhere or only inside the JSON ---------------------------
def _png_b64(w=24, h=16, value=90):
    ok, png = cv2.imencode(".png", np.full((h, w, 3), value, dtype=np.uint8))
    return base64.b64encode(png.tobytes()).decode("ascii")


def test_tutorial_file_whose_image_path_names_itself_uses_image_data(tmp_path):
    """labelme's examples/tutorial/apc2016_obj3.json: imagePath is the JSON, pixels in imageData."""
    from segstudio.commands.check import check_file
    from segstudio.core.project_io import load_entry_image

    path = tmp_path / "apc.json"
    data = _doc("apc.json", 24, 16, [TRIANGLE], imageData=_png_b64())
    path.write_text(json.dumps(data))
    assert check_file(path) == []
    project = open_project(tmp_path)
    [entry] = project.entries
    assert entry.error is None and entry.image_path != path
    ann = load_annotation(project, entry.key)
    img = load_entry_image(project, entry.key)
    assert img.shape == (16, 24, 3) and (img == 90).all()
    ann.set_dirty(True)
    assert save_annotation(project, entry.key)
    doc = json.loads(path.read_text())
    assert doc["imagePath"] == "apc.json" and doc["imageData"] == data["imageData"]


def test_output_folder_of_segment_opens_with_images_from_the_source(tmp_path):
    """segment SRC OUT writes OUT/x.json with imagePath ../SRC/x.png: OUT must open, not go red."""
    from segstudio.commands.check import check_file
    from segstudio.core.project_io import load_entry_image

    (tmp_path / "src").mkdir()
    (tmp_path / "out").mkdir()
    _img(tmp_path / "src" / "x.png", 24, 16, value=33)
    path = tmp_path / "out" / "x.json"
    path.write_text(json.dumps(_doc("../src/x.png", 24, 16, [TRIANGLE], custom=1)))
    assert check_file(path) == []
    project = open_project(tmp_path / "out")
    [entry] = project.entries
    assert entry.error is None and entry.image_path == tmp_path / "src" / "x.png"
    ann = load_annotation(project, entry.key)
    assert (load_entry_image(project, entry.key) == 33).all()
    ann.set_dirty(True)
    assert save_annotation(project, entry.key)
    doc = json.loads(path.read_text())
    assert (doc["imagePath"], doc["imageData"], doc["custom"]) == ("../src/x.png", None, 1)


def test_a_json_naming_itself_without_image_data_is_named(tmp_path):
    (tmp_path / "self.json").write_text(json.dumps(_doc("self.json", 24, 16, [TRIANGLE])))
    project = open_project(tmp_path)
    assert [e.error for e in project.entries] == [
        f"{tmp_path / 'self.json'}: imagePath \"self.json\" names no image and the file has no imageData"]


# -- issue 10 item 8: bad input --------------------------------------------------------------------
def _huge_png(path, w, h):
    from tests.support.bad_corpus import huge_png_header

    path.write_bytes(huge_png_header(w, h))


def test_size_of_a_huge_png_is_read_from_the_header_without_decoding(tmp_path):
    from segstudio.core.io.images import image_size

    _huge_png(tmp_path / "big.png", 30000, 30000)   # only a header: decoding it would fail
    assert image_size(tmp_path / "big.png") == (30000, 30000)


def test_an_image_too_large_to_decode_is_refused_by_name(tmp_path):
    from segstudio.core.io.images import ImageReadError, image_size, load_image

    _huge_png(tmp_path / "bomb.png", 40000, 30000)
    for fn in (image_size, load_image):
        with pytest.raises(ImageReadError, match=r"bomb\.png: image too large to open \(40000x30000"):
            fn(tmp_path / "bomb.png")


def test_animated_gif_is_listed_and_refused_by_name(tmp_path):
    from segstudio.core.io.images import ImageReadError
    from segstudio.core.project_io import load_entry_image
    from tests.support.bad_corpus import animated_gif

    (tmp_path / "anim.gif").write_bytes(animated_gif())
    project = open_project(tmp_path)
    assert [e.image_path.name for e in project.entries] == ["anim.gif"]
    with pytest.raises(ImageReadError, match=r"anim\.gif: an animated GIF image \(2 frames\)"):
        load_entry_image(project, project.entries[0].key)


@pytest.mark.parametrize("number", ["1" + "0" * 400, "9" * 5000])
def test_huge_integers_in_points_are_named(tmp_path, number):
    text = json.dumps(_doc("a.png", 40, 30, [TRIANGLE])).replace("[30, 1]", f"[{number}, 1]")
    (tmp_path / "a.json").write_text(text)
    with pytest.raises(AnnotationError, match=r"a\.json: "):
        read_labelme(tmp_path / "a.json")


def test_json_nested_100k_deep_leaves_the_rest_of_the_folder_open(tmp_path):
    _img(tmp_path / "a.png", 40, 30)
    _img(tmp_path / "b.png", 40, 30)
    (tmp_path / "a.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "b.json").write_text(json.dumps(_doc("b.png", 40, 30, [TRIANGLE])))
    project = open_project(tmp_path)
    errors = {e.image_path.name: e.error for e in project.entries}
    assert errors["a.png"] == f"{tmp_path / 'a.json'}: invalid JSON (nested too deeply)"
    assert errors["b.png"] is None
    assert len(load_annotation(project, str(tmp_path / "b.json")).shapes) == 1


def test_label_with_a_line_break_is_refused_so_class_ids_cannot_shift(tmp_path):
    shape = dict(TRIANGLE, label="ca\nt")
    with pytest.raises(AnnotationError, match=r"x\.json: shapes\[0\]: class name 'ca\\nt' contains a line break"):
        annotation_from_dict(_doc("x.png", 40, 30, [shape]), "x.json")


def test_latin1_labels_txt_keeps_its_classes_when_rewritten(tmp_path):
    from segstudio.core.class_list import save_labels

    (tmp_path / "labels.txt").write_bytes("__ignore__\n_background_\ncafé\nthé\n".encode("latin-1"))
    project = open_project(tmp_path)
    assert project.class_names()[-2:] == ["café", "thé"]
    project.ensure_class("new")
    save_labels(project)
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8").splitlines()[2:] == ["café", "thé", "new"]


def test_non_utf8_file_name_can_be_saved_and_read_back(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.png"
    Image.fromarray(np.full((30, 40, 3), 9, dtype=np.uint8)).save(os.fsdecode(raw))
    project = open_project(tmp_path)
    [entry] = project.entries
    ann = load_annotation(project, entry.key)
    ann.set_dirty(True)
    assert save_annotation(project, entry.key)
    again = read_labelme(entry.annotation_path)
    assert os.fsencode(again.image_path) == b"caf\xe9.png"


def test_disk_full_names_the_file(tmp_path, monkeypatch):
    import errno

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    ann = annotation_from_dict(_doc("a.png", 40, 30, [TRIANGLE]), "a.json")
    with pytest.raises(OSError, match=r"No space left on device.*a\.json"):
        write_labelme(tmp_path / "a.json", ann)
    assert os.listdir(tmp_path) == []


def test_temp_files_of_killed_saves_are_removed_when_the_project_opens(tmp_path):
    import time

    from segstudio.core.io.atomic import make_temp_file

    _img(tmp_path / "a.png", 40, 30)
    fd, stale = make_temp_file(tmp_path / "a.json")
    os.close(fd)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fd, fresh = make_temp_file(tmp_path / "a.json")   # a save in progress right now: kept
    os.close(fd)
    (tmp_path / ".a.json.abcd.tmp").write_text("someone else's")
    open_project(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted([".a.json.abcd.tmp", "a.png", os.path.basename(fresh)])
