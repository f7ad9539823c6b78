"""Benchmarks that cannot rot: every ``benchmarks/bench_*.py`` (found by glob, so a new script is
covered the day it is added) runs as its own process with ``--smoke`` — toy sizes, seconds of
work — must exit 0 and must print a table of figures. Nothing is timed here: the figures come
from the scripts' full runs (benchmarks/RESULTS.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(BENCH_DIR.glob("bench_*.py"))
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def table_rows(text: str) -> list[str]:
    """Lines that look like rows of a table of figures: markdown rows (``| … |``) or aligned
    columns, each holding at least two numbers."""
    rows = []
    for line in text.splitlines():
        cells = [c for c in re.split(r"\s*\|\s*|\s{2,}", line.strip()) if c]
        if len(cells) >= 2 and sum(bool(NUMBER.fullmatch(c.rstrip("×%msx"))) for c in cells) >= 2:
            rows.append(line)
    return rows


def test_the_table_detector_tells_a_table_from_prose():
    assert len(table_rows("| a | b |\n|---|---|\n| x | 1.5 | 2 |\n| y | 3.0 | 4× |")) == 2
    assert len(table_rows("load_image JPEG   5.2ms      0.9ms   5.73  cv2.imread")) == 1
    assert table_rows("Traceback (most recent call last):\n  File 'x.py', line 3\nValueError: 2 and 3") == []


def test_benchmarks_are_found():
    assert {p.name for p in SCRIPTS} >= {"bench_algorithms.py", "bench_canvas.py", "bench_export.py",
                                          "bench_gui_stall.py", "bench_io.py", "bench_predict.py",
                                          "bench_train.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_smoke_run_prints_a_table(script: Path, tmp_path: Path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(BENCH_DIR.parent),
           "OMP_NUM_THREADS": "2"}
    r = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=540)
    assert r.returncode == 0, f"{script.name} --smoke exited {r.returncode}:\n{r.stderr[-3000:]}"
    assert len(table_rows(r.stdout)) >= 1, f"{script.name} --smoke printed no table:\n{r.stdout[-2000:]}"
    assert not list(tmp_path.iterdir()), "a smoke run leaves no files behind"
