"""CT perfusion analysis: SVD deconvolution of time-attenuation curves and the perfusion maps CBF, CBV, MTT, Tmax.

Indicator-dilution model (Østergaard et al., MRM 36:715–725, 1996; Wu et al., MRM 50:164–174, 2003). A tissue
voxel's contrast enhancement ``C(t)`` (HU above its pre-contrast baseline) is the arterial input function
``AIF(t)`` convolved with the flow-scaled residue function ``k(t) = CBF · R(t)``::

    C(t) = (ρ / k_H) · ∫₀ᵗ AIF(τ) · CBF · R(t − τ) dτ,        R(0) = 1, R non-increasing,

with tissue density ρ = 1.04 g/ml and the large/small-vessel haematocrit correction k_H = (1 − 0.45)/(1 − 0.25)
≈ 0.73. Sampled every ``dt`` seconds this is ``c = A k`` with the (lower-triangular Toeplitz) convolution matrix
``A_ij = dt · AIF(t_{i−j})``. Deconvolution inverts ``A`` by singular value decomposition, dropping the singular
values below ``threshold × σ_max`` (truncated SVD, "sSVD"), which would otherwise amplify noise. The
block-circulant variant ("cSVD", Wu et al. 2003) zero-pads to ``2T`` samples and inverts a circulant matrix, so a
bolus that reaches the tissue later than the AIF (a delay) shifts ``k(t)`` instead of distorting it. Wu et al.'s
oscillation-index choice of the threshold per voxel (oSVD) is not implemented: the threshold is fixed.

Maps, per voxel:

- CBF = max_t k(t) (ml/100 g/min), CBV = (k_H/ρ) ∫C dt / ∫AIF dt (ml/100 g; the area ratio, independent of the
  deconvolution), MTT = CBV / CBF (s; the central volume principle), Tmax = argmax_t k(t) (s).

``tests/test_ctp.py`` checks the deconvolution against curves made from known residue functions.
"""
from __future__ import annotations

import numpy as np

RHO = 1.04                      # brain tissue density, g/ml
KH = (1 - 0.45) / (1 - 0.25)    # haematocrit correction: large-vessel 0.45, small-vessel 0.25

METHODS = ("tsvd", "csvd")


def convolution_matrix(aif: np.ndarray, dt: float, *, circulant: bool = False) -> np.ndarray:
    """Discrete convolution with ``aif``: ``(A k)_i = dt · Σ_{j≤i} aif_{i−j} k_j``.

    ``circulant=True`` gives the block-circulant ``2T × 2T`` matrix of the zero-padded AIF (Wu et al. 2003).
    """
    a = np.asarray(aif, dtype=float)
    if a.ndim != 1 or len(a) < 2:
        raise ValueError(f"the AIF must be a 1-D curve of at least 2 samples, got shape {a.shape}")
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    n = 2 * len(a) if circulant else len(a)
    padded = np.zeros(n)
    padded[: len(a)] = a
    i, j = np.indices((n, n))
    if circulant:
        return dt * padded[(i - j) % n]
    return dt * np.where(i >= j, padded[np.clip(i - j, 0, n - 1)], 0.0)


