"""Images dock at 10,000 images (offscreen Qt, entries only, no image files).

Prints, per operation, the median time of the dock (a QTableView over ImageTableModel) and of a
reference measured in the same run: filling a QListWidget with one icon item per image (the
dock before issue 14.4), a linear scan of ``entries`` for a key (what ``go_to`` did), and a bare
Python ``sorted`` / list filter over the same entries. A state change is timed until Qt painted.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/bench_images_dock.py [--images N]
``--smoke``: 300 images, one repetition (the test suite runs it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem  # noqa: E402

from segstudio.core.model import LABELLED, UNLABELLED, ImageEntry, Project  # noqa: E402
from segstudio.core.settings import Preferences  # noqa: E402
from segstudio.ui.controller import DocumentController  # noqa: E402
from segstudio.ui.docks.file_list import FileListDock  # noqa: E402
from segstudio.ui.docks.image_columns import entry_state  # noqa: E402
from segstudio.ui.docks.image_table import dot_icon  # noqa: E402


def _median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    n, reps = (300, 1) if args.smoke else (args.images, args.reps)
    app = QApplication.instance() or QApplication([])
    project = Project("/data")
    project.entries = [ImageEntry(Path(f"/data/d{i % 37}/img_{i:06d}.png"), Path(f"/data/d{i % 37}/img_{i:06d}.json"),
                                  state=LABELLED if i % 3 == 0 else UNLABELLED, shape_count=i % 17)
                       for i in range(n)]
    controller = DocumentController(Preferences(autosave_idle_s=0))
    controller.project = project
    dock = FileListDock(controller)
    dock.resize(320, 900)
    dock.show()
    app.processEvents()
    icons = {s: dot_icon((s * 50, 100, 100)) for s in range(4)}

    def old_list() -> None:
        lst = QListWidget()
        for e in project.entries:
            item = QListWidgetItem(str(e.image_path.relative_to(project.root)))
            item.setIcon(icons[len(e.state) % 4])
            item.setToolTip(str(e.image_path))
            lst.addItem(item)

    keys = [e.key for e in project.entries]
    last = keys[-1]
    flip = iter(range(10**9))

    def state_change() -> None:
        project.set_state(keys[n // 2], LABELLED if next(flip) % 2 else UNLABELLED)
        app.processEvents()

    rows = [
        ("open (rebuild)", _median_ms(dock.rebuild, reps), "QListWidget filled", _median_ms(old_list, reps)),
        ("entry(key) ×1000", _median_ms(lambda: [project.entry(last) for _ in range(1000)], reps),
         "linear scan ×1000", _median_ms(lambda: [next(e for e in project.entries if e.key == last)
                                                 for _ in range(1000)], max(1, reps // 3))),
        ("sort by state", _median_ms(lambda: dock.model.sort(1, Qt.SortOrder.DescendingOrder), reps),
         "sorted() by state", _median_ms(lambda: sorted(project.entries, key=entry_state), reps)),
        ("filter 'img_00'", _median_ms(lambda: (dock.filter.setText("img_00"), dock.filter.setText("")), reps) / 2,
         "list filter", _median_ms(lambda: [e for e in project.entries if "img_00" in str(e.image_path)], reps)),
        ("state change + paint", _median_ms(state_change, max(reps, 5)), "-", float("nan")),
    ]
    print(f"Images dock, {n} images, median of {reps} (ms)\n")
    print("| operation | dock ms | reference | reference ms | ratio |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, ms, ref, ref_ms in rows:
        ratio = "-" if ref_ms != ref_ms else f"{ms / ref_ms:.3g}"
        ref_txt = "-" if ref_ms != ref_ms else f"{ref_ms:.2f}"
        print(f"| {name} | {ms:.2f} | {ref} | {ref_txt} | {ratio} |")
    dock.close()


if __name__ == "__main__":
    main()
