"""PASCAL VOC segmentation layout, export and import (labelme's ``labelme2voc`` semantics).

Export writes ``JPEGImages/``, ``SegmentationClass/`` (palette PNG, class index per pixel,
``__ignore__`` → 255), ``SegmentationClassVisualization/``, ``SegmentationObject/`` (instance
ids, 0 under ``__ignore__`` as labelme does), ``SegmentationObjectNpy/`` (the same ids as int32
``.npy``, labelme's layout), ``ImageSets/Segmentation/{train,val,test,trainval}.txt`` and
``class_names.txt`` (``_background_`` first). Every instance is kept: an object PNG is an 8-bit
palette PNG (the VOC convention) when the image has at most 255 instances, and a 16-bit grey PNG
when it has more (real nuclei images and Otsu/k-means results have hundreds); the ``.npy`` is
written for every image. Import reads the class and object maps back into editable shapes,
taking the instance ids from the ``.npy`` when there is one, else from the object PNG (8- or
16-bit).

Pure: numpy, OpenCV, PIL, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Generator, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.core.formats.base import (
    OVERLAP_RULE,
    SPLITS,
    DatasetError,
    ExportItem,
    ExportOptions,
    ExportReport,
    ImportedImage,
    ImportOptions,
)
from segstudio.core.formats.export_driver import assign_splits, count_skipped, place_image, value_map
from segstudio.core.formats.export_run import export_each
from segstudio.core.formats.import_driver import find_image, label_maps_to_shapes
from segstudio.core.io.atomic import atomic_write_bytes, atomic_write_text
from segstudio.core.jobs import Progress
from segstudio.core.model import BACKGROUND_LABEL, LABELLED, ImageAnnotation
from segstudio.core.rasterize import shapes_to_label

log = logging.getLogger(__name__)

def voc_colormap(n: int = 256) -> np.ndarray:
    """The PASCAL VOC palette (as labelme/imgviz ``label_colormap``): ``(n, 3)`` uint8."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


_PALETTE = voc_colormap(256)


#: what the exported dataset's README.txt says about its object maps
OBJECTS_NOTE = ("SegmentationObject/*.png: instance ids (0 = none); an 8-bit palette PNG when the "
                "image has at most 255 instances, a 16-bit grey PNG when it has more. "
                "SegmentationObjectNpy/*.npy: the same ids as int32 arrays (labelme's layout), "
                "for every image.")
MAX_OBJECTS = 65535   # a 16-bit PNG's range


def save_palette_png(path: Path, label: np.ndarray) -> None:
    """Class/instance indices as an 8-bit palette PNG (the VOC convention)."""
    if label.size and (label.min() < 0 or label.max() > 255):
        raise DatasetError(f"{path}: values outside 0..255 cannot be stored in a VOC PNG")
    im = Image.fromarray(label.astype(np.uint8), mode="P")
    im.putpalette(_PALETTE.flatten().tolist())
    _save_atomic(im, path)


def _save_atomic(im: Image.Image, path: Path, **params: object) -> None:
    buf = io.BytesIO()
    im.save(buf, format="JPEG" if path.suffix.lower() == ".jpg" else "PNG", **params)
    atomic_write_bytes(path, buf.getvalue())


def save_object_png(path: Path, ins: np.ndarray) -> None:
    """Instance ids: a palette PNG up to 255 instances (VOC tools read it), 16-bit grey above."""
    top = int(ins.max()) if ins.size else 0
    if top <= 255:
        save_palette_png(path, ins)
        return
    if top > MAX_OBJECTS or int(ins.min()) < 0:
        raise DatasetError(f"{path}: {top} instances do not fit a 16-bit PNG (at most {MAX_OBJECTS})")
    ok, png = cv2.imencode(".png", ins.astype(np.uint16))   # PIL cannot write 16-bit grey reliably
    if not ok:
        raise DatasetError(f"{path}: cannot encode the 16-bit object PNG")
    atomic_write_bytes(path, png.tobytes())


def save_npy(path: Path, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr, dtype=np.int32))
    atomic_write_bytes(path, buf.getvalue())


