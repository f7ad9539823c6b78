"""Edits behind the Edit-menu commands on selected shapes: change class, show/hide,
polygon → mask, mask → polygons, and fitting pasted shapes to another image.

Qt-free (numpy + segstudio.core) so it is tested without a window; each function returns ONE
Edit (or None when there is nothing to do) for ``controller.push``. Conversions keep the
z-order: the new shapes take the place of the ones they replace.

May import: numpy, segstudio.core.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import AddShapes, Compound, DeleteShapes, SetShapeAttributes
from segstudio.core.model import ImageAnnotation, Shape
from segstudio.core.rasterize import mask_to_shapes, shape_mask


def clip_shape(shape: Shape, width: int, height: int) -> Shape | None:
    """A copy of ``shape`` (new uid) fitted to a ``width``×``height`` image; None if nothing is left."""
    out = shape.copy()
    if out.kind.carries_mask and out.mask is not None:
        mask = np.zeros((height, width), dtype=bool)
        h, w = min(height, out.mask.shape[0]), min(width, out.mask.shape[1])
        mask[:h, :w] = out.mask[:h, :w]
        if not mask.any():
            return None
        out.mask = mask
        return out
    if len(out.points):
        out.points[:, 0] = np.clip(out.points[:, 0], 0, width)
        out.points[:, 1] = np.clip(out.points[:, 1], 0, height)
    return out


def toggle_visible(key: str, shapes: list[Shape]) -> SetShapeAttributes | None:
    """Hides the shapes if all are visible, else shows them all."""
    if not shapes:
        return None
    show = not all(s.visible for s in shapes)
    return SetShapeAttributes(key, list(shapes), {"visible": show}, "Show shapes" if show else "Hide shapes")


def change_label(key: str, shapes: list[Shape], label: str, group_id: int | None) -> SetShapeAttributes | None:
    """Relabels ``shapes``; a group id is set only when one is given (None keeps each shape's own)."""
    if not shapes:
        return None
    new: dict = {"label": label}
    if group_id is not None:
        new["group_id"] = group_id
    return SetShapeAttributes(key, list(shapes), new, f"Set class '{label}'")


def _replace(key: str, ann: ImageAnnotation, pairs: list[tuple[Shape, list[Shape]]], text: str) -> Compound | None:
    """Deletes each old shape and inserts its replacements at its place in the stacking order."""
    pairs = [(old, new) for old, new in pairs if new]
    if not pairs:
        return None
    olds = [old for old, _ in pairs]
    kept = [s for s in ann.shapes if all(s is not o for o in olds)]
    news: list[Shape] = []
    indices: list[int] = []
    # final position of each replacement = its old shape's index among the survivors + what came before
    offset = 0
    for old, new in sorted(pairs, key=lambda p: ann.index_of(p[0])):
        before = sum(1 for s in ann.shapes[:ann.index_of(old)] if any(s is k for k in kept))
        for j, s in enumerate(new):
            indices.append(before + offset + j)
            news.append(s)
        offset += len(new)
    return Compound(text, [DeleteShapes(key, olds, text), AddShapes(key, news, indices, text)])


def to_mask(key: str, ann: ImageAnnotation, shapes: list[Shape]) -> Compound | None:
    """Vector shapes → one mask shape each (same class, group id and description)."""
    pairs = []
    for s in shapes:
        if not s.kind.closed or s.kind.carries_mask:   # areas only: a line has no inside
            continue
        m = shape_mask(s, ann.height, ann.width)
        if m.any():
            pairs.append((s, [Shape(s.label, np.zeros((0, 2)), "mask", s.group_id, s.description,
                                    dict(s.flags), mask=m)]))
    return _replace(key, ann, pairs, "Convert to mask")


def to_polygons(key: str, ann: ImageAnnotation, shapes: list[Shape], tolerance: float,
                *, min_area: float = 0.0) -> Compound | None:
    """Mask shapes → one polygon per connected part (parts with holes stay masks)."""
    pairs = []
    for s in shapes:
        if not s.kind.carries_mask or s.mask is None:
            continue
        pairs.append((s, mask_to_shapes(s.mask, s.label, "polygon", tolerance=tolerance, min_area=min_area, group_id=s.group_id,
                                        description=s.description)))
    return _replace(key, ann, pairs, "Convert to polygons")
