"""Boxes written as text: a box quantised to a grid of cells and spelled as four tokens ``<x0> <y0> <x1> <y1>``.

Grounded report generators (MAIRA-2, Kosmos-2) let the language model write a finding's location with the same
next-token loss as its words: the image is divided into ``grid`` × ``grid`` cells and a box becomes the cells of its
corners, each a token of the vocabulary. Here the box ``(x0, y0, x1, y1)`` (pixels of an image of side ``size``,
exclusive ends) becomes the *inclusive* cell indices that cover it::

    c_x0 = floor(x0 / cell),  c_x1 = ceil(x1 / cell) - 1,   cell = size / grid   (the same for y)

and :func:`dequantise` returns the covering box ``(c_x0 * cell, c_y0 * cell, (c_x1 + 1) * cell, (c_y1 + 1) * cell)``:
it contains the original box and each edge moves outward by less than one cell (the round trip a test checks).
MAIRA-2 quantises to 100 bins per axis; the toy models here use a grid as coarse as their patch tokens.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_TOKEN = re.compile(r"^<([xy])(\d+)>$")


def quantise(boxes: np.ndarray, size: int, grid: int) -> np.ndarray:
    """Pixel boxes ``(..., 4)`` ``(x0, y0, x1, y1)`` (exclusive ends) → inclusive cell indices ``(..., 4)`` (int).

    Raises ``ValueError`` for NaN boxes, empty boxes or boxes outside ``[0, size]``.
    """
    b = np.asarray(boxes, dtype=float)
    if b.shape[-1:] != (4,):
        raise ValueError(f"boxes must end in 4 coordinates (x0, y0, x1, y1), got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError("boxes hold NaN or inf (a finding without a box cannot be quantised)")
    if (b < 0).any() or (b > size).any():
        raise ValueError(f"boxes must lie inside the image [0, {size}], got {b.min():g}..{b.max():g}")
    if (b[..., 2] <= b[..., 0]).any() or (b[..., 3] <= b[..., 1]).any():
        raise ValueError("boxes must have x1 > x0 and y1 > y0")
    cell = size / grid
    lo = np.floor(b[..., :2] / cell + 1e-9)
    hi = np.ceil(b[..., 2:] / cell - 1e-9) - 1
    return np.clip(np.concatenate([lo, hi], -1), 0, grid - 1).astype(np.int64)


def dequantise(cells: np.ndarray, size: int, grid: int) -> np.ndarray:
    """Inclusive cell indices ``(..., 4)`` → the covering pixel box ``(..., 4)`` (exclusive ends), float."""
    c = np.asarray(cells, dtype=float)
    cell = size / grid
    return np.concatenate([c[..., :2] * cell, (c[..., 2:] + 1) * cell], -1)


def box_token_names(grid: int) -> list[str]:
    """The ``2 * grid`` token strings: ``<x0> … <x{grid-1}> <y0> … <y{grid-1}>``."""
    return [f"<x{i}>" for i in range(grid)] + [f"<y{i}>" for i in range(grid)]


def box_to_tokens(cells: Sequence[int]) -> list[str]:
    """Inclusive cells ``(cx0, cy0, cx1, cy1)`` → ``["<x..>", "<y..>", "<x..>", "<y..>"]``."""
    cx0, cy0, cx1, cy1 = (int(v) for v in cells)
    return [f"<x{cx0}>", f"<y{cy0}>", f"<x{cx1}>", f"<y{cy1}>"]


def tokens_to_box(tokens: Sequence[str]) -> tuple[int, int, int, int] | None:
    """Four tokens ``<x> <y> <x> <y>`` → inclusive cells, or ``None`` when they are not a well-formed box
    (a wrong axis, fewer than four, or a corner after the other)."""
    if len(tokens) != 4:
        return None
    parsed = [_TOKEN.match(t) for t in tokens]
    if any(m is None for m in parsed) or [m.group(1) for m in parsed] != ["x", "y", "x", "y"]:
        return None
    cx0, cy0, cx1, cy1 = (int(m.group(2)) for m in parsed)
    if cx1 < cx0 or cy1 < cy0:
        return None
    return cx0, cy0, cx1, cy1


def split_grounded(words: Sequence[str]) -> list[tuple[str, tuple[int, int, int, int] | None]]:
    """A generated word sequence → sentences ``(text, cells or None)``.

    Sentences end at ``"."``; the box tokens of a sentence (the first four, where well formed) are its box, the
    other words its text. Box tokens that do not form a box are dropped (the sentence is then ungrounded).
    """
    out, cur = [], []
    for w in list(words) + ["."]:
        if w == ".":
            if cur:
                boxes = [t for t in cur if _TOKEN.match(t)]
                text = " ".join(t for t in cur if not _TOKEN.match(t))
                out.append((text, tokens_to_box(boxes[:4]) if boxes else None))
            cur = []
        else:
            cur.append(w)
    return out
