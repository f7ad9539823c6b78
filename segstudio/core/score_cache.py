"""The uncertainty scores of one model, cached under the project: ``.segstudio/scores/<sha256>.json``.

The file is named after the SHA-256 of the checkpoint file, so a retrained (changed) model never
reads another model's scores; inside, each image's record carries the image file's mtime and size,
and the file records the scoring options: a changed image or other options mean "score again".
Keys are image paths relative to the project folder (posix), so a moved project keeps its cache.
A cache file that cannot be read is treated as empty and rewritten — it is derived data.

Read by the GUI without torch (score column, Label next) and written by
:func:`segstudio.ml.uncertainty.score_images`. May import: stdlib, segstudio.core.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from segstudio.core.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCORES_DIR = Path(".segstudio") / "scores"
FORMAT_VERSION = 1


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_stamp(path: str | Path) -> dict[str, int]:
    """What tells that an image file changed since it was scored (mtime in ns, size)."""
    st = Path(path).stat()
    return {"mtime_ns": int(st.st_mtime_ns), "size": int(st.st_size)}


def scores_file(project_dir: str | Path, model_sha256: str) -> Path:
    return Path(project_dir) / SCORES_DIR / f"{model_sha256}.json"


class ScoreCache:
    """Per-image records of one model under one set of options; :meth:`save` writes atomically."""

    def __init__(self, path: str | Path, model_sha256: str, options: dict[str, Any]) -> None:
        self.path = Path(path)
        self.model_sha256 = model_sha256
        self.options = dict(options)
        self.images: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable score cache, scoring again (%s)", self.path, exc)
            return
        if (not isinstance(data, dict) or data.get("version") != FORMAT_VERSION
                or data.get("model_sha256") != self.model_sha256 or data.get("options") != self.options):
            return   # other options (or a foreign file): every image is scored again
        images = data.get("images")
        if isinstance(images, dict):
            self.images = {k: v for k, v in images.items() if isinstance(v, dict)}

    def get(self, rel: str, stamp: dict[str, int]) -> dict[str, Any] | None:
        """The record of image ``rel`` if it was scored from the file as it is now."""
        rec = self.images.get(rel)
        if rec is None or rec.get("mtime_ns") != stamp["mtime_ns"] or rec.get("size") != stamp["size"]:
            return None
        return rec if isinstance(rec.get("score"), (int, float)) else None

    def put(self, rel: str, stamp: dict[str, int], record: dict[str, Any]) -> None:
        self.images[rel] = {**record, **stamp}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": FORMAT_VERSION, "model_sha256": self.model_sha256, "options": self.options,
                "images": self.images}
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_scores(path: str | Path) -> dict[str, dict[str, Any]]:
    """The per-image records of one score cache file ({} if it cannot be read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    images = data.get("images") if isinstance(data, dict) else None
    return images if isinstance(images, dict) else {}


def latest_scores(project_dir: str | Path, exclude: Collection[Path] = ()
                  ) -> tuple[Path | None, dict[str, dict[str, Any]]]:
    """(file, records) of the most recently written score cache of the project (but ``exclude``),
    for views that show scores without knowing which model made them; (None, {}) when none."""
    folder = Path(project_dir) / SCORES_DIR
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns) if folder.is_dir() else []
    for path in reversed(files):
        if path in exclude:
            continue
        records = read_scores(path)
        if records:
            return path, records
    return None, {}
