"""Parameter dataclasses of the algorithms: UI metadata, validation and ``key=value`` parsing.

Every algorithm has a frozen dataclass of parameters with defaults. Each field carries UI
metadata through ``dataclasses.field(metadata=...)`` with the keys ``label``, ``min``, ``max``,
``step``, ``choices``, ``help`` and optionally ``odd`` (integer must be odd) — the auto-segment
panel generates its form from it and the CLI's ``--param key=value`` is checked against it.

Pure: stdlib only.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from typing import Any


class ParamError(ValueError):
    """A parameter value is out of range / of the wrong type; the message names method and key."""


def param(default: Any, label: str = "", help: str = "", *, min: float | None = None,
          max: float | None = None, step: float | None = None, choices: tuple | None = None,
          odd: bool = False) -> Any:
    """A dataclass field with UI metadata (the house convention for algorithm parameters)."""
    meta: dict[str, Any] = {"label": label, "help": help}
    for k, v in (("min", min), ("max", max), ("step", step), ("choices", choices)):
        if v is not None:
            meta[k] = v
    if odd:
        meta["odd"] = True
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as the UI/CLI sees it."""

    name: str
    kind: type            # bool, int, float or str
    default: Any
    label: str
    help: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple | None = None
    odd: bool = False


def _kind(tp: Any) -> type:
    if isinstance(tp, type):
        return tp
    name = str(tp)
    for t in (bool, int, float, str):
        if name == t.__name__:
            return t
    return str


def describe(params_cls: type) -> list[ParamInfo]:
    """The fields of ``params_cls`` with their metadata, in declaration order."""
    return list(_describe(params_cls))


@functools.cache
def _describe(params_cls: type) -> tuple[ParamInfo, ...]:
    # cached: get_type_hints evaluates the string annotations on every call, which made it the
    # largest fixed cost of a quick method run (validation runs on every preview)
    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        m = f.metadata
        out.append(ParamInfo(f.name, _kind(hints.get(f.name, f.type)), f.default,
                             m.get("label") or f.name.replace("_", " "), m.get("help", ""),
                             m.get("min"), m.get("max"), m.get("step"), m.get("choices"),
                             bool(m.get("odd", False))))
    return tuple(out)


def _convert(method: str, info: ParamInfo, value: Any) -> Any:
    where = f"method {method!r}: parameter {info.name!r}"
    if info.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
            return False
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ParamError(f"{where} must be true or false, got {value!r}")
    if info.kind is int:
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where} must be an integer, got {value!r}") from None
    if info.kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where} must be a number, got {value!r}") from None
    return str(value)


def check_value(method: str, info: ParamInfo, value: Any) -> Any:
    """Converts and range-checks one value; raises :class:`ParamError` with a clear message."""
    v = _convert(method, info, value)
    where = f"method {method!r}: parameter {info.name!r}"
    if info.choices is not None and v not in info.choices:
        raise ParamError(f"{where} must be one of {', '.join(map(str, info.choices))}, got {v!r}")
    if info.min is not None and v < info.min:
        raise ParamError(f"{where} must be >= {info.min}, got {v!r}")
    if info.max is not None and v > info.max:
        raise ParamError(f"{where} must be <= {info.max}, got {v!r}")
    if info.odd and int(v) % 2 == 0:
        raise ParamError(f"{where} must be odd, got {v!r}")
    return v


def make_params(method: str, params_cls: type, values: dict[str, Any] | None = None) -> Any:
    """An instance of ``params_cls`` from ``values`` (strings or typed), every value checked."""
    infos = {i.name: i for i in describe(params_cls)}
    values = dict(values or {})
    unknown = sorted(set(values) - set(infos))
    if unknown:
        raise ParamError(f"method {method!r}: unknown parameter {unknown[0]!r} "
                         f"(known: {', '.join(infos) or 'none'})")
    kwargs = {k: check_value(method, infos[k], v) for k, v in values.items()}
    obj = params_cls(**kwargs)
    validate(method, obj)
    return obj


def validate(method: str, params: Any) -> None:
    """Checks every field of an existing params instance (e.g. built in code or by the UI)."""
    for info in describe(type(params)):
        check_value(method, info, getattr(params, info.name))
    extra = getattr(params, "check", None)
    if callable(extra):   # cross-field rules, e.g. low < high
        msg = extra()
        if msg:
            raise ParamError(f"method {method!r}: {msg}")


def parse_assignments(method: str, items: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` → ``{"k": "v"}``; a malformed item raises :class:`ParamError`."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"method {method!r}: expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out
