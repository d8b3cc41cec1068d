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


def _group_members(groups: np.ndarray | None) -> list[np.ndarray] | None:
    """Row indices of each group (in sorted group order), computed once per bootstrap, not per resample."""
    if groups is None:
        return None
    _, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")  # rows of group 0, then group 1, ... each in row order
    return np.split(order, np.cumsum(np.bincount(inverse))[:-1])


def _resample_indices(rng: np.random.Generator, n: int, members: list[np.ndarray] | None) -> np.ndarray:
    """Row indices of one bootstrap resample: rows with replacement, or whole groups with replacement."""
    if members is None:
        return rng.integers(0, n, n)
    picked = rng.integers(0, len(members), len(members))
    return np.concatenate([members[g] for g in picked])


def _check_groups(groups: Sequence | None, n: int) -> np.ndarray | None:
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups has shape {groups.shape}; it needs one id per row ({n},)")
    if len(np.unique(groups)) < 2:
        raise ValueError("a cluster bootstrap needs at least two groups (patients/subjects)")
    return groups


def bootstrap_ci(metric: Callable[..., float], *arrays: np.ndarray, n_boot: int = 500, alpha: float = 0.05,
                 seed: int = 0, groups: Sequence | None = None) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of ``metric(*arrays)``.

    Args:
        metric: a function of the arrays' rows (e.g. ``auroc(y, score)``).
        arrays: equally long arrays whose rows are resampled together.
        groups: one id per row (patient or subject). When given, whole groups are resampled (a cluster
            bootstrap): rows of one patient — slices, beats, crops — are not independent, and resampling
            them one by one makes the interval too narrow. Pass them whenever a patient has several rows.

    Resamples on which the metric is undefined (e.g. a single class) are skipped; when more than half are,
    this raises.
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays differ in length: {[len(a) for a in arrays]}")
    groups = _check_groups(groups, n)
    point = float(metric(*arrays))
    rng, members = np.random.default_rng(seed), _group_members(groups)
    vals = []
    for _ in range(n_boot):
        idx = _resample_indices(rng, n, members)
        try:
            vals.append(metric(*(a[idx] for a in arrays)))
        except ValueError:
            continue
    if len(vals) < n_boot // 2:
        raise ValueError(f"the metric was undefined on {n_boot - len(vals)} of {n_boot} resamples")
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def paired_bootstrap_diff(metric: Callable[..., float], y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray,
                          n_boot: int = 500, alpha: float = 0.05, seed: int = 0,
                          groups: Sequence | None = None) -> tuple[float, float, float]:
    """metric(y, a) − metric(y, b) with a paired bootstrap interval (the same resampled rows for both).

    ``groups`` (one patient/subject id per row) resamples whole patients, as :func:`bootstrap_ci`.
    """
    y, score_a, score_b = np.asarray(y), np.asarray(score_a), np.asarray(score_b)
    if not len(y) == len(score_a) == len(score_b):
        raise ValueError(f"y, score_a and score_b differ in length: {len(y)}, {len(score_a)}, {len(score_b)}")
    groups = _check_groups(groups, len(y))
    point = metric(y, score_a) - metric(y, score_b)
    rng, members = np.random.default_rng(seed), _group_members(groups)
    vals = []
    for _ in range(n_boot):
        idx = _resample_indices(rng, len(y), members)
        try:
            vals.append(metric(y[idx], score_a[idx]) - metric(y[idx], score_b[idx]))
        except ValueError:
            continue
    if len(vals) < n_boot // 2:
        raise ValueError(f"the metric was undefined on {n_boot - len(vals)} of {n_boot} resamples")
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return float(point), float(lo), float(hi)


def bootstrap_weights(n: int, n_boot: int, seed: int = 0, groups: Sequence | None = None) -> np.ndarray:
    """Row weights for a bootstrap: row 0 is all ones (the sample itself), rows 1… are resamples.

    Weighting rows instead of indexing them lets a metric be computed for every resample in one
    vectorised pass, and using the same weights for two methods makes their comparison paired. With
    ``groups`` (one patient/subject id per row) whole groups are drawn (a cluster bootstrap): every row of
    a group gets the number of times its group was drawn.
    """
    rng = np.random.default_rng(seed)
    groups = _check_groups(groups, n)
    if groups is None:
        return np.vstack([np.ones(n), rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)])
    uniq, inverse = np.unique(groups, return_inverse=True)
    counts = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=n_boot)  # (n_boot, groups)
    return np.vstack([np.ones(n), counts[:, inverse]]).astype(float)


