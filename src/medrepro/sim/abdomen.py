"""Simulated axial abdominal slices with the Synapse / BTCV 8-organ labels (CT-like or MR-like contrast).

The shared piece of the abdominal multi-organ notebooks (decoder and upsampler papers evaluated on the
Synapse multi-organ CT set). :func:`simulate_abdomen` draws a cohort of "subjects", each with a stack of
axial slices from the upper abdomen (liver dome, spleen, stomach) down to the lower kidney poles, labelled
in the 8-organ convention of the TransUNet-preprocessed Synapse data (:data:`LABELS`: 1 aorta,
2 gallbladder, 3 left kidney, 4 right kidney, 5 liver, 6 pancreas, 7 spleen, 8 stomach). Everything is
vectorised over all slices of all subjects (no per-slice Python loop); the only loops run over the handful
of organs and shape harmonics.

Images are in radiological display orientation: anterior at the top (row 0), the patient's right on the
image left. CT images are in Hounsfield units; :func:`ct_window` maps them to [0, 1] with the
[-125, 275] HU window of the TransUNet preprocessing. MR images are in arbitrary scanner units.
``medrepro.data.datasets.synapse`` stores slices in the real TransUNet layout (``train_npz/*.npz``).

Realistic:
    - anatomy: an elliptical body with subcutaneous fat and an abdominal-wall muscle ring, a vertebral body
      with spinal canal and paraspinal muscles; the aorta anterior-left of the spine with the inferior vena
      cava (unlabelled, similar intensity) to its right; a large liver in the right upper quadrant that
      shrinks caudally; a gallbladder at the liver's inferior-anterior edge; a crescent spleen posterior-left;
      a stomach anterior-left with a wall, fluid or food contents and an anterior air–fluid level; two kidneys
      beside the spine with bright cortex and dark sinus fat; a thin, lobulated pancreas curving from the head
      near the duodenum, in front of the aorta, to the tail at the splenic hilum, with the bright splenic vein
      along its back; bowel loops (some with air) as distractors of similar density;
    - inter-subject variability: body size and shape, organ sizes, positions, rotations and outlines
      (random low-order boundary harmonics), the cranio-caudal extent of each organ, contrast phase and
      per-organ enhancement, gallbladder size (contracted or distended);
    - difficulty that follows organ size: the pancreas and gallbladder are small (a few pixels across at
      64 × 64), and the pancreas has low contrast against the duodenum and bowel loops next to it;
    - acquisition: partial-volume blur (per subject), spatially correlated Gaussian noise (CT) or Rician
      noise and a smooth bias field (MR), a per-subject intensity offset.
Not modelled:
    - real 3-D continuity (each slice is drawn independently from its cranio-caudal level), respiration and
      motion, beam hardening and streak artefacts, metal, lesions or tumours, the duodenum, colon, adrenal
      glands, portal vein, oesophagus and other BTCV organs outside the 8-organ subset (they appear only as
      unlabelled distractors, if at all), inter-observer label variability;
    - the exact Synapse intensity statistics or resolution (the default is 64 × 64 pixels of 6 mm over a
      384 mm field of view; the real scans are 512 × 512 at 0.6–0.98 mm).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

#: Synapse / BTCV 8-organ label values (TransUNet preprocessing) and names.
LABELS: dict[int, str] = {0: "background", 1: "aorta", 2: "gallbladder", 3: "kidney_L", 4: "kidney_R",
                          5: "liver", 6: "pancreas", 7: "spleen", 8: "stomach"}
CLASSES: tuple[str, ...] = tuple(LABELS.values())
BACKGROUND, AORTA, GALLBLADDER, KIDNEY_L, KIDNEY_R, LIVER, PANCREAS, SPLEEN, STOMACH = range(9)
#: The organs that are small in an axial slice (a few pixels across at 64 × 64): where upsamplers matter.
SMALL_ORGANS: tuple[int, ...] = (GALLBLADDER, PANCREAS)
#: The organs that are large in an axial slice.
LARGE_ORGANS: tuple[int, ...] = (LIVER, SPLEEN, STOMACH)
MODALITIES: tuple[str, ...] = ("ct", "mr")
#: The CT window of the TransUNet preprocessing, in HU.
CT_WINDOW: tuple[float, float] = (-125.0, 275.0)

# Tissue intensities. CT: Hounsfield units of a portal-venous phase scan (means; each subject varies them).
_CT = dict(air=-1000.0, fat=-100.0, muscle=50.0, bone=500.0, csf=15.0, liver=105.0, spleen=115.0,
           kidney_cortex=170.0, kidney_sinus=-40.0, aorta=170.0, ivc=130.0, pancreas=90.0, splenic_vein=160.0,
           gallbladder=12.0, stomach_wall=80.0, stomach_fluid=15.0, bowel=70.0)
# MR: a T2-weighted-like contrast in arbitrary units (fluid bright, fat fairly bright, flow voids dark).
_MR = dict(air=0.02, fat=0.62, muscle=0.22, bone=0.30, csf=0.95, liver=0.30, spleen=0.52,
           kidney_cortex=0.58, kidney_sinus=0.60, aorta=0.06, ivc=0.10, pancreas=0.40, splenic_vein=0.08,
           gallbladder=0.95, stomach_wall=0.35, stomach_fluid=0.85, bowel=0.45)


@dataclass(frozen=True)
class AbdomenSpec:
    """Knobs of the simulator; ranges ``(lo, hi)`` are sampled uniformly per subject.

    Lengths are fractions of the half field of view. Raise ``noise``, ``blur``, ``bowel_loops``,
    ``shape_irregularity`` or ``enhancement_jitter``, or lower ``pancreas_contrast``, to make segmentation
    harder. CT intensities are in HU; for MR, noise is a fraction of the fluid signal.
    """

    size: int = 64
    fov_mm: float = 384.0                          # field of view across the image
    slice_thickness_mm: float = 3.0
    modality: str = "ct"
    body_axes: tuple[tuple[float, float], tuple[float, float]] = ((0.78, 0.94), (0.58, 0.70))
    organ_scale: tuple[float, float] = (0.85, 1.18)  # per-organ size factor
    position_jitter: float = 0.05                  # organ centre offset
    shape_irregularity: float = 0.10               # amplitude of the boundary harmonics
    pancreas_thickness: tuple[float, float] = (0.050, 0.075)
    pancreas_contrast: float = 1.0                 # 1: realistic (pancreas ~20 HU below liver); 0: same as bowel
    gallbladder_size: tuple[float, float] = (0.05, 0.10)
    bowel_loops: int = 6                           # distractor loops per slice (at most)
    enhancement_jitter: float = 25.0               # per-subject, per-organ intensity jitter (HU)
    blur: tuple[float, float] = (0.45, 0.9)        # partial-volume Gaussian sigma, pixels
    noise: tuple[float, float] = (12.0, 28.0)      # CT noise sigma in HU (MR: × 0.004 of the fluid signal)
    level_range: tuple[float, float] = (0.05, 0.95)  # cranio-caudal range covered by a subject's slices


@dataclass
class AbdomenCohort:
    """A simulated cohort of axial slices, flattened: ``images``/``labels`` are (N, H, W).

    ``subject`` and ``level`` give each slice's subject index and cranio-caudal level (0 = liver dome,
    1 = lower kidney poles). ``spacing`` is (row, column, slice) in mm.
    """

    images: np.ndarray
    labels: np.ndarray
    subject: np.ndarray
    level: np.ndarray
    modality: str = "ct"
    spacing: tuple[float, float, float] = (6.0, 6.0, 3.0)
    info: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_subjects(self) -> int:
        return int(self.subject.max()) + 1 if len(self.subject) else 0


def ct_window(images: np.ndarray, window: tuple[float, float] = CT_WINDOW) -> np.ndarray:
    """Clip HU to ``window`` and scale to [0, 1] (the TransUNet preprocessing of the Synapse scans)."""
    lo, hi = window
    return np.clip((np.asarray(images, np.float32) - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian noise blurred in-plane by ``sigma`` pixels, rescaled to unit standard deviation."""
    x = rng.standard_normal(shape).astype(np.float32)
    if sigma > 0:
        x = ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="wrap", truncate=3.0)
        x /= x.std() + 1e-6
    return x


