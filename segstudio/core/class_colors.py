"""Class colours: the PASCAL VOC colormap (labelme's) by class value, and the grey of
``__ignore__`` — the colours :mod:`segstudio.core.model` gives new classes."""

from __future__ import annotations

#: Colour of ``__ignore__``: a neutral grey that no class among the first 256 gets.
IGNORE_COLOR = (160, 160, 160)


def voc_color(value: int) -> tuple[int, int, int]:
    """The PASCAL VOC colormap entry for class value ``value`` (0 = background = black).

    The bit-interleaving rule of the VOC devkit (labelme uses the same map): bits 0, 3, 6, …
    of the value fill red from its top bit down, bits 1, 4, 7, … green, bits 2, 5, 8, … blue.
    Eight rounds consume 24 bits, so the first 2**24 values get distinct colours.
    """
    r = g = b = 0
    c = int(value)
    for shift in range(7, -1, -1):
        r |= (c & 1) << shift
        g |= ((c >> 1) & 1) << shift
        b |= ((c >> 2) & 1) << shift
        c >>= 3
    return r, g, b


def default_color(index: int) -> tuple[int, int, int]:
    """Colour of the ``index``-th class (0-based, background not counted): the VOC colour of
    its class value ``index + 1``, so colours match labelme's and those of VOC exports, and the
    same class list gives the same colours in every project."""
    return voc_color(index + 1)
