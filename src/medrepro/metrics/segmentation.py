"""Segmentation metrics per class: Dice and the 95th-percentile Hausdorff distance."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage


def dice_per_class(pred: np.ndarray, target: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Dice 2|P∩T| / (|P|+|T|) per label for one image or volume; NaN where both are empty."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    out = []
    for lab in labels:
        p, t = pred == lab, target == lab
        denom = p.sum() + t.sum()
        out.append(np.nan if denom == 0 else 2.0 * np.logical_and(p, t).sum() / denom)
    return np.asarray(out, dtype=float)


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def hd95(pred: np.ndarray, target: np.ndarray, spacing: Sequence[float] | None = None) -> float:
    """95th percentile of the symmetric surface distances between two binary masks (in spacing units).

    Both empty → 0. Exactly one empty → NaN (undefined; report how often it happens).
    """
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    if not pred.any() and not target.any():
        return 0.0
    if not pred.any() or not target.any():
        return float("nan")
    spacing = spacing or (1.0,) * pred.ndim
    sp, st = _surface(pred), _surface(target)
    dt_t = ndimage.distance_transform_edt(~st, sampling=spacing)
    dt_p = ndimage.distance_transform_edt(~sp, sampling=spacing)
    d = np.concatenate([dt_t[sp], dt_p[st]])
    return float(np.percentile(d, 95))


def hd95_per_class(pred: np.ndarray, target: np.ndarray, labels: Sequence[int],
                   spacing: Sequence[float] | None = None) -> np.ndarray:
    """:func:`hd95` for each label."""
    return np.asarray([hd95(pred == lab, target == lab, spacing) for lab in labels], dtype=float)
