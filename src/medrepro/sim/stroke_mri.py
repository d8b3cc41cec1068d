"""Simulated acute-stroke brain MRI (DWI, ADC, FLAIR) on the MNI152 template, with lesion masks.

The anatomy is real: the MNI152 2009 template (an average of real T1 scans) and its grey- and white-matter
probability maps, which ship inside nilearn (``nilearn/datasets/data/mni_icbm152_*_09a_converted.nii.gz``; nilearn
is BSD-3, nilearn's own description gives the template's licence as unknown). They are read with nibabel and
block-averaged to the requested voxel size (no nilearn import, which is slow). CSF is the brain mask minus grey and
white matter.

Contrast rules (qualitative, from acute stroke imaging; the numbers are the simulator's settings, not measurements):

- ADC (×10⁻³ mm²/s): grey matter ≈ 0.85, white matter ≈ 0.75, CSF ≈ 3.0; an acute infarct is restricted, about
  0.45–0.6 (a 30–50 % drop).
- DWI (b = 1000 s/mm², arbitrary units): S = S0 · exp(−b · ADC), with S0 from a T2-like tissue weighting, so the
  infarct is bright and CSF dark — computed from the ADC map, as the physics says, not drawn separately.
- FLAIR: CSF suppressed, grey matter slightly brighter than white matter; an infarct becomes FLAIR-bright only hours
  after onset: its FLAIR contrast is 0 for about 2 h and then grows with the time since onset (``onset_h``), so very
  early lesions are FLAIR-negative (the DWI–FLAIR mismatch); onset times are drawn in 0.5–12 h.

Published values for comparison (nothing is fitted to them): normal ADC at b = 1000 s/mm² of cortical grey matter
0.89 and white matter 0.70 × 10⁻³ mm²/s (Helenius et al., AJNR 23:194–199, 2002); mean lesion ADC about 26 % below
the contralateral side within 10 h (626.6 vs 842.9 × 10⁻⁶ mm²/s; Nagesh et al., Stroke 29:1778–1782, 1998), so the
30–50 % drop set here is deeper than that average. FLAIR visibility in patients rises gradually over the first hours
(Thomalla et al., Ann Neurol 65:724–732, 2009); the sharp 2-h threshold is a setting. The CSF value is not checked.

Lesions are a territorial infarct (a smooth random blob in one hemisphere, sometimes absent) plus a number of
small embolic infarcts (1–3 voxel radius) scattered in the brain: the multi-lesion pattern ISLES 2022 emphasises.
Each case gets its own intensity scaling, bias field (a smooth multiplicative field), Rician-like noise, a
left-right mirror and a shift of the anatomy by a few voxels (so cases differ).

Realistic: real average anatomy and tissue maps, physically linked DWI and ADC, the DWI–FLAIR mismatch, multiple
lesions of very different sizes, bias fields and noise. Not modelled: individual anatomy (every case is the same
template, jittered), ventricular enlargement and old lesions (leukoaraiosis), haemorrhage, T2 shine-through,
susceptibility and EPI distortion of DWI, motion, partial-volume lesions, vessel territories (the territorial blob
is placed by chance), scanner-specific contrasts.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage


@functools.lru_cache(maxsize=4)
def mni_tissues(voxel_mm: int = 4) -> dict[str, np.ndarray]:
    """MNI152 2009 T1, grey/white matter and CSF probabilities and the brain mask at ``voxel_mm`` (1 mm × k).

    Returns float32 arrays (X, Y, Z) and ``affine`` (4×4); block-averaged from nilearn's 1-mm files.
    """
    import nibabel as nib
    import nilearn

    base = Path(nilearn.__file__).parent / "datasets" / "data"
    k = int(voxel_mm)
    out: dict[str, np.ndarray] = {}
    for key in ("t1", "gm", "wm"):
        img = nib.load(base / f"mni_icbm152_{key}_tal_nlin_sym_09a_converted.nii.gz")
        a = np.asarray(img.dataobj, np.float32)
        s = [(n // k) * k for n in a.shape]
        a = a[: s[0], : s[1], : s[2]].reshape(s[0] // k, k, s[1] // k, k, s[2] // k, k).mean((1, 3, 5))
        out[key] = a
        if key == "t1":
            aff = img.affine.copy()
            aff[:3, :3] *= k
            aff[:3, 3] += (k - 1) / 2 * np.diag(img.affine)[:3]
            out["affine"] = aff
    for key in ("t1", "gm", "wm"):                 # the files store 0..255-like values: scale to 0..1
        out[key] = out[key] / out[key].max()
    mask = ndimage.binary_fill_holes(ndimage.binary_closing((out["gm"] + out["wm"]) > 0.3, iterations=2))
    csf = np.clip(mask - out["gm"] - out["wm"], 0, 1) * mask
    out["csf"] = csf.astype(np.float32)
    out["mask"] = mask.astype(np.float32)
    return out


@dataclass
class StrokeSpec:
    """Knobs of :func:`simulate_stroke`."""

    voxel_mm: int = 4
    p_territorial: float = 0.7          # share of cases with a territorial infarct
    territorial_ml: tuple[float, float] = (5.0, 80.0)
    n_emboli: tuple[int, int] = (0, 12)  # small embolic infarcts per case (uniform integer range)
    embolus_radius_vox: tuple[float, float] = (0.6, 1.6)
    adc_drop: tuple[float, float] = (0.3, 0.5)       # fractional ADC reduction inside an infarct
    onset_h: tuple[float, float] = (0.5, 12.0)       # time since onset; FLAIR contrast grows with it
    flair_gain: float = 0.45            # FLAIR lesion contrast at saturation (relative)
    noise: float = 0.04                 # noise SD relative to the image's brain median
    bias: float = 0.15                  # amplitude of the smooth multiplicative bias field
    shift_vox: int = 2                  # anatomy jitter per case: whole-voxel shifts up to this, and a mirror
    adc: dict[str, float] = field(default_factory=lambda: {"gm": 0.85, "wm": 0.75, "csf": 3.0})


@dataclass
class StrokeCase:
    """One simulated case: images (X, Y, Z) float32, lesion mask uint8, affine and ground-truth metadata."""

    dwi: np.ndarray
    adc: np.ndarray
    flair: np.ndarray
    mask: np.ndarray
    brain: np.ndarray
    affine: np.ndarray
    onset_h: float
    n_lesions: int
    lesion_ml: float


def _smooth_field(shape, rng, sigma, amplitude) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return 1 + amplitude * f / (np.abs(f).max() + 1e-9)


def _jitter(vol: np.ndarray, shift: np.ndarray, flip: bool) -> np.ndarray:
    """Mirror left-right (the template is symmetric) and shift by whole voxels (zero-filled)."""
    out = vol[::-1] if flip else vol
    return ndimage.shift(out, shift, order=0, mode="constant")


def simulate_stroke(n_cases: int, *, spec: StrokeSpec | None = None, seed: int = 0) -> list[StrokeCase]:
    """Simulate ``n_cases`` acute-stroke cases on the (jittered) MNI152 anatomy."""
    spec = spec or StrokeSpec()
    t = mni_tissues(spec.voxel_mm)
    vox_ml = (spec.voxel_mm ** 3) / 1000.0
    out = []
    for i in range(n_cases):
        rng = np.random.default_rng([seed, i])
        shift = rng.integers(-spec.shift_vox, spec.shift_vox + 1, 3)      # anatomy jitter: shift and mirror
        flip = rng.random() < 0.5
        gm, wm, csf, brain = (np.clip(_jitter(t[k], shift, flip), 0, 1) for k in ("gm", "wm", "csf", "mask"))
        brain = brain > 0.5
        parenchyma = (gm + wm > 0.5) & brain
        # lesions: a territorial blob (thresholded smooth noise inside one hemisphere) and small emboli
        lesion = np.zeros(brain.shape, bool)
        if rng.random() < spec.p_territorial:
            target = rng.uniform(*spec.territorial_ml) / vox_ml
            side = rng.random() < 0.5
            centre_x = brain.shape[0] // 2
            hemi = np.zeros_like(brain)
            hemi[: centre_x - 1] = side
            hemi[centre_x + 1:] = not side
            field_ = ndimage.gaussian_filter(rng.standard_normal(brain.shape), 3.0)
            field_[~(parenchyma & hemi)] = -np.inf
            thr = np.sort(field_[np.isfinite(field_)])[::-1][min(int(target), np.isfinite(field_).sum() - 1)]
            blob = field_ >= thr
            lab, n = ndimage.label(blob)
            if n:
                sizes = ndimage.sum(blob, lab, range(1, n + 1))
                lesion |= lab == (1 + int(np.argmax(sizes)))            # the largest connected part
        n_emb = rng.integers(spec.n_emboli[0], spec.n_emboli[1] + 1)
        cand = np.argwhere(parenchyma & ~lesion)
        off = np.indices((5, 5, 5)).reshape(3, -1).T - 2                 # a 5x5x5 neighbourhood
        for c in cand[rng.choice(len(cand), size=min(n_emb, len(cand)), replace=False)]:
            r = rng.uniform(*spec.embolus_radius_vox)
            pts = c + off[(off ** 2).sum(1) <= r * r]
            pts = pts[((pts >= 0) & (pts < np.array(brain.shape))).all(1)]
            lesion[tuple(pts.T)] = True
        lesion &= parenchyma
        # ADC: tissue mixture, restricted inside the infarct
        adc = spec.adc["gm"] * gm + spec.adc["wm"] * wm + spec.adc["csf"] * csf
        drop = rng.uniform(*spec.adc_drop)
        adc = np.where(lesion, adc * (1 - drop), adc) * brain
        # DWI: S0 (T2-like: CSF bright) times diffusion decay at b = 1000 s/mm² (ADC in 10⁻³ mm²/s)
        s0 = (1.0 * gm + 0.85 * wm + 1.6 * csf) * brain
        dwi = s0 * np.exp(-1.0 * adc)
        # FLAIR: CSF suppressed, lesion contrast grows with time since onset
        onset = rng.uniform(*spec.onset_h)
        flair_c = spec.flair_gain * (1 - np.exp(-max(onset - 2.0, 0) / 4.0))   # FLAIR-negative for ~2-3 h
        flair = (1.0 * gm + 0.8 * wm + 0.15 * csf) * brain * np.where(lesion, 1 + flair_c, 1.0)
        imgs = []
        for img in (dwi, adc, flair):
            img = img * _smooth_field(brain.shape, rng, 12.0, spec.bias)
            med = np.median(img[brain]) if brain.any() else 1.0
            noise = spec.noise * med
            img = np.abs(img + noise * rng.standard_normal(img.shape) + 1j * noise * rng.standard_normal(img.shape))
            imgs.append((img * rng.uniform(0.7, 1.4) * 1000).astype(np.float32))
        lab, n_les = ndimage.label(lesion, structure=np.ones((3, 3, 3)))
        out.append(StrokeCase(imgs[0], imgs[1], imgs[2], lesion.astype(np.uint8), brain.astype(np.uint8),
                              t["affine"], float(onset), int(n_les), float(lesion.sum() * vox_ml)))
    return out


__all__ = ["mni_tissues", "StrokeSpec", "StrokeCase", "simulate_stroke"]
