"""Form fields generated from the training options table (:mod:`segstudio.ml.options`).

One :class:`OptionField` per row: a check box for a bool (or a two-value option with ``check``),
a combo box for choices or a catalogue (editable when the choices are suggestions), a spin box
for a number (its range, step and decimals from the row; a None default becomes the spin box's
lowest, "special" value showing ``none_text``), a line edit otherwise (text parsed by the row).
Label, tool tip and default come from the row, so the Train dialog has no per-option code.

May import: PySide6, segstudio.ml.options (torch-free).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from segstudio.ml.options import OptionInfo


class OptionField:
    """A widget showing one option: ``value()`` reads it (ValueError for unparsable text),
    ``set_value()`` shows one; ``label`` is the form row's label ("" when the widget has its own)."""

    def __init__(self, info: OptionInfo, widget: QWidget, get: Callable[[], Any],
                 put: Callable[[Any], None], *, label: str) -> None:
        self.info, self.widget, self.label = info, widget, label
        self._get, self._put = get, put

    def value(self) -> Any:
        return self._get()

    def set_value(self, value: Any) -> None:
        self._put(value)


def make_field(info: OptionInfo, value: Any) -> OptionField:
    """The widget for ``info`` showing ``value``."""
    meta = info.meta
    if "check" in meta or info.kind is bool:
        on, off = meta.get("check", (True, False))
        box = QCheckBox(info.label)
        field = OptionField(info, box, lambda: on if box.isChecked() else off,
                            lambda v: box.setChecked(v == on), label="")
    elif meta.get("choices") is not None or meta.get("catalogue"):
        field = _combo_field(info, meta.get("choices") or ())
    elif info.kind in (int, float):
        field = _spin_field(info)
    else:
        edit = QLineEdit()
        edit.setPlaceholderText(meta.get("none_text", ""))

        def read() -> Any:
            text = edit.text().strip()
            return None if not text and info.default is None else info.parse(text)

        field = OptionField(info, edit, read, lambda v: edit.setText("" if v is None else info.format(v)),
                            label=info.label)
    field.widget.setToolTip(info.help)
    field.widget.setObjectName(f"option_{info.name}")
    field.set_value(value)
    return field


def _combo_field(info: OptionInfo, choices: Sequence[Any]) -> OptionField:
    combo = QComboBox()
    editable = bool(info.meta.get("editable"))
    combo.setEditable(editable)
    for c in choices:
        value, text = c if isinstance(c, tuple) else (c, str(c))
        combo.addItem(text, value)

    def read() -> Any:
        i = combo.currentIndex()
        if editable and (i < 0 or combo.itemText(i) != combo.currentText()):
            return combo.currentText().strip()   # typed: any smp / timm name, cuda:1, …
        return combo.itemData(i)

    def put(value: Any) -> None:
        i = combo.findData(value)
        if i < 0:   # e.g. a name not listed (yet): shown as it is
            combo.addItem(info.format(value), value)
            i = combo.count() - 1
        combo.setCurrentIndex(i)

    return OptionField(info, combo, read, put, label=info.label)


def set_choices(field: OptionField, names: Sequence[str]) -> None:
    """Replaces a combo field's items (a catalogue arrived), keeping what it shows."""
    combo = field.widget
    assert isinstance(combo, QComboBox)
    current = field.value()
    combo.blockSignals(True)   # not a change of the user's choice: it shows the same value after
    try:
        combo.clear()
        for name in names:
            combo.addItem(name, name)
        field.set_value(current)
    finally:
        combo.blockSignals(False)


def _spin_field(info: OptionInfo) -> OptionField:
    meta = info.meta
    lo, hi = meta.get("min", 0), meta.get("max", 10**9)
    nullable = info.default is None
    if info.kind is int:
        spin: QSpinBox | QDoubleSpinBox = QSpinBox()
        if nullable:
            lo -= 1                                    # the lowest value stands for None
        spin.setRange(int(lo), int(hi))
        spin.setSingleStep(int(meta.get("step", 1)))
    else:
        spin = QDoubleSpinBox()
        spin.setDecimals(int(meta.get("decimals", 2)))
        spin.setRange(float(lo), float(hi))
        spin.setSingleStep(float(meta.get("step", 0.1)))
    if nullable:
        spin.setSpecialValueText(meta.get("none_text", "default"))

    def read() -> Any:
        if nullable and spin.value() == spin.minimum():
            return None
        return info.kind(spin.value())

    def put(value: Any) -> None:
        spin.setValue(spin.minimum() if value is None else value)

    return OptionField(info, spin, read, put, label=info.label)
