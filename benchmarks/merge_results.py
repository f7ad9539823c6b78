"""Merges the per-area result files in benchmarks/results/ into benchmarks/RESULTS.md.

Each benchmark script's measured tables live in ``results/<area>.md`` (written by hand from
the script's printed output, with machine and date); this keeps RESULTS.md one readable page.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["canvas", "io", "algorithms", "export", "predict", "train"]

HEADER = """# Benchmark results

Measured on the developers' machine: a shared 2-core x86-64 CPU, 24 GiB, no GPU (this
session was not lent a GPU machine, so the GPU rows are pending), Python 3.11, torch 2.15
(CUDA build running on the CPU), PySide6 6.11, OpenCV 5.0. Date: 2026-11-20. Other jobs were
running on the same two cores, so single timings vary by ±30 %; ratios against a reference
measured in the same run are the figures to trust. Each section names the script and command.
Regenerate this page with `python benchmarks/merge_results.py`.

"""


def main() -> None:
    files = sorted((HERE / "results").glob("*.md"), key=lambda p: (ORDER.index(p.stem)
                                                                    if p.stem in ORDER else 99, p.stem))
    parts = [HEADER]
    for f in files:
        text = f.read_text(encoding="utf-8").strip()
        # demote headings one level so each area is a section of this page
        text = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
        parts.append(text + "\n\n")
    (HERE / "RESULTS.md").write_text("".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
