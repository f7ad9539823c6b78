"""Shape conversions offered by the UI, each returned as ONE Edit (None when nothing changes).

* :func:`shapes_to_mask_edit` — polygons / rectangles / circles (any rasterisable vector shape)
  → painted into their class's mask layer (created if absent), the vector shapes removed;
* :func:`masks_to_polygons_edit` — mask shapes → polygons (``rasterize.mask_to_shapes`` with
  ``tolerance`` and ``min_area``; a component with holes stays a mask so holes survive).

Pure: numpy + segstudio.core. No Qt.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import AddShapes, Compound, DeleteShapes, PaintMask
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.rasterize import mask_to_shapes, shape_mask


def shapes_to_mask_edit(key: str, ann: ImageAnnotation, shapes: list[Shape]) -> Compound | None:
    """Rasterises ``shapes`` (labelme semantics) into per-class mask layers and removes them."""
    vec = [s for s in shapes if not s.kind.carries_mask and len(s.points)]
    if not vec:
        return None
    h, w = ann.height, ann.width
    edits: list = []
    new_layers: dict[str, Shape] = {}
    for s in vec:
        footprint = shape_mask(s, h, w)
        layer = new_layers.get(s.label) or ann.mask_shape(s.label)
        if layer is None:
            layer = Shape(s.label, np.zeros((0, 2)), "mask", mask=np.zeros((h, w), dtype=bool))
            new_layers[s.label] = layer
            edits.append(AddShapes(key, [layer], None, "Add mask"))
        # build against a scratch copy so several shapes of one class compose in one step
        paint = PaintMask.from_stroke(key, layer, footprint)
        if paint is not None:
            layer.mask[paint.bounds[0]:paint.bounds[1], paint.bounds[2]:paint.bounds[3]] = paint.new
            edits.append(paint)
    # undo the scratch writes: the edits re-apply them in order
    for e in reversed(edits):
        if isinstance(e, PaintMask):
            y0, y1, x0, x1 = e.bounds
            assert e.shape.mask is not None
            e.shape.mask[y0:y1, x0:x1] = e.old
    edits.append(DeleteShapes(key, vec))
    return Compound(f"Convert {len(vec)} shape(s) to mask", edits)


def masks_to_polygons_edit(key: str, ann: ImageAnnotation, shapes: list[Shape], *, tolerance: float = 1.0,
                           min_area: float = 0.0) -> Compound | None:
    """Replaces each mask shape by polygons of its components (holes → the component stays a mask)."""
    masks = [s for s in shapes if s.kind.carries_mask and s.mask is not None]
    if not masks:
        return None
    new: list[Shape] = []
    for m in masks:
        assert m.mask is not None
        new += mask_to_shapes(m.mask, m.label, "polygon", tolerance=tolerance, min_area=min_area, group_id=m.group_id, description=m.description)
    edits: list = [DeleteShapes(key, masks)]
    if new:
        edits.append(AddShapes(key, new, None, "Add polygons"))
    return Compound(f"Convert {len(masks)} mask(s) to polygons", edits)