def svd_deconvolve(curves: np.ndarray, aif: np.ndarray, dt: float, *, threshold: float = 0.1,
                   method: str = "tsvd") -> np.ndarray:
    """Flow-scaled residue functions ``k(t)`` of ``curves`` (..., T): truncated-SVD inverse of the convolution.

    Returns (..., T) for ``"tsvd"`` and (..., 2T) for ``"csvd"`` (the padded half holds what wrapped around).
    Units: ``curves`` and ``aif`` in the same units (HU), ``k`` in 1/s (multiply by k_H/ρ·6000 for ml/100 g/min).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold is a fraction of the largest singular value, in [0, 1): got {threshold}")
    c = np.asarray(curves, dtype=float)
    aif = np.asarray(aif, dtype=float)
    if c.shape[-1] != len(aif):
        raise ValueError(f"curves have {c.shape[-1]} time points, the AIF {len(aif)}")
    A = convolution_matrix(aif, dt, circulant=method == "csvd")
    u, s, vt = np.linalg.svd(A)
    keep = s >= threshold * s.max()
    inv_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    pinv = (vt.T * inv_s) @ u.T
    flat = c.reshape(-1, c.shape[-1])
    if method == "csvd":
        flat = np.concatenate([flat, np.zeros_like(flat)], axis=1)
    k = flat @ pinv.T
    return k.reshape(c.shape[:-1] + (k.shape[-1],))


def perfusion_maps(curves: np.ndarray, aif: np.ndarray, dt: float, *, threshold: float = 0.1,
                   method: str = "tsvd", rho: float = RHO, kh: float = KH) -> dict[str, np.ndarray]:
    """CBF (ml/100 g/min), CBV (ml/100 g), MTT (s) and Tmax (s) of baseline-subtracted ``curves`` (..., T).

    CBF is the peak of the deconvolved ``k(t)``, Tmax its time; CBV the ratio of the areas under the tissue curve
    and the AIF; MTT = CBV / CBF (central volume principle; 0 where CBF is 0).
    """
    k = svd_deconvolve(curves, aif, dt, threshold=threshold, method=method)
    scale = kh / rho * 6000.0                                   # 1/s → ml/100 g/min
    kmax = k.max(-1)
    cbf = np.clip(kmax, 0, None) * scale
    tmax = k.argmax(-1) * dt
    c = np.asarray(curves, dtype=float)
    cbv = kh / rho * 100.0 * c.sum(-1) / np.asarray(aif, dtype=float).sum()  # the dt of both areas cancels
    cbv = np.clip(cbv, 0, None)
    mtt = np.where(cbf > 0, 60.0 * cbv / np.where(cbf > 0, cbf, 1.0), 0.0)
    return {"cbf": cbf, "cbv": cbv, "mtt": mtt, "tmax": tmax.astype(float)}


def time_to_peak(curves: np.ndarray, dt: float) -> np.ndarray:
    """Time of the maximum of each curve (s from the first frame): the map made without deconvolution."""
    return np.asarray(curves).argmax(-1) * float(dt)


def select_aif(ctp: np.ndarray, mask: np.ndarray | None = None, n_voxels: int = 1, baseline_frames: int = 3
               ) -> tuple[np.ndarray, np.ndarray]:
    """A simple automatic AIF: the mean baseline-subtracted curve of the ``n_voxels`` with the largest peak.

    ``ctp`` is (..., T) in HU; ``mask`` limits the search. Returns (aif, flat indices of the chosen voxels).
    Clinical software adds shape criteria (early arrival, narrow peak) and partial-volume corrections.
    """
    x = np.asarray(ctp, dtype=float)
    flat = x.reshape(-1, x.shape[-1])
    enh = flat - flat[:, :baseline_frames].mean(1, keepdims=True)
    peak = enh.max(1)
    if mask is not None:
        peak = np.where(np.asarray(mask).reshape(-1) > 0, peak, -np.inf)
    idx = np.argsort(peak)[::-1][:n_voxels]
    return enh[idx].mean(0), idx


def maps_from_ctp(ctp: np.ndarray, dt: float, *, brain: np.ndarray | None = None, smooth: float = 1.0,
                  threshold: float = 0.2, method: str = "tsvd", baseline_frames: int = 3,
                  n_aif: int = 2) -> dict[str, np.ndarray]:
    """Perfusion maps of a 4-D CTP series (X, Y, Z, T) in HU, on its grid (0 outside the brain).

    The steps of clinical software, simplified: subtract the pre-contrast baseline (mean of the first
    ``baseline_frames``), smooth each frame in-plane inside the brain (Gaussian, ``smooth`` voxels; a
    normalised convolution, so the edge is not darkened), pick the AIF (:func:`select_aif`) and deconvolve
    (:func:`perfusion_maps`). ``brain`` defaults to voxels whose baseline lies in 0–100 HU. Also returns ``ttp``
    (time to peak of the smoothed curve, no deconvolution) and the ``aif`` used.
    """
    from scipy import ndimage

    x = np.asarray(ctp, dtype=float)
    if x.ndim != 4:
        raise ValueError(f"ctp must be (X, Y, Z, T), got shape {x.shape}")
    base = x[..., :baseline_frames].mean(-1)
    if brain is None:
        brain = (base > 0) & (base < 100)
    brain = np.asarray(brain, bool)
    if brain.shape != x.shape[:3]:
        raise ValueError(f"brain mask {brain.shape} does not match the CTP grid {x.shape[:3]}")
    aif, _ = select_aif(x, n_voxels=n_aif, baseline_frames=baseline_frames)
    enh = np.where(brain[..., None], x - base[..., None], 0.0)
    if smooth > 0:
        w = ndimage.gaussian_filter(brain.astype(float), (smooth, smooth, 0))
        enh = ndimage.gaussian_filter(enh, (smooth, smooth, 0, 0)) / np.maximum(w, 1e-3)[..., None]
    m = perfusion_maps(enh[brain], aif, dt, threshold=threshold, method=method)
    m["ttp"] = time_to_peak(enh[brain], dt)
    out = {}
    for k, v in m.items():
        a = np.zeros(brain.shape, np.float32)
        a[brain] = v
        out[k] = a
    out["aif"] = aif
    return out


__all__ = ["RHO", "KH", "METHODS", "convolution_matrix", "svd_deconvolve", "perfusion_maps", "time_to_peak",
           "select_aif", "maps_from_ctp"]
