"""Image grids: many small grayscale images tiled into one picture, with optional row labels."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def tile(images: np.ndarray, ncols: int, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile ``images (N, H, W)`` row by row into one ``(rows·(H+pad)−pad, ncols·(W+pad)−pad)`` array.

    Missing cells at the end are filled with ``pad_value``.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, 1, H, W), got {images.shape}")
    n, h, w = images.shape
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), pad_value, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    return out


def image_grid(images: np.ndarray, ncols: int = 8, *, ax=None, title: str = "", vmin: float = 0.0,
               vmax: float = 1.0, row_labels: Sequence[str] | None = None, pad: int = 1, fontsize: int = 8):
    """Show ``images (N, H, W)`` as a grid in grayscale on ``ax`` (a new figure when None) and return the axes.

    Intensities are shown between ``vmin`` and ``vmax`` (clipped). ``row_labels`` name the rows on the
    left. The axes has no ticks; its x/y labels say the grid's layout, since pixels carry no unit here.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    grid = tile(np.clip(images, vmin, vmax), ncols, pad=pad, pad_value=vmax)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12, 0.9 * ncols + 1), 0.9 * grid.shape[0] / images.shape[1] + 0.8))
    ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    h = images.shape[1]
    if row_labels is not None:
        ax.set_yticks([(h + pad) * r + h / 2 for r in range(len(row_labels))])
        ax.set_yticklabels(list(row_labels), fontsize=fontsize)
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize + 2)
    return ax
