"""Training data: a frozen snapshot of the project's labelled images, their label maps
(rasterised with the export code), a deterministic train/val split and the torch datasets.

Two steps keep the GUI responsive and the worker off the project:
1. :func:`snapshot_project` (GUI thread or CLI, cheap): copies the shapes of every image a person
   labelled or accepted (``state == "labelled"``; labelme files from elsewhere count as labelled)
   into a :class:`DatasetSpec` of plain frozen values;
2. :func:`load_samples` (worker, a job yielding Progress): decodes the images (any format → RGB8,
   so grayscale and RGB mix) and rasterises with :func:`segstudio.core.rasterize.shapes_to_label`
   — unlabelled pixels of a labelled image are ``_background_`` (0), ``__ignore__`` → 255, which
   the losses and metrics skip.

The module itself imports no torch (the GUI snapshots the project with it on its own thread
and must stay torch-free); the datasets below are plain map-style sequences that
``torch.utils.data.DataLoader`` accepts, and import torch only when producing tensors.

May import: numpy, cv2, torch (inside functions), segstudio.core, segstudio.ml.augment.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core.jobs import CancelToken, Progress
from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL, LABELLED, Project, Shape, default_color
from segstudio.core.rasterize import IGNORE_VALUE, class_value_map, shapes_to_label
from segstudio.ml.augment import AugmentParams, augment_pair, pad_to

log = logging.getLogger(__name__)

#: the models downsample 5 times (2**5): padded inputs keep every encoder/decoder size equal
SIZE_MULTIPLE = 32


@dataclass(frozen=True)
class SampleSpec:
    """One labelled image: where its pixels are and a copy of its shapes."""

    key: str
    image_path: str
    shapes: tuple[Shape, ...]
    width: int
    height: int
    image_data: str | None = None   # labelme imageData when the JSON embeds the image


@dataclass(frozen=True)
class DatasetSpec:
    classes: tuple[str, ...]              # class names, "_background_" at index 0
    samples: tuple[SampleSpec, ...]
    skipped: tuple[str, ...] = ()         # messages for images left out (unreadable etc.)
    colors: tuple[tuple[int, int, int], ...] = ()   # one per class when known (for the checkpoint)


@dataclass
class TrainSample:
    """Decoded pixels: ``image`` HxWx3 uint8 and ``label`` HxW uint8 (255 = ignore)."""

    image: np.ndarray
    label: np.ndarray
    key: str = ""


@dataclass
class LoadedData:
    classes: list[str]
    samples: list[TrainSample]
    skipped: list[str] = field(default_factory=list)
    colors: list[tuple[int, int, int]] = field(default_factory=list)


def training_classes(project: Project, extra_labels: Sequence[str] = ()) -> list[str]:
    """``_background_`` then the project's classes, then labels only found in shapes."""
    names = [BACKGROUND_LABEL]
    for n in list(project.class_names()) + list(extra_labels):
        if n not in names and n != IGNORE_LABEL:
            names.append(n)
    return names


def snapshot_project(project: Project, classes: Sequence[str] | None = None) -> DatasetSpec:
    """Frozen copies of the labelled images' shapes (loads annotations not loaded yet).

    ``classes``: the model's classes (e.g. continuing from the current model); by default the
    project's. Shapes whose label is not among them are skipped with a log message.
    """
    from segstudio.core import project_io  # the io helper's module; imported late on purpose

    samples: list[SampleSpec] = []
    skipped: list[str] = []
    found: list[str] = []
    for entry in project.entries:
        if entry.error:
            skipped.append(entry.error)
            continue
        if entry.state != LABELLED and entry.key not in project.annotations:
            continue   # the folder scan already knows it is unlabelled / pre-annotated
        try:
            ann = project_io.load_annotation(project, entry.key, cache=False)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, the rest trains
            skipped.append(f"{entry.annotation_path}: {exc}")
            continue
        if ann.state != LABELLED:   # unlabelled and pre-annotated (not yet accepted) images
            continue
        shapes = tuple(s.copy(new_uid=False) for s in ann.shapes if s.label != "")
        for s in shapes:
            if s.label not in found:
                found.append(s.label)
        samples.append(SampleSpec(entry.key, str(entry.image_path), shapes, ann.width, ann.height,
                                  ann.image_data))
    names = list(classes) if classes is not None else training_classes(project, found)
    if names[0] != BACKGROUND_LABEL:
        names = [BACKGROUND_LABEL] + [n for n in names if n != BACKGROUND_LABEL]
    colors = []
    for i, n in enumerate(names):
        cls = project.get_class(n)
        colors.append((0, 0, 0) if i == 0 else tuple(cls.color) if cls is not None else default_color(i - 1))
    return DatasetSpec(tuple(names), tuple(samples), tuple(skipped), tuple(colors))


