"""Segmentation figures: label overlays on grey-scale images, and grids of them.

Colours follow one fixed map per class index (background transparent), so that the same structure has
the same colour in every notebook. Default class names are the ACDC ones (RV, MYO, LV).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: RGBA colours per class index: background transparent, then blue, green, red, orange, purple, cyan.
CLASS_COLOURS: tuple[tuple[float, float, float, float], ...] = (
    (0, 0, 0, 0), (0.12, 0.47, 0.90, 1), (0.20, 0.75, 0.25, 1), (0.90, 0.20, 0.15, 1),
    (1.00, 0.60, 0.00, 1), (0.60, 0.30, 0.80, 1), (0.00, 0.80, 0.80, 1),
)
ACDC_NAMES: tuple[str, ...] = ("background", "RV", "MYO", "LV")


def label_rgba(label: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """An (H, W, 4) RGBA image of an integer label map; background (0) is transparent."""
    label = np.asarray(label).astype(int)
    if label.min() < 0 or label.max() >= len(CLASS_COLOURS):
        raise ValueError(f"labels must be in 0..{len(CLASS_COLOURS) - 1}, got {label.min()}..{label.max()}")
    rgba = np.asarray(CLASS_COLOURS, dtype=float)[label]
    rgba[..., 3] *= alpha
    return rgba


def overlay(ax, image: np.ndarray, label: np.ndarray | None = None, *, alpha: float = 0.45,
            title: str | None = None, spacing: float | None = None, contour: bool = False,
            axis_labels: bool = True) -> None:
    """Draw ``image`` in grey with ``label`` coloured on top (filled, or as contours with ``contour=True``).

    ``spacing`` (mm per pixel) switches the axes from pixels to millimetres.
    """
    image = np.asarray(image, dtype=float)
    h, w = image.shape
    ext = None if spacing is None else (0, w * spacing, h * spacing, 0)
    ax.imshow(image, cmap="gray", interpolation="nearest", extent=ext)
    if label is not None:
        if contour:
            for k in range(1, int(np.max(label)) + 1):
                if (label == k).any():
                    ax.contour((np.asarray(label) == k).astype(float), levels=[0.5], colors=[CLASS_COLOURS[k][:3]],
                               linewidths=1.0, extent=ext, origin="upper" if ext is not None else None)
        else:
            ax.imshow(label_rgba(label, alpha), interpolation="nearest", extent=ext)
    if title:
        ax.set_title(title, fontsize=9)
    unit = "mm" if spacing is not None else "px"
    if axis_labels:
        ax.set_xlabel(f"x ({unit})", fontsize=8)
        ax.set_ylabel(f"y ({unit})", fontsize=8)
    ax.tick_params(labelsize=7)


def legend_handles(names: Sequence[str] = ACDC_NAMES):
    """Legend patches for the foreground classes (index ≥ 1) of ``names``."""
    from matplotlib.patches import Patch

    return [Patch(color=CLASS_COLOURS[i][:3], label=n) for i, n in enumerate(names) if i > 0]


def overlay_grid(images: Sequence[np.ndarray], columns: Sequence[tuple[str, Sequence[np.ndarray | None]]], *,
                 row_titles: Sequence[str] | None = None, suptitle: str = "", names: Sequence[str] = ACDC_NAMES,
                 spacing: float | None = None, panel: float = 1.9, alpha: float = 0.45):
    """A grid: one row per image, one column per label source (e.g. ground truth, then each method).

    Args:
        images: the grey-scale images, one per row.
        columns: ``(title, labels)`` pairs; ``labels[i]`` is drawn over ``images[i]`` (``None``: image only).
        row_titles: a label per row (e.g. patient and slice).
        spacing: mm per pixel for the axes (pixels when ``None``); only the outer panels get axis labels.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(images), len(columns)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(panel * n_cols, panel * n_rows + 0.6), squeeze=False)
    for r in range(n_rows):
        for c, (title, labels) in enumerate(columns):
            ax = axes[r, c]
            overlay(ax, images[r], labels[r], alpha=alpha, title=title if r == 0 else None, spacing=spacing,
                    axis_labels=False)
            if c == 0:
                ax.set_ylabel(((row_titles[r] + "\n") if row_titles else "") + ("y (mm)" if spacing else "y (px)"),
                              fontsize=8)
            else:
                ax.set_yticklabels([])
            if r == n_rows - 1:
                ax.set_xlabel("x (mm)" if spacing else "x (px)", fontsize=8)
            else:
                ax.set_xticklabels([])
    fig.legend(handles=legend_handles(names), loc="upper right", ncol=len(names) - 1, fontsize=8, frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig
