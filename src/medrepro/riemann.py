"""Covariance features of multichannel signals on the Riemannian manifold of SPD matrices.

Written once for the EEG notebooks (augmented covariance, Carrara & Papadopoulo 2023) with numpy/scipy only;
``tests/test_riemann.py`` checks every function against pyriemann, the reference implementation.

- :func:`delay_embed` stacks ``order`` copies of a trial shifted by multiples of ``lag`` samples (Takens'
  delay embedding) — the official ``AugmentedDataset`` convention: block ``p`` is ``X[:, p·lag : T-(order-p)·lag]``.
- :func:`covariances` sample covariances (centred, divided by T - 1, as ``pyriemann.estimation.Covariances("cov")``).
- :func:`logm`, :func:`expm`, :func:`powm`: matrix functions of SPD matrices through their eigendecomposition.
- :func:`riemann_mean`: the affine-invariant (Karcher) mean by fixed-point iteration.
- :func:`tangent_space`: the log map at a reference point, vectorised with √2 weights off the diagonal so that the
  Euclidean norm of the vector is the Riemannian distance to the reference.
- :func:`ami_delay`, :func:`fnn_order`: embedding criteria from dynamical systems — the first minimum of the auto
  mutual information for the lag (Fraser & Swinney 1986) and false nearest neighbours for the order (Kennel,
  Brown & Abarbanel 1992).
"""
from __future__ import annotations

import numpy as np


def delay_embed(X: np.ndarray, order: int, lag: int) -> np.ndarray:
    """Delay embedding of trials ``X`` (..., channels, times) -> (..., channels·order, times - order·lag).

    ``order=1`` returns ``X`` unchanged (then the augmented covariance is the plain covariance).
    """
    if order < 1 or lag < 1:
        raise ValueError(f"order and lag must be >= 1, got order={order}, lag={lag}")
    if order == 1:
        return X
    T = X.shape[-1]
    if order * lag >= T:
        raise ValueError(f"order·lag = {order * lag} leaves no sample of a {T}-sample trial")
    return np.concatenate([X[..., p * lag: T - (order - p) * lag] for p in range(order)], axis=-2)


def covariances(X: np.ndarray) -> np.ndarray:
    """Sample covariance of each trial (..., channels, times): centred, divided by times - 1."""
    Xc = X - X.mean(-1, keepdims=True)
    return Xc @ np.swapaxes(Xc, -1, -2) / (X.shape[-1] - 1)


def _eig_fn(C: np.ndarray, fn) -> np.ndarray:
    w, V = np.linalg.eigh(C)
    return (V * fn(w)[..., None, :]) @ np.swapaxes(V, -1, -2)


def logm(C: np.ndarray) -> np.ndarray:
    """Matrix logarithm of SPD matrices: V diag(log λ) Vᵀ."""
    return _eig_fn(C, np.log)


def expm(S: np.ndarray) -> np.ndarray:
    """Matrix exponential of symmetric matrices: V diag(exp λ) Vᵀ."""
    return _eig_fn(S, np.exp)


def powm(C: np.ndarray, p: float) -> np.ndarray:
    """Matrix power of SPD matrices: V diag(λ^p) Vᵀ (p = ±1/2 gives the square root and its inverse)."""
    return _eig_fn(C, lambda w: w ** p)


def riemann_mean(C: np.ndarray, *, tol: float = 1e-8, maxiter: int = 50) -> np.ndarray:
    """Affine-invariant Riemannian (Karcher) mean of SPD matrices (n, d, d).

    Fixed point of M ← M^½ exp(mean_i log(M^-½ C_i M^-½)) M^½, started from the log-Euclidean mean
    exp(mean_i log C_i) (close to the answer, so few iterations are needed); stops when the Frobenius norm of the
    mean log (the Riemannian gradient) falls below ``tol``.
    """
    M = expm(logm(C).mean(0))
    for _ in range(maxiter):
        half, ihalf = powm(M, 0.5), powm(M, -0.5)
        J = logm(ihalf @ C @ ihalf).mean(0)              # mean of the log maps at M
        M = half @ expm(J) @ half
        if np.linalg.norm(J) < tol:
            break
    return M


def upper(S: np.ndarray) -> np.ndarray:
    """Upper triangle of symmetric matrices as vectors, off-diagonal entries × √2 (norm-preserving)."""
    d = S.shape[-1]
    iu = np.triu_indices(d)
    w = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    return S[..., iu[0], iu[1]] * w


def tangent_space(C: np.ndarray, Cref: np.ndarray) -> np.ndarray:
    """Tangent vectors of SPD matrices at ``Cref``: upper(log(Cref^-½ C Cref^-½)), shape (n, d(d+1)/2)."""
    ihalf = powm(Cref, -0.5)
    return upper(logm(ihalf @ C @ ihalf))


def distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Affine-invariant Riemannian distance: ‖log(A^-½ B A^-½)‖_F = sqrt(Σ log² λ_i(A⁻¹B)); batches broadcast."""
    from scipy.linalg import eigvalsh

    A, B = np.broadcast_arrays(np.asarray(A, float), np.asarray(B, float))
    a, b = A.reshape(-1, *A.shape[-2:]), B.reshape(-1, *B.shape[-2:])
    d = np.array([np.sqrt((np.log(eigvalsh(bi, ai)) ** 2).sum()) for ai, bi in zip(a, b)])
    return d.reshape(A.shape[:-2])


# ----------------------------------------------------------------------------------------- embedding criteria
def _mutual_information(a: np.ndarray, b: np.ndarray, bins: int) -> float:
    h, _, _ = np.histogram2d(a, b, bins=bins)
    p = h / h.sum()
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (px @ py)[nz])).sum())


def ami_delay(X: np.ndarray, max_lag: int = 20, bins: int = 16) -> tuple[int, np.ndarray]:
    """Lag at the first local minimum of the auto mutual information I(x_t; x_{t+τ}), averaged over channels.

    ``X`` (trials, channels, times), each channel standardised. Returns (lag, AMI curve for τ = 0..max_lag);
    the lag is ``max_lag`` when the curve has no local minimum.
    """
    Z = (X - X.mean(-1, keepdims=True)) / (X.std(-1, keepdims=True) + 1e-12)
    Z = np.swapaxes(Z, 0, 1).reshape(Z.shape[1], Z.shape[0], -1)       # (channels, trials, times)
    curve = np.zeros(max_lag + 1)
    for tau in range(max_lag + 1):
        a = Z[:, :, : Z.shape[-1] - tau].reshape(Z.shape[0], -1)
        b = Z[:, :, tau:].reshape(Z.shape[0], -1)
        curve[tau] = np.mean([_mutual_information(a[c], b[c], bins) for c in range(Z.shape[0])])
    for tau in range(1, max_lag):
        if curve[tau] < curve[tau - 1] and curve[tau] <= curve[tau + 1]:
            return tau, curve
    return max_lag, curve


def fnn_order(X: np.ndarray, lag: int, *, max_order: int = 8, rtol: float = 10.0, threshold: float = 0.1,
              n_points: int = 600, seed: int = 0) -> tuple[int, np.ndarray]:
    """Smallest embedding order whose fraction of false nearest neighbours is below ``threshold``.

    Kennel's criterion on each channel's scalar delay vectors (pooled over trials, ``n_points`` random
    reference points): a nearest neighbour in order ``m`` is false when adding the (m+1)-th coordinate moves it
    away by more than ``rtol`` times their distance. Returns (order, FNN fraction for m = 1..max_order); the
    order is ``max_order`` when no order reaches the threshold.
    """
    rng = np.random.default_rng(seed)
    Z = (X - X.mean(-1, keepdims=True)) / (X.std(-1, keepdims=True) + 1e-12)
    n_tr, n_ch, T = Z.shape
    fractions = np.zeros(max_order)
    for m in range(1, max_order + 1):
        span = m * lag                                     # the (m+1)-th coordinate sits m·lag samples later
        if span >= T:
            fractions[m - 1:] = np.nan
            break
        false = []
        for c in range(n_ch):
            # delay vectors of order m (and the extra coordinate) at every time of every trial
            V = np.stack([Z[:, c, k * lag: T - span + k * lag] for k in range(m)], -1).reshape(-1, m)
            extra = Z[:, c, span:].reshape(-1)
            ref = rng.choice(len(V), size=min(n_points, len(V)), replace=False)
            cand = rng.choice(len(V), size=min(3 * n_points, len(V)), replace=False)
            d = ((V[ref, None, :] - V[None, cand, :]) ** 2).sum(-1)
            d[ref[:, None] == cand[None, :]] = np.inf            # not the point itself
            nn = cand[np.argmin(d, 1)]
            dist = np.sqrt(d.min(1)) + 1e-12
            false.append(np.abs(extra[ref] - extra[nn]) / dist > rtol)
        fractions[m - 1] = float(np.mean(false))
    ok = np.flatnonzero(fractions < threshold)
    return (int(ok[0]) + 1 if ok.size else max_order), fractions


__all__ = ["delay_embed", "covariances", "logm", "expm", "powm", "riemann_mean", "upper", "tangent_space",
           "distance", "ami_delay", "fnn_order"]
