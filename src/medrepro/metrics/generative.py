"""Distances between sets of images in a feature space: the Fréchet distance ("FID-lite") with bootstrap intervals.

The Fréchet Inception Distance (FID; Heusel et al., 2017) fits a Gaussian to the Inception-v3 features of
real images and another to those of generated images and reports the Fréchet (2-Wasserstein) distance
between the two Gaussians:

.. math::  d^2 = \\lVert \\mu_r - \\mu_g \\rVert^2 + \\operatorname{Tr}\\big(\\Sigma_r + \\Sigma_g
           - 2 (\\Sigma_r^{1/2} \\Sigma_g \\Sigma_r^{1/2})^{1/2}\\big).

The functions here compute the same distance on *any* features. A notebook that uses the penultimate
layer of a small classifier trained on its own data calls it "FID-lite": the numbers are not comparable
with published FIDs (no Inception network, few samples, a different feature space). Like the FID, the
estimate is biased upward for small sample sets, so only compare values computed with equal set sizes.
"""
from __future__ import annotations

import numpy as np


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (unbiased, rows are samples) of ``features (n, d)``.

    Raises:
        ValueError: fewer than two samples, or not a 2-D array.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be (n >= 2, d), got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``Tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2})`` is computed from the eigenvalues of a symmetric positive
    semi-definite matrix, so the result is real and stable even for singular (few-sample) covariances.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    r1 = _sqrtm_psd(s1)
    cross = np.linalg.eigvalsh((r1 @ s2 @ r1 + (r1 @ s2 @ r1).T) / 2.0)
    tr_cross = float(np.sqrt(np.clip(cross, 0.0, None)).sum())
    d2 = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_cross)
    return max(d2, 0.0)


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet distance between the Gaussian fits of two feature sets ``(n, d)`` and ``(m, d)``."""
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def bootstrap_fid(real: np.ndarray, fake: np.ndarray, *, n_boot: int = 200, alpha: float = 0.05,
                  seed: int = 0) -> tuple[float, float, float]:
    """FID-lite with a percentile bootstrap interval, resampling both sets (rows) independently.

    Returns ``(point, lo, hi)``.
    """
    real, fake = np.asarray(real), np.asarray(fake)
    rng = np.random.default_rng(seed)
    point = fid_from_features(real, fake)
    vals = [fid_from_features(real[rng.integers(0, len(real), len(real))], fake[rng.integers(0, len(fake), len(fake))])
            for _ in range(n_boot)]
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def bootstrap_fid_difference(real: np.ndarray, fake_a: np.ndarray, fake_b: np.ndarray, *, n_boot: int = 200,
                             alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """``FID(real, a) − FID(real, b)`` with a percentile bootstrap interval.

    Each resample draws the real set, set ``a`` and set ``b`` with replacement (independently) and
    recomputes both distances against the *same* resampled real set, so the shared reference's noise
    cancels in the difference. Use equal sizes for ``a`` and ``b``: the FID's small-sample bias depends
    on the set size. Returns ``(point, lo, hi)``; a negative value means ``a`` is closer to the real data.
    """
    real, fake_a, fake_b = np.asarray(real), np.asarray(fake_a), np.asarray(fake_b)
    rng = np.random.default_rng(seed)
    point = fid_from_features(real, fake_a) - fid_from_features(real, fake_b)
    vals = []
    for _ in range(n_boot):
        r = real[rng.integers(0, len(real), len(real))]
        mu_r, s_r = feature_stats(r)
        a = fake_a[rng.integers(0, len(fake_a), len(fake_a))]
        b = fake_b[rng.integers(0, len(fake_b), len(fake_b))]
        vals.append(frechet_distance(mu_r, s_r, *feature_stats(a)) - frechet_distance(mu_r, s_r, *feature_stats(b)))
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
    return float(point), float(lo), float(hi)


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein (earth mover's) distance between two 1-D samples: ∫|F_u(x) − F_v(x)| dx.

    The same quantity as ``scipy.stats.wasserstein_distance(u, v)`` (unweighted), computed from the two
    empirical CDFs on the merged sorted values, without importing scipy.stats.
    """
    u, v = np.sort(np.asarray(u, float).ravel()), np.sort(np.asarray(v, float).ravel())
    if not len(u) or not len(v):
        raise ValueError("wasserstein_1d needs two non-empty samples")
    allv = np.sort(np.concatenate([u, v]))
    d = np.diff(allv)
    cu = np.searchsorted(u, allv[:-1], side="right") / len(u)
    cv = np.searchsorted(v, allv[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cu - cv) * d))
