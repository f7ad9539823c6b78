"""``segstudio predict``: pre-annotate images with a trained model (headless twin of Model ▸ Auto-segment).

Writes labelme JSON (default; marked "pre-annotated", existing shapes merged, replaced or the
image skipped; an image a person labelled is skipped unless ``--include-labelled``, and then
stays "labelled") or class-index PNGs (``--format masks``, alias ``png``), with a tqdm progress bar. Also imports a plain state dict
(``--arch/--encoder/--classes``) and exports ONNX / TorchScript / a segstudio checkpoint.

May import: segstudio.core, segstudio.ml (lazily, inside run), stdlib.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from segstudio.commands.common_args import (
    PER_IMAGE_FORMATS,
    add_device,
    add_format,
    add_quiet,
    checkpoint_out,
)

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict", help="pre-annotate images with a trained model",
        description="Run a segmentation model over an image or a folder and write labelme JSON "
                    "(pre-annotated shapes) or class-index PNGs.")
    p.add_argument("src", nargs="?", help="an image or a folder of images (searched recursively)")
    p.add_argument("out", nargs="?", help="output folder (may be SRC itself for labelme sidecars)")
    p.add_argument("--model", required=True, help="segstudio checkpoint (.safetensors) or, with "
                   "--arch/--encoder/--classes, a plain smp/PyTorch state dict")
    add_device(p)
    p.add_argument("--tile", type=int, default=1024, help="tile size in pixels (default 1024)")
    p.add_argument("--overlap", type=int, default=128, help="tile overlap in pixels (default 128)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass (default 4)")
    p.add_argument("--precision", choices=["auto", "fp16", "bf16", "fp32"], default="auto",
                   help="CUDA mixed precision (default auto: bf16 if supported, else fp16)")
    add_format(p, PER_IMAGE_FORMATS, "labelme", "labelme JSON (shapes) or class-index PNG masks")
    p.add_argument("--shape-mode", choices=["polygon", "mask"], default="polygon")
    p.add_argument("--tolerance", type=float, default=1.0, help="polygon simplification (px)")
    p.add_argument("--min-area", type=float, default=16.0, help="smallest region kept (px²)")
    p.add_argument("--classes-only", default=None, help="comma-separated classes to keep (default all)")
    p.add_argument("--min-confidence", type=float, default=0.0, help="drop pixels below this confidence")
    p.add_argument("--roi", default=None, help="x0,y0,x1,y1: only predict shapes inside this box")
    p.add_argument("--existing", choices=["merge", "replace", "skip"], default="merge",
                   help="when a JSON exists: keep its shapes and add (merge, default), replace "
                        "shapes of predicted classes, or leave the image alone (skip)")
    p.add_argument("--include-labelled", action="store_true",
                   help="also change images a person labelled (skipped by default); they stay "
                        "'labelled', and --existing says how their shapes are combined")
    g = p.add_argument_group("plain state dicts")
    g.add_argument("--arch", help="architecture of a plain state dict (e.g. Unet, FPN)")
    g.add_argument("--encoder", help="encoder of a plain state dict (e.g. resnet34)")
    g.add_argument("--classes", help="comma-separated class names, background first")
    g.add_argument("--in-channels", type=int, default=3)
    g = p.add_argument_group("exports (SRC/OUT may then be omitted)")
    g.add_argument("--save-checkpoint", metavar="FILE.safetensors", type=checkpoint_out,
                   help="write the model as a segstudio checkpoint")
    g.add_argument("--export-onnx", metavar="FILE", help="export the model to ONNX")
    g.add_argument("--export-torchscript", metavar="FILE", help="export the model to TorchScript")
    add_quiet(p)
    return p


def load_model(args: argparse.Namespace, device):
    """(model, meta) from a checkpoint, or from a plain state dict plus --arch/--encoder/--classes."""
    from segstudio.ml.checkpoint import import_state_dict, load_checkpoint

    if args.arch or args.encoder or args.classes:
        if not (args.arch and args.encoder and args.classes):
            raise ValueError("importing a plain state dict needs --arch, --encoder and --classes")
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
        return import_state_dict(args.model, args.arch, args.encoder, classes, in_channels=args.in_channels,
                                 device=device)
    return load_checkpoint(args.model, device)


def find_images(src: Path, skip: Path | None = None) -> list[Path]:
    from segstudio.core.io.images import is_image_file
    from segstudio.core.project_io import natural_key

    if src.is_file():
        return [src]
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such file or folder")
    found = []
    for dirpath, dirnames, filenames in os.walk(src):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if not n.startswith(".") and (skip is None or d / n != skip)]
        found += [d / f for f in filenames if not f.startswith(".") and is_image_file(d / f)]
    return sorted(found, key=lambda q: natural_key(q.relative_to(src).as_posix()))


def find_embedded(src: Path, images: list[Path], skip: Path | None = None) -> list[Path]:
    """labelme JSONs under ``src`` whose pixels live only in ``imageData`` (labelme's tutorial
    habit: ``imagePath`` names the JSON itself or nothing): no image file beside them and none
    where ``imagePath`` points. Only JSONs without a sibling image are read."""
    import json

    from segstudio.core.io.images import is_image_file
    from segstudio.core.project_io import natural_key, resolve_image_path

    if src.is_file():
        candidates = [src] if src.suffix.lower() == ".json" else []
    else:
        candidates = []
        for dirpath, dirnames, filenames in os.walk(src):
            d = Path(dirpath)
            dirnames[:] = [n for n in dirnames if not n.startswith(".") and (skip is None or d / n != skip)]
            candidates += [d / f for f in filenames if not f.startswith(".") and f.lower().endswith(".json")]
    stems = {p.with_suffix("") for p in images}
    found = []
    for p in candidates:
        if p.with_suffix("") in stems:
            continue
        try:
            head = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue   # not ours to report here: `segstudio check` names broken files
        if not isinstance(head, dict) or not isinstance(head.get("imageData"), str) or not head["imageData"]:
            continue
        ip = head.get("imagePath")
        if isinstance(ip, str) and ip and is_image_file(ip) and resolve_image_path(p, ip).is_file():
            continue   # its image lives elsewhere (e.g. ../SRC/x.png): found as an image there
        found.append(p)
    base = src if src.is_dir() else src.parent
    return sorted(found, key=lambda q: natural_key(q.relative_to(base).as_posix()))


def _embedded_pixels(json_path: Path):
    from segstudio.core.io.images import decode_image_data
    from segstudio.core.io.labelme import read_labelme

    return decode_image_data(read_labelme(json_path).image_data or "", str(json_path))


def _parse_roi(text: str | None):
    if not text:
        return None
    try:
        vals = tuple(int(float(v)) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4:
        raise ValueError(f"--roi wants x0,y0,x1,y1, got {text!r}")
    return vals


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, OSError, RuntimeError) as exc:
        print(f"segstudio predict: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from segstudio.core.jobs import run_with_tqdm
    from segstudio.ml.batch import PredictConfig, predict_batch
    from segstudio.ml.device import describe_device, pick_device
    from segstudio.ml.postprocess import ShapeOptions

    exports = args.save_checkpoint or args.export_onnx or args.export_torchscript
    if not (args.src and args.out) and not exports:
        raise ValueError("give SRC and OUT (or an export option)")
    device = pick_device(args.device)
    model, meta = load_model(args, device)
    log.info("model %s/%s, %d classes, on %s", meta.arch, meta.encoder, meta.num_classes,
             describe_device(device))
    _exports(args, model, meta)
    if not (args.src and args.out):
        return 0
    src, out = Path(args.src).absolute(), Path(args.out).absolute()
    images = find_images(src, skip=out if out != src else None)
    embedded = find_embedded(src, images, skip=out if out != src else None)
    if not images and not embedded:
        raise ValueError(f"{src}: no images found")
    base = src if src.is_dir() else src.parent
    targets = {str(p): out / p.relative_to(base).with_suffix(".json" if args.format == "labelme" else ".png")
               for p in [*images, *embedded]}
    clash = [p for p in images if targets[str(p)] == p]
    if clash:
        raise ValueError(f"{clash[0]}: the output would overwrite this source image; choose another OUT")
    from segstudio.core.labelled_guard import file_is_labelled, skipped_message

    items, labelled = [], 0
    for p in images:
        if args.format == "labelme" and targets[str(p)].exists():
            if args.existing == "skip":
                continue
            if not args.include_labelled and file_is_labelled(targets[str(p)]):
                labelled += 1   # a person's labels are never changed unless asked
                continue
        items.append((str(p), p))
    for p in embedded:   # the image is the JSON's imageData: decoded when its turn comes
        if args.format == "labelme" and targets[str(p)].exists():
            if args.existing == "skip":
                continue
            if not args.include_labelled and file_is_labelled(targets[str(p)]):
                labelled += 1
                continue
        items.append((str(p), lambda p=p: _embedded_pixels(p)))
    only = tuple(c.strip() for c in args.classes_only.split(",")) if args.classes_only else None
    precision = {"auto": True, "fp32": False}.get(args.precision, args.precision)
    config = PredictConfig(args.tile, args.overlap, args.batch_size, precision,
                           ShapeOptions(args.shape_mode, args.tolerance, args.min_area, only,
                                        args.min_confidence, _parse_roi(args.roi)),
                           keep_maps=args.format == "masks", make_shapes=args.format == "labelme")
    writer = _Writer(args, meta, targets)
    failed = run_with_tqdm(writer.wrap(predict_batch(model, meta, items, device, config=config)),
                           desc="predict", disable=True if args.quiet else None)
    if args.format == "masks":
        _write_labels(out, meta.classes)
    skipped = len(images) + len(embedded) - len(items) - labelled
    print(f"{writer.written} files written to {out}" + (f", {skipped} skipped (existing)" if skipped else "")
          + (f", {skipped_message(labelled)}" if labelled else "")
          + (f", {len(failed)} failed" if failed else ""))
    for msg in writer.errors:
        print(f"  {msg}", file=sys.stderr)
    return 1 if failed or writer.errors else 0


def _exports(args, model, meta) -> None:
    if args.save_checkpoint:
        from segstudio.ml.checkpoint import save_checkpoint

        print(f"checkpoint written to {save_checkpoint(args.save_checkpoint, model, meta)}")
    if args.export_onnx:
        from segstudio.ml.export import export_onnx

        print(f"ONNX written to {export_onnx(model, meta, args.export_onnx)}")
    if args.export_torchscript:
        from segstudio.ml.export import export_torchscript

        print(f"TorchScript written to {export_torchscript(model, meta, args.export_torchscript)}")


def _write_labels(out: Path, classes: list[str]) -> None:
    from segstudio.core.io.atomic import atomic_write_text
    from segstudio.core.model import BACKGROUND_LABEL, IGNORE_LABEL

    path = out / "labels.txt"
    if not path.exists():   # never overwrite the user's class list
        names = [c for c in classes if c not in (BACKGROUND_LABEL, IGNORE_LABEL)]
        atomic_write_text(path, "\n".join([IGNORE_LABEL, BACKGROUND_LABEL, *names]) + "\n")


class _Writer:
    """Writes each finished image as it arrives from the batch job."""

    def __init__(self, args, meta, targets: dict[str, Path]) -> None:
        self.args, self.meta, self.targets = args, meta, targets
        self.written = 0
        self.errors: list[str] = []

    def wrap(self, gen):
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            pred = p.data.get("prediction") if p.data else None
            if pred is not None and pred.error is None:
                try:
                    self.write(pred)
                    self.written += 1
                except (OSError, ValueError) as exc:
                    self.errors.append(str(exc))
            elif pred is not None:
                self.errors.append(pred.error)
            yield p

    def write(self, pred) -> None:
        target = self.targets[pred.key]
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.args.format == "masks":
            self._write_png(target, pred.result.label_map)
        else:
            self._write_json(target, Path(pred.key), pred)

    @staticmethod
    def _write_png(target: Path, label_map) -> None:
        import cv2
        import numpy as np

        from segstudio.core.io.atomic import atomic_write_bytes

        # the model's map is uint8 already (≤ 256 classes): no full-size copy then
        arr = label_map if label_map.dtype == np.uint8 else label_map.astype(
            np.uint8 if label_map.max() < 256 else np.uint16)
        ok, buf = cv2.imencode(".png", arr)
        if not ok:
            raise OSError(f"{target}: PNG encoding failed")
        atomic_write_bytes(target, buf.tobytes())

    def _write_json(self, target: Path, image: Path, pred) -> None:
        from segstudio.core.io.labelme import read_labelme, write_labelme
        from segstudio.core.labelled_guard import state_after_automatic
        from segstudio.core.model import ImageAnnotation

        rel = Path(os.path.relpath(image, target.parent)).as_posix()
        if target.exists():
            # an unreadable file raises: it is never overwritten; the image's size wins, so
            # the JSON's size fields match the predicted masks even if the image was replaced
            ann = read_labelme(target, image_size=(pred.width, pred.height))
            if self.args.existing == "replace":
                only = self.args.classes_only
                labels = {c.strip() for c in only.split(",")} if only else set(self.meta.classes)
                ann.shapes = [s for s in ann.shapes if s.label not in labels]
            ann.shapes += pred.shapes
        elif image.suffix.lower() == ".json":   # pixels only in the source JSON's imageData: keep them
            src_ann = read_labelme(image)
            ann = ImageAnnotation(src_ann.image_path, pred.width, pred.height, list(pred.shapes),
                                  image_data=src_ann.image_data)
        else:
            ann = ImageAnnotation(rel, pred.width, pred.height, list(pred.shapes))
        # a person's labelled file (included with --include-labelled) stays labelled
        ann.state = state_after_automatic(ann.state)
        write_labelme(target, ann)
