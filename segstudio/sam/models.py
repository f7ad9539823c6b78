"""The known Segment-Anything models and where their files are: one table, local look-ups only.

:data:`KNOWN_MODELS` is the one declaration of a model (name, family, files with URL and
sha256, licence); ``segstudio sam models`` and the Model ▸ Segment-Anything models… dialog
list it. A model's files are found, without any network call, in

1. our model folder ``<data dir>/sam/<name>/`` (``encoder.onnx``, ``decoder.onnx``; imported
   or downloaded models; a ``model.json`` there declares an imported model's family), then
2. osam's blob cache ``~/.cache/osam/models/blobs/sha256:<hex>`` — labelme's AI tools download
   there, so labelme users need nothing new (matched by the sha256 osam names them by).

Downloading and importing are in :mod:`segstudio.sam.download`.

Pure: stdlib + segstudio.core.settings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from segstudio.core.settings import data_dir
from segstudio.sam.families import get_family

ROLES = ("encoder", "decoder")
PRESENT, MISSING = "present", "missing"


@dataclass(frozen=True)
class Blob:
    url: str
    sha256: str | None            # hex; None: not pinned (the download says so)
    size: int | None = None       # bytes, when published
    member: str | None = None     # the file inside ``url`` when it is a zip archive


@dataclass(frozen=True)
class KnownModel:
    name: str
    family: str
    title: str
    licence: str
    files: dict[str, Blob] = field(default_factory=dict)   # role → blob
    source: str = ""
    osam_name: str = ""           # the same model in labelme/osam


_LABELME = "https://github.com/wkentaro/labelme/releases/download/sam-20230416/"
_OSAM = "https://github.com/wkentaro/osam/releases/download/sam2.1/"
_MOBILE = "https://huggingface.co/vietanhdev/segment-anything-onnx-models/resolve/main/mobile_sam_20230629.zip"

KNOWN_MODELS: dict[str, KnownModel] = {m.name: m for m in (
    KnownModel("sam-vit-b", "sam", "SAM ViT-B (quantized)", "Apache-2.0", {
        "encoder": Blob(_LABELME + "sam_vit_b_01ec64.quantized.encoder.onnx",
                        "3346b9cc551c9902fbf3b203935e933592b22e042365f58321c17fc12641fd6a"),
        "decoder": Blob(_LABELME + "sam_vit_b_01ec64.quantized.decoder.onnx",
                        "edbcf1a0afaa55621fb0abe6b3db1516818b609ea9368f309746a3afc68f7613")},
        "Meta AI Segment Anything; ONNX by labelme", "sam:100m"),
    KnownModel("mobile-sam", "sam", "MobileSAM", "Apache-2.0", {
        "encoder": Blob(_MOBILE, "20deef402855b31222b528f52b04807e41ebe47216ac0e39a0729f43491a0209",
                        None, "mobile_sam.encoder.onnx"),
        "decoder": Blob(_MOBILE, "22cf85e35d14182f4b4712364264c06b22edbef63f065189586f080ef4e2f325",
                        None, "sam_vit_h_4b8939.decoder.onnx")},
        "MobileSAM (Kyung Hee Univ.); ONNX by samexporter (zip, 36.7 MB)"),
    KnownModel("sam2.1-tiny", "sam2-osam", "SAM 2.1 tiny", "Apache-2.0", {
        "encoder": Blob(_OSAM + "sam2.1_tiny_preprocess.onnx",
                        "5557482c56565f6a6c8206874b1a11c392cef8a1766477bf035b919092f2b619"),
        "decoder": Blob(_OSAM + "sam2.1_tiny.onnx",
                        "11a2c86fabbea9d0268213a9205c99a7f7e379caa0493bd13f5cca8ffaae6777")},
        "Meta AI SAM 2.1; ONNX by osam", "sam2:tiny"),
    KnownModel("sam2.1-small", "sam2-osam", "SAM 2.1 small", "Apache-2.0", {
        "encoder": Blob(_OSAM + "sam2.1_small_preprocess.onnx",
                        "06016c6dfb146ce10e4dadfdf49e88a05c8d1f97a6b7c57e150e60d2d46a72e7"),
        "decoder": Blob(_OSAM + "sam2.1_small.onnx",
                        "153aaef5047a3b95285d90cbb39dad6c7b5821bfd944dbf56483f3f735936941")},
        "Meta AI SAM 2.1; ONNX by osam", "sam2:small"),
)}


class ModelMissing(LookupError):
    """A model's files are not on this machine (the message says how to get them)."""


