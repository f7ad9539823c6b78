"""Image loading: formats, bit depths, channels, EXIF orientation, unicode paths, bad files."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from segstudio.core.io.images import (
    ImageReadError,
    apply_orientation,
    decode_image_data,
    encode_image_data,
    image_size,
    load_image,
    to_rgb8,
)

tifffile = pytest.importorskip("tifffile")


@pytest.fixture
def rgb() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)


def _exif_jpeg(path, arr, orientation, mode="RGB"):
    im = Image.fromarray(arr).convert(mode)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, quality=98)


def test_png_rgb_exact(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (24, 36, 3)
    np.testing.assert_array_equal(out, rgb)   # RGB order, not OpenCV's BGR


def test_exif_orientation_6_rotates_clockwise(tmp_path):
    # a landscape image whose top-left pixel is red; stored with "rotate 90° CW to view"
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:5, :5] = (255, 0, 0)
    _exif_jpeg(tmp_path / "r.jpg", arr, 6)
    out = load_image(tmp_path / "r.jpg")
    assert out.shape == (40, 20, 3)
    # rotating clockwise moves the top-left corner to the top-right
    assert out[2, 17, 0] > 200 and out[2, 17, 1] < 60
    assert out[2, 2, 0] < 60
    assert image_size(tmp_path / "r.jpg") == (20, 40)


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pil(tmp_path, rgb, orientation, mode):
    path = tmp_path / f"o{orientation}.jpg"
    _exif_jpeg(path, rgb, orientation, mode)
    with Image.open(path) as im:
        ref = np.asarray(ImageOps.exif_transpose(im))
    out = load_image(path)
    assert out.shape == ref.shape
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 2   # decoder rounding only
    assert image_size(path) == (ref.shape[1], ref.shape[0])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pil_transpose(rgb, orientation):
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    ref = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(apply_orientation(rgb, orientation), ref)


def test_png_16bit_values_preserved(tmp_path):
    arr = np.array([[0, 1, 255, 256], [4095, 30000, 65534, 65535]], dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), arr)
    out = load_image(tmp_path / "d.png")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, arr)


def test_rgba_png_keeps_alpha(tmp_path):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(to_rgb8(out), arr[:, :, :3])


def test_gray_png_and_bmp(tmp_path):
    arr = np.arange(120, dtype=np.uint8).reshape(10, 12)
    Image.fromarray(arr).save(tmp_path / "g.png")
    Image.fromarray(np.dstack([arr] * 3)).save(tmp_path / "c.bmp")
    g = load_image(tmp_path / "g.png")
    assert g.shape == (10, 12)
    np.testing.assert_array_equal(g, arr)
    np.testing.assert_array_equal(to_rgb8(g), np.dstack([arr] * 3))
    np.testing.assert_array_equal(load_image(tmp_path / "c.bmp"), np.dstack([arr] * 3))


def test_multichannel_tiff_contig_and_planar(tmp_path):
    rng = np.random.default_rng(2)
    hwc = rng.integers(0, 4000, (16, 20, 6)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", hwc, planarconfig="contig", photometric="minisblack")
    np.testing.assert_array_equal(load_image(tmp_path / "c.tif"), hwc)
    chw = rng.integers(0, 255, (5, 16, 20)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "p.tif", chw)   # a page stack: 5 bands
    out = load_image(tmp_path / "p.tif")
    assert out.shape == (16, 20, 5)
    np.testing.assert_array_equal(out, np.moveaxis(chw, 0, 2))
    assert to_rgb8(out).shape == (16, 20, 3)
    assert image_size(tmp_path / "p.tif") == (20, 16)


def test_float_tiff(tmp_path):
    arr = np.linspace(0, 1, 16 * 20, dtype=np.float32).reshape(16, 20)
    tifffile.imwrite(tmp_path / "f.tiff", arr)
    out = load_image(tmp_path / "f.tiff")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, arr)
    rgb8 = to_rgb8(out)
    assert rgb8[0, 0, 0] == 0 and rgb8[-1, -1, 0] == 255


def test_to_rgb8_16bit_scaling_uses_bit_depth():
    full = np.array([[0, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(to_rgb8(full)[0, :, 0], [0, 255])
    twelve = np.array([[0, 2048, 4095]], dtype=np.uint16)   # a 12-bit sensor
    out = to_rgb8(twelve)[0, :, 0]
    assert out[0] == 0 and out[2] == 255 and 126 <= out[1] <= 129


def test_unicode_path(tmp_path, rgb):
    path = tmp_path / "ünïcødé 图像" / "фото.jpg"
    path.parent.mkdir()
    Image.fromarray(rgb).save(path, quality=98)
    out = load_image(path)
    with Image.open(path) as im:
        ref = np.asarray(im.convert("RGB"))
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - ref).max() <= 2
    assert image_size(path) == (36, 24)


@pytest.mark.parametrize("kind", ["truncated_jpeg", "truncated_png", "garbage", "empty"])
def test_corrupt_file_message_names_file(tmp_path, rgb, kind):
    ok = tmp_path / "ok.jpg"
    Image.fromarray(rgb).save(ok)
    Image.fromarray(rgb).save(tmp_path / "ok.png")
    bad = tmp_path / f"bad_{kind}.{'png' if 'png' in kind else 'jpg'}"
    if kind == "truncated_jpeg":
        bad.write_bytes(ok.read_bytes()[:400])
    elif kind == "truncated_png":
        data = (tmp_path / "ok.png").read_bytes()
        bad.write_bytes(data[:len(data) // 2])
    elif kind == "garbage":
        bad.write_bytes(b"this is not an image at all")
    else:
        bad.write_bytes(b"")
    with pytest.raises(ImageReadError) as info:
        load_image(bad)
    assert str(info.value).startswith(f"{bad}: ")
    assert len(str(info.value)) > len(str(bad)) + 5


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="nope.png: file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="file not found"):
        image_size(tmp_path / "nope.png")


def test_image_data_round_trip(rgb):
    b64 = encode_image_data(rgb)
    np.testing.assert_array_equal(decode_image_data(b64), rgb)
    with pytest.raises(ImageReadError, match="imageData"):
        decode_image_data(base64.b64encode(b"garbage").decode())
