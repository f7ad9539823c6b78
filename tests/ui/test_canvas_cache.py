"""The canvas's tile cache (segstudio.ui.canvas.layer) never shows stale pixels.

Each test changes the model (edit, undo, class colour/visibility, selection, z-order, brush) while
the cache is warm, grabs the viewport and checks (1) pixel colours where the change happened and
(2) that the cached frame equals a frame rendered from scratch (cache dropped first).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPointF, QRectF  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402

from segstudio.core.class_edits import ChangeClass  # noqa: E402
from segstudio.core.edits import (  # noqa: E402
    AddShapes,
    PaintMask,
    SetShapeAttributes,
    bring_to_front,
    move_shapes,
)
from segstudio.core.history import History  # noqa: E402
from segstudio.core.model import ImageAnnotation, LabelClass, Project, Shape  # noqa: E402
from segstudio.ui.canvas import CanvasView  # noqa: E402
from segstudio.ui.canvas.layer import ImagePyramid, ShapeLayerItem  # noqa: E402

W, H = 400, 300
GRAY = 90
SQUARE = np.array([[40, 40], [120, 40], [120, 120], [40, 120]], dtype=float)


MAX_DIFF = 40


def pixels(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(img.constBits(), np.uint32).reshape(img.height(), -1)[:, :img.width()] & 0xFFFFFF


class Doc:
    def __init__(self, qtbot, zoom: float = 0.5):
        self.project = Project()
        self.project.classes = [LabelClass("cat", (255, 0, 0)), LabelClass("dog", (0, 0, 255))]
        self.ann = ImageAnnotation("img.png", W, H)
        self.project.annotations["k"] = self.ann
        self.history = History(self.project)
        self.image = np.full((H, W, 3), GRAY, np.uint8)
        self.view = CanvasView()
        qtbot.addWidget(self.view)
        self.view.resize(420, 320)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.set_document(self.project, "k", self.ann, self.image, push=self.history.push,
                               ask_label=lambda: ("cat", None), current_label=lambda: "cat")
        self.view.zoom_by(zoom / self.view.zoom())
        self.layer = self.view.canvas_scene.layer
        self.settle()

    def settle(self) -> None:
        self.layer.settle()
        self.view.viewport().repaint()

    def grab(self) -> QImage:
        return self.view.viewport().grab().toImage()

    def rgb(self, img: QImage, x: float, y: float) -> tuple[int, int, int]:
        p = self.view.mapFromScene(QPointF(x, y))
        d = img.devicePixelRatio()   # a grab on a HiDPI screen has dpr device pixels per pixel
        c = img.pixelColor(round(p.x() * d), round(p.y() * d))
        return c.red(), c.green(), c.blue()

    def assert_fresh(self) -> QImage:
        """The cached frame shows what a frame rendered with an empty cache shows; returns it.

        Up to MAX_DIFF pixels may differ: an aliased outline clipped at a render boundary can end
        one pixel sooner or later (the old live view has the same at its exposed-rect edges);
        a stale shape, fill or colour differs in hundreds of pixels here.
        """
        cached = self.grab()
        self.layer.invalidate_all()
        fresh = self.grab()
        assert np.count_nonzero(pixels(cached) != pixels(fresh)) <= MAX_DIFF
        return cached


@pytest.fixture
def doc(qtbot):
    d = Doc(qtbot)
    yield d
    d.view.clear_document()


def is_gray(c) -> bool:
    return c == (GRAY, GRAY, GRAY)


def is_reddish(c) -> bool:
    return c[0] > GRAY + 20 and c[1] < GRAY and c[2] < GRAY


def test_cache_is_reused_between_frames(doc):
    doc.history.push(AddShapes("k", [Shape("cat", SQUARE)]))
    doc.view.viewport().repaint()
    renders = doc.layer.renders
    img = doc.grab()
    assert doc.layer.renders == renders   # a repaint with no change copies cached tiles
    assert is_reddish(doc.rgb(img, 80, 80)) and is_gray(doc.rgb(img, 300, 200))


def test_edit_while_zoomed_out_moves_cached_pixels_and_undo_restores(doc):
    a = Shape("cat", SQUARE)
    doc.history.push(AddShapes("k", [a]))
    before = doc.assert_fresh()
    assert is_reddish(doc.rgb(before, 80, 80)) and is_gray(doc.rgb(before, 280, 200))
    doc.history.push(move_shapes("k", [a], 200, 120))
    after = doc.assert_fresh()
    assert is_gray(doc.rgb(after, 80, 80)) and is_reddish(doc.rgb(after, 280, 200))
    doc.history.undo()
    undone = doc.assert_fresh()
    assert is_reddish(doc.rgb(undone, 80, 80)) and is_gray(doc.rgb(undone, 280, 200))
    assert np.count_nonzero(pixels(undone) != pixels(before)) <= MAX_DIFF
    doc.history.undo()
    assert is_gray(doc.rgb(doc.assert_fresh(), 80, 80))


def test_class_colour_and_visibility_restyle_cached_pixels(doc):
    a = Shape("cat", SQUARE)
    doc.history.push(AddShapes("k", [a]))
    doc.grab()
    doc.history.push(ChangeClass("cat", {"color": (0, 255, 0)}))
    c = doc.rgb(doc.assert_fresh(), 80, 80)
    assert c[1] > GRAY + 20 and c[0] < GRAY
    doc.history.push(ChangeClass("cat", {"visible": False}))
    assert is_gray(doc.rgb(doc.assert_fresh(), 80, 80))
    doc.history.undo()
    doc.history.undo()
    assert is_reddish(doc.rgb(doc.assert_fresh(), 80, 80))
    doc.history.push(SetShapeAttributes("k", [a], {"visible": False}))
    assert is_gray(doc.rgb(doc.assert_fresh(), 80, 80))


def test_selection_and_z_order_update_cached_pixels(doc):
    a, b = Shape("cat", SQUARE), Shape("dog", SQUARE + 40)
    doc.history.push(AddShapes("k", [a, b]))
    plain = doc.rgb(doc.assert_fresh(), 60, 60)
    doc.view.select_shapes([a])
    selected = doc.rgb(doc.assert_fresh(), 60, 60)
    assert selected[0] > plain[0]                 # the selected fill is more opaque
    doc.view.select_shapes([])
    assert doc.rgb(doc.assert_fresh(), 60, 60) == plain
    overlap = doc.rgb(doc.grab(), 100, 100)       # dog painted over cat
    doc.history.push(bring_to_front("k", doc.ann, [a]))
    raised = doc.rgb(doc.assert_fresh(), 100, 100)
    assert raised[0] > overlap[0] and raised[2] < overlap[2]
    doc.history.undo()
    assert doc.rgb(doc.assert_fresh(), 100, 100) == overlap


def test_mask_paint_and_undo_update_cached_pixels(doc):
    mask_shape = Shape("cat", np.zeros((0, 2)), shape_type="mask", mask=np.zeros((H, W), bool))
    doc.history.push(AddShapes("k", [mask_shape]))
    doc.grab()
    stroke = np.zeros((H, W), bool)
    stroke[200:230, 250:330] = True
    doc.history.push(PaintMask.from_stroke("k", mask_shape, stroke))
    img = doc.assert_fresh()
    assert is_reddish(doc.rgb(img, 290, 215)) and is_gray(doc.rgb(img, 290, 180))
    doc.history.undo()
    assert is_gray(doc.rgb(doc.assert_fresh(), 290, 215))


def test_pan_and_zoom_show_the_same_as_a_fresh_render(doc, qtbot, monkeypatch):
    monkeypatch.setattr(ShapeLayerItem, "MAX_TILES", 6)   # panning also evicts tiles
    shapes = [Shape("cat" if i % 2 else "dog", SQUARE * 0.3 + [30 * (i % 12), 25 * (i // 12)]) for i in range(120)]
    doc.history.push(AddShapes("k", shapes))
    doc.view.zoom_by(4.0)
    doc.settle()
    for _ in range(3):
        doc.view.horizontalScrollBar().setValue(doc.view.horizontalScrollBar().value() + 37)
        doc.view.verticalScrollBar().setValue(doc.view.verticalScrollBar().value() + 23)
        doc.view.viewport().repaint()
        assert doc.layer.tile_count() <= 6
    doc.assert_fresh()
    doc.view.zoom_by(1.25)
    doc.view.viewport().repaint()                  # the quick frame: old tiles, scaled
    assert doc.layer.tile_scale != doc.view.zoom()
    qtbot.waitUntil(lambda: doc.layer.tile_scale == doc.view.zoom(), timeout=2000)
    doc.assert_fresh()


def test_shape_outside_the_image_is_drawn(doc):
    doc.history.push(AddShapes("k", [Shape("cat", SQUARE + [W - 60, 0])]))   # sticks out on the right
    img = doc.assert_fresh()
    outside = doc.rgb(img, W + 10, 80)
    assert outside[0] > outside[1] + 20           # the red fill over the dark canvas background


def test_bulk_insert_and_undo_update_cached_pixels(doc):
    """Many shapes at once (a pre-annotation result) take the one-full-invalidation path."""
    doc.grab()
    small = [Shape("dog", SQUARE * 0.2 + [10 * i, 200]) for i in range(70)]
    mask = np.zeros((H, W), bool)
    mask[20:60, 300:380] = True
    mask_shape = Shape("cat", np.zeros((0, 2)), shape_type="mask", mask=mask)
    outside = Shape("cat", SQUARE + [W - 60, 100])
    doc.history.push(AddShapes("k", [*small, mask_shape, outside]))
    img = doc.assert_fresh()
    assert is_reddish(doc.rgb(img, 340, 40))        # the mask, far from every polygon
    right = doc.rgb(img, W + 10, 180)
    assert right[0] > right[1] + 20                 # the polygon sticking out of the image
    dog = doc.rgb(img, 16, 212)
    assert dog[2] > GRAY + 20 and dog[0] < GRAY
    doc.history.undo()
    img = doc.assert_fresh()
    assert is_gray(doc.rgb(img, 340, 40)) and is_gray(doc.rgb(img, 16, 212))


def test_rotated_view_paints_without_the_cache(doc):
    """Tiles assume an axis-aligned scale; a rotated view (not offered in the UI) paints directly."""
    doc.history.push(AddShapes("k", [Shape("cat", SQUARE)]))
    doc.view.rotate(90)
    img = doc.grab()
    assert is_reddish(doc.rgb(img, 80, 80)) and is_gray(doc.rgb(img, 300, 200))


def test_image_pyramid_levels_hold_every_nth_pixel():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    direct = ImagePyramid(rgb)
    background = ImagePyramid(rgb)
    background.start_background()
    background.wait()
    for scale, lv in ((1.5, 0), (0.6, 0), (0.4, 1), (0.2, 2), (0.1, 3), (0.01, 4)):
        img, step, _ = direct.level_for(scale)
        assert step == 2 ** lv
        expect = rgb[::2 ** lv, ::2 ** lv]
        got = pixels(img).astype(np.uint32)
        assert got.shape == expect.shape[:2]
        want = (expect[..., 0].astype(np.uint32) << 16) | (expect[..., 1].astype(np.uint32) << 8) | expect[..., 2]
        np.testing.assert_array_equal(got, want)
        # levels made in the background thread (from the level above) are the same pixels
        bg = background.level_for(scale)[0]
        np.testing.assert_array_equal(pixels(bg), got)


def test_scene_render_to_an_image_bypasses_the_cache(doc):
    """Rendering the canvas scene elsewhere (an export, a thumbnail) neither uses nor disturbs the
    tiles made for the view's scale."""
    doc.history.push(AddShapes("k", [Shape("cat", SQUARE)]))
    doc.grab()
    tiles, scale = doc.layer.tile_count(), doc.layer.tile_scale
    out = QImage(W, H, QImage.Format.Format_RGB32)
    p = QPainter(out)
    doc.view.canvas_scene.render(p, QRectF(0, 0, W, H), QRectF(0, 0, W, H))
    p.end()
    assert is_reddish(tuple(out.pixelColor(80, 80).getRgb()[:3]))
    assert out.pixelColor(300, 200).getRgb()[:3] == (GRAY, GRAY, GRAY)
    assert doc.layer.tile_count() == tiles and doc.layer.tile_scale == scale
