"""A parameter form generated from an algorithm's params dataclass (see algorithms.params).

bool → check box, choices → combo box, int → spin box (odd-only steps by 2), float → double
spin box, str → line edit; labels, ranges, steps and tool tips come from the field metadata.
``changed`` fires on every edit; :meth:`values` returns typed values for ``make_params``.

May import: PySide6, segstudio.algorithms.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from segstudio.algorithms.params import ParamInfo, describe

_BIG = 10**9


class ParamsForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.editors: dict[str, QWidget] = {}
        self.infos: dict[str, ParamInfo] = {}

    def set_params_class(self, params_cls: type, values: dict[str, Any] | None = None) -> None:
        """Rebuilds the form for ``params_cls`` (defaults, or ``values`` where given)."""
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self.editors, self.infos = {}, {}
        for info in describe(params_cls):
            value = (values or {}).get(info.name, info.default)
            editor = self._editor(info, value)
            editor.setToolTip(info.help)
            editor.setObjectName(f"param_{info.name}")
            self._layout.addRow(info.label, editor)
            self.editors[info.name] = editor
            self.infos[info.name] = info

    def _editor(self, info: ParamInfo, value: Any) -> QWidget:
        if info.kind is bool:
            w = QCheckBox(self)
            w.setChecked(bool(value))
            w.toggled.connect(self.changed)
            return w
        if info.choices is not None:
            w = QComboBox(self)
            for c in info.choices:
                w.addItem(str(c), c)
            w.setCurrentIndex(max(0, list(info.choices).index(value) if value in info.choices else 0))
            w.currentIndexChanged.connect(self.changed)
            return w
        if info.kind is int:
            w = QSpinBox(self)
            w.setRange(int(info.min if info.min is not None else -_BIG),
                       int(info.max if info.max is not None else _BIG))
            w.setSingleStep(2 if info.odd else int(info.step or 1))
            w.setValue(int(value))
            w.valueChanged.connect(self.changed)
            return w
        if info.kind is float:
            w = QDoubleSpinBox(self)
            step = float(info.step or 0.1)
            w.setDecimals(3 if step < 0.01 else 2)
            w.setRange(float(info.min if info.min is not None else -_BIG),
                       float(info.max if info.max is not None else _BIG))
            w.setSingleStep(step)
            w.setValue(float(value))
            w.valueChanged.connect(self.changed)
            return w
        w = QLineEdit(str(value), self)
        w.editingFinished.connect(self.changed)
        return w

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.editors.items():
            if isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QComboBox):
                out[name] = w.currentData()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                out[name] = w.value()
            elif isinstance(w, QLineEdit):
                out[name] = w.text()
        return out

    def set_value(self, name: str, value: Any) -> None:
        """Sets one editor (e.g. the tolerance from a magic-wand drag) without a ``changed`` storm."""
        w = self.editors.get(name)
        if w is None:
            return
        w.blockSignals(True)
        try:
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findData(value)))
            elif isinstance(w, QSpinBox):
                w.setValue(int(round(value)))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
            elif isinstance(w, QLineEdit):
                w.setText(str(value))
        finally:
            w.blockSignals(False)
