"""Simulated cardiac short-axis cine-MR slices with ACDC-style labels (RV, myocardium, LV cavity).

The shared piece of the segmentation notebooks: a cohort of "patients", each with an end-diastolic (ED)
and an end-systolic (ES) stack of short-axis slices from base to apex, labelled with the ACDC convention
(0 background, 1 right-ventricular cavity, 2 left-ventricular myocardium, 3 left-ventricular cavity).
:func:`simulate_cohort` is vectorised over all slices of all patients (no per-slice Python loop);
``medrepro.data.datasets.acdc.write_patient`` stores a patient in the real ACDC layout (NIfTI + Info.cfg)
so that notebooks read simulated data through the same loader as the real dataset.

Realistic:
    - anatomy: an elliptical LV cavity inside a myocardial ring whose wall thickness varies around the
      circumference, a crescent-shaped RV cavity wrapped around the septum with a thin unlabelled free wall,
      papillary muscles inside the LV cavity (labelled LV, as in the ACDC annotation rules), cavities that
      shrink from base to apex, an RV that disappears near the apex;
    - inter-patient variability by the five ACDC groups (NOR, MINF, DCM, HCM, RV): cavity size, wall
      thickness, ejection fraction (ES cavity area = ED area × (1 − EF), myocardial area conserved),
      regional wall thinning (MINF), RV dilation (RV, DCM), heart position, orientation and ellipticity;
    - bSSFP-like contrast that varies per patient (bright blood, darker myocardium); surroundings that
      belong to the patient (a tissue texture and round bright vessels — aorta, pulmonary artery — shared by
      its slices, which mimic a ventricle, ``own_context``), bright epicardial fat, partial-volume blur, a
      smooth multiplicative bias field, Rician noise, a per-scanner intensity gain;
    - through-plane change (knobs, for slice interpolation): cavities that shrink towards the apex
      (``apex_taper``) and a heart centre that drifts in plane from base to apex (``axis_tilt_mm``, a long
      axis not quite perpendicular to the slices; 0 by default).
Not modelled:
    - real 3-D geometry (slices are drawn independently from a slice-level parameter; fat, papillary
      muscles and vessels do not continue from slice to slice), through-plane motion, the LV outflow
      tract and valve planes at the base, trabeculations, lungs and liver as organs, breathing or motion
      artefacts, wrap-around, inter-observer label variability;
    - the exact ACDC intensity statistics or resolution (the default is a 160 mm crop on 64 × 64 pixels);
      the group effects are plausible, not fitted to the ACDC measurements.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage

#: ACDC label values and names.
CLASSES: tuple[str, ...] = ("background", "RV", "MYO", "LV")
BACKGROUND, RV, MYO, LV = 0, 1, 2, 3
#: The five ACDC diagnostic groups.
GROUPS: tuple[str, ...] = ("NOR", "MINF", "DCM", "HCM", "RV")


@dataclass(frozen=True)
class CardiacSpec:
    """Knobs of the simulator; ranges ``(lo, hi)`` are sampled uniformly per patient.

    Anatomical sizes are in millimetres; the image shows a ``fov_mm`` square on ``size`` pixels, so
    zooming in (a smaller ``fov_mm``) makes the heart larger in pixels. Raise ``noise``, ``texture``,
    ``bias`` or ``distractors``, or lower ``contrast``, to make segmentation harder.
    """

    size: int = 64                             # pixels per side
    fov_mm: float = 160.0                      # field of view (a crop around the heart)
    slice_thickness_mm: float = 10.0
    lv_radius: tuple[float, float] = (16.0, 24.0)   # ED endocardial radius at the base, mm (NOR)
    wall: tuple[float, float] = (6.4, 9.6)          # ED wall thickness, mm (NOR)
    ellipticity: tuple[float, float] = (0.85, 1.18)
    center_jitter: float = 0.07                # heart centre offset, fraction of the side
    contrast: tuple[float, float] = (0.30, 0.65)    # blood minus myocardium intensity
    texture: float = 0.22                      # amplitude of the surrounding-tissue texture
    own_context: float = 0.65                  # share of that texture belonging to the patient (0: per slice)
    group_effect: float = 1.0                  # scales how far the disease groups depart from NOR anatomy
    fat: float = 0.6                           # probability of a bright epicardial fat arc per slice
    distractors: int = 2                       # bright round vessels per patient (each in plane or not)
    papillary: float = 0.8                     # probability of papillary muscles per slice
    bias: float = 0.35                         # bias-field amplitude (log scale)
    blur: tuple[float, float] = (0.4, 1.1)     # partial-volume Gaussian sigma, pixels
    noise: tuple[float, float] = (0.03, 0.10)  # Rician noise sigma (blood ≈ 0.9)
    gain: tuple[float, float] = (300.0, 1500.0)  # scanner intensity scale written to disk
    apex_taper: float = 0.75                   # how much the cavities shrink from base to apex (0: not at all)
    axis_tilt_mm: float = 0.0                  # max in-plane shift of the heart centre from base to apex, mm

    @property
    def spacing_mm(self) -> float:
        """In-plane pixel size in mm."""
        return self.fov_mm / self.size


@dataclass
class CardiacCohort:
    """A simulated cohort. ``images``/``labels`` are (patients, 2 phases [ED, ES], slices, H, W)."""

    images: np.ndarray
    labels: np.ndarray
    info: list[dict] = field(default_factory=list)
    spacing: tuple[float, float, float] = (2.5, 2.5, 10.0)

    @property
    def n_patients(self) -> int:
        return int(self.images.shape[0])

    def slices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flatten to 2-D slices: ``(images (N,H,W), labels (N,H,W), patient, phase, slice_index)``."""
        p, f, z, h, w = self.images.shape
        pat, ph, zz = np.meshgrid(np.arange(p), np.arange(f), np.arange(z), indexing="ij")
        return (self.images.reshape(-1, h, w), self.labels.reshape(-1, h, w),
                pat.ravel(), ph.ravel(), zz.ravel())


