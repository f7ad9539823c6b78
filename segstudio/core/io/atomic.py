"""Atomic file writes: the user's files are either the old version or the new one, never half.

Writes go to a temporary file in the destination folder (same file system, so ``os.replace``
is atomic), are flushed and fsynced, then replace the destination. On any error the temporary
file is removed and the destination is untouched. Stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (creating parent folders as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
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
