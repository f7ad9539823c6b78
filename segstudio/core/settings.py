"""Typed user preferences, stored as JSON under the user config dir (platformdirs).

``load_preferences()`` never fails: a missing file gives the defaults, a broken file or a
field of the wrong type logs a warning and falls back to the default for what is broken.
``save_preferences()`` writes atomically. Window geometry, dock state and recent files are
not preferences; the UI keeps them in QSettings.

``SEGSTUDIO_CONFIG_DIR`` / ``SEGSTUDIO_DATA_DIR`` override the platform dirs (tests, portable
installs).

May import: stdlib, platformdirs, segstudio.core.io.atomic. No Qt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from segstudio.core.io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

APP_NAME = "segstudio"
PREFERENCES_FILE = "preferences.json"
MAX_RECENT_CLASSES = 20


def config_dir() -> Path:
    env = os.environ.get("SEGSTUDIO_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    env = os.environ.get("SEGSTUDIO_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass
class Preferences:
    autosave: bool = True
    autosave_idle_s: float = 10.0          # save this long after the last edit
    brush_radius: float = 8.0
    polygon_tolerance: float = 1.0         # px, mask → polygon simplification
    min_region_area: float = 4.0           # px², smaller regions are dropped on mask → polygons
    output_dir: str = ""                   # empty: JSON sidecars beside the images
    undo_memory_mb: int = 512
    recent_classes: list[str] = field(default_factory=list)
    last_project: str = ""
    fill_opacity: float = 0.35
    score_after_training: bool = True      # Label next: score unlabelled images once training ends
    repredict_after_training: bool = True  # …and pre-annotate them with the new model (never a person's)

    def remember_class(self, name: str) -> None:
        """Moves ``name`` to the front of the recent-classes list."""
        self.recent_classes = [name] + [c for c in self.recent_classes if c != name]
        del self.recent_classes[MAX_RECENT_CLASSES:]


def _coerce(name: str, value: Any, default: Any) -> Any:
    """``value`` if it fits the type of ``default`` (ints accepted for floats), else raise."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        # NaN/inf (json accepts them) would reach brush sizes and timers
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = True
    if not ok:
        raise TypeError(f"{name}: expected {type(default).__name__}, got {value!r}")
    return value


def preferences_path() -> Path:
    return config_dir() / PREFERENCES_FILE


def load_preferences(path: str | Path | None = None) -> Preferences:
    path = Path(path) if path else preferences_path()
    prefs = Preferences()
    if not path.exists():
        return prefs
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
    except (OSError, ValueError) as exc:
        log.warning("preferences file %s is unreadable (%s); using defaults", path, exc)
        return prefs
    for f in dataclasses.fields(Preferences):
        if f.name not in data:
            continue
        try:
            setattr(prefs, f.name, _coerce(f.name, data[f.name], getattr(prefs, f.name)))
        except TypeError as exc:
            log.warning("preferences file %s: %s; using the default", path, exc)
    return prefs


def save_preferences(prefs: Preferences, path: str | Path | None = None) -> None:
    """Writes ``prefs`` atomically. Keys this version does not know (a newer version's, a
    plug-in's) are kept; a file that does not parse is first kept aside as ``<name>.broken``,
    so a hand edit with a typo is not lost."""
    path = Path(path) if path else preferences_path()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(old, dict):
                raise ValueError("top level is not an object")
        except (OSError, ValueError) as exc:
            backup = path.with_name(path.name + ".broken")
            log.warning("preferences file %s is unreadable (%s); keeping it as %s", path, exc, backup)
            try:
                atomic_write_bytes(backup, path.read_bytes())
            except OSError as copy_exc:
                log.warning("cannot keep a copy of %s (%s)", path, copy_exc)
        else:
            known = {f.name for f in dataclasses.fields(Preferences)}
            data = {k: v for k, v in old.items() if k not in known}
    data.update(dataclasses.asdict(prefs))
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
