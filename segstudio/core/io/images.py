"""Any image file → numpy array: JPEG/PNG/BMP/WebP/TIFF, 8/16-bit, gray, RGBA, multi-channel.

``load_image`` returns the pixels as stored (HxW or HxWxC in RGB(A) channel order, uint8 /
uint16 / float) with the EXIF orientation applied, so what the user sees matches what other
viewers show and what labelme's coordinates refer to. ``to_rgb8`` makes the 3-channel uint8
view used for display, algorithms and ML. Every failure is an :class:`ImageReadError` whose
message names the file and the problem.

Decoding goes through OpenCV (fast for large photos; ``np.fromfile`` + ``imdecode`` so unicode
paths work everywhere), TIFF through tifffile (multi-channel, planar, float), PIL as fallback
and for the EXIF tag. Imports numpy, OpenCV, PIL, tifffile (optional). No Qt, no torch.

Sizes come from the header (:func:`image_size` never decodes pixels), and an image of more
than :data:`MAX_IMAGE_PIXELS` pixels is refused before decoding with a message that says so:
a crafted or enormous file must not freeze the window or exhaust memory. Animated images
(GIF, WebP, APNG) are refused rather than silently reduced to one frame.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from segstudio.core.io.display import to_rgb8  # noqa: F401 (its callers import it from here)

try:  # tifffile comes with scikit-image; without it cv2/PIL read the common TIFFs
    import tifffile
except ImportError:  # pragma: no cover - depends on the environment
    tifffile = None

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jpe", ".jp2", ".pgm", ".ppm", ".pnm",
    ".gif",
)
#: the most pixels an image may have to be decoded: OpenCV's own limit (CV_IO_MAX_IMAGE_PIXELS),
#: so both decoders agree. A 1-gigapixel RGB image already takes 3 GB as 8-bit pixels.
MAX_IMAGE_PIXELS = 1 << 30
# PIL refuses images over 2x its limit in Image.open, before the size can be read; ours is the
# limit that counts, checked on the header before any decoding
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_IMAGE_PIXELS)
_TIFF_EXTENSIONS = (".tif", ".tiff")
_ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")
_ORIENTATION_TAG = 0x0112
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


class ImageReadError(OSError):
    """An image could not be read; ``str(exc)`` is ``"<path>: <what is wrong>"``."""


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# -- orientation -------------------------------------------------------------------------------
def apply_orientation(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """Applies an EXIF orientation value (1–8) like PIL's ``ImageOps.exif_transpose``."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(arr, k=-1)
    if orientation == 7:
        return np.rot90(arr, k=2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(arr, k=1)
    return arr


# -- decoding ----------------------------------------------------------------------------------
def _bgr_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    if arr.ndim == 3 and arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return arr


def _is_truncated_jpeg(data: np.ndarray) -> bool:
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return False
    tail = bytes(data[-64:]).rstrip(b"\x00\r\n\t ")
    return not tail.endswith(b"\xff\xd9")


def _pil_to_array(im: Image.Image) -> np.ndarray:
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    arr = np.asarray(im)
    if arr.dtype == np.int32 and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        arr = arr.astype(np.uint16)   # PIL opens 16-bit PNGs as mode "I"
    return arr


def _decode_with_pil(data: bytes, name: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return _pil_to_array(im)
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: not an image file (unknown or corrupt format)") from None
    except Image.DecompressionBombError:
        raise ImageReadError(f"{name}: {_too_large()}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{name}: corrupt or truncated image ({exc})") from None
    except MemoryError:
        raise ImageReadError(f"{name}: not enough memory to decode the image") from None


def _tiff_to_array(arr: np.ndarray, axes: str) -> np.ndarray:
    """Reduces a tifffile series to HxW or HxWxC: first plane of T/Z/…, channels last."""
    index = []
    keep = []
    chan = "S" if "S" in axes else ("C" if "C" in axes else None)
    others = [ax for ax in axes if ax not in "YX"]
    if chan is None and len(others) == 1 and arr.shape[axes.index(others[0])] <= 64:
        chan = others[0]   # a plain page stack (C, H, W) of a multispectral image: channels
    for ax in axes:
        if ax in ("Y", "X") or ax == chan:
            index.append(slice(None))
            keep.append(ax)
        else:
            index.append(0)
    arr = arr[tuple(index)]
    kept = "".join(keep)
    order = [kept.index("Y"), kept.index("X")] + ([kept.index(chan)] if chan else [])
    arr = np.transpose(arr, order)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return arr


def _check_tiff_pixels(series, name: str) -> None:
    axes, shape = series.axes, series.shape
    if "Y" in axes and "X" in axes:
        _check_pixels((int(shape[axes.index("X")]), int(shape[axes.index("Y")])), name)


def _read_tiff(path: Path) -> np.ndarray | None:
    if tifffile is None:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            _check_tiff_pixels(series, str(path))
            arr = series.asarray()
            axes = series.axes
            orientation = None
            tag = tif.pages[0].tags.get("Orientation")
            if tag is not None:
                orientation = int(tag.value)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - fall back to OpenCV/PIL, which report errors
        log.debug("tifffile could not read %s: %s", path, exc)
        return None
    if "Y" not in axes or "X" not in axes:
        return None
    arr = _tiff_to_array(arr, axes)
    return np.ascontiguousarray(apply_orientation(arr, orientation))


def _header_info(buf: np.ndarray, name: str
                 ) -> tuple[str | None, str | None, int | None, tuple[int, int] | None]:
    """(format, mode, EXIF orientation, stored (width, height)) from the header; raises
    :class:`ImageReadError` for an image too large to decode or an animated one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(buf[:min(len(buf), 1 << 20)].tobytes())) as im:
                fmt, mode, size = im.format, im.mode, im.size
                animated = _frames(im)
                value = _orientation_tag(im)
    except Image.DecompressionBombError:
        raise ImageReadError(f"{name}: {_too_large()}") from None
    except Exception:  # noqa: BLE001 - PIL may not know the format; OpenCV may
        return None, None, None, None
    _check_pixels(size, name)
    if animated > 1:
        raise ImageReadError(f"{name}: an animated {fmt} image ({animated} frames); segstudio labels "
                             f"still images: save the frame to label as PNG")
    try:
        value = int(value) if value is not None else None
    except (TypeError, ValueError):
        value = None
    return fmt, mode, value if value in range(1, 9) else None, size


def _orientation_tag(im: Image.Image) -> object:
    """The EXIF orientation from the header. PIL's PNG ``getexif`` decodes the whole image when
    the eXIf chunk was not seen before the pixels (30000x30000: seconds and gigabytes just to
    learn the size); such a late chunk is ignored, as most viewers do."""
    if im.format == "PNG" and "exif" not in im.info:
        return None
    return im.getexif().get(_ORIENTATION_TAG)


def _frames(im: Image.Image) -> int:
    """Number of animation frames (≥ 2 is enough to know it is animated). A multi-page TIFF
    is not an animation: its pages are channels or a stack, read by tifffile."""
    if im.format not in _ANIMATED_FORMATS:
        return 1
    try:
        return int(getattr(im, "n_frames", 1)) if getattr(im, "is_animated", False) else 1
    except Exception:  # noqa: BLE001 - a truncated buffer: at least two frames were seen
        return 2


def _too_large(size: tuple[int, int] | None = None) -> str:
    what = f"{size[0]}x{size[1]} pixels" if size else f"more than {2 * MAX_IMAGE_PIXELS // 10**6} megapixels"
    return (f"image too large to open ({what}; the limit is {MAX_IMAGE_PIXELS // 10**6} megapixels); "
            f"split it into tiles")


def _check_pixels(size: tuple[int, int] | None, name: str) -> None:
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ImageReadError(f"{name}: {_too_large(size)}")


def decode_image_bytes(data: bytes | np.ndarray, name: str = "<image data>") -> np.ndarray:
    """Decodes encoded image bytes (any format :func:`load_image` reads) with EXIF orientation."""
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if buf.size == 0:
        raise ImageReadError(f"{name}: empty file")
    raw = bytes(buf[:4])
    if raw[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") and tifffile is not None:
        try:
            with tifffile.TiffFile(io.BytesIO(buf.tobytes())) as tif:
                series = tif.series[0]
                _check_tiff_pixels(series, name)
                tag = tif.pages[0].tags.get("Orientation")
                arr = _tiff_to_array(series.asarray(), series.axes)
                return np.ascontiguousarray(apply_orientation(arr, int(tag.value) if tag else None))
        except ImageReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - fall through to OpenCV/PIL
            log.debug("tifffile could not decode %s: %s", name, exc)
    fmt, mode, orientation, _size = _header_info(buf, name)
    truncated = _is_truncated_jpeg(buf)
    arr = None
    if fmt == "JPEG" and not truncated:
        # OpenCV applies the EXIF orientation itself in these modes and decodes straight to
        # RGB: one pass over a large photo instead of decode + colour swap + rotate
        flags = cv2.IMREAD_GRAYSCALE if mode == "L" else (_IMREAD_RGB or cv2.IMREAD_COLOR)
        try:
            arr = cv2.imdecode(buf, flags)
        except cv2.error:
            arr = None
        if arr is not None:
            if flags == cv2.IMREAD_COLOR:   # OpenCV < 4.10 has no RGB decoding
                arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
            return arr
    if not truncated:
        try:
            arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            arr = None
    if arr is None:
        # OpenCV cannot read it (or a JPEG without end marker): PIL tells us what is wrong
        arr = _decode_with_pil(buf.tobytes(), name)
    else:
        arr = _bgr_to_rgb(arr)
    return np.ascontiguousarray(apply_orientation(arr, orientation))


def load_image(path: str | Path) -> np.ndarray:
    """The image at ``path`` as stored (HxW or HxWxC RGB(A), uint8/uint16/float), EXIF-rotated.

    Raises :class:`ImageReadError` naming the file for a missing, unreadable, corrupt or
    truncated file.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ImageReadError(f"{path}: is a folder, not an image")
        if path.suffix.lower() in _TIFF_EXTENSIONS:
            arr = _read_tiff(path)
            if arr is not None:
                return arr
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except ImageReadError:
        raise
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return decode_image_bytes(data, str(path))


def decode_image_data(image_data: str, name: str = "imageData") -> np.ndarray:
    """Decodes labelme's base64 ``imageData`` (as :func:`load_image` would decode the file)."""
    try:
        raw = base64.b64decode(image_data, validate=False)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ImageReadError(f"{name}: not valid base64 ({exc})") from None
    return decode_image_bytes(raw, name)


def encode_image_data(arr: np.ndarray) -> str:
    """Base64 PNG of ``arr`` (as labelme stores ``imageData``)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR if a.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, png = cv2.imencode(".png", a)
    if not ok:
        raise ValueError("cannot encode image as PNG")
    return base64.b64encode(png.tobytes()).decode("ascii")


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) after EXIF orientation, read from the header: the pixels are never
    decoded (a 30000x30000 PNG answers at once). Raises :class:`ImageReadError` naming the file
    when it is missing, unreadable, not an image, too large to open or animated."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                fmt, frames = im.format, _frames(im)
                orientation = _orientation_tag(im)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except Image.DecompressionBombError:
        raise ImageReadError(f"{path}: {_too_large()}") from None
    except UnidentifiedImageError:
        return _size_without_pil(path)
    except OSError as exc:   # a symlink loop, an I/O error
        raise ImageReadError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    except Exception:  # noqa: BLE001 - a PIL plug-in failing on a damaged header
        return _size_without_pil(path)
    _check_pixels((w, h), str(path))
    if frames > 1:
        raise ImageReadError(f"{path}: an animated {fmt} image ({frames} frames); segstudio labels "
                             f"still images: save the frame to label as PNG")
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _size_without_pil(path: Path) -> tuple[int, int]:
    """Size of a file PIL cannot open: a TIFF's header through tifffile; anything else is
    decoded (formats only OpenCV knows; an unknown file gives its error here)."""
    if tifffile is not None and path.suffix.lower() in _TIFF_EXTENSIONS:
        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes, shape = series.axes, series.shape
            if "Y" in axes and "X" in axes:
                size = (int(shape[axes.index("X")]), int(shape[axes.index("Y")]))
                _check_pixels(size, str(path))
                return size
        except ImageReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - decode below reports the problem
            log.debug("tifffile could not read the header of %s: %s", path, exc)
    arr = load_image(path)
    return int(arr.shape[1]), int(arr.shape[0])
