"""A folder of ~50 bad inputs beside good files, generated small (nothing large is allocated).

Shared by the corpus tests of ``segstudio check``, project open, export and the window.
:func:`build_corpus` writes the folder and returns :class:`Corpus`: the bad items (each with
the file name a message must contain and the entry points that must report it) and the good
files (their hashes must not change, and they must be processed).

Huge images are crafted PNG headers (an IHDR declaring 40000×30000 and one tiny IDAT), so
reading their size is instant and decoding them must be refused, never attempted.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 24, 16
#: entry points: "check" (segstudio check), "open" (project open + load of every entry),
#: "export" (segstudio export of the labelled images)
ALL = ("check", "open", "export")


@dataclass
class BadItem:
    id: str
    name: str                       # what a message must contain (a file name)
    reported_by: tuple[str, ...] = ALL


@dataclass
class Corpus:
    root: Path
    bad: list[BadItem] = field(default_factory=list)
    good: list[Path] = field(default_factory=list)        # good images and their JSONs
    good_images: list[str] = field(default_factory=list)  # names of images that must load

    def hashes(self) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.good}


def png_bytes(w: int = W, h: int = H, value: int = 120) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(w: int = W, h: int = H) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 77, dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png_header(w: int, h: int) -> bytes:
    """A PNG declaring w×h RGB pixels with one tiny IDAT: a header to read, not pixels."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def animated_gif() -> bytes:
    frames = [Image.fromarray(np.full((H, W), v, dtype=np.uint8)) for v in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def doc(image_path: str | None, shapes: list | None = None, w: int | None = W, h: int | None = H,
        **extra) -> dict:
    d = {"version": "5.5.0", "flags": {}, "shapes": shapes if shapes is not None else [TRIANGLE],
         "imagePath": image_path, "imageData": None, "imageHeight": h, "imageWidth": w}
    d.update(extra)
    return d


TRIANGLE = {"label": "cell", "points": [[1, 1], [20, 2], [10, 12]], "shape_type": "polygon"}


def _shape(**kw) -> dict:
    return {**TRIANGLE, **kw}


def build_corpus(root: Path) -> Corpus:
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root)

    def write(name: str, data: bytes | str | dict) -> Path:
        p = root / name
        if isinstance(data, dict):
            data = json.dumps(data)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return p

    def bad(id_: str, name: str, reported_by: tuple[str, ...] = ALL) -> None:
        c.bad.append(BadItem(id_, name, reported_by))

    # -- good files: must load, export and stay byte-identical ---------------------------------
    for n in ("good1", "good2"):
        c.good += [write(f"{n}.png", png_bytes()), write(f"{n}.json", doc(f"{n}.png"))]
        c.good_images.append(f"{n}.png")
    c.good.append(write("good3.jpg", jpeg_bytes()))
    c.good_images.append("good3.jpg")
    emb = doc("embedded_only.json", imageData=base64.b64encode(png_bytes()).decode("ascii"))
    c.good.append(write("embedded_only.json", emb))     # labelme's tutorial file: image only inside

    # -- bad images (no JSON: only the project and the window look at their pixels) ------------
    img_only = ("open",)
    whole = png_bytes()
    write("truncated.png", whole[: len(whole) // 2])
    bad("truncated_png", "truncated.png", img_only)
    j = jpeg_bytes()
    write("cut_short.jpg", j[: len(j) // 2])
    bad("truncated_jpg", "cut_short.jpg", img_only)
    write("zero.png", b"")
    bad("zero_png", "zero.png", img_only)
    write("empty_file.jpg", b"")
    bad("zero_jpg", "empty_file.jpg", img_only)
    write("text_named.png", "this is not an image\n")
    bad("text_as_png", "text_named.png", img_only)
    write("html_named.jpg", "<html><body>404</body></html>")
    bad("html_as_jpg", "html_named.jpg", img_only)
    write("huge_40000x30000.png", huge_png_header(40000, 30000))
    bad("huge_png", "huge_40000x30000.png", img_only)
    write("huge_100000x1.png", huge_png_header(100000, 100000))
    bad("huge_square_png", "huge_100000x1.png", img_only)
    write("anim.gif", animated_gif())
    bad("animated_gif", "anim.gif", img_only)
    write("only_header.png", b"\x89PNG\r\n\x1a\n")
    bad("png_signature_only", "only_header.png", img_only)
    write("random_bytes.png", bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)))
    bad("random_png", "random_bytes.png", img_only)
    os.symlink("loop_b.png", root / "loop_a.png")
    os.symlink("loop_a.png", root / "loop_b.png")
    bad("symlink_loop", "loop_a.png", img_only)
    os.symlink("does_not_exist.png", root / "dangling.png")
    bad("dangling_symlink", "dangling.png", img_only)
    if os.geteuid() != 0:   # root reads anything: the case cannot be built
        p = write("unreadable.png", png_bytes())
        p.chmod(0)
        bad("unreadable_image", "unreadable.png", img_only)

    # -- bad JSON sidecars of good images: the JSON is named --------------------------------------
    def sidecar(id_: str, data: bytes | str | dict, reported_by: tuple[str, ...] = ALL) -> None:
        write(f"{id_}.png", png_bytes())
        write(f"{id_}.json", data)
        bad(id_, f"{id_}.json", reported_by)

    sidecar("not_json", "{this is not json")
    sidecar("empty_json", "")
    sidecar("json_list", "[1, 2, 3]")
    sidecar("json_null", "null")
    sidecar("nested_deep", "[" * 100_000 + "]" * 100_000)
    sidecar("nested_deep_obj", '{"shapes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    sidecar("int_400_digits", json.dumps(doc("int_400_digits.png", [_shape(points=[[1, 1], [10**400, 2], [3, 9]])])))
    sidecar("int_5000_digits", json.dumps(doc("int_5000_digits.png", [_shape(points=[[1, 1], [2, 2], [3, 9]])]))
            .replace("[2, 2]", "[" + "9" * 5000 + ", 2]"))
    sidecar("nan_point", json.dumps(doc("nan_point.png", [_shape(points=[[1, 1], [float("nan"), 2], [3, 9]])])))
    sidecar("inf_point", json.dumps(doc("inf_point.png", [_shape(points=[[1, 1], [float("inf"), 2], [3, 9]])])))
    sidecar("points_wrong_shape", doc("points_wrong_shape.png", [_shape(points=[[1, 2, 3], [4, 5, 6]])]))
    sidecar("points_flat", doc("points_flat.png", [_shape(points=[1, 2, 3, 4, 5, 6])]))
    sidecar("points_string", doc("points_string.png", [_shape(points="1,2,3")]))
    sidecar("points_too_few", doc("points_too_few.png", [_shape(points=[[1, 2]])]))
    sidecar("points_nested_str", doc("points_nested_str.png", [_shape(points=[["a", "b"], [1, 2], [3, 4]])]))
    sidecar("points_bool", doc("points_bool.png", [_shape(points=[[True, False], [1, 2], [3, 4]])]))
    sidecar("label_missing", doc("label_missing.png", [{"points": [[1, 1], [5, 5], [1, 5]]}]))
    sidecar("label_number", doc("label_number.png", [_shape(label=7)]))
    sidecar("label_newline", doc("label_newline.png", [_shape(label="ca\nt")]))
    sidecar("shape_type_unknown", doc("shape_type_unknown.png", [_shape(shape_type="blob")]))
    sidecar("shapes_not_list", doc("shapes_not_list.png", {"a": 1}))
    sidecar("shape_is_string", doc("shape_is_string.png", ["polygon"]))
    sidecar("group_id_string", doc("group_id_string.png", [_shape(group_id="one")]))
    sidecar("flags_list", doc("flags_list.png", [_shape(flags=[1])]))
    sidecar("height_negative", doc("height_negative.png", h=-5))
    sidecar("height_string", doc("height_string.png", h="16"))
    sidecar("height_nan", json.dumps(doc("height_nan.png", h=float("nan"))))
    sidecar("state_unknown", doc("state_unknown.png", segstudio={"state": "finished"}))
    sidecar("mask_garbage", doc("mask_garbage.png", [_shape(shape_type="mask", points=[[0, 0], [3, 3]],
                                                            mask="@@not base64@@")]))
    sidecar("image_path_number", doc(12))
    sidecar("not_utf8_json", b'{"shapes": [], "imagePath": "caf\xe9.png"}')
    sidecar("utf16_json", json.dumps(doc("utf16_json.png")).encode("utf-16"))

    # -- orphan JSONs (no image beside them) ---------------------------------------------------------
    write("points_nowhere.json", doc("nowhere/missing.png"))
    # export names the missing image (nowhere/missing.png), not the JSON
    bad("image_path_nowhere", "points_nowhere.json", ("check", "open"))
    write("points_to_itself.json", doc("points_to_itself.json"))
    bad("image_path_itself_no_data", "points_to_itself.json")
    write("image_data_garbage.json", doc("image_data_garbage.json", imageData="!!!! not base64 ~~~"))
    bad("image_data_garbage", "image_data_garbage.json")
    write("image_data_not_image.json",
          doc(None, imageData=base64.b64encode(b"just some text, no pixels").decode("ascii")))
    bad("image_data_text", "image_data_not_image.json")
    write("image_data_number.json", doc(None, imageData=12345))
    bad("image_data_number", "image_data_number.json")
    write("image_data_huge.json", doc(None, w=None, h=None,
                                      imageData=base64.b64encode(huge_png_header(40000, 30000)).decode("ascii")))
    bad("image_data_huge", "image_data_huge.json")

    write("same_stem.jpg", jpeg_bytes())
    write("same_stem.png", png_bytes())      # both would be annotated in same_stem.json
    bad("same_stem", "same_stem.png", img_only)
    write("orphan_broken.json", '{"shapes": [')
    bad("orphan_broken_json", "orphan_broken.json", ("check", "open"))

    # -- file names that are not UTF-8 (Linux allows any bytes) -----------------------------------
    if sys.platform.startswith("linux"):
        raw = os.fsencode(root) + b"/caf\xe9_bad.png"
        with open(raw, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\ntruncated")
        bad("non_utf8_name_truncated", os.fsdecode(b"caf\xe9_bad.png"), img_only)
    return c
