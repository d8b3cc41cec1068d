"""Lesion metrics of the ISLES stroke challenges: Dice, absolute volume difference, lesion count, lesion-wise F1.

Definitions follow the challenge's evaluation code (``utils/eval_utils.py`` of github.com/ezequieldlrosa/isles22,
also used by ISLES 2024), re-implemented with ``scipy.ndimage.label`` instead of the ``cc3d`` package:

- Dice: 2|A∩B| / (|A| + |B|); both masks empty → ``empty_value`` (1.0).
- absolute volume difference: | |A| − |B| | × voxel volume, in ml when the voxel volume is given in ml.
- absolute lesion-count difference: |N(A) − N(B)|, N = number of 3-D connected components (26-connectivity).
- lesion-wise F1: a ground-truth component touched by the prediction in at least one voxel is a true positive,
  an untouched one a false negative; a predicted component touching no ground-truth voxel is a false positive;
  F1 = TP / (TP + (FP + FN) / 2); no component in either mask → ``empty_value``.

``tests/test_lesion_metrics.py`` checks them against MONAI and scikit-image on random and edge cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_STRUCTURES = {6: ndimage.generate_binary_structure(3, 1), 18: ndimage.generate_binary_structure(3, 2),
               26: ndimage.generate_binary_structure(3, 3)}


def _check(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt, pred = np.asarray(gt).astype(bool), np.asarray(pred).astype(bool)
    if gt.shape != pred.shape:
        raise ValueError(f"shape mismatch: ground truth {gt.shape}, prediction {pred.shape}")
    return gt, pred


def label_lesions(mask: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Connected components of a 3-D (or 2-D) mask: (labels, count); 26-connectivity as the ISLES code."""
    mask = np.asarray(mask).astype(bool)
    if mask.ndim == 3:
        structure = _STRUCTURES[connectivity]
    else:
        structure = ndimage.generate_binary_structure(mask.ndim, mask.ndim if connectivity >= 8 else 1)
    labels, n = ndimage.label(mask, structure=structure)
    return labels, int(n)


def dice(gt: np.ndarray, pred: np.ndarray, empty_value: float = 1.0) -> float:
    """Dice of two masks; ``empty_value`` when both are empty."""
    gt, pred = _check(gt, pred)
    total = gt.sum() + pred.sum()
    return float(empty_value) if total == 0 else float(2.0 * np.logical_and(gt, pred).sum() / total)


def absolute_volume_difference(gt: np.ndarray, pred: np.ndarray, voxel_volume: float) -> float:
    """| |gt| − |pred| | × ``voxel_volume`` (give the voxel volume in ml for ml)."""
    gt, pred = _check(gt, pred)
    return float(abs(int(gt.sum()) - int(pred.sum())) * float(voxel_volume))


def lesion_count_difference(gt: np.ndarray, pred: np.ndarray, connectivity: int = 26) -> int:
    """|number of ground-truth lesions − number of predicted lesions| (connected components)."""
    gt, pred = _check(gt, pred)
    return abs(label_lesions(gt, connectivity)[1] - label_lesions(pred, connectivity)[1])


@dataclass
class LesionCounts:
    """Lesion-level detection counts of one case."""

    tp: int
    fn: int
    fp: int
    n_gt: int
    n_pred: int


def lesion_counts(gt: np.ndarray, pred: np.ndarray, connectivity: int = 26) -> LesionCounts:
    """True-positive, false-negative and false-positive lesions under the ISLES rules (any-voxel overlap)."""
    gt, pred = _check(gt, pred)
    lab_gt, n_gt = label_lesions(gt, connectivity)
    lab_pr, n_pr = label_lesions(pred, connectivity)
    hit = np.unique(lab_gt[pred & (lab_gt > 0)])                       # ground-truth lesions touched by pred
    touching = np.unique(lab_pr[gt & (lab_pr > 0)])                     # predicted lesions touching gt
    tp = int(hit.size)
    return LesionCounts(tp=tp, fn=n_gt - tp, fp=n_pr - int(touching.size), n_gt=n_gt, n_pred=n_pr)


def lesion_f1(gt: np.ndarray, pred: np.ndarray, empty_value: float = 1.0, connectivity: int = 26) -> float:
    """Lesion-wise F1 = TP / (TP + (FP + FN)/2); ``empty_value`` when neither mask has a lesion."""
    c = lesion_counts(gt, pred, connectivity)
    if c.tp + c.fp + c.fn == 0:
        return float(empty_value)
    return float(c.tp / (c.tp + (c.fp + c.fn) / 2))


def isles_metrics(gt: np.ndarray, pred: np.ndarray, voxel_volume_ml: float) -> dict[str, float]:
    """The four ISLES metrics of one case: dice, abs_volume_diff_ml, abs_lesion_count_diff, lesion_f1."""
    return {"dice": dice(gt, pred), "abs_volume_diff_ml": absolute_volume_difference(gt, pred, voxel_volume_ml),
            "abs_lesion_count_diff": float(lesion_count_difference(gt, pred)), "lesion_f1": lesion_f1(gt, pred)}


__all__ = ["label_lesions", "dice", "absolute_volume_difference", "lesion_count_difference", "LesionCounts",
           "lesion_counts", "lesion_f1", "isles_metrics"]
