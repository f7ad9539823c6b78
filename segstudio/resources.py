"""Finds the bundled ``resources/`` folder (style sheet, icons, sample project).

Looked up, first hit wins: ``$SEGSTUDIO_RESOURCES``; a PyInstaller build (``sys._MEIPASS``,
where ``packaging/segstudio.spec`` puts ``resources/``); a source checkout or editable install
(``resources/`` beside the ``segstudio`` package); an installed wheel
(``<prefix>/share/segstudio/resources``, installed as data files).

Stdlib only: may be imported by any layer.
"""

from __future__ import annotations

import os
import site
import sys
from functools import lru_cache
from pathlib import Path


def _candidates() -> list[Path]:
    found: list[Path] = []
    env = os.environ.get("SEGSTUDIO_RESOURCES")
    if env:
        found.append(Path(env))
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        found.append(Path(meipass) / "resources")
    found.append(Path(__file__).resolve().parent.parent / "resources")
    prefixes = [sys.prefix, getattr(sys, "base_prefix", sys.prefix)]
    user_base = getattr(site, "USER_BASE", None)
    if user_base:
        prefixes.append(user_base)
    found.extend(Path(p) / "share" / "segstudio" / "resources" for p in prefixes)
    return found


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    """The resources folder; raises FileNotFoundError listing where it looked."""
    candidates = _candidates()
    for path in candidates:
        if (path / "sample_project").is_dir():
            return path
    raise FileNotFoundError(
        "segstudio resources not found; looked in: " + ", ".join(str(p) for p in candidates))


def resource_path(*parts: str) -> Path:
    """``resources_dir() / parts`` (the file may not exist; callers check)."""
    return resources_dir().joinpath(*parts)


def sample_project_dir() -> Path:
    return resource_path("sample_project")
