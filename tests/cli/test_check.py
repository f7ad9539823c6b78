"""``segstudio check``: one line per problem, a summary line, exit status 1 on any problem."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from segstudio.cli import main
from segstudio.core.io.images import encode_image_data


def _img(path, w=20, h=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), dtype=np.uint8)).save(path)


def _write(path, image_path="a.png", shapes=None, w=20, h=10, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    d = {"version": "5.5.0", "flags": {}, "imagePath": image_path, "imageData": None,
         "imageHeight": h, "imageWidth": w,
         "shapes": shapes if shapes is not None else [
             {"label": "cat", "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon"}]}
    d.update(extra)
    path.write_text(json.dumps(d))


def _run(capsys, *args):
    rc = main(["check", *map(str, args)])
    out = capsys.readouterr().out.splitlines()
    return rc, out


def test_all_valid_folder(tmp_path, capsys):
    _img(tmp_path / "a.png")
    _write(tmp_path / "a.json")
    _img(tmp_path / "sub" / "b.png")
    _write(tmp_path / "sub" / "b.json", "b.png")
    rc, out = _run(capsys, tmp_path)
    assert rc == 0
    assert out == ["checked 2 files, 0 problems"]


def test_problems_one_line_each(tmp_path, capsys):
    _img(tmp_path / "a.png")
    _write(tmp_path / "a.json")                                       # valid
    (tmp_path / "broken.json").write_text('{"shapes": [}')             # malformed
    _write(tmp_path / "missing.json", "missing.png")                   # image not found
    _img(tmp_path / "s.png", w=30, h=10)
    _write(tmp_path / "s.json", "s.png")                               # wrong size
    _write(tmp_path / "deep" / "p.json", "../a.png",
           shapes=[{"label": "x", "points": [[0, 0], [1, 1]]}])        # polygon with 2 points
    (tmp_path / "settings.json").write_text('{"theme": "dark"}')       # not labelme: ignored
    rc, out = _run(capsys, tmp_path)
    assert rc == 1
    assert out[-1] == "checked 5 files, 4 problems"
    problems = out[:-1]
    assert len(problems) == 4
    assert any(line.startswith(f"{tmp_path / 'broken.json'}: invalid JSON at line 1, column 13")
               for line in problems)
    assert f"{tmp_path / 'missing.json'}: image missing.png not found and there is no imageData" in problems
    assert f"{tmp_path / 's.json'}: imageWidth x imageHeight is 20x10 but the image is 30x10" in problems
    assert any(line.startswith(f"{tmp_path / 'deep' / 'p.json'}: shapes[0] ('x'): a polygon needs at least 3")
               for line in problems)


def test_single_file_and_embedded_image(tmp_path, capsys):
    data = encode_image_data(np.zeros((10, 20, 3), dtype=np.uint8))
    _write(tmp_path / "e.json", "gone.png", imageData=data)
    rc, out = _run(capsys, tmp_path / "e.json")
    assert (rc, out) == (0, ["checked 1 file, 0 problems"])
    _write(tmp_path / "e.json", "gone.png", imageData=data, h=11)
    rc, out = _run(capsys, tmp_path / "e.json")
    assert rc == 1
    assert out == [f"{tmp_path / 'e.json'}: imageWidth x imageHeight is 20x11 but the image is 20x10",
                   "checked 1 file, 1 problem"]


def test_missing_path(tmp_path, capsys):
    rc, out = _run(capsys, tmp_path / "nothing")
    assert rc == 1 and out == [f"{tmp_path / 'nothing'}: no such file or folder"]