def _smooth_field(rng: np.random.Generator, n: int, size: int, coarse: int = 4) -> np.ndarray:
    """(n, size, size) smooth random fields (bilinear upsampling of a coarse grid), zero mean, unit std."""
    g = rng.standard_normal((n, coarse, coarse)).astype(np.float32)
    pos = np.linspace(0, coarse - 1, size, dtype=np.float32)
    lo = np.clip(np.floor(pos).astype(int), 0, coarse - 2)
    w = pos - lo
    U = np.zeros((size, coarse), np.float32)
    U[np.arange(size), lo] = 1 - w
    U[np.arange(size), lo + 1] = w
    f = U @ g @ U.T
    f -= f.mean(axis=(1, 2), keepdims=True)
    f /= f.std(axis=(1, 2), keepdims=True) + 1e-6
    return f


def simulate_abdomen(n_subjects: int, n_slices: int = 8, *, spec: AbdomenSpec = AbdomenSpec(),
                     seed: int = 0) -> AbdomenCohort:
    """Simulate ``n_subjects`` subjects × ``n_slices`` axial abdominal slices, vectorised over all slices.

    Args:
        n_subjects: number of subjects (each has its own anatomy, contrast and noise).
        n_slices: slices per subject, spread over ``spec.level_range`` from cranial to caudal.
        spec: the variability knobs (:class:`AbdomenSpec`); ``spec.modality`` is ``"ct"`` or ``"mr"``.
        seed: the same seed gives the same cohort.

    Returns:
        :class:`AbdomenCohort` with float32 images (HU for CT, arbitrary units for MR), uint8 labels in the
        Synapse 8-organ convention (:data:`LABELS`), and per-subject ``info`` dicts.

    Raises:
        ValueError: for fewer than one subject or slice, an unknown modality, or a size not divisible by 4.
    """
    if n_subjects < 1 or n_slices < 1:
        raise ValueError(f"need at least one subject and one slice, got {n_subjects} and {n_slices}")
    if spec.modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {spec.modality!r}")
    if spec.size < 16 or spec.size % 4:
        raise ValueError(f"size must be a multiple of 4 and at least 16, got {spec.size}")
    rng = np.random.default_rng(seed)
    S, P = spec.size, n_subjects
    tissue = _CT if spec.modality == "ct" else _MR
    hu_scale = 1.0 if spec.modality == "ct" else 0.004   # HU-sized jitters → MR units

    def u(lo_hi: tuple[float, float], n: int = P) -> np.ndarray:
        return rng.uniform(lo_hi[0], lo_hi[1], n)

    # ---- slices: (N,) index vectors ------------------------------------------------------------------
    pi = np.repeat(np.arange(P), n_slices)
    N = pi.size
    base = np.linspace(spec.level_range[0], spec.level_range[1], n_slices)
    step = (spec.level_range[1] - spec.level_range[0]) / max(n_slices - 1, 1)
    t = np.clip(np.tile(base, P) + rng.uniform(-0.4, 0.4, N) * step, 0.0, 1.0)    # cranio-caudal level

    coord = ((np.arange(S, dtype=np.float32) + 0.5) / S * 2 - 1)
    X = coord[None, None, :]     # (1, 1, S): −1 patient right (image left) … +1 patient left
    Y = coord[None, :, None]     # (1, S, 1): −1 anterior (top) … +1 posterior (bottom)

    def col(v: np.ndarray) -> np.ndarray:   # (N,) → (N, 1, 1): float32, or bool for masks
        v = np.asarray(v)
        return (v if v.dtype == bool else v.astype(np.float32))[:, None, None]

    def per_slice(v: np.ndarray) -> np.ndarray:  # per-subject (P,) → per-slice (N,)
        return np.asarray(v)[pi]

    # Boundary irregularity: smooth random fields per subject (shared by its slices, so an organ keeps its
    # outline through the stack); each organ mixes them with its own weights.
    n_fields = 3
    fields = _smooth_field(rng, P * n_fields, S, coarse=5).reshape(P, n_fields, S, S)

    def ellipse(cx, cy, ax, ay, rot=None, irregular: float = 0.0) -> np.ndarray:
        """Normalised elliptical radius ρ (< 1 inside); ``irregular`` > 0 displaces the boundary smoothly.

        Coordinates broadcast as (N, 1, S) and (N, S, 1), so most arithmetic runs on small arrays and
        only a few operations touch the full (N, S, S) grid.
        """
        dx, dy = X - col(cx), Y - col(cy)
        iax, iay = col(1.0 / np.asarray(ax)), col(1.0 / np.asarray(ay))
        if rot is None:
            rho2 = (dx * iax) ** 2 + (dy * iay) ** 2
        else:
            c, s = col(np.cos(rot)), col(np.sin(rot))
            ex = (c * iax) * dx + (s * iax) * dy
            ey = (c * iay) * dy - (s * iay) * dx
            rho2 = ex * ex + ey * ey
        rho = np.sqrt(rho2)
        if irregular > 0:
            w = rng.normal(0, 1, (P, n_fields)).astype(np.float32) / np.sqrt(n_fields)
            f = np.einsum("pk,pkij->pij", w, fields)[pi]                  # this organ's field, per slice
            rho -= np.float32(irregular) * f
        return rho

    def extent(top: tuple[float, float], bottom: tuple[float, float]) -> np.ndarray:
        """Cross-section scale of an organ at each slice's level: an ellipsoid profile, 0 outside its extent."""
        z0, z1 = per_slice(u(top)), per_slice(u(bottom))
        mid, half = (z0 + z1) / 2, np.maximum((z1 - z0) / 2, 1e-3)
        return np.sqrt(np.clip(1 - ((t - mid) / half) ** 2, 0, 1))

    irr = spec.shape_irregularity
    jit = spec.position_jitter

    def pj(n: int = P) -> np.ndarray:
        return rng.uniform(-jit, jit, n)

    # ---- body, wall, spine ------------------------------------------------------------------------------
    bax, bay = per_slice(u(spec.body_axes[0])), per_slice(u(spec.body_axes[1]))
    bay = bay * (1 + 0.06 * (t - 0.5))                                   # slightly deeper caudally
    bcy = per_slice(u((0.02, 0.10)))
    rho_body = ellipse(np.zeros(N), bcy, bax, bay, irregular=0.03)
    body = rho_body < 1
    fat_t = per_slice(u((0.04, 0.13)))                                    # subcutaneous fat thickness
    wall_in = rho_body < 1 - col(fat_t)
    cavity = rho_body < 1 - col(fat_t) - 0.06                             # inside the muscle wall
    spine_cx, spine_cy = per_slice(pj() * 0.5), bcy + 0.62 * bay
    rho_vb = ellipse(spine_cx, spine_cy, np.full(N, 0.13), np.full(N, 0.12))
    vert = rho_vb < 1
    rho_canal = ellipse(spine_cx, spine_cy + 0.17, np.full(N, 0.05), np.full(N, 0.05))
    canal = rho_canal < 1
    rho_post = ellipse(spine_cx, spine_cy + 0.20, np.full(N, 0.08), np.full(N, 0.12))
    post_el = (rho_post < 1) & ~canal
    paraspinal = np.zeros_like(body)
    for side in (-1, 1):
        r = ellipse(spine_cx + side * 0.22, spine_cy + 0.14, np.full(N, 0.13), np.full(N, 0.14))
        paraspinal |= r < 1
    paraspinal &= wall_in

    # ---- vessels: aorta (label) and IVC (distractor) ----------------------------------------------------
    ao_cx = spine_cx + 0.06 + per_slice(pj() * 0.6)
    ao_cy = spine_cy - 0.21 + per_slice(pj() * 0.5)
    ao_r = per_slice(u((0.055, 0.080))) * (1 - 0.12 * t)                  # tapers caudally
    rho_ao = ellipse(ao_cx, ao_cy, ao_r, ao_r)
    aorta = rho_ao < 1
    ivc_cx = ao_cx - per_slice(u((0.15, 0.22)))
    ivc_cy = ao_cy - per_slice(u((0.0, 0.06)))
    rho_ivc = ellipse(ivc_cx, ivc_cy, ao_r * per_slice(u((1.0, 1.4))), ao_r * per_slice(u((0.7, 1.0))))
    ivc = (rho_ivc < 1) & ~aorta

    # ---- kidneys: 3 = left (image right, +X), 4 = right (image left, −X; a little lower) -----------------
    kid_masks, kid_sinus = {}, {}
    for lab, side, top, bottom in ((KIDNEY_L, 1, (0.28, 0.38), (0.90, 1.05)),
                                   (KIDNEY_R, -1, (0.36, 0.46), (0.98, 1.12))):
        sc = extent(top, bottom) * per_slice(u(spec.organ_scale))
        cx = spine_cx + side * per_slice(u((0.30, 0.38))) + per_slice(pj())
        cy = spine_cy - per_slice(u((0.0, 0.08)))
        rot = side * per_slice(u((0.35, 0.75)))
        rho = ellipse(cx, cy, 0.14 * sc + 1e-3, 0.19 * sc + 1e-3, rot=rot, irregular=irr * 0.4)
        kid = (rho < 1) & col(sc > 0.2)
        # the hilum opens towards the spine (medially): sinus fat in the medial half of the interior
        r_sinus = ellipse(cx - side * 0.07 * sc, cy, 0.055 * sc + 1e-3, 0.10 * sc + 1e-3, rot=rot)
        sinus = (r_sinus < 1) & kid
        kid_masks[lab], kid_sinus[lab] = kid & ~sinus, sinus

    # ---- liver (right upper quadrant, shrinks caudally) -------------------------------------------------
    liv_sc = extent((-0.6, -0.3), (0.62, 0.80)) * per_slice(u(spec.organ_scale))
    liv_cx = -0.33 + per_slice(pj()) + 0.10 * (1 - liv_sc)
    liv_cy = -0.02 + per_slice(pj()) + 0.1 * t
    rho_liv = ellipse(liv_cx, liv_cy, 0.42 * liv_sc + 1e-3, 0.48 * liv_sc + 1e-3,
                                 rot=per_slice(u((-0.3, 0.1))), irregular=irr)
    # the left lobe reaches across the midline in upper slices
    rho_ll = ellipse(liv_cx + 0.36 * liv_sc, liv_cy - 0.20 * liv_sc, 0.24 * liv_sc + 1e-3,
                        0.13 * liv_sc + 1e-3, rot=per_slice(u((-0.4, 0.0))), irregular=irr)
    liver = ((rho_liv < 1) | ((rho_ll < 1) & col(t < 0.45))) & col(liv_sc > 0.15)

    # ---- gallbladder (inferior-anterior edge of the liver; small, fluid) --------------------------------
    gb_sc = extent((0.22, 0.34), (0.52, 0.66)) * per_slice(u(spec.gallbladder_size))
    gb_cx = liv_cx + per_slice(u((0.12, 0.22)))
    gb_cy = liv_cy - per_slice(u((0.10, 0.22)))
    rho_gb = ellipse(gb_cx, gb_cy, gb_sc * 0.9 + 1e-3, gb_sc * 1.3 + 1e-3, rot=per_slice(u((-0.8, 0.8))),
                        irregular=irr * 0.5)
    gallbladder = (rho_gb < 1) & col(gb_sc > 0.012)

    # ---- spleen (posterior-left crescent) ---------------------------------------------------------------
    spl_sc = extent((-0.25, 0.0), (0.42, 0.58)) * per_slice(u(spec.organ_scale))
    spl_cx = 0.52 + per_slice(pj())
    spl_cy = spine_cy - 0.25 + per_slice(pj())
    spl_rot = per_slice(u((-1.0, -0.5)))
    rho_spl = ellipse(spl_cx, spl_cy, 0.17 * spl_sc + 1e-3, 0.30 * spl_sc + 1e-3, rot=spl_rot, irregular=irr)
    rho_hil = ellipse(spl_cx - 0.16 * spl_sc, spl_cy - 0.02, 0.08 * spl_sc + 1e-3, 0.15 * spl_sc + 1e-3,
                         rot=spl_rot)
    spleen = (rho_spl < 1) & (rho_hil >= 1) & col(spl_sc > 0.15)

    # ---- stomach (anterior-left; wall, contents, anterior air–fluid level) -------------------------------
    st_sc = extent((-0.35, -0.1), (0.45, 0.62)) * per_slice(u(spec.organ_scale))
    st_cx = 0.22 + per_slice(pj()) + 0.08 * t
    st_cy = -0.30 + per_slice(pj()) + 0.15 * t
    rho_st = ellipse(st_cx, st_cy, 0.27 * st_sc + 1e-3, 0.21 * st_sc + 1e-3, rot=per_slice(u((-0.5, 0.5))),
                        irregular=irr * 1.4)
    stomach = (rho_st < 1) & col(st_sc > 0.15)
    st_lumen = rho_st < 1 - 0.045 / np.maximum(col(0.2 * st_sc), 0.02)
    air_level = col(st_cy - 0.19 * st_sc * per_slice(u((0.2, 1.1))))       # fluid below, air above
    st_air = stomach & st_lumen & (Y < air_level) & col(per_slice(rng.random(P) < 0.75))
    st_content = per_slice(rng.integers(0, 2, P))                          # 0 fluid, 1 food (denser, mottled)

    # ---- pancreas: a tube along a curved centreline, head (patient right) → tail (spleen hilum) ---------
    pan_sc = extent((0.25, 0.35), (0.60, 0.72))
    K = 14
    s = np.linspace(0, 1, K)[None]                                         # (1, K) along the gland
    head = np.stack([ao_cx - per_slice(u((0.20, 0.30))), ao_cy - per_slice(u((0.08, 0.16)))], 1)
    neck = np.stack([ao_cx + per_slice(pj()), ao_cy - per_slice(u((0.13, 0.20)))], 1)
    tail = np.stack([spl_cx - per_slice(u((0.12, 0.22))), spl_cy - per_slice(u((0.02, 0.14)))], 1)
    # quadratic Bézier head → neck (control) → tail, with a per-subject sag
    ctrl = 2 * neck - 0.5 * (head + tail)
    pts = ((1 - s) ** 2)[..., None] * head[:, None] + (2 * s * (1 - s))[..., None] * ctrl[:, None] \
        + (s ** 2)[..., None] * tail[:, None]                                # (N, K, 2)
    thick = per_slice(u(spec.pancreas_thickness))[:, None] * (1.35 - 0.6 * s) * np.maximum(pan_sc, 0.3)[:, None]
    thick = thick * (1 + 0.25 * np.sin(2 * np.pi * (3 * s + per_slice(rng.uniform(0, 1, P))[:, None])))  # lobulated
    d2 = np.full((N, S, S), np.inf, np.float32)     # min over centreline points of (distance / thickness)²
    dv2 = np.full((N, S, S), np.inf, np.float32)
    inv_t2 = 1.0 / thick ** 2
    for k in range(K):                                                     # K centreline points, vectorised over slices
        w = col(inv_t2[:, k])
        ddx, ddy = X - col(pts[:, k, 0]), Y - col(pts[:, k, 1])             # (N, 1, S) and (N, S, 1)
        np.minimum(d2, (ddx * ddx) * w + (ddy * ddy) * w, out=d2)
        if s[0, k] > 0.3:                    # splenic vein: along the posterior edge of body and tail
            ddy = ddy - col(thick[:, k] * 0.95)
            wv = np.float32(1 / 0.028 ** 2)
            np.minimum(dv2, (ddx * ddx) * wv + (ddy * ddy) * wv, out=dv2)
    d, dv = d2, dv2                                                        # thresholds at 1 are the same squared
    pan_on = col(pan_sc > 0.2)
    pancreas = (d < 1) & pan_on
    splenic_vein = (dv < 1) & pan_on & ~pancreas
    # duodenum: a loop wrapped around the pancreatic head (unlabelled; same density as bowel)
    rho_du = ellipse(head[:, 0] - per_slice(u((0.06, 0.12))), head[:, 1] + 0.02,
                        np.full(N, 0.085), np.full(N, 0.10))
    duodenum = (rho_du < 1) & pan_on & ~pancreas

    # ---- bowel loops (distractors) ----------------------------------------------------------------------
    bowel = np.zeros_like(body)
    bowel_air = np.zeros_like(body)
    for _ in range(spec.bowel_loops):
        on = col(rng.random(N) < 0.5 + 0.4 * t)                            # more loops caudally
        bx = rng.uniform(-0.45, 0.45, N)
        by = rng.uniform(-0.45, 0.15, N)
        br = rng.uniform(0.05, 0.11, N)
        rb = ellipse(bx, by, br, br * rng.uniform(0.7, 1.3, N))
        loop = (rb < 1) & on
        bowel |= loop
        bowel_air |= (rb < 0.5) & loop & col(rng.random(N) < 0.35)

    # ---- labels (later organs win where shapes overlap) -------------------------------------------------
    inside = cavity & ~vert & ~paraspinal
    lab = np.zeros((N, S, S), np.uint8)
    masks = [(KIDNEY_R, kid_masks[KIDNEY_R]), (KIDNEY_L, kid_masks[KIDNEY_L]), (SPLEEN, spleen),
             (STOMACH, stomach), (PANCREAS, pancreas), (LIVER, liver), (GALLBLADDER, gallbladder),
             (AORTA, aorta)]
    taken = np.zeros_like(body)
    for value, m in masks[::-1]:                                           # aorta first: it is never covered
        m = m & inside & ~taken
        if value != AORTA:
            m &= ~ivc
        lab[m] = value
        taken |= m
    free = inside & ~taken

    # ---- intensities ------------------------------------------------------------------------------------
    def level(name: str, jitter: float = spec.enhancement_jitter) -> np.ndarray:
        """Per-slice intensity of a tissue: its mean plus a per-subject offset (HU, scaled for MR)."""
        return col(per_slice(tissue[name] + rng.normal(0, jitter * hu_scale, P)))

    img = np.full((N, S, S), tissue["air"], np.float32)
    img = np.where(body, level("fat", 10.0), img)
    img = np.where(wall_in & ~cavity, level("muscle", 10.0), img)
    img = np.where(cavity, level("fat", 10.0), img)                        # visceral fat
    img = np.where(paraspinal, level("muscle", 10.0), img)
    img = np.where(vert | post_el, level("bone", 60.0), img)
    img = np.where(canal, level("csf", 5.0), img)
    bow = level("bowel", 20.0) + col(rng.normal(0, 15 * hu_scale, N))
    img = np.where(free & (bowel | duodenum), bow, img)
    img = np.where(free & bowel_air, np.float32(tissue["air"]), img)
    img = np.where(ivc & inside, level("ivc"), img)
    img = np.where(splenic_vein & free, level("splenic_vein"), img)
    for lab_k in (KIDNEY_L, KIDNEY_R):
        img = np.where(kid_sinus[lab_k] & inside, level("kidney_sinus", 10.0), img)
    cortex = level("kidney_cortex")
    img = np.where((lab == KIDNEY_L) | (lab == KIDNEY_R), cortex, img)
    # pancreas: between the bowel density and the liver density, set by pancreas_contrast
    pan_i = bow + spec.pancreas_contrast * (level("pancreas", 12.0) - bow)
    img = np.where(lab == PANCREAS, pan_i, img)
    img = np.where(lab == SPLEEN, level("spleen"), img)
    img = np.where(lab == LIVER, level("liver"), img)
    img = np.where(lab == GALLBLADDER, level("gallbladder", 8.0), img)
    img = np.where(lab == AORTA, level("aorta", 40.0), img)
    wall_i, fluid_i = level("stomach_wall", 12.0), level("stomach_fluid", 8.0)
    grain = _smooth_noise(rng, (N, S, S), 0.8)                            # tissue texture / food mottling
    food = col(st_content == 1) * (level("bowel", 10.0) - fluid_i) * (0.6 + 0.4 * grain)
    st_lab = lab == STOMACH
    img = np.where(st_lab, wall_i, img)
    img = np.where(st_lab & st_lumen, fluid_i + food, img)
    img = np.where(st_lab & st_air, np.float32(tissue["air"]), img)
    # parenchymal texture (liver, spleen, pancreas lobulation)
    texture = grain * np.float32(6.0 * hu_scale)
    img = img + texture * ((lab == LIVER) | (lab == SPLEEN) | (lab == PANCREAS))

    # ---- acquisition: partial volume, noise (and bias for MR) -------------------------------------------
    sig = per_slice(u(spec.blur))
    lo_b, hi_b = spec.blur
    wgt = col((sig - lo_b) / max(hi_b - lo_b, 1e-6))
    img = ((1 - wgt) * ndimage.gaussian_filter(img, (0, lo_b, lo_b))
           + wgt * ndimage.gaussian_filter(img, (0, hi_b, hi_b)))
    noise_sd = col(per_slice(u(spec.noise)) * hu_scale)
    if spec.modality == "ct":
        img = img + noise_sd * _smooth_noise(rng, (N, S, S), 0.6)
        img = img + col(per_slice(rng.normal(0, 8, P)))                    # scanner calibration offset
    else:
        img = img * np.exp(0.25 * _smooth_field(rng, N, S))                # coil bias field
        n1 = rng.standard_normal((N, S, S)).astype(np.float32) * noise_sd
        n2 = rng.standard_normal((N, S, S)).astype(np.float32) * noise_sd
        img = np.sqrt((img + n1) ** 2 + n2 ** 2) * col(per_slice(u((400.0, 1200.0))))   # Rician, scanner gain

    px = spec.fov_mm / S
    info = [dict(subject=i, modality=spec.modality) for i in range(P)]
    return AbdomenCohort(images=img.astype(np.float32), labels=lab, subject=pi, level=t.astype(np.float32),
                         modality=spec.modality, spacing=(px, px, spec.slice_thickness_mm), info=info)


