"""benchmarks/bench_sam.py --smoke and --gui-stall --smoke run (so the benchmark cannot rot) and
print their tables: the window's AI tool embedded the image and prefetched the next (2 encoder runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sam.py"), *args],
                       capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def test_bench_sam_smoke_prints_encoder_and_decoder_times() -> None:
    out = run("--smoke")
    rows = [r for r in out.splitlines() if r.startswith("| tiny graph")]
    assert len(rows) == 3 and all(len(r.split("|")) == 11 for r in rows)


def test_bench_sam_gui_stall_smoke_measures_the_window() -> None:
    out = run("--gui-stall", "--smoke")
    row = next(r for r in out.splitlines() if r.startswith("| AI polygon"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "2", out                  # this image + the prefetched next one
    assert float(cells[6]) > 0                   # a longest gap was measured
