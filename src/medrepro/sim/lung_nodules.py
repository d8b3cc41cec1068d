"""Lung-CT regions of interest with and without a nodule of one of three textures, vectorised over ROIs.

Each ROI is a small 3-D block of lung parenchyma in Hounsfield units (HU): air-filled tissue around −850 HU with
spatially correlated texture, one to three vessels (tubes of soft-tissue density crossing the block) and CT noise.
A *pathological* ROI carries one nodule (an ellipsoid at a random position, not centred) with a texture type:

- ``solid``: soft-tissue density, about 0 HU, the parenchyma hidden;
- ``part-solid``: a ground-glass rim around a solid core — a two-peaked intensity histogram (the "multi-peak"
  lesions that LeFusion's histogram condition was designed for);
- ``ground-glass``: a hazy opacity around −550 HU through which the parenchyma still shows.

A *normal* ROI has no nodule but carries a mask where one may be placed (as LeFusion's ``LIDC-IDRI/Normal`` ROIs
do). Realistic: HU ranges of the three nodule types and of aerated lung, vessels crossing nodules, correlated
texture, noise. Not modelled: spiculation, calcification, cavitation, pleura and chest wall, airways, partial-volume
blur of the scanner, slice thickness, reconstruction kernels, the size distribution of LIDC nodules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TYPES", "NoduleROIs", "simulate_rois", "hu_to_unit"]

TYPES: tuple[str, ...] = ("solid", "part-solid", "ground-glass")
HU_RANGE = (-1000.0, 400.0)            # LeFusion's clamp window before scaling to [-1, 1]


def hu_to_unit(hu: np.ndarray) -> np.ndarray:
    """LeFusion's intensity preprocessing: clamp to [−1000, 400] HU, then map linearly to [−1, 1]."""
    lo, hi = HU_RANGE
    return ((np.clip(hu, lo, hi) - lo) / (hi - lo) * 2 - 1).astype(np.float32)


@dataclass
class NoduleROIs:
    """ROIs in HU, (n, S, S, D) float32; masks (n, S, S, D) uint8; nodule type index (−1: normal); patient ids."""

    hu: np.ndarray
    mask: np.ndarray
    kind: np.ndarray
    patient: np.ndarray

    def __len__(self) -> int:
        return len(self.hu)


def _smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(a, sigma=(0, sigma, sigma, sigma * 0.5), mode="wrap")


def simulate_rois(n: int, *, size: int = 16, depth: int = 3, pathological: bool = True, kinds: np.ndarray | None = None,
                  radius: tuple[float, float] = (1.6, 3.2), seed: int = 0, patient_offset: int = 0) -> NoduleROIs:
    """Simulate ``n`` ROIs of ``size`` × ``size`` × ``depth`` voxels (about 1 mm in-plane).

    ``pathological``: with a nodule (type from ``kinds``, else balanced at random); otherwise a normal ROI whose
    mask marks an ellipse where a nodule could go. ``radius``: in-plane semi-axes in voxels. Patient ids are
    ``patient_offset + i`` (one ROI per patient).
    """
    if size < 8 or depth < 1:
        raise ValueError(f"size must be >= 8 and depth >= 1, got {size}, {depth}")
    rng = np.random.default_rng(seed)
    shape = (n, size, size, depth)
    # parenchyma: aerated lung with correlated texture
    base = rng.normal(-850, 25, (n, 1, 1, 1))
    hu = base + 45 * _smooth(rng.normal(0, 1, shape), 1.2) / 0.16
    # vessels: 1-3 tubes along random in-plane directions, Gaussian profile, soft-tissue density at the centre
    yy, xx = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    for k in range(3):
        present = (rng.random(n) < [1.0, 0.6, 0.3][k])[:, None, None]
        ang = rng.uniform(0, np.pi, n)[:, None, None]
        off = rng.uniform(-size / 2, size / 2, n)[:, None, None]
        width = rng.uniform(0.5, 1.1, n)[:, None, None]
        dist = (xx[None] - size / 2) * np.sin(ang) - (yy[None] - size / 2) * np.cos(ang) - off
        peak = rng.uniform(500, 850, n)[:, None, None]
        hu = hu + (present * peak * np.exp(-0.5 * (dist / width) ** 2))[..., None]
    # nodule or placement mask: an ellipsoid off centre
    margin = radius[1] + 1
    cy, cx = (rng.uniform(margin, size - margin, n)[:, None, None] for _ in range(2))
    ry, rx = (rng.uniform(*radius, n)[:, None, None] for _ in range(2))
    zz = np.arange(depth) - (depth - 1) / 2
    rz = max(depth / 2, 1.0)
    r2 = (((yy[None] - cy) / ry) ** 2 + ((xx[None] - cx) / rx) ** 2)[..., None] + (zz / rz)[None, None, None] ** 2
    mask = (r2 <= 1.0).astype(np.uint8)
    if kinds is None:
        kinds = rng.permutation(np.arange(n) % len(TYPES)) if pathological else np.full(n, -1)
    kinds = np.asarray(kinds, dtype=np.int64)
    if pathological:
        grain = _smooth(rng.normal(0, 1, shape), 0.7) / 0.3          # nodule texture, correlated over ~1 voxel
        solid = rng.normal(10, 25, (n, 1, 1, 1)) + 35 * grain
        ggo = rng.normal(-560, 30, (n, 1, 1, 1)) + 0.35 * (hu + 850) + 45 * grain
        core = r2 <= rng.uniform(0.35, 0.5, (n, 1, 1, 1))               # solid core of a part-solid nodule
        k = kinds[:, None, None, None]
        inside = np.where(k == 0, solid, np.where(k == 2, ggo, np.where(core, solid, ggo)))
        hu = np.where(mask > 0, inside, hu)
    hu = hu + rng.normal(0, 20, shape)                                    # CT noise
    patient = np.arange(n) + patient_offset
    return NoduleROIs(hu.astype(np.float32), mask, kinds, patient)