def visualization(image_rgb: np.ndarray | None, cls: np.ndarray) -> np.ndarray:
    """Class colours blended over the grey image (background and ignore stay grey)."""
    cls8 = np.clip(cls, 0, 255).astype(np.uint8)
    if image_rgb is None:
        base = np.full(cls.shape + (3,), 128, np.uint8)
    else:
        base = cv2.cvtColor(cv2.cvtColor(np.ascontiguousarray(image_rgb[..., :3]), cv2.COLOR_RGB2GRAY),
                            cv2.COLOR_GRAY2RGB)
    colors = cv2.LUT(cv2.merge([cls8, cls8, cls8]), _PALETTE.reshape(256, 1, 3))
    blend = cv2.addWeighted(base, 0.5, colors, 0.5, 0.0)
    fg = (cls8 > 0) & (cls8 != 255)
    np.copyto(base, blend, where=fg[..., None])
    return base


def export(items: Sequence[ExportItem], out: Path, classes: list[str],
           options: ExportOptions) -> Generator[Progress, None, ExportReport]:
    if len(classes) > 254:
        raise DatasetError(f"{out}: VOC PNGs hold at most 254 classes, {len(classes)} given")
    values = value_map(classes)
    report = ExportReport(out, "voc", classes=[BACKGROUND_LABEL, *classes])
    dirs = {k: out / k for k in ("JPEGImages", "SegmentationClass", "SegmentationClassVisualization",
                                 "SegmentationObject", "SegmentationObjectNpy", "ImageSets/Segmentation")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    split = assign_splits([it.name for it in items], options.split, options.seed)
    report.splits = {s: [] for s in SPLITS}

    def export_one(it: ExportItem, written: list[Path]) -> None:
        ann = it.load()
        cls, ins = shapes_to_label(ann.shapes, ann.height, ann.width, values, unknown="skip")
        ins[cls == 255] = 0   # labelme: instances are not marked under __ignore__
        rgb = _image_for_visualization(it, ann, cls.shape)   # raises for an unreadable image
        count_skipped(report, ann.shapes, values)
        # every file named before it is written, so a failure removes all of this image's files
        written.append(dirs["JPEGImages"] / f"{it.name}.jpg")
        img_path = place_image(it, ann, dirs["JPEGImages"] / it.name, options.images, jpeg=True)
        if img_path is not None:
            written.append(img_path)
        written.append(dirs["SegmentationClass"] / f"{it.name}.png")
        save_palette_png(written[-1], cls)
        written.append(dirs["SegmentationObject"] / f"{it.name}.png")
        save_object_png(written[-1], ins)
        written.append(dirs["SegmentationObjectNpy"] / f"{it.name}.npy")
        save_npy(written[-1], ins)
        written.append(dirs["SegmentationClassVisualization"] / f"{it.name}.jpg")
        _save_atomic(Image.fromarray(visualization(rgb, cls)), written[-1], quality=90)

    try:
        yield from export_each(items, report, split, export_one, desc="exporting VOC")
    finally:   # also after a cancel: the split files list exactly the images exported
        _write_index(out, dirs["ImageSets/Segmentation"], report)
    return report


def _image_for_visualization(it: ExportItem, ann: ImageAnnotation,
                             shape: tuple[int, ...]) -> np.ndarray | None:
    """The image's RGB pixels (None when only a size is known or the size differs)."""
    from segstudio.core.io.images import decode_image_bytes, load_image, to_rgb8

    if it.image_path.exists():
        arr = load_image(it.image_path)
    elif ann.image_data:
        import base64

        arr = decode_image_bytes(base64.b64decode(ann.image_data), str(it.image_path))
    else:
        return None
    rgb = to_rgb8(arr)
    return rgb if rgb.shape[:2] == shape else None


def _write_index(out: Path, sets: Path, report: ExportReport) -> None:
    for s in SPLITS:
        atomic_write_text(sets / f"{s}.txt", "".join(f"{n}\n" for n in report.splits[s]))
    atomic_write_text(sets / "trainval.txt",
                      "".join(f"{n}\n" for n in report.splits["train"] + report.splits["val"]))
    atomic_write_text(out / "class_names.txt", "\n".join(report.classes) + "\n")
    atomic_write_text(out / "README.txt",
                      f"Exported by segstudio. Overlaps: {OVERLAP_RULE}. __ignore__ = 255.\n"
                      f"{OBJECTS_NOTE}\n")


def read_class_names(root: Path, labels: Path | None = None) -> list[str] | None:
    path = labels or root / "class_names.txt"
    if not path.exists():
        return None
    names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    names = [n for n in names if n != "__ignore__"]
    if not names or names[0] != BACKGROUND_LABEL:
        names = [BACKGROUND_LABEL, *names]
    return names


def read_index_png(path: Path) -> np.ndarray:
    """Indices of a palette or grey PNG (RGB colour PNGs are mapped through the VOC palette)."""
    try:
        im = Image.open(path)
        im.load()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the label image ({exc})") from exc
    if im.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L"):
        return np.asarray(im).astype(np.int64)
    if im.mode in ("RGB", "RGBA"):
        rgb = np.asarray(im.convert("RGB")).astype(np.int64)
        codes = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
        pal = _PALETTE.astype(np.int64)
        lut = {int(r << 16 | g << 8 | b): i for i, (r, g, b) in enumerate(pal)}
        uniq, inv = np.unique(codes, return_inverse=True)
        try:
            mapped = np.array([lut[int(u)] for u in uniq])
        except KeyError as exc:
            raise DatasetError(f"{path}: colour {exc} is not in the VOC palette") from exc
        return mapped[inv].reshape(codes.shape)
    raise DatasetError(f"{path}: unsupported label image mode {im.mode}")


def read_objects(src: Path, stem: str) -> np.ndarray | None:
    """Instance ids of image ``stem``: ``SegmentationObjectNpy/<stem>.npy`` (labelme's, exact for
    any count) when present, else the object PNG — 255 there is VOC's "void" outline in an
    8-bit PNG, but an instance id in a 16-bit one. None when neither exists."""
    npy = src / "SegmentationObjectNpy" / f"{stem}.npy"
    if npy.is_file():
        try:
            ins = np.load(npy, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{npy}: cannot read the instance ids ({exc})") from exc
        if ins.ndim != 2 or not np.issubdtype(ins.dtype, np.integer):
            raise DatasetError(f"{npy}: not a 2-D integer array of instance ids")
        return np.where(ins < 0, 0, ins).astype(np.int64)
    png = src / "SegmentationObject" / f"{stem}.png"
    if not png.is_file():
        return None
    with Image.open(png) as im:
        wide = im.mode.startswith("I")
    ins = read_index_png(png)
    return ins if wide else np.where(ins == 255, 0, ins)


def import_dataset(src: Path, options: ImportOptions, labels: Path | None = None,
                   use_objects: bool = True) -> Generator[Progress, None, list[ImportedImage]]:
    cls_dir = src / "SegmentationClass"
    if not cls_dir.is_dir():
        raise DatasetError(f"{src}: no SegmentationClass/ folder (not a VOC segmentation dataset)")
    pngs = sorted(cls_dir.glob("*.png"))
    names = read_class_names(src, labels)
    if names is None:
        top = 0
        for p in pngs:
            arr = read_index_png(p)
            top = max(top, int(arr[arr != 255].max(initial=0)))
        names = [BACKGROUND_LABEL] + [f"class_{i}" for i in range(1, top + 1)]
        log.warning("%s: no class_names.txt, naming classes class_1..class_%d", src, top)
    out: list[ImportedImage] = []
    for k, p in enumerate(pngs):
        cls = read_index_png(p)
        ins = read_objects(src, p.stem) if use_objects else None
        if ins is not None and ins.shape != cls.shape:
            raise DatasetError(f"{src / 'SegmentationObject' / p.name}: size differs from {p}")
        shapes = label_maps_to_shapes(cls, names, options, ins_map=ins)
        img = find_image(src / "JPEGImages", p.stem)
        h, w = cls.shape
        ann = ImageAnnotation(img.name if img else f"{p.stem}.jpg", w, h, shapes, state=LABELLED)
        out.append(ImportedImage(p.stem, ann, img))
        yield Progress(k + 1, len(pngs), p.stem)
    return out
