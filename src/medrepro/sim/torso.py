"""Simulated 3-D torso phantoms with labelled anatomy, projected to radiographs and overlapping 2-D labels.

The smoke-mode stand-in for PAXRay's CT volumes (Seibold et al., BMVC 2022): :func:`simulate_torso` draws ``n``
thoraces as voxel volumes of linear attenuation coefficients μ (1/mm) with one boolean label volume per
structure (:data:`CLASSES`), then projects both along the antero-posterior rays with :mod:`medrepro.sim.drr`:
the attenuation to a DRR, the labels by the any-hit rule to overlapping 2-D masks. :func:`visible_labels` gives
the labels a reader would draw on the 2-D film alone, without the CT: each pixel belongs to the structure in
front (no overlap), so the lung behind the heart and below the diaphragmatic dome is left out.

Grid: ``(n, Z, Y, X)`` with Z cranio-caudal (row 0 at the head), Y antero-posterior (index 0 anterior) and X the
patient's right (image left, index 0) to left; projections are ``(n, Z, X)`` images displayed as a PA film.
Everything is vectorised over phantoms (no per-phantom Python loop).

Realistic:
    - the geometry that makes projected labels overlap: two lungs whose bases follow the diaphragmatic domes
      and dip posteriorly into the costophrenic recesses (so lung lies behind the dome's top on a frontal
      film), lower lobes behind and below an oblique fissure (so they overlap the upper lobes in projection),
      a heart in the anterior mediastinum, left of the midline, with lung behind it (the retrocardiac lung),
      a spine posterior in the midline with intervertebral discs, posterior ribs sloping down laterally, and
      the upper abdomen below the domes;
    - per-phantom variation of body size, lung height, dome levels (the left usually lower), the depth of the
      recesses, heart size and position, fissure level, rib spacing and slope, lung density and texture;
    - attenuation at a typical effective energy of a chest film (about 60 keV): soft tissue as water,
      μ/ρ = 0.2059 cm²/g (NIST XCOM / Hubbell & Seltzer, Table 4, water at 60 keV) → 0.0206 /mm; aerated lung
      as tissue at 0.20–0.30 of water's density (an assumption of this simulator); bone a per-phantom
      0.035–0.05 /mm (a trabecular/cortical mix, not a tabulated value).
Not modelled:
    - real organ shapes (ellipsoids, elliptic cylinders and smooth surfaces only), vessels and hila, the trachea,
      clavicles, scapulae, anterior ribs, breasts, the aortic knob, fat layers; the cone-beam magnification,
      scatter, beam hardening and detector blur (see :mod:`medrepro.sim.drr`); lateral views; disease;
    - PAXRay's 166 labels (here :data:`CLASSES`, eight structures).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from . import drr as _drr

#: The labelled structures, in channel order.
CLASSES: tuple[str, ...] = ("lung_right", "lung_left", "lower_lobe_right", "lower_lobe_left", "heart", "spine",
                            "ribs", "abdomen")
LUNG_R, LUNG_L, LOBE_R, LOBE_L, HEART, SPINE, RIBS, ABDOMEN = range(len(CLASSES))
#: Structures that lie partly behind another on a frontal film (their 2-D "visible" labels lose that part).
OVERLAPPED: tuple[int, ...] = (LUNG_R, LUNG_L, LOBE_R, LOBE_L, SPINE, ABDOMEN)
#: Soft tissue at about 60 keV: water's μ/ρ = 0.2059 cm²/g (NIST, Hubbell & Seltzer Table 4) → 1/mm.
MU_WATER_60KEV_PER_MM: float = 0.2059 * 1.0 / 10.0


@dataclass(frozen=True)
class TorsoSpec:
    """Knobs of the phantom; ranges ``(lo, hi)`` are drawn uniformly per phantom.

    ``size`` is the image side (Z and X), ``depth`` the number of voxels along the rays, ``fov_mm`` the field of
    view across the image and ``depth_mm`` along the rays. ``noise`` is the quantum noise of the transmitted
    intensity (relative to I0 at full transmission); ``anatomy_var`` scales every anatomical jitter.
    """

    size: int = 64
    depth: int = 32
    fov_mm: float = 380.0
    depth_mm: float = 260.0
    lung_density: tuple[float, float] = (0.20, 0.30)
    mu_bone_per_mm: tuple[float, float] = (0.035, 0.05)
    noise: tuple[float, float] = (0.004, 0.012)
    anatomy_var: float = 1.0
    texture: float = 0.5


@dataclass
class TorsoBatch:
    """Projected phantoms: ``images`` float32 (n, H, W), the DRR line integral −log(I/I0) with noise;
    ``labels`` bool (n, C, H, W), the any-hit projections of :data:`CLASSES`; ``spacing_mm`` (z, y, x) of the
    voxels; ``params`` the per-phantom draws; ``mu`` (n, Z, Y, X) and ``labels3d`` (n, C, Z, Y, X) when kept."""

    images: np.ndarray
    labels: np.ndarray
    spacing_mm: tuple[float, float, float]
    params: dict[str, np.ndarray]
    mu: np.ndarray | None = None
    labels3d: np.ndarray | None = None

    def __len__(self) -> int:
        return self.images.shape[0]


def _u(rng: np.random.Generator, n: int, lo: float, hi: float, var: float = 1.0) -> np.ndarray:
    mid, half = (lo + hi) / 2, (hi - lo) / 2 * var
    return rng.uniform(mid - half, mid + half, n)


def sample_params(n: int, spec: TorsoSpec = TorsoSpec(), *, seed: int | np.random.Generator = 0) -> dict[str, np.ndarray]:
    """Draw the anatomy and acquisition of ``n`` phantoms (arrays of shape (n,)); coordinates are fractions:
    x in [−1, 1] (patient's right to left), y in [−1, 1] (anterior to posterior), z in [0, 1] (head to feet)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    v = spec.anatomy_var
    p = dict(
        bw=_u(rng, n, 0.80, 0.92, v), bd=_u(rng, n, 0.72, 0.92, v),
        apex=_u(rng, n, 0.05, 0.13, v), dome_r=_u(rng, n, 0.54, 0.68, v),
        medial=_u(rng, n, 0.08, 0.14, v), lateral=_u(rng, n, 0.84, 0.90, v),
        recess=_u(rng, n, 0.08, 0.22, v), lat_drop=_u(rng, n, 0.04, 0.12, v),
        heart_x=_u(rng, n, 0.10, 0.22, v), heart_z=_u(rng, n, 0.50, 0.60, v), heart_y=_u(rng, n, -0.38, -0.15, v),
        heart_ax=_u(rng, n, 0.22, 0.36, v), heart_az=_u(rng, n, 0.12, 0.18, v), heart_ay=_u(rng, n, 0.30, 0.42, v),
        fissure_r=_u(rng, n, 0.28, 0.42, v), fissure_l=_u(rng, n, 0.26, 0.40, v),
        fissure_slope=_u(rng, n, 0.35, 0.6, v),
        rib_spacing=_u(rng, n, 0.075, 0.09, v), rib_slope=_u(rng, n, 0.15, 0.35, v), rib_phase=rng.uniform(0, 1, n),
        lung_density=rng.uniform(*spec.lung_density, n), mu_bone=rng.uniform(*spec.mu_bone_per_mm, n),
        noise=rng.uniform(*spec.noise, n), texture_seed=rng.integers(0, 2**31 - 1, n),
    )
    p["dome_l"] = p["dome_r"] + _u(rng, n, 0.01, 0.06, v)           # the left dome usually lies lower
    return p


def _smooth_field(seeds: np.ndarray, shape: tuple[int, int, int], cells: tuple[int, int, int] = (6, 4, 6)) -> np.ndarray:
    """Per-phantom smooth noise in [-1, 1] on the grid ``shape`` (trilinear upsampling of a coarse lattice)."""
    coarse = np.stack([np.random.default_rng(int(s)).uniform(-1, 1, cells) for s in seeds])
    zoom = (1,) + tuple(t / c for t, c in zip(shape, cells))
    return ndimage.zoom(coarse, zoom, order=1, mode="nearest")[:, :shape[0], :shape[1], :shape[2]]


def build_volumes(params: dict[str, np.ndarray], spec: TorsoSpec = TorsoSpec()) -> tuple[np.ndarray, np.ndarray]:
    """Voxel volumes of the phantoms: μ (n, Z, Y, X) float32 in 1/mm and labels (n, C, Z, Y, X) bool."""
    n = len(params["bw"])
    Z, Y, X = spec.size, spec.depth, spec.size
    z = np.linspace(0, 1, Z, dtype=np.float32)[None, :, None, None]
    y = np.linspace(-1, 1, Y, dtype=np.float32)[None, None, :, None]
    x = np.linspace(-1, 1, X, dtype=np.float32)[None, None, None, :]
    P = {k: np.asarray(v, np.float32).reshape(n, 1, 1, 1) for k, v in params.items() if k != "texture_seed"}

    body = (x / P["bw"]) ** 2 + (y / P["bd"]) ** 2 <= 1
    r = np.sqrt((x / P["bw"]) ** 2 + (y / P["bd"]) ** 2)
    thorax = r <= 0.80
    spine = (x / 0.09) ** 2 + ((y - 0.62 * P["bd"]) / 0.13) ** 2 <= 1
    spine = np.broadcast_to(spine, (n, Z, Y, X))
    heart = (((x - P["heart_x"]) / P["heart_ax"]) ** 2 + ((z - P["heart_z"]) / P["heart_az"]) ** 2
             + ((y - P["heart_y"]) / P["heart_ay"]) ** 2) <= 1

    side = np.where(x < 0, -1.0, 1.0).astype(np.float32)                  # patient's right (x < 0) or left
    centre = side * (P["medial"] + P["lateral"] * P["bw"]) / 2
    half = (P["lateral"] * P["bw"] - P["medial"]) / 2
    u = np.clip((x - centre) / half, -1.4, 1.4)                           # −1..1 across each lung
    dome = np.where(x < 0, P["dome_r"], P["dome_l"])
    # the diaphragm surface: highest in the middle of each lung and anteriorly, dropping laterally and
    # posteriorly into the costophrenic recesses
    base = dome + P["lat_drop"] * u ** 2 + P["recess"] * np.clip((y + 0.2) / 1.2, 0, 1) ** 1.5
    top = P["apex"] + 0.22 * u ** 2
    lung = (thorax & (np.abs(u) <= 1) & (z >= top) & (z <= base) & ~heart & ~spine)
    lung_r, lung_l = lung & (x < 0), lung & (x >= 0)
    fissure = np.where(x < 0, P["fissure_r"], P["fissure_l"])
    lower = z + P["fissure_slope"] * y >= fissure + 0.15                   # posterior-inferior of the oblique fissure
    abdomen = body & (z > base) & ~spine & ~heart
    shell = (r >= 0.80) & (r <= 0.93)
    slope = P["rib_slope"] * np.abs(x) * np.where(y > 0, 1.0, -0.6)
    band = np.mod((z - slope) / P["rib_spacing"] - P["rib_phase"], 1.0) < 0.34
    ribs = shell & band & (z >= P["apex"] - 0.03) & (z <= dome + 0.12)

    texture = _smooth_field(params["texture_seed"], (Z, Y, X)).astype(np.float32)
    mu_soft = np.float32(MU_WATER_60KEV_PER_MM)
    mu = np.where(body, mu_soft, np.float32(0.0))
    mu = np.where(lung, mu_soft * P["lung_density"] * (1 + 0.5 * texture), mu)
    disc = np.mod(z / 0.07, 1.0) > 0.8                                      # intervertebral discs: soft tissue
    mu = np.where(spine & ~disc, P["mu_bone"], mu)
    mu = np.where(ribs, P["mu_bone"], mu).astype(np.float32)
    labels = np.stack([lung_r, lung_l, lung_r & lower, lung_l & lower, heart, spine, ribs, abdomen], 1)
    return mu, labels


def visible_labels(projected: np.ndarray) -> np.ndarray:
    """The labels a reader draws on the 2-D film without the CT: no two regions overlap, each pixel goes to the
    structure in front of the others — heart, then the abdomen below the domes' outline, then the spine, then the
    lungs (and the lower lobes within the visible lung). Ribs are drawn whole (bone is seen through the lung).

    ``projected`` is (..., C, H, W) bool in :data:`CLASSES` order (the any-hit projections).
    """
    p = np.asarray(projected, bool)
    if p.shape[-3] != len(CLASSES):
        raise ValueError(f"expected {len(CLASSES)} channels ({', '.join(CLASSES)}), got shape {p.shape}")
    v = p.copy()
    heart, abdomen, spine = p[..., HEART, :, :], p[..., ABDOMEN, :, :], p[..., SPINE, :, :]
    v[..., ABDOMEN, :, :] = abdomen & ~heart
    v[..., SPINE, :, :] = spine & ~heart & ~abdomen
    front = heart | abdomen | spine
    for lung, lobe in ((LUNG_R, LOBE_R), (LUNG_L, LOBE_L)):
        v[..., lung, :, :] = p[..., lung, :, :] & ~front
        v[..., lobe, :, :] = p[..., lobe, :, :] & v[..., lung, :, :]
    return v


def occluders(projected: np.ndarray) -> np.ndarray:
    """Pixels where a structure in front hides what lies behind on a frontal film: heart ∪ abdomen ∪ spine
    (..., H, W) — the zone where projected and visible labels of the lungs differ."""
    p = np.asarray(projected, bool)
    return p[..., HEART, :, :] | p[..., ABDOMEN, :, :] | p[..., SPINE, :, :]


def simulate_torso(n: int, spec: TorsoSpec = TorsoSpec(), *, seed: int = 0, keep_volumes: bool = False,
                   chunk: int = 32) -> TorsoBatch:
    """Draw ``n`` phantoms and project them: DRR images (n, H, W) and any-hit labels (n, C, H, W).

    Volumes are built ``chunk`` phantoms at a time (memory); ``keep_volumes`` keeps μ and the 3-D labels.
    Deterministic by seed.
    """
    rng = np.random.default_rng(seed)
    params = sample_params(n, spec, seed=rng)
    spacing = (spec.fov_mm / spec.size, spec.depth_mm / spec.depth, spec.fov_mm / spec.size)
    images, labels, mus, labs = [], [], [], []
    noise_rng = np.random.default_rng(seed + 7919)
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        mu, lab = build_volumes({k: v[sl] for k, v in params.items()}, spec)
        images.append(_drr.drr(mu, spacing[1], axis=-2, noise=params["noise"][sl], rng=noise_rng).astype(np.float32))
        labels.append(_drr.project_labels(lab, axis=-2))
        if keep_volumes:
            mus.append(mu)
            labs.append(lab)
    return TorsoBatch(np.concatenate(images), np.concatenate(labels), spacing, params,
                      np.concatenate(mus) if keep_volumes else None, np.concatenate(labs) if keep_volumes else None)


def to_uint8(images: np.ndarray, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """Line-integral images to 8-bit grey levels (bright = attenuating) on one fixed scale ``[lo, hi]``
    (default ``hi``: the 99.5th percentile of the batch), as PAXRay stores its projections as PNG."""
    images = np.asarray(images, np.float64)
    hi = float(np.percentile(images, 99.5)) if hi is None else hi
    return np.clip(np.round((images - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
