"""Atomic file writes: the user's files are either the old version or the new one, never half.

Writes go to a temporary file in the destination folder (same file system, so ``os.replace``
is atomic), are flushed and fsynced, then replace the destination. On any error the temporary
file is removed and the destination is untouched, and the error names the destination (a full
disk says which file could not be saved).

The temporary file is ``.<name>.segstudio-<random>.tmp``: hidden, and recognisable, so that
one left behind by a killed process can be found and removed (:func:`remove_stale_temp_files`,
called when a project opens) without ever touching a file someone else made. Stdlib only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_MARK = ".segstudio-"
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")
#: a temporary file untouched this long belongs to a save that died (a live save writes and
#: renames within seconds; the margin covers a slow network drive)
STALE_AFTER_S = 600.0


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once at import, not while threads write
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def file_mode_for(path: str | Path) -> int:
    """Permission bits for a file about to replace ``path``: those of the file there now, else
    what ``open()`` would give a new file (``mkstemp`` creates 0600 files, private to the user)."""
    with contextlib.suppress(OSError):
        return Path(path).stat().st_mode & 0o7777
    return 0o666 & ~_UMASK


def make_temp_file(path: str | Path) -> tuple[int, str]:
    """(fd, name) of a new temporary file beside ``path`` that will replace it."""
    path = Path(path)
    return tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=TEMP_SUFFIX, dir=path.parent)


def is_temp_file(name: str) -> bool:
    """True for the name of a temporary file made by :func:`make_temp_file`."""
    return bool(_TEMP_RE.match(name))


def remove_stale_temp_files(folder: str | Path, names: list[str] | None = None,
                            older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Removes the temporary files of killed saves in ``folder`` (``names``: its file names,
    when the caller listed them already); returns those removed."""
    folder = Path(folder)
    if names is None:
        try:
            names = os.listdir(folder)
        except OSError:
            return []
    now = time.time()
    removed = []
    for n in names:
        if not is_temp_file(n):
            continue
        p = folder / n
        with contextlib.suppress(OSError):
            if now - p.lstat().st_mtime > older_than_s:
                p.unlink()
                removed.append(p)
                log.info("removed %s, left behind by an interrupted save", p)
    return removed


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` in its message (ENOSPC from a write names no file)."""
    if str(path) in (str(exc.filename), str(exc.filename2)):
        return exc
    if exc.errno is not None:
        new = type(exc)(exc.errno, exc.strerror or str(exc), str(path))
    else:
        new = OSError(f"{path}: {exc}")
    return new


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (creating parent folders as needed). An
    ``OSError`` names ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temp_file(path)
    except OSError as exc:
        raise _naming(exc, path) from exc
    mode = file_mode_for(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from exc
        raise
    # make the rename itself durable where the platform allows syncing a folder
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Writes ``text`` to ``path`` atomically (``\\n`` line endings kept as given)."""
    atomic_write_bytes(path, text.encode(encoding))