def organ_fractions(labels: np.ndarray) -> np.ndarray:
    """Fraction of pixels per label 0..8 — a quick check that small organs are small."""
    counts = np.bincount(np.asarray(labels).ravel(), minlength=len(LABELS))[: len(LABELS)]
    return counts / max(counts.sum(), 1)


def presence(labels: np.ndarray) -> np.ndarray:
    """(N, 9) boolean: which labels occur in each slice."""
    labels = np.asarray(labels)
    flat = labels.reshape(len(labels), -1)
    return np.stack([(flat == k).any(1) for k in range(len(LABELS))], 1)


@dataclass
class OrganCrops:
    """Square crops around single organs of simulated slices (OrganMNIST-like): ``images`` float32 (N, size, size)
    in [0, 1] (CT window), ``organ`` the Synapse label of the cropped organ, ``subject`` and ``slice`` the source."""

    images: np.ndarray
    organ: np.ndarray
    subject: np.ndarray
    slice: np.ndarray

    def __len__(self) -> int:
        return int(len(self.organ))


def organ_crops(cohort: AbdomenCohort, organs: tuple[int, ...] = (KIDNEY_L, KIDNEY_R, LIVER, PANCREAS, SPLEEN), *,
                size: int = 28, margin: float = 1.2, pad_px: float = 2.0, min_area: int = 4) -> OrganCrops:
    """Crop each listed organ of each slice to its bounding box and resize it to ``size`` × ``size``.

    MedMNIST's OrganAMNIST crops the axial centre slice of each organ's 3-D bounding box, windows it to an abdominal
    HU range and resizes it to 28 × 28; this does the 2-D analogue on :func:`simulate_abdomen` slices: a square box
    of side ``margin`` × the longer side of the organ's bounding box + ``pad_px`` pixels, centred on the box,
    resampled bilinearly (zeros outside the slice) from the CT-windowed image (:func:`ct_window`). Organs with fewer
    than ``min_area`` pixels in a slice are skipped. One vectorised ``grid_sample`` over all crops; CT only.

    Returns:
        :class:`OrganCrops`, ordered by organ (in ``organs`` order), then slice.
    """
    import torch
    import torch.nn.functional as F

    if cohort.modality != "ct":
        raise ValueError(f"organ_crops windows CT values; got a {cohort.modality!r} cohort")
    unknown = [o for o in organs if o not in LABELS or o == BACKGROUND]
    if unknown:
        raise ValueError(f"unknown organ label(s) {unknown}; use the Synapse labels 1..8 ({LABELS})")
    lab = np.asarray(cohort.labels)
    n, S = lab.shape[0], lab.shape[-1]
    theta, src, organ = [], [], []
    for o in organs:
        m = lab == o
        keep = np.flatnonzero(m.reshape(n, -1).sum(1) >= min_area)
        rows, cols = m[keep].any(2), m[keep].any(1)                     # (k, S) occupancy of rows / columns
        r0, r1 = rows.argmax(1), S - 1 - rows[:, ::-1].argmax(1)        # first and last occupied row
        c0, c1 = cols.argmax(1), S - 1 - cols[:, ::-1].argmax(1)
        side = np.maximum(r1 - r0 + 1, c1 - c0 + 1) * margin + pad_px
        cy, cx = (r0 + r1 + 1) / 2, (c0 + c1 + 1) / 2                    # box centre in pixel-edge coordinates
        t = np.zeros((len(keep), 2, 3))
        t[:, 0, 0] = t[:, 1, 1] = side / S
        t[:, 0, 2], t[:, 1, 2] = cx / S * 2 - 1, cy / S * 2 - 1         # normalised [-1, 1] coordinates
        theta.append(t), src.append(keep), organ.append(np.full(len(keep), o))
    th = torch.as_tensor(np.concatenate(theta), dtype=torch.float32)
    idx = np.concatenate(src)
    x = torch.from_numpy(ct_window(np.asarray(cohort.images)[idx]))[:, None]
    grid = F.affine_grid(th, [len(idx), 1, size, size], align_corners=False)
    crops = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    return OrganCrops(images=crops.clamp(0, 1).numpy(), organ=np.concatenate(organ).astype(np.int64),
                      subject=np.asarray(cohort.subject)[idx], slice=idx)
