"""benchmarks/bench_export.py --smoke runs (so the benchmark cannot rot) and prints its tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_export_smoke_prints_the_shape_scaling_table() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_export.py"), "--smoke"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    rows = [ln for ln in run.stdout.splitlines() if ln.startswith("| 300 |") or ln.startswith("| 600 |")]
    assert len(rows) == 2                                   # both shape counts measured
    assert "| export voc |" in run.stdout and "| export coco (rle) |" in run.stdout
