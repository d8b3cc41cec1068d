"""Low-resolution chest CT volumes with two lungs, a lung mask and an optional nodule, vectorised over volumes.

A volume is a small (D, H, W) grid — slice, front-to-back, left-to-right — in Hounsfield units (HU): soft tissue at
0 HU, two ellipsoidal lungs at −800 HU whose size and position vary between patients, smooth CT-like noise, and with
probability 2/3 a bright nodule (+800 HU, a sphere of radius 1–1.5 voxels) in the left (low-x half) or the right
lung. A report of one sentence states the nodule side. Made for MedSyn's first stage in miniature, where a generated
lung mask must agree with its generated image: the masks vary between patients, so they can agree only if they are
generated together.

Realistic: the lungs are the dark, patient-specific structure of a chest CT, and the report names a finding and its
side. Not modelled: the body outline and the air outside it, the heart, mediastinum, airways, vessels and lobes,
the ribs, the diaphragm, breathing, scanner blur and reconstruction kernels, a real report's length and wording;
the nodule is far brighter and larger (relative to the grid) than most real nodules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["REPORTS", "ChestVolumes", "simulate_chest_volumes"]

#: the three reports, indexed by the nodule side (0: none, 1: left, 2: right)
REPORTS: tuple[str, ...] = ("No nodule.", "Nodule in the left lung.", "Nodule in the right lung.")


@dataclass
class ChestVolumes:
    """Volumes in HU, (n, D, H, W) float32; lung masks (n, D, H, W) bool; nodule side (0/1/2); the reports."""

    hu: np.ndarray
    mask: np.ndarray
    side: np.ndarray

    @property
    def reports(self) -> list[str]:
        return [REPORTS[s] for s in self.side]

    def __len__(self) -> int:
        return len(self.hu)


def simulate_chest_volumes(n: int, *, shape: tuple[int, int, int] = (8, 8, 12), seed: int = 0,
                           noise_hu: float = 250.0) -> ChestVolumes:
    """Simulate ``n`` volumes of ``shape`` = (D, H, W) voxels (the lung geometry scales with the grid).

    Each lung is an ellipsoid with a centre jittered by ±0.6 (in units of an 8 × 8 × 12 grid) and semi-axes drawn
    from [2.6, 3.6] × [2.4, 3.4] × [1.6, 2.4]; the noise is white Gaussian noise of ``noise_hu`` smoothed with a
    Gaussian of 0.7 voxels (its standard deviation after smoothing is about a fifth of ``noise_hu``).
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    D, H, W = shape
    scale = np.array([D / 8, H / 8, W / 12], np.float32)
    grid = np.stack(np.mgrid[:D, :H, :W]).astype(np.float32)                # (3, D, H, W)
    side = rng.integers(0, 3, n)
    mask = np.zeros((n, D, H, W), bool)
    for cx in (3.0, 8.0):                                                   # left lung (low x), right lung
        c = (np.array([3.5, 3.5, cx]) + rng.uniform(-0.6, 0.6, (n, 3))) * scale
        r = np.stack([rng.uniform(2.6, 3.6, n), rng.uniform(2.4, 3.4, n), rng.uniform(1.6, 2.4, n)], 1) * scale
        q = (((grid[None] - c[:, :, None, None, None]) / r[:, :, None, None, None]) ** 2).sum(1)
        mask |= q <= 1
    hu = np.where(mask, -800.0, 0.0).astype(np.float32)
    # the nodule: a random lung voxel on the requested side (uniform among them), a sphere around it at +800 HU
    half = grid[2] < W / 2
    allowed = mask & np.where((side == 1)[:, None, None, None], half, ~half)
    keys = np.where(allowed, rng.random(allowed.shape), -1.0).reshape(n, -1)
    centre = np.stack(np.unravel_index(keys.argmax(1), (D, H, W)), 1).astype(np.float32)   # (n, 3)
    radius = rng.uniform(1.0, 1.5, n) * scale.mean()
    d2 = ((grid[None] - centre[:, :, None, None, None]) ** 2).sum(1)
    has = (side > 0) & (keys.max(1) >= 0)
    hu[(d2 <= radius[:, None, None, None] ** 2) & has[:, None, None, None]] = 800.0
    hu += gaussian_filter(rng.normal(0, noise_hu, (n, D, H, W)), (0, 0.7, 0.7, 0.7)).astype(np.float32)
    side = np.where(has, side, 0)
    return ChestVolumes(hu.astype(np.float32), mask, side)
