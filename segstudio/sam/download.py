"""Getting model files onto this machine: download (a job: progress, cancel, sha256) and import.

:func:`download_job` first checks, within ~1.5 s, that the host answers — offline, it raises
:class:`Offline` at once with a message naming the model and how to import it instead. Files
are streamed to ``<name>.part`` beside the target, hashed on the way, and moved into place
(``os.replace``) only when the sha256 matches; a cancelled or failed download leaves nothing.
Zip archives (MobileSAM) are unpacked member by member, each member checked.

:func:`import_model` copies a file or folder of ``.onnx`` files into the model folder: a file
whose sha256 is a known blob goes where it belongs; otherwise ``--name``/``--family`` say
what the encoder/decoder pair is (files told apart by "encoder"/"decoder" in their names).

Pure: stdlib + segstudio.core.jobs / io.atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Generator
from pathlib import Path
from urllib.parse import urlparse

from segstudio.core.io.atomic import atomic_write_bytes
from segstudio.core.jobs import Progress
from segstudio.core.net import url_reachable
from segstudio.sam.families import get_family
from segstudio.sam.models import KNOWN_MODELS, ROLES, ModelMissing, find_local, models_dir

CHUNK = 1 << 20


class Offline(ModelMissing):
    """The download host cannot be reached (no network, or it is blocked)."""


class ChecksumError(OSError):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def reachable(url: str, timeout: float = 1.5) -> bool:
    """True when a TCP connection to ``url``'s host (or the HTTPS proxy) opens in ``timeout`` s.
    Name resolution has no timeout of its own, so it runs in a daemon thread that is abandoned."""
    if os.environ.get("SEGSTUDIO_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    return url_reachable(url, timeout)


def _fetch(url: str, dest: Path, sha256: str | None, what: str) -> Generator[Progress, None, None]:
    """Streams ``url`` to ``dest`` (atomic; sha256 checked). Closing the generator cancels."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as resp:   # noqa: S310
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            yield Progress(0, total, f"{what}: connecting")
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                yield Progress(done, total, f"{what}: {done / 1e6:.1f} MB")
        if sha256 and h.hexdigest() != sha256:
            raise ChecksumError(f"{url}: sha256 {h.hexdigest()} is not the published {sha256}; "
                                f"the file was not kept")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_job(name: str) -> Generator[Progress, None, Path]:
    """Downloads known model ``name`` into the model folder; returns that folder."""
    model = KNOWN_MODELS.get(name)
    if model is None:
        raise ModelMissing(f"{name!r} is not a model segstudio knows how to download "
                           f"(known: {', '.join(KNOWN_MODELS)}); import its files instead")
    folder = models_dir() / name
    if find_local(name) is not None:
        return folder   # no network call when the files are here
    urls = sorted({b.url for b in model.files.values()})
    if not reachable(urls[0]):
        raise Offline(f"cannot download {name!r}: {urlparse(urls[0]).hostname} cannot be reached "
                      f"(offline?). On a machine with internet download {', '.join(urls)}, copy the "
                      f"files here and run `segstudio sam import {name} FOLDER`.")
    archives: dict[str, Path] = {}
    for role, blob in model.files.items():
        target = folder / f"{role}.onnx"
        if target.is_file() and (blob.sha256 is None or sha256_file(target) == blob.sha256):
            continue
        if blob.member is None:
            yield from _fetch(blob.url, target, blob.sha256, f"{name} {role}")
            continue
        if blob.url not in archives:
            archives[blob.url] = folder / ".archive.zip"
            yield from _fetch(blob.url, archives[blob.url], None, f"{name} archive")
        with zipfile.ZipFile(archives[blob.url]) as zf:
            members = [m for m in zf.namelist() if m.endswith("/" + blob.member) or m == blob.member]
            if not members:
                raise ModelMissing(f"{blob.url}: no {blob.member} inside the archive")
            fd, tmp = tempfile.mkstemp(suffix=".part", dir=folder)
            with os.fdopen(fd, "wb") as out, zf.open(members[0]) as src:
                shutil.copyfileobj(src, out, CHUNK)
            if blob.sha256 and sha256_file(Path(tmp)) != blob.sha256:
                os.unlink(tmp)
                raise ChecksumError(f"{blob.url}: {blob.member} does not have the published sha256")
            os.replace(tmp, target)
    for arc in archives.values():
        arc.unlink(missing_ok=True)
    return folder


def _role_of(path: Path) -> str | None:
    low = path.name.lower()
    hits = [r for r in ROLES if r in low]
    return hits[0] if len(hits) == 1 else None


def import_model(src: Path, name: str | None = None, family: str | None = None,
                 licence: str = "") -> str:
    """Copies the ``.onnx`` file(s) at ``src`` into the model folder; returns the model's name."""
    src = Path(src)
    files = sorted(src.rglob("*.onnx")) if src.is_dir() else [src] if src.is_file() else []
    if not files:
        raise FileNotFoundError(f"{src}: no .onnx files there")
    by_sha = {b.sha256: (m.name, r) for m in KNOWN_MODELS.values() for r, b in m.files.items() if b.sha256}
    placed: dict[str, dict[str, Path]] = {}
    unknown: list[Path] = []
    for f in files:
        hit = by_sha.get(sha256_file(f))
        if hit and (name is None or hit[0] == name):
            placed.setdefault(hit[0], {})[hit[1]] = f
        else:
            unknown.append(f)
    if name is not None and name not in placed and unknown:
        if name in KNOWN_MODELS and family is None:
            family = KNOWN_MODELS[name].family
        if family is None:
            raise ValueError(f"{src}: these files are not a known model's; say which family they "
                             f"follow (--family sam|sam2)")
        get_family(family)
        roles = {_role_of(f): f for f in unknown}
        if set(ROLES) - roles.keys():
            raise ValueError(f"{src}: cannot tell the encoder from the decoder (file names should "
                             f"contain 'encoder' and 'decoder'): {[f.name for f in unknown]}")
        placed[name] = {r: roles[r] for r in ROLES}
        meta = {"family": family, "licence": licence, "source": str(src)}
        atomic_write_bytes(models_dir() / name / "model.json", json.dumps(meta, indent=1).encode())
    done = [n for n, roles in placed.items() if set(roles) == set(ROLES) or find_local(n) is not None
            or (models_dir() / n).is_dir()]
    if not done:
        raise ValueError(f"{src}: no complete encoder/decoder pair of a known model found; give "
                         f"--name and --family to import your own export")
    for n in done:
        folder = models_dir() / n
        folder.mkdir(parents=True, exist_ok=True)
        for role, f in placed[n].items():
            fd, tmp = tempfile.mkstemp(suffix=".part", dir=folder)
            os.close(fd)
            shutil.copyfile(f, tmp)
            os.replace(tmp, folder / f"{role}.onnx")
    return done[0]
