"""Classification metrics and bootstrap intervals."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def auroc(y_true: Sequence[int], score: Sequence[float]) -> float:
    """Area under the ROC curve of a binary task (the Mann–Whitney U statistic, ties counted ½)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true)
    if y.min() == y.max():
        raise ValueError("AUROC needs both classes in y_true")
    return float(roc_auc_score(y, np.asarray(score)))


def macro_auroc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUROC over the columns (classes) of a multi-label (N, K) task; columns with one class are skipped."""
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    vals = [auroc(y_true[:, k], scores[:, k]) for k in range(y_true.shape[1]) if 0 < y_true[:, k].sum() < len(y_true)]
    if not vals:
        raise ValueError("no column of y_true has both classes")
    return float(np.mean(vals))


def bootstrap_ci(metric: Callable[..., float], *arrays: np.ndarray, n_boot: int = 500, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of ``metric(*arrays)``, resampling rows.

    Resamples on which the metric is undefined (e.g. a single class) are skipped.
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    point = float(metric(*arrays))
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            vals.append(metric(*(a[idx] for a in arrays)))
        except ValueError:
            continue
    if len(vals) < n_boot // 2:
        raise ValueError(f"the metric was undefined on {n_boot - len(vals)} of {n_boot} resamples")
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def paired_bootstrap_diff(metric: Callable[..., float], y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray,
                          n_boot: int = 500, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """metric(y, a) − metric(y, b) with a paired bootstrap interval (same resampled rows for both)."""
    y, score_a, score_b = np.asarray(y), np.asarray(score_a), np.asarray(score_b)
    point = metric(y, score_a) - metric(y, score_b)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        try:
            vals.append(metric(y[idx], score_a[idx]) - metric(y[idx], score_b[idx]))
        except ValueError:
            continue
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return float(point), float(lo), float(hi)
