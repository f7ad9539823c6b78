"""Dataset export/import: the shared types and the format registry.

Options (:class:`ExportOptions`, :class:`ImportOptions`), the records exchanged with each format
module (:class:`ExportItem`, :class:`ImportedImage`, :class:`ExportReport`), the error every
format raises (:class:`DatasetError`) and ``FORMATS`` (format name → module). The drivers live
beside it: :mod:`.export_driver` (items from a project, split, image placement, running an
exporter) and :mod:`.import_driver` (label maps to shapes, writing the imported project).

Exporters are generator jobs (:mod:`segstudio.core.jobs`) over a list of :class:`ExportItem`
taken from the in-memory project (unsaved edits included), so the GUI (worker thread) and the
CLI (tqdm) run the same code. Every exporter walks its images with
:func:`segstudio.core.formats.export_run.export_each`: one bad image (unreadable file, broken
annotation, a shape that cannot be drawn) is left out and listed in :attr:`ExportReport.problems`,
the others are exported, and the split/index files are written even then (and after a cancel),
listing exactly the images that were exported. Importers are generator jobs returning
:class:`ImportedImage` records that :func:`.import_driver.write_project` turns into a segstudio
project (images + labelme sidecars).

Pure: stdlib, numpy, PIL and segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segstudio.core.model import ImageAnnotation

#: format name → module under segstudio.core.formats
FORMATS: dict[str, str] = {"voc": "voc", "coco": "coco", "yolo": "yolo", "masks": "masks",
                           "labelme": "labelme_fmt"}
OVERLAP_RULE = "later shapes paint over earlier ones (labelme)"
SPLITS = ("train", "val", "test")
IMAGE_MODES = ("copy", "link", "none")


class DatasetError(ValueError):
    """A dataset cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how (frozen: handed to a worker thread as-is)."""

    classes: tuple[str, ...] | None = None   # None = every class of the project (in order)
    split: tuple[float, float, float] = (1.0, 0.0, 0.0)   # train / val / test fractions
    seed: int = 0
    images: str = "copy"                     # copy | link | none
    include_unlabelled: bool = False         # images without any annotation file
    overlap_rule: str = OVERLAP_RULE         # stated in the output; the only rule implemented
    coco_masks: str = "polygon"              # COCO: polygon (labelme-like) | rle (pixel-exact)
    colors: dict[str, tuple[int, int, int]] | None = None   # class colours (masks' classes.json)

    def __post_init__(self) -> None:
        if self.images not in IMAGE_MODES:
            raise ValueError(f"images must be one of {IMAGE_MODES}, got {self.images!r}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ValueError(f"split needs three non-negative fractions, got {self.split}")


@dataclass(frozen=True)
class ImportOptions:
    mask_mode: str = "polygon"    # masks become polygons (holes kept as masks) or mask shapes
    tolerance: float = 0.0        # polygon simplification in pixels; 0 = pixel-exact
    images: str = "copy"          # how write_project brings images into the project: copy | link
    include_labelled: bool = False   # into an existing project: also add to files a person labelled


@dataclass
class ExportItem:
    """One image to export. ``annotation`` is a snapshot (copied on the GUI thread) or None,
    in which case the worker reads ``annotation_path`` itself."""

    name: str                    # unique output stem (unicode kept, '/' flattened)
    image_path: Path
    annotation: ImageAnnotation | None = None
    annotation_path: Path | None = None
    error: str | None = None     # why the project could not load it: exported as a problem

    def load(self) -> ImageAnnotation:
        if self.error is not None:
            raise DatasetError(self.error)
        if self.annotation is not None:
            return self.annotation
        if self.annotation_path is not None and self.annotation_path.exists():
            from segstudio.core.io.labelme import read_labelme_for_image

            return read_labelme_for_image(self.annotation_path, self.image_path)
        from segstudio.core.io.images import image_size

        w, h = image_size(self.image_path)
        return ImageAnnotation(self.image_path.name, w, h)


@dataclass
class ImportedImage:
    """One image read from a dataset: where its pixels are and its annotation."""

    name: str                    # relative output path without extension (may contain '/')
    annotation: ImageAnnotation
    image_path: Path | None = None
    image_bytes: bytes | None = None   # when the dataset embeds the image (labelme imageData)
    suffix: str = ".png"
    skipped: str | None = None   # why write_project left it out (its JSON a person labelled)


@dataclass
class ExportReport:
    out_dir: Path
    format: str
    images: int = 0
    splits: dict[str, list[str]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    skipped_labels: dict[str, int] = field(default_factory=dict)   # label → shapes not exported
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # "<image>: <why>" for each image left out

    @property
    def ok(self) -> bool:
        """True when every image was exported (the CLI exits non-zero otherwise)."""
        return not self.problems


# -- registry -----------------------------------------------------------------------------------
def format_module(name: str) -> Any:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(f"segstudio.core.formats.{FORMATS[name]}")
