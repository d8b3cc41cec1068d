"""Interactive viewers for volumes and videos, with a static fallback.

In a live notebook an ipywidgets slider scrolls through the slices or frames. In the published book
(where no kernel runs) and in papermill runs, the same call draws a static montage of evenly spaced
slices, so every page shows a picture whether or not widget JavaScript can load.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np


def _interactive() -> bool:
    """True in a live Jupyter kernel with ipywidgets, False under papermill, in scripts, or when disabled."""
    if os.environ.get("MEDREPRO_STATIC_VIEWERS") or os.environ.get("PAPERMILL_EXECUTION"):
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or "ipykernel" not in type(shell).__module__ + str(type(shell)):
            return False
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return "papermill" not in __import__("sys").modules


def montage(volume: np.ndarray, n: int = 8, axis: int = 0, overlay: np.ndarray | None = None,
            titles: Sequence[str] | None = None, title: str = "", cmap: str = "gray"):
    """Draw ``n`` evenly spaced slices of ``volume`` along ``axis`` (with an optional label overlay).

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    volume = np.asarray(volume)
    idx = np.linspace(0, volume.shape[axis] - 1, min(n, volume.shape[axis])).round().astype(int)
    fig, axes = plt.subplots(1, len(idx), figsize=(1.8 * len(idx), 2.2), squeeze=False)
    for k, (ax, i) in enumerate(zip(axes[0], idx)):
        ax.imshow(np.take(volume, i, axis=axis), cmap=cmap)
        if overlay is not None:
            ov = np.ma.masked_equal(np.take(overlay, i, axis=axis), 0)
            ax.imshow(ov, cmap="tab10", alpha=0.5, vmin=0, vmax=9, interpolation="nearest")
        ax.set_title(titles[k] if titles else f"{i}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def slice_viewer(volume: np.ndarray, axis: int = 0, overlay: np.ndarray | None = None, title: str = "",
                 static_slices: int = 8):
    """A slider over the slices (or frames) of ``volume`` in a live notebook; a static montage otherwise.

    Returns the widget, or the figure of the static fallback.
    """
    if not _interactive():
        return montage(volume, n=static_slices, axis=axis, overlay=overlay, title=title + " (static view)")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    volume = np.asarray(volume)

    def show(index: int) -> None:
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(np.take(volume, index, axis=axis), cmap="gray")
        if overlay is not None:
            ax.imshow(np.ma.masked_equal(np.take(overlay, index, axis=axis), 0), cmap="tab10", alpha=0.5,
                      vmin=0, vmax=9, interpolation="nearest")
        ax.set_title(f"{title} — slice {index}")
        ax.axis("off")
        plt.show()

    return widgets.interact(show, index=widgets.IntSlider(0, 0, volume.shape[axis] - 1, 1))
