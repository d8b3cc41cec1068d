"""Simulated first-pass myocardial perfusion MRI: short-axis 2-D+time series with a contrast bolus.

A series is ``n_frames`` saturation-recovery images of one mid-ventricular short-axis slice during the first
pass of a gadolinium bolus. The bolus reaches the right ventricle (RV) first, then the left-ventricular (LV)
blood pool, then the myocardium; one myocardial segment (a "perfusion defect", as in ischaemia) takes up less
contrast, later. Labels follow the ACDC convention (0 background, 1 RV cavity, 2 LV myocardium, 3 LV cavity)
and are drawn on the motion-corrected reference position; the images keep a residual respiratory shift.

Realistic:
    - gamma-variate concentration curves ``((t - t0)/b)^a exp(-(t - t0)/b)`` per compartment, arrival order
      RV → LV → myocardium, a myocardial peak a fraction of the blood pool's, a defect segment (an angular
      sector of the ring) with reduced, delayed uptake;
    - a saturation-recovery signal that saturates with concentration, ``S = S0 + g (1 - exp(-k C))``, whose
      baseline ``S0``, gain ``g`` and saturation ``k`` belong to the sequence/vendor (:class:`PerfusionDomain`);
    - residual respiratory translation (a sinusoid of a few pixels, per series phase and amplitude), per-series
      heart size, position and wall thickness, partial-volume blur, a smooth intensity bias, Rician noise.
Not modelled:
    - real k-space/sequence physics, dark-rim artefacts, through-plane motion, cardiac motion within the
      series, the chest wall and other organs (only a textured background), inter-observer label variability.

"External" domains (another pulse sequence, vendor, field of view) are :class:`PerfusionDomain` values:
:data:`INTERNAL` and :data:`EXTERNAL` are the two this project's notebooks use.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

BACKGROUND, RV, MYO, LV = 0, 1, 2, 3


@dataclass(frozen=True)
class PerfusionDomain:
    """Acquisition of one "centre": contrast, noise and geometry knobs (ranges sampled per series)."""

    baseline: tuple[float, float] = (0.10, 0.20)   # pre-contrast tissue signal S0 (blood, myocardium)
    gain: tuple[float, float] = (0.9, 1.1)         # signal gain g of S = S0 + g (1 - exp(-k C))
    saturation: float = 1.5                         # k: larger = the signal saturates earlier
    myo_peak: tuple[float, float] = (0.25, 0.40)   # myocardial peak concentration / blood-pool peak
    noise: float = 0.03                             # Rician noise sigma (signal units)
    fov_scale: float = 1.0                          # > 1: the heart looks smaller (a larger field of view)
    resp_px: tuple[float, float] = (0.0, 1.5)      # respiratory shift amplitude in pixels
    bias: float = 0.15                              # smooth multiplicative bias-field amplitude
    background: float = 0.12                        # mean background tissue signal


INTERNAL = PerfusionDomain()
#: Another sequence/vendor: brighter baseline, earlier saturation (lower blood-myocardium contrast), more noise,
#: a larger field of view and stronger breathing.
EXTERNAL = PerfusionDomain(baseline=(0.18, 0.30), gain=(0.65, 0.9), saturation=2.0, noise=0.04, fov_scale=1.2,
                           resp_px=(1.0, 2.0), bias=0.25, background=0.2)


@dataclass
class PerfusionSet:
    """Simulated series. ``images`` (N, T, H, W) float32; ``labels`` (N, H, W) uint8 at the reference position."""

    images: np.ndarray
    labels: np.ndarray
    curves: np.ndarray        # (N, 4, T) concentration of background(0), RV, MYO, LV compartments
    defect: np.ndarray        # (N,) defect sector centre angle (radians)
    shifts: np.ndarray        # (N, T, 2) respiratory shift (rows, cols) in pixels

    def __len__(self) -> int:
        return len(self.images)


def gamma_variate(t: np.ndarray, t0: float, alpha: float, beta: float) -> np.ndarray:
    """Gamma-variate bolus curve ``((t - t0)/beta)^alpha exp(-(t - t0)/beta)``, scaled to peak 1, 0 before ``t0``.

    Its peak is at ``t0 + alpha * beta``.
    """
    s = np.clip((np.asarray(t, dtype=float) - t0) / beta, 0.0, None)
    peak = alpha ** alpha * np.exp(-alpha)
    return s ** alpha * np.exp(-s) / peak


def simulate_perfusion(n: int, *, n_frames: int = 16, size: int = 32, domain: PerfusionDomain = INTERNAL,
                       seed: int = 0) -> PerfusionSet:
    """Simulate ``n`` first-pass perfusion series of ``n_frames`` frames of ``size × size`` pixels."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames, dtype=float)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    imgs = np.empty((n, n_frames, size, size), np.float32)
    labs = np.empty((n, size, size), np.uint8)
    curves = np.empty((n, 4, n_frames))
    defect = rng.uniform(0, 2 * np.pi, n)
    shifts = np.empty((n, n_frames, 2))
    scale = size / 32.0 / domain.fov_scale
    for i in range(n):
        cy, cx = size / 2 + rng.uniform(-2, 2, 2) * scale
        r_lv = rng.uniform(5.0, 7.0) * scale
        wall = rng.uniform(2.2, 3.2) * scale
        ell = rng.uniform(0.9, 1.1)
        r = np.hypot((yy - cy) * ell, (xx - cx) / ell)
        ang = np.arctan2(yy - cy, xx - cx)
        lab = np.zeros((size, size), np.uint8)
        # RV: a crescent to the left of the LV, outside the myocardium
        r_rv = np.hypot(yy - cy, (xx - (cx - r_lv - wall)) * 0.8)
        lab[(r_rv < r_lv * 1.3) & (r > r_lv + wall + 0.8 * scale)] = RV
        lab[r < r_lv + wall] = MYO
        lab[r < r_lv] = LV
        labs[i] = lab
        # concentration curves
        t_rv = rng.uniform(1.0, 3.0)
        a, b = rng.uniform(2.0, 3.0), rng.uniform(0.9, 1.3)
        c_rv = gamma_variate(t, t_rv, a, b)
        c_lv = gamma_variate(t, t_rv + 2.0, a, b * 1.2)
        mp = rng.uniform(*domain.myo_peak)
        c_myo = mp * gamma_variate(t, t_rv + 3.5, a, b * 1.6)
        c_def = 0.35 * mp * gamma_variate(t, t_rv + 5.0, a, b * 1.8)
        curves[i] = np.stack([np.zeros_like(t), c_rv, c_myo, c_lv])
        d_ang = np.angle(np.exp(1j * (ang - defect[i])))
        in_def = (lab == MYO) & (np.abs(d_ang) < 0.6)
        conc = np.zeros((n_frames, size, size))
        for k, c in ((RV, c_rv), (LV, c_lv), (MYO, c_myo)):
            conc[:, lab == k] = c[:, None]
        conc[:, in_def] = c_def[:, None]
        s0 = rng.uniform(*domain.baseline)
        g = rng.uniform(*domain.gain)
        sig = s0 + g * (1 - np.exp(-domain.saturation * conc))
        tissue = lab == BACKGROUND
        texture = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 2.0)
        bg = domain.background * (1 + 0.8 * texture / (texture.std() + 1e-9))
        sig[:, tissue] = np.clip(bg[tissue], 0, None)[None]
        sig = ndimage.gaussian_filter(sig, (0, 0.7, 0.7))
        bias = 1 + domain.bias * ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 4) * size / 4
        sig = sig * np.clip(bias, 0.5, 1.5)[None]
        amp = rng.uniform(*domain.resp_px)
        ph = rng.uniform(0, 2 * np.pi)
        dy = amp * np.sin(2 * np.pi * t / rng.uniform(6, 10) + ph)
        dx = 0.4 * amp * np.sin(2 * np.pi * t / rng.uniform(6, 10) + ph)
        shifts[i] = np.stack([dy, dx], 1)
        for f in range(n_frames):
            sig[f] = ndimage.shift(sig[f], (dy[f], dx[f]), order=1, mode="nearest")
        noisy = np.hypot(sig + rng.normal(0, domain.noise, sig.shape), rng.normal(0, domain.noise, sig.shape))
        imgs[i] = noisy.astype(np.float32)
    return PerfusionSet(images=imgs, labels=labs, curves=curves, defect=defect, shifts=shifts)


def with_domain(domain: PerfusionDomain, **changes: object) -> PerfusionDomain:
    """A copy of ``domain`` with some knobs changed (``dataclasses.replace``)."""
    return replace(domain, **changes)  # type: ignore[arg-type]
