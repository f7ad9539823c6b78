"""Datasets feature: File ▸ Export dataset…, File ▸ Import…, Tools ▸ Evaluate….

Dialogs collect options, then run the core jobs (:mod:`segstudio.core.formats`,
:mod:`segstudio.core.evaluate`) through :func:`segstudio.ui.workers.start_job` with a progress
bar and Cancel (:mod:`.job_dialog`). The exporter gets snapshots of the in-memory annotations taken here on the GUI
thread, so unsaved edits are exported; the worker never touches the project.

May import: PySide6, segstudio.core, segstudio.ui.workers.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from segstudio.core.evaluate import evaluate_project_items, format_report, table_rows
from segstudio.core.formats.base import FORMATS, IMAGE_MODES, OVERLAP_RULE, ExportOptions, ImportOptions
from segstudio.core.formats.export_driver import export_dataset, items_from_project
from segstudio.core.formats.export_run import problems_text
from segstudio.core.formats.import_driver import import_to_project
from segstudio.ui.actions import ActionSpec
from segstudio.ui.feature_host import FeatureHost
from segstudio.ui.features.job_dialog import JobDialog, folder_row

log = logging.getLogger(__name__)

FORMAT_TITLES = {"voc": "PASCAL VOC segmentation", "coco": "COCO instances (annotations.json)",
                 "yolo": "YOLO segmentation (Ultralytics)", "masks": "Class-index mask PNGs",
                 "labelme": "labelme JSON folder"}


class ExportDialog(JobDialog):
    run_text = "Export"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setWindowTitle("Export dataset")
        project = window.controller.project
        self.format = QComboBox(self)
        for key in FORMATS:
            self.format.addItem(FORMAT_TITLES.get(key, key), key)
        self.out = QLineEdit(self)
        if project.root is not None:
            self.out.setText(str(project.root.parent / f"{project.root.name}_dataset"))
        self.classes = QListWidget(self)
        for name in project.class_names():
            if name in ("__ignore__", "_background_"):
                continue
            item = QListWidgetItem(name, self.classes)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
        self.classes.setMaximumHeight(120)
        self.split = []
        split_row = QWidget(self)
        sl = QHBoxLayout(split_row)
        sl.setContentsMargins(0, 0, 0, 0)
        for name, value in (("train", 0.8), ("val", 0.2), ("test", 0.0)):
            box = QDoubleSpinBox(split_row)
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setValue(value)
            box.setPrefix(f"{name} ")
            self.split.append(box)
            sl.addWidget(box)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.images = QComboBox(self)
        self.images.addItems(list(IMAGE_MODES))
        self.coco_masks = QComboBox(self)
        self.coco_masks.addItems(["polygon", "rle"])
        self.coco_masks.setToolTip("COCO segmentation: polygons as drawn, or RLE (pixel-exact) for all")
        self.form.addRow("Format", self.format)
        self.form.addRow("Output folder", folder_row(self, self.out, "Export to folder"))
        self.form.addRow("Classes", self.classes)
        self.form.addRow("Split", split_row)
        self.form.addRow("Seed", self.seed)
        self.form.addRow("Images", self.images)
        self.form.addRow("COCO masks", self.coco_masks)
        self.form.addRow("Overlaps", QLabel(OVERLAP_RULE, self))
        # images left out of the last export, listed in the dialog (it stays open, non-modal)
        self.problems = QPlainTextEdit(self)
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(140)
        self.problems.hide()
        self.extra.addWidget(self.problems)

    def set_format(self, key: str) -> None:
        self.format.setCurrentIndex(self.format.findData(key))

    def options(self) -> ExportOptions:
        checked = tuple(self.classes.item(i).text() for i in range(self.classes.count())
                        if self.classes.item(i).checkState() == Qt.CheckState.Checked)
        project = self.window_.controller.project
        return ExportOptions(classes=checked, split=tuple(b.value() for b in self.split),  # type: ignore[arg-type]
                             seed=self.seed.value(), images=self.images.currentText(),
                             coco_masks=self.coco_masks.currentText(),
                             colors={c.name: c.color for c in project.classes})

    def make_job(self) -> tuple[Any, tuple] | None:
        out = self.out.text().strip()
        if not out:
            raise ValueError("choose an output folder")
        project = self.window_.controller.project
        if self.classes.count() and not self.options().classes:
            raise ValueError("choose at least one class to export")
        # snapshots taken here, on the GUI thread; files that failed to load become problems
        items = items_from_project(project, with_errors=True)
        if not items:
            raise ValueError("nothing to export: no image of this project has annotations")
        return partial(export_dataset, options=self.options()), (
            self.format.currentData(), items, Path(out), project.class_names())

    def start(self) -> None:
        self.problems.clear()
        self.problems.hide()
        super().start()

    def result_folder(self, report: Any) -> Path | None:
        return Path(report.out_dir)

    def on_result(self, report: Any) -> None:
        splits = ", ".join(f"{k} {len(v)}" for k, v in report.splits.items() if v)
        text = f"Exported {report.images} image(s) to {report.out_dir} ({splits})"
        if report.problems:
            text += f"; {len(report.problems)} image(s) not exported, listed below"
            self.problems.setPlainText(problems_text(report))
            self.problems.show()
        self.message.setText(text)
        self.window_.status(text)


class ImportDialog(JobDialog):
    run_text = "Import"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setWindowTitle("Import dataset")
        self.format = QComboBox(self)
        for key in FORMATS:
            self.format.addItem(FORMAT_TITLES.get(key, key), key)
        self.src = QLineEdit(self)
        self.out = QLineEdit(self)
        self.mask_mode = QComboBox(self)
        self.mask_mode.addItem("polygons (components with holes stay masks)", "polygon")
        self.mask_mode.addItem("mask shapes", "mask")
        self.tolerance = QDoubleSpinBox(self)
        self.tolerance.setRange(0.0, 20.0)
        self.tolerance.setSuffix(" px")
        self.tolerance.setToolTip("Polygon simplification; 0 keeps every pixel exact")
        self.form.addRow("Format", self.format)
        self.form.addRow("Dataset", folder_row(self, self.src, "Dataset folder", file_ok=True))
        self.form.addRow("New project folder", folder_row(self, self.out, "Write the project to"))
        self.form.addRow("Masks become", self.mask_mode)
        self.form.addRow("Simplify", self.tolerance)

    def make_job(self) -> tuple[Any, tuple] | None:
        src, out = self.src.text().strip(), self.out.text().strip()
        if not src or not out:
            raise ValueError("choose the dataset and an (empty) folder for the new project")
        options = ImportOptions(mask_mode=self.mask_mode.currentData(), tolerance=self.tolerance.value())
        return import_to_project, (self.format.currentData(), Path(src), Path(out), options)

    def result_folder(self, result: Any) -> Path | None:
        return Path(result[0])

    def on_result(self, result: Any) -> None:
        out, images = result
        skipped = sum(1 for im in images if im.skipped)
        self.message.setText(f"Imported {len(images) - skipped} image(s) into {out}"
                             + (f", {skipped} skipped (labelled by a person)" if skipped else ""))
        if self.window_.open_folder(out):
            self.accept()


class EvaluateDialog(JobDialog):
    run_text = "Evaluate"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setWindowTitle("Evaluate predictions against this project")
        self.pred = QLineEdit(self)
        self.form.addRow("Predictions folder", folder_row(self, self.pred, "Folder of predicted JSON files"))
        self.form.addRow("Ground truth", QLabel("the open project (unsaved corrections included)", self))
        self.table = QTableWidget(self)
        self.summary = QPlainTextEdit(self)
        self.summary.setReadOnly(True)
        self.summary.setMaximumHeight(140)
        self.save_button = QPushButton("Save JSON…", self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_json)
        self.extra.addWidget(self.table, 1)
        self.extra.addWidget(self.summary)
        self.extra.addWidget(self.save_button)
        self.resize(760, 560)

    def make_job(self) -> tuple[Any, tuple] | None:
        pred = self.pred.text().strip()
        if not pred:
            raise ValueError("choose the folder of predicted annotations")
        project = self.window_.controller.project
        base = project.output_dir or project.root
        gt_items = []
        for it in items_from_project(project):
            path = it.annotation_path
            key = path.relative_to(base).with_suffix("").as_posix() if path and base else it.name
            gt_items.append((key, it))
        return evaluate_project_items, (Path(pred), gt_items, project.class_names())

    def on_result(self, report: dict[str, Any]) -> None:
        rows = table_rows(report)
        self.table.setColumnCount(len(rows[0]))
        self.table.setRowCount(len(rows) - 1)
        self.table.setHorizontalHeaderLabels(rows[0])
        for r, row in enumerate(rows[1:]):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text.strip())
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        text = format_report(report)
        self.summary.setPlainText(text[text.index("images:"):])
        self.save_button.setEnabled(True)
        self.message.setText(f"Evaluated {report['images']} image(s)")

    def save_json(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save report", "evaluation.json", "JSON (*.json)")
        if path:
            from segstudio.core.io.atomic import atomic_write_text

            atomic_write_text(path, json.dumps(self.result, indent=2, ensure_ascii=False) + "\n")


class DatasetsFeature:
    """Menu entries and the dialogs they open (kept so tests can drive them)."""

    def __init__(self, window: FeatureHost) -> None:
        self.window = window
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.evaluate_dialog: EvaluateDialog | None = None
        made = window.add_actions(ROWS, {"datasets_import": self.open_import, "datasets_export": self.open_export,
                                         "datasets_evaluate": self.open_evaluate})
        self.import_action, self.export_action = made["datasets_import"], made["datasets_export"]
        self.evaluate_action = made["datasets_evaluate"]

    def open_export(self) -> ExportDialog:
        if not self.window.controller.project.entries:
            self.window.show_error("Export dataset", "Open a folder of images first.")
        self.export_dialog = ExportDialog(self.window)
        self.export_dialog.show()
        return self.export_dialog

    def open_import(self) -> ImportDialog:
        self.import_dialog = ImportDialog(self.window)
        self.import_dialog.show()
        return self.import_dialog

    def open_evaluate(self) -> EvaluateDialog:
        self.evaluate_dialog = EvaluateDialog(self.window)
        self.evaluate_dialog.show()
        return self.evaluate_dialog


#: the feature's rows of the action table (import / export go above File ▸ Quit)
ROWS = (ActionSpec("datasets_import", "File", "&Import dataset…", before="quit",
                   tip="Read COCO, VOC, YOLO or mask PNGs into labelme files"),
        ActionSpec("datasets_export", "File", "&Export dataset…", before="quit",
                   tip="Write the labelled images as COCO, VOC, YOLO or mask PNGs"),
        ActionSpec("-", "File", "", before="quit"),
        ActionSpec("datasets_evaluate", "Tools", "E&valuate…", tip="Compare predictions with labels (IoU)"))


def install(window: FeatureHost) -> DatasetsFeature:
    return DatasetsFeature(window)