def _decode(spec: SampleSpec) -> np.ndarray:
    from segstudio.core.io.images import decode_image_data, load_image, to_rgb8

    path = Path(spec.image_path)
    if not path.exists() and spec.image_data:
        return to_rgb8(decode_image_data(spec.image_data, f"{spec.key} (imageData)"))
    return to_rgb8(load_image(path))


def rasterise(spec: SampleSpec, classes: Sequence[str], height: int, width: int) -> np.ndarray:
    """HxW uint8 label map of one sample (0 = background, 255 = ignore)."""
    value_of = class_value_map(list(classes), IGNORE_VALUE)
    unknown = [s.label for s in spec.shapes if s.label not in value_of]
    if unknown:
        log.info("%s: labels %s are not among the model's classes; skipped", spec.key, sorted(set(unknown)))
    cls, _ = shapes_to_label(spec.shapes, height, width, value_of, unknown="skip", dtype=np.uint8)
    return cls


def load_samples(spec: DatasetSpec, cancel: CancelToken | None = None) -> Generator[Progress, None, LoadedData]:
    """Decodes and rasterises every sample (a job: yields one Progress per image, phase "load";
    a set ``cancel`` token raises :class:`~segstudio.core.jobs.Cancelled` before the next image)."""
    if len(spec.classes) > IGNORE_VALUE:
        raise ValueError(f"{len(spec.classes)} classes: at most {IGNORE_VALUE} are supported")
    out: list[TrainSample] = []
    skipped = list(spec.skipped)
    n = len(spec.samples)
    for i, s in enumerate(spec.samples):
        if cancel is not None:
            cancel.check()   # a stop during the previous decode
        yield Progress(i, n, f"loading {Path(s.image_path).name}", {"phase": "load"})
        if cancel is not None:
            cancel.check()   # a stop while this Progress was out
        try:
            image = _decode(s)
        except Exception as exc:  # noqa: BLE001 - unreadable image: leave it out, say which
            skipped.append(f"{s.image_path}: {exc}")
            continue
        h, w = image.shape[:2]
        if (h, w) != (s.height, s.width) and s.height and s.width:
            log.warning("%s: annotation says %dx%d, image is %dx%d; using the image size",
                        s.key, s.width, s.height, w, h)
        out.append(TrainSample(image, rasterise(s, spec.classes, h, w), s.key))
    yield Progress(n, n, "images loaded", {"phase": "load"})
    return LoadedData(list(spec.classes), out, skipped, [tuple(c) for c in spec.colors])


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Deterministic shuffled split; at least one training image, and one validation image
    when ``val_fraction > 0`` and there are two or more images."""
    if n == 0:
        return [], []
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    n_val = min(n_val, n - 1)
    return sorted(order[n_val:]), sorted(order[:n_val])


def class_frequencies(samples: Sequence[TrainSample], num_classes: int) -> np.ndarray:
    """Pixel count per class over ``samples`` (ignore pixels not counted)."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for s in samples:
        lab = s.label[s.label != IGNORE_VALUE]
        counts += np.bincount(lab.ravel(), minlength=num_classes)[:num_classes]
    return counts


def balanced_class_weights(samples: Sequence[TrainSample], num_classes: int) -> list[float]:
    """Median-frequency balancing (Eigen & Fergus): rare classes weigh more; absent ones 1."""
    freq = class_frequencies(samples, num_classes).astype(np.float64)
    present = freq > 0
    if not present.any():
        return [1.0] * num_classes
    f = freq / freq.sum()
    med = np.median(f[present])
    w = np.where(present, med / np.maximum(f, 1e-12), 1.0)
    return np.clip(w, 0.05, 50.0).tolist()


