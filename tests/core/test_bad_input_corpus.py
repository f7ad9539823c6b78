"""~55 bad inputs in one folder beside good files, through every entry point a user runs.

The corpus (tests/core/bad_corpus.py) is generated small: truncated and empty images, crafted
PNG headers declaring 40000x30000 pixels, text named .png, an animated GIF, symlink loops, a
file name that is not UTF-8, and JSON variants (not JSON, nested 100k deep, 400- and
5000-digit integers, NaN/inf, points of the wrong shape, missing keys, wrong types, imageData
garbage, imagePath pointing nowhere or to itself…). For ``segstudio check`` and ``segstudio
export`` (real processes) and the project open (core/project_io), each bad file must be named
in a message, no traceback may appear, the good files must be processed, and no file in the
folder may change. The window's part is tests/ui/test_bad_input_window.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segstudio.core import project_io
from tests.support.bad_corpus import Corpus, build_corpus

SEGSTUDIO = [sys.executable, "-m", "segstudio"]


def _tree_hashes(root: Path) -> dict[str, str]:
    """Every regular file in the folder (links not followed) → its hash."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for n in files:
            p = Path(dirpath) / n
            if p.is_symlink() or not p.is_file():
                continue
            out[os.fsencode(p).decode("utf-8", "backslashreplace")] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([*SEGSTUDIO, *args], capture_output=True, text=True, encoding="utf-8",
                          errors="backslashreplace", env=env, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def results(corpus, tmp_path_factory) -> dict:
    before = _tree_hashes(corpus.root)
    out: dict = {"before": before}
    check = _run("check", str(corpus.root))
    out["check"] = (check.returncode, check.stdout + check.stderr)
    project = project_io.open_project(corpus.root)
    messages = list(project_io.open_problems(project))
    loaded: dict[str, np.ndarray] = {}
    crashes = []
    for e in project.entries:
        if e.error:
            messages.append(e.error)
            continue
        try:
            project_io.load_annotation(project, e.key)
            loaded[e.image_path.name] = project_io.load_entry_image(project, e.key)
        except (project_io.AnnotationError, project_io.ImageReadError) as exc:
            messages.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            crashes.append(f"{e.key}: {type(exc).__name__}: {exc}")
    out["open"] = (crashes, "\n".join(messages), loaded)
    export_dir = tmp_path_factory.mktemp("export") / "masks"
    export = _run("export", str(corpus.root), str(export_dir), "--format", "masks", "-q")
    out["export"] = (export.returncode, export.stdout + export.stderr, export_dir)
    out["after"] = _tree_hashes(corpus.root)
    return out


def _named(text: str, name: str, loose: bool = False) -> bool:
    return name in text or (loose and Path(name).stem in text)


@pytest.fixture(scope="module")
def bad_ids(corpus) -> list[str]:
    return [b.id for b in corpus.bad]


def test_the_corpus_is_as_large_as_promised(corpus):
    assert len(corpus.bad) >= 49


@pytest.mark.parametrize("entry_point", ["check", "open", "export"])
def test_no_traceback_and_every_bad_file_is_named(corpus, results, entry_point):
    if entry_point == "open":
        crashes, text, _ = results["open"]
        assert crashes == []
    else:
        rc, text = results[entry_point][:2]
        assert "Traceback" not in text
        assert rc == 1   # problems were found and said so
    unnamed = [b.id for b in corpus.bad if entry_point in b.reported_by
               and not _named(text, b.name, loose=entry_point == "export")]
    assert unnamed == []


def test_check_names_only_the_bad_files(corpus, results):
    _rc, text = results["check"]
    for good in ("good1.json", "good2.json", "embedded_only.json"):
        assert good not in text
    assert "checked" in text.splitlines()[-1]


def test_project_open_loads_the_good_images(corpus, results):
    _crashes, _text, loaded = results["open"]
    for name in corpus.good_images:
        assert loaded[name].shape[:2] == (16, 24)
    assert "embedded_only.png" in loaded          # the image that exists only inside its JSON
    assert (loaded["good1.png"] == 120).all()


def test_export_writes_the_good_images(results):
    rc, text, out = results["export"]
    assert "exported 3 image(s)" in text
    masks = sorted(p.name for p in (out / "masks").iterdir())
    assert masks == ["embedded_only.png", "good1.png", "good2.png"]
    assert "ca\nt" not in text   # a label with a line break never becomes a class


def test_nothing_in_the_folder_changed(results):
    assert results["after"] == results["before"]
