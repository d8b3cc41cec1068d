"""Ultrasound image-quality metrics: the generalised contrast-to-noise ratio (gCNR).

gCNR (Rodriguez-Molares et al., IEEE TUFFC 2020) is the probability that a pixel of one region can be told from a
pixel of the other by the best intensity threshold: with p₁, p₂ the two regions' intensity densities,

    gCNR = 1 − OVL,   OVL = ∫ min(p₁(v), p₂(v)) dv,

estimated from histograms on shared bins. 0: identical distributions; 1: no overlap. Unlike CNR it is invariant
to any monotone grey-level transform (log compression, gain), so it measures separability, not display settings.
The dehazing paper (Stevens et al., TMI 2024) scores blood pool against myocardium with it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["gcnr", "gcnr_batch"]


def gcnr(inside: np.ndarray, outside: np.ndarray, bins: int | np.ndarray = 64,
         value_range: tuple[float, float] | None = None) -> float:
    """gCNR of two samples of pixel values: ``1 − Σ_k min(h₁[k], h₂[k])`` with h the two normalised histograms.

    Args:
        inside, outside: pixel values of the two regions (any shape; flattened).
        bins: number of shared bins over ``value_range``, or explicit bin edges.
        value_range: (low, high) of the bins; default the range of both samples together.
    """
    a, b = np.asarray(inside, np.float64).ravel(), np.asarray(outside, np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError(f"gcnr needs pixels in both regions, got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("gcnr: pixel values contain NaN or inf")
    if value_range is None and np.ndim(bins) == 0:
        lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
        value_range = (lo, hi if hi > lo else lo + 1.0)
    edges = np.histogram_bin_edges(np.r_[a, b], bins=bins, range=value_range)
    ha = np.histogram(a, edges)[0] / a.size
    hb = np.histogram(b, edges)[0] / b.size
    return float(1.0 - np.minimum(ha, hb).sum())


def gcnr_batch(images: np.ndarray, region_a: np.ndarray, region_b: np.ndarray, bins: int = 64,
               value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """:func:`gcnr` per image of an (N, H, W) stack, regions given as boolean (N, H, W) masks (fixed bins over
    ``value_range``, so the images are scored on one scale)."""
    images, region_a, region_b = np.asarray(images), np.asarray(region_a, bool), np.asarray(region_b, bool)
    if not images.shape == region_a.shape == region_b.shape:
        raise ValueError(f"images {images.shape} and masks {region_a.shape}, {region_b.shape} differ in shape")
    return np.array([gcnr(x[a], x[b], bins, value_range) for x, a, b in zip(images, region_a, region_b)])