def _tensors(image: np.ndarray, label: np.ndarray):
    import torch

    return (torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            torch.from_numpy(label.astype(np.int64)))


class TrainDataset:
    """Random augmented crops; item ``i`` of epoch ``e`` depends only on (seed, e, i).

    Returns uint8 CHW images (normalised on the device: 4× less to copy) and int64 labels.
    """

    def __init__(self, samples: Sequence[TrainSample], crop: int, augment: AugmentParams,
                 seed: int) -> None:
        self.samples = list(samples)
        self.crop = int(crop)
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        return self.item(i, key=i)

    def item(self, i: int, key: int):
        """Sample ``i`` augmented with the random choices of ``(seed, epoch, key)``."""
        s = self.samples[i]
        rng = np.random.default_rng([self.seed, self.epoch, key])
        img, lab = augment_pair(s.image, s.label, self.augment, self.crop, rng=rng, ignore_value=IGNORE_VALUE)
        return _tensors(img, lab)


class ValDataset:
    """Whole images (downscaled when their long side exceeds ``max_side``), padded by
    :func:`pad_collate` to a multiple of 32 with ignored pixels."""

    def __init__(self, samples: Sequence[TrainSample], max_side: int = 1024) -> None:
        self.samples = list(samples)
        self.max_side = int(max_side)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples[i]
        img, lab = s.image, s.label
        h, w = lab.shape
        if max(h, w) > self.max_side:
            import cv2

            f = self.max_side / max(h, w)
            size = (max(1, round(w * f)), max(1, round(h * f)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            lab = cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST)
        return _tensors(img, lab)


class CycleDataset:
    """``length`` items cycling over a TrainDataset (so a handful of images still makes an epoch
    of enough steps); each item keeps its own augmentation key."""

    def __init__(self, ds: TrainDataset, length: int) -> None:
        self.ds, self.length = ds, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        # i (not i mod n) keys the augmentation, so repeats of an image differ within an epoch
        return self.ds.item(i % len(self.ds), key=i)


def _worker_init(_: int) -> None:
    import cv2
    import torch

    cv2.setNumThreads(1)      # N workers × all-core OpenCV would oversubscribe the CPU
    torch.set_num_threads(1)


def make_loader(ds, batch: int, sampler, workers: int, *, pin: bool, drop_last: bool):
    """A DataLoader with :func:`pad_collate`; worker processes are spawned (never forked) when
    called off the main thread, where Qt threads may be running."""
    import threading

    from torch.utils.data import DataLoader

    kw: dict = {}
    if workers > 0:
        kw.update(worker_init_fn=_worker_init, persistent_workers=True, prefetch_factor=4)
        if threading.current_thread() is not threading.main_thread():
            kw["multiprocessing_context"] = "spawn"   # never fork a process running Qt threads
    return DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers, pin_memory=pin,
                      drop_last=drop_last, collate_fn=pad_collate, **kw)


def pad_collate(batch: list):
    """Stacks a batch, padding images (0) and labels (ignore) to a common multiple of 32."""
    import torch

    hs = [lab.shape[0] for _, lab in batch]
    ws = [lab.shape[1] for _, lab in batch]
    H = -(-max(hs) // SIZE_MULTIPLE) * SIZE_MULTIPLE
    W = -(-max(ws) // SIZE_MULTIPLE) * SIZE_MULTIPLE
    images = torch.zeros((len(batch), batch[0][0].shape[0], H, W), dtype=batch[0][0].dtype)
    labels = torch.full((len(batch), H, W), IGNORE_VALUE, dtype=torch.int64)
    for k, (img, lab) in enumerate(batch):
        images[k, :, :img.shape[1], :img.shape[2]] = img
        labels[k, :lab.shape[0], :lab.shape[1]] = lab
    return images, labels


__all__ = [
    "DatasetSpec", "SampleSpec", "TrainSample", "LoadedData", "snapshot_project", "load_samples",
    "split_indices", "TrainDataset", "ValDataset", "CycleDataset", "pad_collate", "make_loader",
    "balanced_class_weights", "training_classes", "pad_to",
]
