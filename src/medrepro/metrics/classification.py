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


def bootstrap_weights(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Row weights for a bootstrap: row 0 is all ones (the sample itself), rows 1… are multinomial resamples.

    Weighting rows instead of indexing them lets a metric be computed for every resample in one
    vectorised pass, and using the same weights for two methods makes their comparison paired.
    """
    rng = np.random.default_rng(seed)
    return np.vstack([np.ones(n), rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)])


def weighted_auroc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC under every row-weight vector of ``weights`` (e.g. from :func:`bootstrap_weights`).

    ``y_true`` is (N,) or (N, K); ``scores`` is (N,) or (N, K) (a 1-D ``y_true`` is shared by all K score
    columns); ``weights`` is (R, N). Returns (R,) or (R, K). Ties count ½ (the Mann–Whitney statistic,
    identical to scikit-learn's ``roc_auc_score`` on row 0 of unit weights); NaN where a resample has
    only one class. One sort per column, then cumulative sums: O(K · N log N + R · K · N).
    """
    y_true, scores, weights = np.asarray(y_true, float), np.asarray(scores, float), np.atleast_2d(weights)
    squeeze = scores.ndim == 1
    scores = scores[:, None] if squeeze else scores
    ys = np.broadcast_to(y_true[:, None] if y_true.ndim == 1 else y_true, scores.shape)
    n = len(scores)
    out = np.full((len(weights), scores.shape[1]), np.nan)
    for k in range(scores.shape[1]):
        order = np.argsort(scores[:, k], kind="stable")
        sk, yk, wk = scores[order, k], ys[order, k], weights[:, order]
        pos, neg = wk * yk, wk * (1 - yk)
        cneg = np.concatenate([np.zeros((len(wk), 1)), np.cumsum(neg, axis=1)], axis=1)
        starts = np.r_[True, sk[1:] != sk[:-1]]
        first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))             # start of each tie group
        ends = np.r_[starts[1:], True]
        last = np.minimum.accumulate(np.where(ends, np.arange(1, n + 1), n)[::-1])[::-1]  # its end (exclusive)
        below, tied = cneg[:, first], cneg[:, last] - cneg[:, first]                 # negatives lower / tied
        num, den = (pos * (below + 0.5 * tied)).sum(1), pos.sum(1) * neg.sum(1)
        out[:, k] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out[:, 0] if squeeze else out
