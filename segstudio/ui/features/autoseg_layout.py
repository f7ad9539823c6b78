"""The widgets of the Auto-segment panel (:class:`~segstudio.ui.features.autoseg.AutoSegPanel`):
method picker and description, the generated parameter form, prompt tool buttons, the result
options (class, polygon/mask, simplification, minimum area, max polygons), Preview/Apply and
the batch row. :func:`build_panel` makes them as attributes of the panel and wires them to its
slots; the behaviour stays in the panel.

May import: PySide6, segstudio.ui.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from segstudio.ui.features.autoseg_form import ParamsForm

#: default of "Max polygons": more pieces than this are applied as mask layers (see ApplyOptions)
MAX_POLYGONS = 20_000
TOOL_BUTTONS = (("seg_box", "Box"), ("seg_scribble", "Scribble"), ("seg_click", "Click"),
                ("seg_wand", "Wand"), ("seg_scissors", "Scissors"), ("seg_roi", "ROI"))


def build_panel(panel: Any) -> None:
    """Creates the panel's widgets (``panel.method_combo``, ``panel.form``, …) in its layout.

    ``panel`` is the :class:`~segstudio.ui.features.autoseg.AutoSegPanel` (a QWidget with
    ``methods``, ``state``, ``canvas`` and the slots wired below); not imported here, so that
    this module stays below :mod:`.autoseg` (no import cycle)."""
    lay = QVBoxLayout(panel)
    panel.method_combo = QComboBox(panel)
    for spec in panel.methods.values():
        panel.method_combo.addItem(f"{spec.title}", spec.name)
    panel.method_combo.currentIndexChanged.connect(
        lambda _i: panel.set_method(panel.method_combo.currentData()))
    lay.addWidget(panel.method_combo)
    panel.description = QLabel(panel)
    panel.description.setWordWrap(True)
    lay.addWidget(panel.description)
    panel.form = ParamsForm(panel)
    panel.form.changed.connect(panel._params_changed)
    lay.addWidget(panel.form)

    tools = QGroupBox("Prompt", panel)
    grid = QGridLayout(tools)
    panel.tool_buttons: dict[str, QPushButton] = {}
    for i, (name, text) in enumerate(TOOL_BUTTONS):
        b = QPushButton(text, tools)
        b.setCheckable(True)
        b.clicked.connect(lambda _c=False, n=name: panel.canvas.set_tool(n))
        grid.addWidget(b, i // 3, i % 3)
        panel.tool_buttons[name] = b
    clear = QPushButton("Clear", tools)
    clear.clicked.connect(lambda: panel.state.clear(keep_roi=False))
    grid.addWidget(clear, 2, 0)
    panel.canvas.tool_changed.connect(panel._tool_changed)
    lay.addWidget(tools)

    out = QGroupBox("Result", panel)
    form = QFormLayout(out)
    panel.class_combo = QComboBox(out)
    panel.class_combo.setEditable(True)
    panel.mode_combo = QComboBox(out)
    panel.mode_combo.addItems(["polygon", "mask"])
    panel.tolerance = QDoubleSpinBox(out)
    panel.tolerance.setRange(0, 50)
    panel.tolerance.setSingleStep(0.5)
    panel.tolerance.setValue(0.5)
    panel.min_area = QDoubleSpinBox(out)
    panel.min_area.setRange(0, 1e9)
    panel.min_area.setDecimals(0)
    panel.min_area.setValue(10)
    form.addRow("Class", panel.class_combo)
    form.addRow("Shapes", panel.mode_combo)
    form.addRow("Simplify (px)", panel.tolerance)
    form.addRow("Minimum area (px)", panel.min_area)
    panel.max_polygons = QSpinBox(out)
    panel.max_polygons.setRange(0, 10_000_000)
    panel.max_polygons.setSingleStep(1000)
    panel.max_polygons.setValue(MAX_POLYGONS)
    panel.max_polygons.setSpecialValueText("no limit")
    panel.max_polygons.setToolTip("A polygon result with more pieces than this is applied as one mask "
                                 "layer per class instead (0: no limit)")
    form.addRow("Max polygons", panel.max_polygons)
    lay.addWidget(out)

    row = QHBoxLayout()
    panel.live = QCheckBox("Live preview", panel)
    panel.live.setChecked(True)
    panel.live.toggled.connect(lambda on: panel._schedule() if on else panel.clear_overlay())
    panel.preview_button = QPushButton("Preview", panel)
    panel.preview_button.clicked.connect(panel.run_preview)
    panel.apply_button = QPushButton("Apply", panel)
    panel.apply_button.setDefault(True)
    panel.apply_button.clicked.connect(panel.apply)
    for w in (panel.live, panel.preview_button, panel.apply_button):
        row.addWidget(w)
    lay.addLayout(row)
    panel.message = QLabel(panel)
    panel.message.setWordWrap(True)
    panel.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    lay.addWidget(panel.message)

    batch = QGroupBox("Batch", panel)
    bl = QHBoxLayout(batch)
    panel.batch_scope = QComboBox(batch)
    panel.batch_scope.addItem("Unlabelled images", "unlabelled")
    panel.batch_scope.addItem("All images", "all")
    panel.batch_button = QPushButton("Run", batch)
    panel.batch_button.clicked.connect(panel.run_batch)
    panel.batch_cancel = QPushButton("Cancel", batch)
    panel.batch_cancel.setEnabled(False)
    panel.batch_cancel.clicked.connect(panel.cancel_batch)
    panel.progress = QProgressBar(batch)
    panel.progress.setVisible(False)
    for w in (panel.batch_scope, panel.batch_button, panel.batch_cancel):
        bl.addWidget(w)
    lay.addWidget(batch)
    lay.addWidget(panel.progress)
    lay.addStretch(1)