def mean_diff_ci(a: np.ndarray, b: np.ndarray | None = None, *, groups: Sequence | None = None,
                 n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a`` (or of the paired difference ``a − b``) with a bootstrap interval over ``groups``.

    The per-row scores (e.g. per-slice Dice of two arms on the same test slices) are averaged with the
    same resampled patients for both arms, so the interval is paired and resamples patients, not slices.
    """
    a = np.asarray(a, float)
    d = a if b is None else a - np.asarray(b, float)
    if d.ndim != 1 or np.isnan(d).any():
        raise ValueError("mean_diff_ci needs 1-D scores without NaN (drop or impute undefined rows first)")
    w = bootstrap_weights(len(d), n_boot, seed=seed, groups=groups)
    means = (w * d).sum(1) / w.sum(1)
    lo, hi = np.quantile(means[1:], [alpha / 2, 1 - alpha / 2])
    return float(means[0]), float(lo), float(hi)


def two_level_mean_ci(a: np.ndarray, b: np.ndarray | None = None, *, groups: Sequence | None = None,
                      n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a`` (or of the paired difference ``a − b``), shape (draws, items), with a bootstrap interval that
    resamples both levels: the draws (label subsets, training runs) and the items (test images; whole ``groups``,
    one id per item, when given).

    Use it when a score varies with a random draw as well as with the test set: an interval over test items alone
    would treat one lucky draw as the truth. Draw weights come from ``seed``, item weights from ``seed + 1``; a
    resample's mean is :math:`\sum_{d,n} w_d\,x_{dn}\,v_n / (\sum_d w_d \sum_n v_n)`. A 1-D input is one draw.
    """
    a = np.asarray(a, float)
    d = np.atleast_2d(a if b is None else a - np.asarray(b, float))
    if d.ndim != 2 or np.isnan(d).any():
        raise ValueError(f"two_level_mean_ci needs (draws, items) scores without NaN, got shape {d.shape}")
    w_draw = bootstrap_weights(d.shape[0], n_boot, seed=seed)
    w_item = bootstrap_weights(d.shape[1], n_boot, seed=seed + 1, groups=groups)
    means = np.einsum("rd,dn,rn->r", w_draw, d, w_item) / (w_draw.sum(1) * w_item.sum(1))
    lo, hi = np.quantile(means[1:], [alpha / 2, 1 - alpha / 2])
    return float(means[0]), float(lo), float(hi)


def weighted_auroc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC under every row-weight vector of ``weights`` (e.g. from :func:`bootstrap_weights`).

    ``y_true`` is (N,) or (N, K); ``scores`` is (N,) or (N, K) (a 1-D ``y_true`` is shared by all K score
    columns); ``weights`` is (R, N). Returns (R,) or (R, K). Ties count ½ (the Mann–Whitney statistic,
    identical to scikit-learn's ``roc_auc_score`` on row 0 of unit weights); NaN where a resample has
    only one class. One sort per column, then cumulative sums: O(K · N log N + R · K · N).
    """
    y_true, scores, weights = np.asarray(y_true), np.asarray(scores, float), np.atleast_2d(weights)
    labels = np.unique(y_true)
    if not np.isin(labels, [0, 1]).all():  # {-1, 1} or {1, 2} would silently count the wrong class
        raise ValueError(f"weighted_auroc needs labels 0/1 (or bool); got values {labels[:5].tolist()}")
    y_true = y_true.astype(float)
    if not np.isfinite(scores).all():
        raise ValueError(f"weighted_auroc: {int((~np.isfinite(scores)).sum())} scores are NaN or infinite")
    if scores.shape[0] != y_true.shape[0] or (y_true.ndim == 2 and y_true.shape != scores.shape):
        raise ValueError(f"weighted_auroc: y_true {y_true.shape} and scores {scores.shape} do not match")
    if weights.shape[1] != scores.shape[0] or (weights < 0).any():
        raise ValueError(f"weighted_auroc: weights {weights.shape} must be non-negative, one column per row")
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
