"""Simulated acute-stroke CT perfusion (4-D CTP in HU) on MNI152 brain slices, with the final infarct.

Anatomy: a slab of axial slices of the MNI152 2009 template's grey/white-matter/CSF maps
(:func:`medrepro.sim.stroke_mri.mni_tissues`, shipped with nilearn), mirrored and shifted per case.

Physics (indicator dilution, see :mod:`medrepro.ctp`): each case has its own arterial input function, a gamma
variate ``AIF(t) = peak · gamma_variate(t; t0, α, β)`` (arrival ``t0`` and width ``β`` vary with cardiac output
and injection; :func:`medrepro.sim.perfusion.gamma_variate`), and every voxel its CBF, CBV, MTT = CBV/CBF and a
bolus delay ``td``. The tissue curve is ``C(t) = (ρ/k_H) · CBF · (AIF ⊛ R)(t − td)`` with an exponential residue
function ``R(t) = exp(−t/MTT)``; it is computed on a 0.1-s grid and sampled every ``dt`` (so the deconvolution's
discretisation is not the simulator's). Pre-contrast attenuation: grey matter 38, white matter 30, CSF 8 HU; the
AIF sits in a few "artery" voxels on the midline; Gaussian noise per frame. Values are stored as integer HU.

Normal tissue (settings, per voxel mixed by tissue fraction): CBF grey 55, white 22 ml/100 g/min; CBV grey 4.0,
white 2.0 ml/100 g (so MTT 4.4 and 5.5 s), a delay of 0–1 s. Published CBF for comparison: grey ≈ 50 ± 15 and
white ≈ 22 ± 5 ml/100 g/min (Radiopaedia's "cerebral blood flow" entry, rounded figures across techniques).

Occlusion: a territory in one hemisphere with a severity ``s ∈ [0, 1]`` (largest at its centre, smooth random
edges). Inside, ``td = 1 + 11 s`` seconds, ``CBF = CBF₀ (1 − 0.93 s^1.5)``, and CBV rises up to 30 % (autoregulation)
and then collapses where ``s`` is high, so the core (relative CBF < 0.3) has low CBV and the penumbra a long Tmax
with preserved CBV.

Final infarct (follow-up, a few days later), decided by the simulator from the true tissue state and the
clinical variable ``reperfused`` (successful thrombectomy): with reperfusion, the core plus a rim
(``s`` above a case-specific level near the core's); without, most of the hypoperfused tissue (``s`` above a
level near Tmax = 6 s). Both levels vary between cases and along the edge (smooth random fields), so acute
imaging with the flag still leaves the final infarct uncertain.

Realistic: per-patient bolus shape and timing; the convolution physics that makes time-to-peak depend on the
bolus; core/penumbra/oligaemia from severity; Tmax-delay coupling; integer HU, noise. Not modelled: beam hardening,
partial volume of arteries (the AIF is exact), veins and the venous output function, motion, skull and bone,
dispersion of the bolus along collaterals (delay only), recirculation, haemorrhagic transformation, infarct growth
in time (one follow-up), brain swelling.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..ctp import KH, RHO
from .perfusion import gamma_variate
from .stroke_mri import mni_tissues

BASE_HU = {"gm": 38.0, "wm": 30.0, "csf": 8.0}
CBF0 = {"gm": 55.0, "wm": 22.0}     # ml/100 g/min
CBV0 = {"gm": 4.0, "wm": 2.0}       # ml/100 g


@dataclass(frozen=True)
class CTPSpec:
    """Knobs of :func:`simulate_ctp`."""

    voxel_mm: int = 4
    z_slices: tuple[int, ...] = (19, 20, 21)   # axial slices of the block-averaged MNI grid (4 mm: basal ganglia)
    n_frames: int = 48
    dt: float = 1.0
    aif_t0: tuple[float, float] = (2.0, 12.0)      # bolus arrival (s)
    aif_beta: tuple[float, float] = (1.0, 2.4)     # gamma-variate width (s)
    aif_alpha: float = 3.0
    aif_peak: tuple[float, float] = (250.0, 450.0)  # HU above baseline
    same_bolus: bool = False      # True: every case gets the same AIF (the control of a designed task)
    noise_hu: tuple[float, float] = (2.0, 4.0)
    radius_vox: tuple[float, float] = (7.0, 12.0)  # territory radius
    p_reperfused: float = 0.5
    final_jitter: float = 0.08                     # spread of the final-infarct level along the edge


@dataclass
class CTPCase:
    """One simulated case: 4-D CTP (X, Y, Z, T) int16 HU, NCCT, the true maps and masks, the clinical flag."""

    ctp: np.ndarray
    ncct: np.ndarray
    brain: np.ndarray
    aif: np.ndarray              # (T,) true AIF enhancement (HU)
    truth: dict[str, np.ndarray]  # cbf, cbv, mtt, tmax (the delay), severity
    core: np.ndarray
    hypoperfused: np.ndarray     # true Tmax > 6 s
    final: np.ndarray            # follow-up infarct (uint8)
    reperfused: bool
    affine: np.ndarray
    dt: float
    hemisphere: str
    meta: dict = field(default_factory=dict)


def _tissue_slab(spec: CTPSpec):
    t = mni_tissues(spec.voxel_mm)
    z = list(spec.z_slices)
    return {k: t[k][:, :, z] for k in ("gm", "wm", "csf", "mask")}, t["affine"]


def simulate_ctp(n_cases: int, *, spec: CTPSpec | None = None, seed: int = 0) -> list[CTPCase]:
    """Simulate ``n_cases`` acute-stroke CTP cases (see the module docstring); deterministic by ``seed``."""
    spec = spec or CTPSpec()
    rng = np.random.default_rng(seed)
    slab, affine = _tissue_slab(spec)
    T = spec.n_frames
    fine = 4                                      # simulation grid: dt / 4
    tf = np.arange(T * fine) * spec.dt / fine
    ts = np.arange(T) * spec.dt
    shared = (rng.uniform(*spec.aif_t0), rng.uniform(*spec.aif_beta), rng.uniform(*spec.aif_peak))
    cases = []
    for _ in range(n_cases):
        flip = rng.random() < 0.5
        shift = rng.integers(-1, 2, 2)
        tis = {k: np.roll(v[::-1] if flip else v, tuple(shift), axis=(0, 1)) for k, v in slab.items()}
        brain = tis["mask"] > 0.5
        gm, wm = tis["gm"], tis["wm"]
        par = np.clip(gm + wm, 1e-3, None)
        fg = np.where(brain, gm / par, 0.0)
        shape = brain.shape
        cbf0 = fg * CBF0["gm"] + (1 - fg) * CBF0["wm"]
        cbv0 = fg * CBV0["gm"] + (1 - fg) * CBV0["wm"]
        # bolus (the same for all cases in the control)
        own = (rng.uniform(*spec.aif_t0), rng.uniform(*spec.aif_beta), rng.uniform(*spec.aif_peak))
        t0, beta, peak = shared if spec.same_bolus else own   # drawn either way: the same seed, the same lesions
        aif_f = peak * gamma_variate(tf, t0, spec.aif_alpha, beta)
        # occluded territory in one hemisphere: severity from the distance to a lateral centre, rough edges
        xs = np.flatnonzero(brain.any((1, 2)))
        mid = 0.5 * (xs.min() + xs.max())
        left = rng.random() < 0.5
        ys = np.flatnonzero(brain.any((0, 2)))
        cx = mid + (-1 if left else 1) * rng.uniform(0.35, 0.6) * (xs.max() - mid)
        cy = rng.uniform(ys.min() + 0.3 * np.ptp(ys), ys.min() + 0.7 * np.ptp(ys))
        X, Y, _ = np.indices(shape)
        r = rng.uniform(*spec.radius_vox)
        rough = ndimage.gaussian_filter(rng.standard_normal(shape[:2]), 2.5)[..., None]
        rough /= rough.std() + 1e-9
        sev = np.clip(1.15 - np.hypot(X - cx, Y - cy) / r + 0.12 * rough, 0, 1)
        side = (X < mid) if left else (X > mid)
        sev = np.where(brain & side, sev, 0.0)
        td = np.where(sev > 0, 1.0 + 11.0 * sev, rng.uniform(0, 1.0, shape) * (1 - fg))
        cbf = cbf0 * (1 - 0.93 * sev ** 1.5)
        rcbv = np.where(sev < 0.7, 1 + 0.3 * sev / 0.7, 1.3 - 1.0 * (sev - 0.7) / 0.3)
        cbv = cbv0 * rcbv
        mtt = 60.0 * cbv / np.maximum(cbf, 1e-6)
        # tissue curves: C = rho/kH * CBF * (AIF conv R)(t - td). The convolution with R = exp(-t/MTT) is the
        # recursion y_n = y_{n-1} e^{-h/MTT} + h AIF_n on the fine grid (step h); the delay is applied by
        # linear interpolation when sampling every dt
        v = np.flatnonzero(brain)
        h = spec.dt / fine
        decay = np.exp(-h / mtt.reshape(-1)[v])
        y = np.zeros((len(v), len(tf)))
        acc = np.zeros(len(v))
        for i in range(len(tf)):
            acc = acc * decay + h * aif_f[i]
            y[:, i] = acc
        pos = (ts[None, :] - td.reshape(-1)[v, None]) / h
        i0 = np.clip(np.floor(pos).astype(int), 0, len(tf) - 2)
        w = np.clip(pos - i0, 0, 1)
        rows = np.arange(len(v))[:, None]
        conv = np.where(pos >= 0, (1 - w) * y[rows, i0] + w * y[rows, i0 + 1], 0.0)
        enh_v = RHO / KH * (cbf.reshape(-1)[v, None] / 6000.0) * conv
        base = (tis["gm"] * BASE_HU["gm"] + tis["wm"] * BASE_HU["wm"] + tis["csf"] * BASE_HU["csf"])
        base = np.where(brain, base, 0.0)
        enh = np.zeros((brain.size, T))
        enh[v] = enh_v
        aif_s = aif_f[::fine]
        # arteries: two midline voxels in the middle slice hold the AIF (anterior cerebral arteries)
        art = np.ravel_multi_index((int(round(mid)), int(ys.min() + 0.25 * np.ptp(ys)), shape[2] // 2), shape)
        enh[art] = aif_s
        enh[art + shape[1] * shape[2]] = aif_s
        sigma = rng.uniform(*spec.noise_hu)
        ctp = base.reshape(-1, 1) + enh + rng.normal(0, sigma, enh.shape)
        ctp = np.where(brain.reshape(-1, 1) | (np.arange(brain.size) == art)[:, None]
                       | (np.arange(brain.size) == art + shape[1] * shape[2])[:, None], ctp, -1000.0)
        ctp = np.rint(ctp).astype(np.int16).reshape(shape + (T,))
        ncct = np.rint(np.where(brain, base + rng.normal(0, 0.5 * sigma, shape), -1000.0)).astype(np.int16)
        # acute core / hypoperfusion (true maps) and the final infarct decided by the reperfusion flag
        core = brain & (cbf / np.maximum(cbf0, 1e-6) < 0.3)
        hypo = brain & (td > 6.0)
        reperf = bool(rng.random() < spec.p_reperfused)
        edge = ndimage.gaussian_filter(rng.standard_normal(shape[:2]), 2.0)[..., None]
        edge = spec.final_jitter * edge / (edge.std() + 1e-9)
        level = (rng.uniform(0.66, 0.8) if reperf else rng.uniform(0.4, 0.5)) + edge
        final = brain & (sev > 0) & (sev >= level)
        cases.append(CTPCase(
            ctp=ctp, ncct=ncct, brain=brain, aif=aif_s, affine=affine, dt=spec.dt,
            truth={"cbf": cbf, "cbv": cbv, "mtt": mtt, "tmax": td, "severity": sev},
            core=core, hypoperfused=hypo, final=final.astype(np.uint8), reperfused=reperf,
            hemisphere="left" if left else "right",
            meta={"aif_t0": t0, "aif_beta": beta, "aif_peak": peak, "noise_hu": sigma, "flip": flip}))
    return cases


__all__ = ["CTPSpec", "CTPCase", "simulate_ctp", "BASE_HU", "CBF0", "CBV0"]