def models_dir() -> Path:
    env = os.environ.get("SEGSTUDIO_SAM_DIR")
    return Path(env) if env else data_dir() / "sam"


def osam_blobs_dir() -> Path:
    return Path.home() / ".cache" / "osam" / "models" / "blobs"


@dataclass(frozen=True)
class LocalModel:
    """A model whose files are on this machine."""

    name: str
    family: str
    files: dict[str, Path]
    where: str                    # "segstudio" | "osam"
    licence: str = ""


def _own(name: str) -> LocalModel | None:
    folder = models_dir() / name
    files = {r: folder / f"{r}.onnx" for r in ROLES}
    if not all(p.is_file() for p in files.values()):
        return None
    family = KNOWN_MODELS[name].family if name in KNOWN_MODELS else ""
    licence = KNOWN_MODELS[name].licence if name in KNOWN_MODELS else ""
    meta = folder / "model.json"
    if meta.is_file():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            family, licence = info.get("family", family), info.get("licence", licence)
        except (OSError, ValueError):
            pass   # the known family (if any) still applies
    if not family:
        return None
    return LocalModel(name, family, files, "segstudio", licence)


def _osam(model: KnownModel) -> LocalModel | None:
    blobs = osam_blobs_dir()
    if not model.osam_name or not blobs.is_dir():
        return None
    files = {r: blobs / f"sha256:{b.sha256}" for r, b in model.files.items()}
    if all(p.is_file() for p in files.values()):
        return LocalModel(model.name, model.family, files, "osam", model.licence)
    return None


def find_local(name: str) -> LocalModel | None:
    """The model's files on this machine, or None. Reads only the local disk."""
    own = _own(name)
    if own is not None:
        return own
    known = KNOWN_MODELS.get(name)
    return _osam(known) if known else None


def imported_names() -> list[str]:
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in KNOWN_MODELS
                  and (p / "model.json").is_file())


def all_names() -> list[str]:
    return [*KNOWN_MODELS, *imported_names()]


def missing_message(name: str) -> str:
    if name not in KNOWN_MODELS and name not in imported_names():
        return (f"unknown Segment-Anything model {name!r} (known: {', '.join(all_names())}); "
                f"import your own with: segstudio sam import --name {name} --family sam FOLDER")
    return (f"Segment-Anything model {name!r} is not on this machine (looked in {models_dir() / name} "
            f"and labelme's cache {osam_blobs_dir()}). Download it with `segstudio sam download {name}` "
            f"(or Model ▸ Segment-Anything models… ▸ Download), or on a machine without internet copy "
            f"its encoder/decoder .onnx files here and run `segstudio sam import {name} FOLDER`.")


def require(name: str) -> LocalModel:
    """The local model, or :class:`ModelMissing` with what to do — at once, no network call."""
    local = find_local(name)
    if local is None:
        raise ModelMissing(missing_message(name))
    get_family(local.family)
    return local


def status_rows() -> list[dict]:
    """One row per model (known and imported) for the CLI table and the dialog."""
    rows = []
    for name in all_names():
        known = KNOWN_MODELS.get(name)
        local = find_local(name)
        size = (sum(p.stat().st_size for p in local.files.values()) if local
                else sum(b.size or 0 for b in known.files.values()) if known else 0)
        rows.append({
            "name": name, "family": local.family if local else known.family if known else "?",
            "title": known.title if known else name,
            "licence": (local.licence if local and local.licence else known.licence if known else "?"),
            "size": size or None, "status": PRESENT if local else MISSING,
            "where": local.where if local else "",
            "sha256": {r: b.sha256 for r, b in known.files.items()} if known else {},
            "url": sorted({b.url for b in known.files.values()}) if known else [],
        })
    return rows
