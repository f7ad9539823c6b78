"""The window on a folder of bad inputs (tests/core/bad_corpus.py) and on a `segment` output folder.

Opening the folder must not raise or show a traceback; stepping through every image must name
each bad file in a message (and mark its row), show the good images with their pixels, and
change no file. A folder of JSONs whose images live elsewhere (`segstudio segment SRC OUT`
writes OUT/x.json → ../SRC/x.png) must open with its images, not as a list of red rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.settings import Preferences
from segstudio.ui.main_window import MainWindow
from tests.support.bad_corpus import TRIANGLE, build_corpus, doc
from tests.support.windows import make_window


def _hashes(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for n in files:
            p = Path(dirpath) / n
            if not p.is_symlink() and p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_window_steps_through_the_bad_corpus(qtbot, tmp_path):
    corpus = build_corpus(tmp_path / "corpus")
    before = _hashes(corpus.root)
    messages: list[str] = []
    w = MainWindow(Preferences(autosave_idle_s=0), features=[])
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.controller.error_occurred.connect(lambda _title, text: messages.append(text))
    assert w.open_folder(corpus.root)
    c = w.controller
    shown = {}
    for entry in list(c.project.entries):
        if entry.error:
            continue
        if c.go_to(entry.key, background=False):
            shown[entry.image_path.name] = c.current_image().copy()
    qtbot.wait(50)
    # popups, the red rows' tooltips and the banner above the canvas (files that are no entry)
    text = "\n".join(messages + [e.error for e in c.project.entries if e.error] + list(c.problems.values()))
    unnamed = [b.id for b in corpus.bad if "open" in b.reported_by and b.name not in text]
    assert unnamed == []
    assert "Traceback" not in text
    for name in corpus.good_images:
        assert shown[name].shape == (16, 24, 3)
    assert (shown["good1.png"] == 120).all()
    assert "embedded_only.png" in shown
    assert all(not e.error for e in c.project.entries if e.image_path.name in corpus.good_images)
    assert "ca\nt" not in c.project.class_names()
    w.close()
    assert _hashes(corpus.root) == before


def test_window_opens_a_segment_output_folder_with_its_source_images(qtbot, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for i, v in enumerate((40, 200)):
        Image.fromarray(np.full((16, 24, 3), v, dtype=np.uint8)).save(src / f"x{i}.png")
        (out / f"x{i}.json").write_text(json.dumps(doc(f"../src/x{i}.png", [TRIANGLE])))
    before = _hashes(out)
    w = make_window(qtbot, out)
    c = w.controller
    assert [e.error for e in c.project.entries] == [None, None]
    assert w.last_error is None   # no "Some files could not be read"
    assert (c.current_image() == 40).all()
    assert c.go_to(c.project.entries[1].key, background=False)
    assert (c.current_image() == 200).all()
    assert len(c.current_annotation().shapes) == 1
    w.close()
    assert _hashes(out) == before
