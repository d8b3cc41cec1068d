"""Segmentation metrics per class: Dice and the 95th-percentile Hausdorff distance (HD95).

HD95 has two conventions in the literature, and they disagree often (on most pairs of imperfect masks). Both
take the surface distances of one mask to the other in each direction; they differ in how the two directions are
combined:

``"pooled"``
    The 95th percentile of both directions' distances pooled into one set: ``medpy.metric.binary.hd95``, which the
    official evaluation code of SSL4MIS, TransUNet, BCP and most of their descendants calls.
``"max_directed"``
    The larger of the two directed 95th percentiles: MONAI's
    ``compute_hausdorff_distance(percentile=95)`` / ``HausdorffDistanceMetric(percentile=95)``.

A prediction equal to the target plus a small distant false positive can score 0 pooled (the outlier is under 5 %
of the pooled set) and the full distance to the outlier in ``max_directed``. A caller must name the convention
(``convention=`` has no default) and a record that reports HD95 should name it too (:data:`HD95_CONVENTIONS`).
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
from scipy import ndimage

HD95Convention = Literal["pooled", "max_directed"]

HD95_CONVENTIONS: dict[str, str] = {
    "pooled": "pooled: 95th percentile of both directions' surface distances in one set "
              "(medpy.metric.binary.hd95)",
    "max_directed": "max_directed: larger of the two directed 95th percentiles "
                    "(MONAI compute_hausdorff_distance(percentile=95))",
}
"""One line per HD95 convention, naming the reference implementation it matches."""


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


def _mask_pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as boolean arrays, checked to be masks of one shape (..., H, W) or to broadcast to one."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    try:
        shape = np.broadcast_shapes(pred.shape, target.shape)
    except ValueError:
        shape = ()
    if len(shape) < 2 or pred.shape[-2:] != target.shape[-2:]:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must be masks of one shape (..., H, W), "
                         "or broadcast to one")
    return pred, target


def binary_dice(pred: np.ndarray, target: np.ndarray, *, empty: float = 1.0) -> np.ndarray:
    """Dice 2|P∩T| / (|P|+|T|) of binary masks, one value per image: the last two axes are the image, any leading
    axes are a batch that broadcasts (e.g. (N, K, H, W) predictions of K models against (N, 1, H, W) targets; a
    single 2-D pair gives a 0-d array). ``empty`` is the value where both masks are empty."""
    pred, target = _mask_pair(pred, target)
    inter = (pred & target).sum((-2, -1))
    size = pred.sum((-2, -1)) + target.sum((-2, -1))
    return np.where(size > 0, 2 * inter / np.maximum(size, 1), empty)


def binary_iou(pred: np.ndarray, target: np.ndarray, *, empty: float = 1.0) -> np.ndarray:
    """IoU (Jaccard) |P∩T| / |P∪T| of binary masks, one value per image, with the broadcasting and shape rules of
    :func:`binary_dice` (e.g. (N, C, H, W) multi-label masks give (N, C)). ``empty`` is the value where both
    masks are empty (PAXRay's official evaluation adds 1e-6 to the union, so it scores that case 0)."""
    pred, target = _mask_pair(pred, target)
    inter = (pred & target).sum((-2, -1))
    union = (pred | target).sum((-2, -1))
    return np.where(union > 0, inter / np.maximum(union, 1), empty)


def _surface(mask: np.ndarray) -> np.ndarray:
    """The mask's voxels that have a face neighbour outside it: mask XOR its erosion by the connectivity-1 cross.

    Outside the array counts as background, so a mask that touches the border has a surface there. This is
    medpy's and MONAI's edge definition (``scipy.ndimage.binary_erosion`` with the connectivity-1 structure and
    ``border_value=0``).
    """
    cross = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=cross, border_value=0)


def _spacing(spacing: float | Sequence[float] | np.ndarray | None, ndim: int) -> tuple[float, ...]:
    """The voxel spacing as ``ndim`` positive floats: ``None`` → unit spacing, one number → isotropic."""
    if spacing is None:
        return (1.0,) * ndim
    sp = np.asarray(spacing, dtype=float)
    if sp.ndim == 0:
        sp = np.full(ndim, float(sp))
    if sp.shape != (ndim,):
        raise ValueError(f"spacing {np.asarray(spacing).tolist()} has {sp.size} values; the masks are {ndim}-D, "
                         f"so it needs one number or {ndim}")
    if not np.all(np.isfinite(sp) & (sp > 0)):
        raise ValueError(f"spacing {sp.tolist()} must be finite and positive")
    return tuple(float(s) for s in sp)


def _check_convention(convention: str) -> None:
    if convention not in HD95_CONVENTIONS:
        raise ValueError(f"unknown HD95 convention {convention!r}; choose one of {sorted(HD95_CONVENTIONS)}")


def hd95(pred: np.ndarray, target: np.ndarray, spacing: float | Sequence[float] | np.ndarray | None = None, *,
         convention: HD95Convention) -> float:
    """95th-percentile Hausdorff distance between two binary masks, in the units of ``spacing``.

    Surfaces: the mask voxels with a face neighbour outside the mask (outside the array counts as background).
    Distances: exact Euclidean from each surface voxel of one mask to the nearest surface voxel of the other,
    scaled by ``spacing`` (one number per axis, one number for all axes, or ``None`` for unit voxels).
    ``convention`` (required) combines the two directions:

    - ``"pooled"``: ``percentile(concat(d(P→T), d(T→P)), 95)``, as ``medpy.metric.binary.hd95``;
    - ``"max_directed"``: ``max(percentile(d(P→T), 95), percentile(d(T→P), 95))``, as MONAI's
      ``compute_hausdorff_distance(percentile=95)``.

    Percentiles interpolate linearly (numpy's and torch's default). Both masks empty → 0.0; exactly one empty →
    NaN (undefined; report how often it happens). These two cases are deliberate departures from the
    references: medpy raises an error for either, MONAI gives NaN for both empty and inf for one empty.
    Raises ``ValueError`` for masks of different shapes, a spacing of the wrong length, or an unknown convention.
    """
    _check_convention(convention)
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    sampling = _spacing(spacing, pred.ndim)
    if not pred.any() and not target.any():
        return 0.0
    if not pred.any() or not target.any():
        return float("nan")
    sp, st = _surface(pred), _surface(target)
    d_pt = ndimage.distance_transform_edt(~st, sampling=sampling)[sp]     # each pred surface voxel → target surface
    d_tp = ndimage.distance_transform_edt(~sp, sampling=sampling)[st]     # each target surface voxel → pred surface
    if convention == "pooled":
        return float(np.percentile(np.concatenate([d_pt, d_tp]), 95))
    return float(max(np.percentile(d_pt, 95), np.percentile(d_tp, 95)))


def hd95_per_class(pred: np.ndarray, target: np.ndarray, labels: Sequence[int],
                   spacing: float | Sequence[float] | np.ndarray | None = None, *,
                   convention: HD95Convention) -> np.ndarray:
    """:func:`hd95` of ``pred == label`` against ``target == label`` for each label, in the named convention."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    return np.asarray([hd95(pred == lab, target == lab, spacing, convention=convention) for lab in labels],
                      dtype=float)