def _smooth_field(rng: np.random.Generator, n: int, size: int, sigma: float) -> np.ndarray:
    """(n, size, size) smooth random fields with zero mean and unit standard deviation per image.

    Wide kernels are applied on a coarser grid and upsampled linearly (same look, a fraction of the cost).
    """
    f = max(1, int(sigma // 2))
    small = -(-size // f)
    x = rng.standard_normal((n, small, small)).astype(np.float32)
    x = ndimage.gaussian_filter(x, sigma=(0, sigma / f, sigma / f), mode="wrap", truncate=3.0)
    if f > 1:  # periodic linear upsampling as two small matrix products: U x Uᵀ
        pos = (np.arange(size, dtype=np.float32) + 0.5) / f - 0.5
        lo = np.floor(pos).astype(int)
        w = (pos - lo).astype(np.float32)
        U = np.zeros((size, small), np.float32)
        U[np.arange(size), lo % small] += 1 - w
        U[np.arange(size), (lo + 1) % small] += w
        x = U @ x @ U.T
    x -= x.mean(axis=(1, 2), keepdims=True)
    x /= x.std(axis=(1, 2), keepdims=True) + 1e-6
    return x


def simulate_cohort(n_patients: int, n_slices: int = 6, *, spec: CardiacSpec = CardiacSpec(),
                    groups: Sequence[str] | None = None, seed: int = 0) -> CardiacCohort:
    """Simulate ``n_patients`` patients × {ED, ES} × ``n_slices`` short-axis slices, vectorised.

    Args:
        n_patients: number of patients; groups cycle through :data:`GROUPS` unless ``groups`` is given.
        n_slices: slices per stack, from base (index 0) to apex.
        spec: the variability knobs (:class:`CardiacSpec`).
        groups: the ACDC group of each patient (length ``n_patients``).
        seed: the same seed gives the same cohort.

    Returns:
        :class:`CardiacCohort` with float32 images in scanner units (gain × ~[0, 1]), uint8 labels in the
        ACDC convention, and per-patient ``info`` dicts (Group, ED, ES, NbFrame, Height, Weight, EF).
    """
    if n_patients < 1 or n_slices < 1:
        raise ValueError(f"need at least one patient and one slice, got {n_patients} and {n_slices}")
    rng = np.random.default_rng(seed)
    S = spec.size
    groups = list(groups) if groups is not None else [GROUPS[i % len(GROUPS)] for i in range(n_patients)]
    if len(groups) != n_patients or any(g not in GROUPS for g in groups):
        raise ValueError(f"groups must be {n_patients} values from {GROUPS}")
    g = np.array([GROUPS.index(x) for x in groups])

    def u(lo_hi: tuple[float, float], n: int = n_patients) -> np.ndarray:
        return rng.uniform(lo_hi[0], lo_hi[1], n)

    # ---- per-patient anatomy (vectors of length P) ------------------------------------------------
    mm = 1.0 / spec.fov_mm                                      # mm → fraction of the side
    k = spec.group_effect

    def eff(f: float) -> float:  # a group's factor, scaled towards 1 (NOR) by group_effect
        return 1.0 + k * (f - 1.0)

    r_ed = u(spec.lv_radius) * mm * np.select([g == 2, g == 3], [eff(1.45), eff(0.85)], 1.0)  # DCM big, HCM small
    wall = u(spec.wall) * mm * np.select([g == 3, g == 2], [eff(1.8), eff(0.8)], 1.0)         # HCM thick, DCM thin
    ef = np.select([g == 0, g == 1, g == 2, g == 3, g == 4],
                   [u((0.55, 0.70)), u((0.20, 0.40)), u((0.10, 0.35)), u((0.60, 0.78)), u((0.45, 0.65))])
    rv_scale = u((0.85, 1.15)) * np.select([g == 4, g == 2], [eff(1.45), eff(1.2)], 1.0)
    rv_ef = np.where(g == 4, u((0.15, 0.35)), u((0.40, 0.60)))
    ell = u(spec.ellipticity)
    theta = rng.uniform(0, np.pi, n_patients)
    rv_angle = np.pi + rng.normal(0.0, 0.25, n_patients)       # RV to the image left of the LV
    infarct_angle = rng.uniform(0, 2 * np.pi, n_patients)
    infarct_depth = np.where(g == 1, u((0.4, 0.7)), 0.0)        # regional thinning for MINF
    wall_harm = u((0.0, 0.25))                                   # smooth circumferential variation
    wall_phase = rng.uniform(0, 2 * np.pi, n_patients)
    cx = S / 2 + rng.uniform(-1, 1, n_patients) * spec.center_jitter * S
    cy = S / 2 + rng.uniform(-1, 1, n_patients) * spec.center_jitter * S
    blood = u((0.80, 1.0))
    myo = blood - u(spec.contrast)
    rv_blood = blood * u((0.85, 1.05))
    noise = u(spec.noise)
    blur_t = u((0.0, 1.0))
    gain = u(spec.gain)
    z_shift = u((-0.05, 0.05))

    # ---- broadcast to slices: index arrays (N,) ---------------------------------------------------
    P, F, Z = n_patients, 2, n_slices
    pi, fi, zi = (a.ravel() for a in np.meshgrid(np.arange(P), np.arange(F), np.arange(Z), indexing="ij"))
    N = pi.size
    level = np.clip(np.linspace(0.05, 0.9, Z)[zi] + z_shift[pi], 0, 1)          # 0 base … 1 apex
    taper = np.sqrt(np.clip(1.0 - spec.apex_taper * level ** 1.6, 0.05, 1))      # cavities shrink apically
    es = fi == 1
    r_endo_ed = r_ed[pi] * taper
    r_epi_ed = r_endo_ed + wall[pi] * (0.7 + 0.3 * taper)                          # wall thins less than the cavity
    r_endo = r_endo_ed * np.where(es, np.sqrt(1 - ef[pi]), 1.0)                    # area × (1 − EF) at ES
    r_epi = np.sqrt(r_endo ** 2 + r_epi_ed ** 2 - r_endo_ed ** 2)                   # myocardial area conserved
    r_endo, r_epi = r_endo * S, r_epi * S

    def col(v: np.ndarray) -> np.ndarray:  # per-slice vector → (N, 1, 1) float32 for broadcasting
        return np.asarray(v, np.float32)[:, None, None]

    # long-axis tilt: the heart centre drifts in plane from base to apex (a separate generator, so that the
    # default axis_tilt_mm = 0 leaves every other draw, and so every existing cohort, unchanged)
    cxs, cys = cx[pi], cy[pi]
    if spec.axis_tilt_mm > 0:
        trng = np.random.default_rng([seed, 7321])
        shift = trng.uniform(0.3, 1.0, P) * spec.axis_tilt_mm * mm * S           # pixels, base → apex
        tdir = trng.uniform(0, 2 * np.pi, P)
        cxs = cxs + (shift * np.cos(tdir))[pi] * level
        cys = cys + (shift * np.sin(tdir))[pi] * level
    yy, xx = (g_[None] for g_ in np.mgrid[0:S, 0:S].astype(np.float32))
    dx, dy = xx - col(cxs), yy - col(cys)
    c, s = col(np.cos(theta[pi])), col(np.sin(theta[pi]))
    e = col(ell[pi])
    rho = np.sqrt(((c * dx + s * dy) / e) ** 2 + ((c * dy - s * dx) * e) ** 2)   # elliptical radius
    ang = np.arctan2(dy, dx)
    d_inf = (ang - col(infarct_angle[pi]) + np.pi) % (2 * np.pi) - np.pi
    wall_mod = (1 + col(wall_harm[pi]) * np.cos(2 * ang - col(wall_phase[pi]))
                - col(infarct_depth[pi]) * np.exp(-(d_inf / 0.6) ** 2))               # MINF: a thin sector
    endo_b = col(r_endo) * (1 + 0.04 * np.sin(3 * ang + col(wall_phase[pi])))
    epi_b = endo_b + np.maximum(col(r_epi - r_endo) * np.maximum(wall_mod, 0.3), 1.5)   # a closed ring
    lv = rho < endo_b
    epi_in = rho < epi_b
    myo_m = epi_in & ~lv

    # RV: an ellipse centred beside the septum, minus the LV epicardium → a crescent.
    rv_present = col((level < 0.8) | (rng.random(N) < 0.3)) > 0
    rv_sz = rv_scale[pi] * np.where(es, np.sqrt(1 - rv_ef[pi]), 1.0) * np.clip(1.1 - 0.9 * level, 0.1, 1)
    ra = rv_angle[pi]
    ddx = xx - col(cxs + 0.95 * r_epi * np.cos(ra))
    ddy = yy - col(cys + 0.95 * r_epi * np.sin(ra))
    along = ddx * col(-np.sin(ra)) + ddy * col(np.cos(ra))                           # tangential axis
    across = ddx * col(np.cos(ra)) + ddy * col(np.sin(ra))                           # radial axis
    b_ax = col(0.75 * r_epi * rv_sz)
    q = (along / col(1.35 * r_epi * rv_sz)) ** 2 + (across / b_ax) ** 2
    rv_cav = (q < 1) & ~epi_in & rv_present
    rv_wall = (q >= 1) & (q < (1 + 2.2 / np.maximum(b_ax, 1)) ** 2) & ~epi_in & rv_present

    # Papillary muscles: two small dark discs in the LV cavity (labelled LV).
    pap = np.zeros_like(lv)
    has_pap = col(rng.random(N) < spec.papillary) > 0
    for off in (0.9, -0.9):  # two muscles; a loop over 2 items, vectorised over slices
        pa = rv_angle[pi] + np.pi + off
        px, py = cxs + 0.62 * r_endo * np.cos(pa), cys + 0.62 * r_endo * np.sin(pa)
        prad = np.maximum(0.22 * r_endo, 0.8)
        pap |= (((xx - col(px)) ** 2 + (yy - col(py)) ** 2) < col(prad ** 2)) & has_pap
    pap &= lv

    # ---- intensities -------------------------------------------------------------------------------
    # surrounding tissue: mostly the patient's own anatomy (shared by its slices), partly slice-specific
    px = S / spec.fov_mm                                        # pixels per mm
    own = _smooth_field(rng, P, S, sigma=11 * px)[pi]
    c_own = float(np.clip(spec.own_context, 0.0, 1.0))
    tissue = 0.45 + spec.texture * (np.sqrt(c_own) * own + np.sqrt(1 - c_own) * _smooth_field(rng, N, S, sigma=11 * px))
    tissue += 0.5 * spec.texture * _smooth_field(rng, N, S, sigma=4 * px)
    img = np.clip(tissue, 0.02, 1.0)
    # epicardial fat: a bright arc just outside the epicardium
    fat_on = col(rng.random(N) < spec.fat) > 0
    arc = np.cos(ang - col(rng.uniform(0, 2 * np.pi, N))) > 0.3
    fat = (rho >= epi_b) & (rho < epi_b + max(4 * px, 1.0)) & arc & fat_on & ~rv_cav
    img = np.where(fat, np.float32(0.85), img)
    # bright round vessels (aorta, descending aorta) away from the heart: look like a ventricle
    # (each patient has its own vessels: where they sit, how big, how often they are in plane)
    for _ in range(spec.distractors):
        on = col(rng.random(N) < rng.uniform(0.3, 1.0, P)[pi]) > 0
        dang = rng.uniform(0, 2 * np.pi, P)[pi] + rng.normal(0, 0.15, N)
        dist = r_epi * (rng.uniform(1.5, 2.3, P)[pi] + rng.normal(0, 0.1, N))
        vx, vy = cxs + dist * np.cos(dang), cys + dist * np.sin(dang)
        vr = r_ed[pi] * S * rng.uniform(0.35, 0.75, P)[pi]
        disc = (((xx - col(vx)) ** 2 + (yy - col(vy)) ** 2) < col(vr ** 2)) & on & ~epi_in & ~rv_cav
        img = np.where(disc, col(blood[pi] * rng.uniform(0.8, 1.05, N)), img)
    myo_i = col(myo[pi])
    img = np.where(rv_wall, myo_i + 0.05, img)
    img = np.where(rv_cav, col(rv_blood[pi]), img)
    img = np.where(myo_m, myo_i, img)
    img = np.where(lv, col(blood[pi]), img)
    img = np.where(pap, myo_i + 0.05, img)
    img += 0.04 * _smooth_field(rng, N, S, sigma=1.0) * (lv | myo_m | rv_cav)     # flow/texture in tissue

    # partial volume (blend of two blurs, weight per patient), bias field, Rician noise, scanner gain
    t = col(blur_t[pi])
    img = ((1 - t) * ndimage.gaussian_filter(img, (0, spec.blur[0], spec.blur[0]))
           + t * ndimage.gaussian_filter(img, (0, spec.blur[1], spec.blur[1])))
    img *= np.exp(spec.bias * _smooth_field(rng, N, S, sigma=40 * px) * 0.5)
    sig = col(noise[pi])
    n1 = rng.standard_normal(img.shape).astype(np.float32) * sig
    n2 = rng.standard_normal(img.shape).astype(np.float32) * sig
    img = np.sqrt((img + n1) ** 2 + n2 ** 2) * col(gain[pi])

    lab = np.zeros((N, S, S), np.uint8)
    lab[rv_cav] = RV
    lab[myo_m] = MYO
    lab[lv] = LV

    height = rng.normal(170, 9, P).round(1)
    weight = rng.normal(78, 14, P).clip(45, 140).round(1)
    nb_frame = rng.integers(12, 31, P)
    es_frame = np.clip(np.round(nb_frame * rng.uniform(0.3, 0.45, P)), 2, nb_frame).astype(int)
    info = [dict(Group=groups[i], ED=1, ES=int(es_frame[i]), NbFrame=int(nb_frame[i]),
                 Height=float(height[i]), Weight=float(weight[i]), EF=float(ef[i])) for i in range(P)]
    shape = (P, F, Z, S, S)
    return CardiacCohort(images=img.astype(np.float32).reshape(shape), labels=lab.reshape(shape), info=info,
                         spacing=(spec.spacing_mm, spec.spacing_mm, spec.slice_thickness_mm))


def class_fractions(labels: np.ndarray) -> np.ndarray:
    """Fraction of pixels per ACDC class (background, RV, MYO, LV) — a quick sanity check."""
    counts = np.bincount(np.asarray(labels).ravel(), minlength=len(CLASSES))[: len(CLASSES)]
    return counts / max(counts.sum(), 1)
