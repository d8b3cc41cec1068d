"""Disentanglement metrics: the mutual information gap (MIG).

MIG (Chen, Li, Grosse & Duvenaud, "Isolating sources of disentanglement in VAEs", NeurIPS 2018): for each ground-
truth factor :math:`v_k`, the gap between the two latents that share the most information with it, normalised by
the factor's entropy, averaged over factors,

.. math:: \\mathrm{MIG} = \\frac1K \\sum_k \\frac{I(z_{j^{(k)}}; v_k) - \\max_{j \\ne j^{(k)}} I(z_j; v_k)}{H(v_k)},
   \\quad j^{(k)} = \\arg\\max_j I(z_j; v_k).

Estimated as in ``disentanglement_lib`` (``evaluation/metrics/mig.py`` and ``utils.py``): every latent (its posterior
mean) is discretised into ``n_bins`` equal-width bins (``np.histogram`` edges, ``np.digitize``), mutual information
and entropy are the plug-in estimates ``sklearn.metrics.mutual_info_score`` gives (nats). Continuous factors are
discretised the same way (``disentanglement_lib``'s factors are discrete already). :func:`discrete_mutual_info` computes
the same plug-in estimate from a joint histogram (``np.bincount``) — ``tests/test_disentangle.py`` checks it against
``sklearn.metrics.mutual_info_score`` — because a bootstrap of MIG calls it thousands of times. 1 means each factor is captured
by one latent alone; 0 means the best latent for a factor is matched by another one, or carries nothing.
"""
from __future__ import annotations

import numpy as np


def histogram_discretize(x: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """Each column of ``x`` (samples, d) into ``n_bins`` equal-width bins, as disentanglement_lib does: (samples, d)."""
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[:, None]
    out = np.zeros(x.shape, np.int64)
    for j in range(x.shape[1]):
        out[:, j] = np.digitize(x[:, j], np.histogram(x[:, j], n_bins)[1][:-1])
    return out


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (nats) of two non-negative integer label arrays (``mutual_info_score``'s value)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"two 1-D label arrays of equal length needed, got {a.shape} and {b.shape}")
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    na, nb = a.max() + 1, b.max() + 1
    joint = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb) / len(a)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(max(0.0, (joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum()))


def mutual_info_matrix(latents: np.ndarray, factors: np.ndarray, n_bins: int = 20,
                       discrete_factors: bool = False) -> np.ndarray:
    """Plug-in mutual information (nats) between every discretised latent and factor: shape (latents, factors)."""
    z = histogram_discretize(latents, n_bins)
    f = np.asarray(factors)
    f = (f[:, None] if f.ndim == 1 else f) if discrete_factors else histogram_discretize(factors, n_bins)
    if len(z) != len(f):
        raise ValueError(f"latents ({len(z)} rows) and factors ({len(f)} rows) must describe the same samples")
    return np.array([[discrete_mutual_info(f[:, k], z[:, j]) for k in range(f.shape[1])] for j in range(z.shape[1])])


def mig(latents: np.ndarray, factors: np.ndarray, n_bins: int = 20, discrete_factors: bool = False
        ) -> tuple[float, np.ndarray]:
    """Mutual information gap: (MIG averaged over factors, the per-factor gaps). Needs at least two latents."""
    latents = np.asarray(latents, float)
    if latents.ndim != 2 or latents.shape[1] < 2:
        raise ValueError(f"MIG needs (samples, >= 2 latents), got shape {latents.shape}")
    m = mutual_info_matrix(latents, factors, n_bins, discrete_factors)
    f = np.asarray(factors)
    f = (f[:, None] if f.ndim == 1 else f) if discrete_factors else histogram_discretize(factors, n_bins)
    h = np.array([discrete_mutual_info(f[:, k], f[:, k]) for k in range(f.shape[1])])
    if (h <= 0).any():
        raise ValueError("a factor is constant (zero entropy): MIG is undefined for it")
    top = np.sort(m, axis=0)[::-1]
    gaps = (top[0] - top[1]) / h
    return float(gaps.mean()), gaps


__all__ = ["discrete_mutual_info", "histogram_discretize", "mutual_info_matrix", "mig"]
