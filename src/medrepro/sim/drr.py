"""Projecting a 3-D volume to a 2-D radiograph: the digitally reconstructed radiograph (DRR) and its labels.

Two projections of one CT-like volume along the same parallel rays (one ray per detector pixel, along one axis
of the voxel grid), as PAXRay builds its training pairs (Seibold et al., BMVC 2022):

``line_integral``
    :math:`P(u, v) = \\int \\mu(u, s, v)\\, ds \\approx \\sum_s \\mu(u, s, v)\\,\\Delta s` — the attenuation line
    integral, in units of ``1 / length`` times the ``spacing`` given (μ in 1/mm and spacing in mm give a
    dimensionless P). ``transmission`` turns it into the detected fraction :math:`I / I_0 = e^{-P}`
    (Beer–Lambert), ``drr`` into a display image (bright = attenuating).
``project_labels``
    the *any-hit* rule: a 2-D pixel carries label ``c`` when any voxel on its ray carries ``c``. With one boolean
    channel per structure the projected masks overlap, as anatomy does in a radiograph (the heart in front of the
    lung, the lower lobe behind the diaphragmatic dome).

Vectorised over a leading batch axis. Not modelled: a divergent (cone) beam and its magnification, polychromatic
spectra (beam hardening), scatter, the detector's blur and gain; these change intensities and sizes, not the
any-hit geometry that the labels rest on.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _axis(volume: np.ndarray, axis: int, min_ndim: int = 3) -> int:
    if volume.ndim < min_ndim:
        raise ValueError(f"expected a volume with at least {min_ndim} axes ((..., Z, Y, X)), got shape {volume.shape}")
    ax = axis if axis >= 0 else volume.ndim + axis
    if not volume.ndim - 3 <= ax < volume.ndim:
        raise ValueError(f"axis {axis} is not one of the last three axes of a volume of shape {volume.shape}")
    return ax


def line_integral(mu: np.ndarray, spacing: float, axis: int = -2) -> np.ndarray:
    """:math:`\\sum_s \\mu\\,\\Delta s` along ``axis`` (one of the last three; default the Y axis of (..., Z, Y, X)).

    ``mu`` holds linear attenuation coefficients (e.g. 1/mm) and ``spacing`` the voxel length along the ray in
    the matching unit (mm). The voxel sum is the exact integral of the piecewise-constant volume.
    Raises ``ValueError`` for a negative μ, a non-positive spacing or a volume with fewer than three axes.
    """
    mu = np.asarray(mu)
    ax = _axis(mu, axis)
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    if (mu < 0).any():
        raise ValueError("attenuation coefficients must be non-negative")
    return mu.sum(axis=ax, dtype=np.float64) * float(spacing)


def transmission(path: np.ndarray, i0: float = 1.0) -> np.ndarray:
    """Beer–Lambert: the detected intensity :math:`I = I_0\\, e^{-P}` for line integrals ``path``."""
    return float(i0) * np.exp(-np.asarray(path, dtype=np.float64))


def drr(mu: np.ndarray, spacing: float, axis: int = -2, *, noise: float | np.ndarray = 0.0,
        rng: np.random.Generator | None = None) -> np.ndarray:
    """A display radiograph: :math:`-\\log(I / I_0)` of the transmitted intensity (bright = attenuating).

    With ``noise`` > 0, Gaussian quantum noise of standard deviation ``noise * sqrt(I / I0)`` (relative to I0)
    is added to the transmitted intensity before the logarithm, as a detector sees it (so bone and the
    mediastinum, where few photons arrive, are noisier). ``noise`` is one number or one per batch item.
    Without noise the result equals :func:`line_integral`.
    """
    path = line_integral(mu, spacing, axis)
    if np.all(np.asarray(noise) == 0):
        return path
    rng = rng if rng is not None else np.random.default_rng(0)
    t = transmission(path, 1.0)
    sd = np.asarray(noise, dtype=np.float64).reshape(np.shape(noise) + (1,) * (t.ndim - np.ndim(noise)))
    t = t + sd * np.sqrt(t) * rng.standard_normal(t.shape)
    return -np.log(np.clip(t, 1e-6, None))


def project_labels(labels: np.ndarray, axis: int = -2) -> np.ndarray:
    """Any-hit projection of boolean label volumes: True where any voxel on the ray is True.

    ``labels`` is (..., Z, Y, X) bool, typically (N, C, Z, Y, X) with one channel per structure; ``axis`` one of
    the last three. Channels are projected independently, so the 2-D masks overlap where structures lie behind
    one another.
    """
    labels = np.asarray(labels)
    if labels.dtype != bool:
        raise ValueError(f"labels must be boolean (one channel per structure), got {labels.dtype}")
    return labels.any(axis=_axis(labels, axis))


def path_length(labels: np.ndarray, spacing: float, axis: int = -2) -> np.ndarray:
    """Length of each ray inside each labelled structure (voxels on the ray × ``spacing``)."""
    labels = np.asarray(labels, bool)
    return labels.sum(axis=_axis(labels, axis), dtype=np.float64) * float(spacing)


def ray_by_ray(mu: np.ndarray, spacing: float, pixels: Sequence[tuple[int, ...]]) -> np.ndarray:
    """The reference loop: the line integral of single rays of a (Z, Y, X) volume along Y, one Python loop per
    ray and per voxel (slow; for checking :func:`line_integral`). ``pixels`` are (z, x) detector pixels."""
    mu = np.asarray(mu, dtype=np.float64)
    out = []
    for z, x in pixels:
        total = 0.0
        for y in range(mu.shape[1]):
            total += mu[z, y, x] * spacing
        out.append(total)
    return np.asarray(out)
