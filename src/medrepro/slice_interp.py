"""Through-plane slice interpolation of sparse image and label stacks (the baselines of slice reconstruction).

A short-axis cardiac MR stack is sparse through-plane (8–10 mm between slices against 1–2 mm in plane). Given a
stack with only every ``step``-th slice kept, the missing slices can be filled by

- :func:`linear_images` — intensity interpolation: each missing slice is the distance-weighted mean of the two
  kept slices around it (what ``scipy.ndimage.zoom(order=1)`` or trilinear resampling does along z);
- :func:`linear_labels` — the same for label maps, on their one-hot encoding, followed by an arg-max;
- :func:`shape_based_labels` — shape-based interpolation (Raya & Udupa 1990; Herman et al. 1992): the signed
  distance maps of each structure are interpolated and the zero level set taken, which moves a boundary
  instead of cross-fading it.

All functions take stacks shaped ``(Z, H, W)`` (slice first) and return only the missing slices, in order.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def split_sparse(n_slices: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the kept slices (``0, step, 2·step, …``, always including the last one) and of the missing ones.

    Raises:
        ValueError: ``step < 2`` (nothing would be missing) or fewer than two slices.
    """
    if step < 2:
        raise ValueError(f"step must be at least 2 (every step-th slice kept), got {step}")
    if n_slices < 2:
        raise ValueError(f"need at least two slices, got {n_slices}")
    kept = np.arange(0, n_slices, step)
    if kept[-1] != n_slices - 1:
        kept = np.append(kept, n_slices - 1)
    missing = np.setdiff1d(np.arange(n_slices), kept)
    return kept, missing


def _neighbours(kept: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each missing index, the kept slice below and above it and the weight of the one above."""
    kept = np.asarray(kept)
    pos = np.searchsorted(kept, missing)
    if (pos == 0).any() or (pos == len(kept)).any():
        raise ValueError("every missing slice must lie between two kept slices")
    lo, hi = kept[pos - 1], kept[pos]
    return lo, hi, (missing - lo) / (hi - lo)


def linear_images(stack: np.ndarray, kept: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Intensity interpolation: ``(1 − w)·I[lo] + w·I[hi]`` for each missing slice, ``w`` its relative position."""
    stack = np.asarray(stack, dtype=np.float64)
    lo, hi, w = _neighbours(kept, missing)
    w = w[:, None, None]
    return ((1 - w) * stack[lo] + w * stack[hi]).astype(np.float32)


def linear_labels(labels: np.ndarray, kept: np.ndarray, missing: np.ndarray, n_classes: int) -> np.ndarray:
    """Label interpolation on one-hot maps: the class with the largest interpolated share wins.

    At an exact tie (a pixel that is class ``a`` below and ``b`` above, midway) the higher class index wins, a fixed
    convention; any tie rule cross-fades the structures rather than moving their boundaries.
    """
    onehot = np.eye(n_classes, dtype=np.float64)[np.asarray(labels)]          # (Z, H, W, C)
    lo, hi, w = _neighbours(kept, missing)
    w = w[:, None, None, None]
    share = (1 - w) * onehot[lo] + w * onehot[hi]
    # arg-max with ties to the higher index: reverse the class axis, take the first maximum
    return (n_classes - 1 - share[..., ::-1].argmax(-1)).astype(np.uint8)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed Euclidean distance to the boundary of a 2-D mask in pixels: negative inside, positive outside.

    An empty mask gives ``+inf`` everywhere (the structure is absent: everything is outside).
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.full(mask.shape, np.inf)
    if mask.all():
        return np.full(mask.shape, -np.inf)
    return ndimage.distance_transform_edt(~mask) - ndimage.distance_transform_edt(mask)


def shape_based_labels(labels: np.ndarray, kept: np.ndarray, missing: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    """Shape-based interpolation: interpolate each structure's signed distance map, keep where it is negative.

    A pixel claimed by several structures takes the one it lies deepest in (the most negative distance).
    A structure present on one side only is interpolated against a distance of ``+R`` on the other side
    (``R`` the largest image side), so that it shrinks towards where it was instead of vanishing abruptly.
    """
    labels = np.asarray(labels)
    lo, hi, w = _neighbours(kept, missing)
    far = float(max(labels.shape[1:]))
    out = np.zeros((len(missing),) + labels.shape[1:], np.uint8)
    for i, (a, b, wi) in enumerate(zip(lo, hi, w)):
        best = np.full(labels.shape[1:], np.inf)
        for c in classes:
            da, db = signed_distance(labels[a] == c), signed_distance(labels[b] == c)
            if np.isinf(da).all() and np.isinf(db).all():
                continue
            da, db = np.where(np.isinf(da), far, da), np.where(np.isinf(db), far, db)
            d = (1 - wi) * da + wi * db
            win = (d < 0) & (d < best)
            out[i][win] = c
            best = np.where(win, d, best)
    return out
