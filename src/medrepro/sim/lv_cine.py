"""A beating left-ventricular cavity on a short-axis slice: short cine sequences for sequence models (SADM).

Each subject is one mid-ventricular slice: a bright LV cavity of radius :math:`r_k` (bright blood, as in bSSFP cine)
inside a thin darker myocardial ring over a dark background, with a per-subject gain and Gaussian noise. Over the
``k + 1`` frames the radius moves by ``delta`` pixels per frame, shrinking (contracting, ``direction = -1``) or
growing (relaxing, ``+1``):

.. math::  r_j = r^{\\text{last}} + s\\,\\delta\\,(j - (k - 1)),\\qquad j = 0 \\ldots k,

so frame ``k - 1`` (the last one a model is given) has radius :math:`r^{\\text{last}}`, drawn uniformly in
``r_range`` whatever the direction, and frame ``k`` is the one to predict. One frame therefore does not tell the
direction — except at the extremes: a cavity at or above ``contract_above`` only contracts, one at or below
``relax_below`` only relaxes (a nearly fully dilated or contracted heart), which gives a notebook its control
subjects. Discs are drawn with a linear partial-volume edge, so the cavity's summed occupancy is close to
:math:`\\pi r^2` (:func:`cavity_area` reads it back from an image; the guide measures the agreement).

Used by the SADM notebook (``notebooks/gen/sadm.ipynb``); the MRI guide (``book/guides/mri-and-vessels.ipynb``,
section 12) shows it beside the LV cavity of the real echocardiogram that ships with ``pydicom-data``.

Not modelled (see the guide's table for what each could hide): the non-linear time course of a real beat (fast
ejection, early filling, diastasis, atrial kick) — here the speed is constant, so the last two frames already fix the
next one; reversals within a sequence (the sequences are monotone); the right ventricle, papillary muscles,
trabeculation, wall thickening, through-plane motion, breathing; MR physics (bias field, Rician noise, k-space).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACDC_LV, ACDC_MYO = 3, 2          # ACDC label values: 3 LV cavity, 2 LV myocardium (0 background)


@dataclass
class LvSequences:
    """Simulated short-axis sequences; ``n`` subjects of ``k + 1`` frames."""

    images: np.ndarray      # (n, k + 1, size, size) float32, scanner-like units (background ~0.1, blood ~1)
    radii: np.ndarray       # (n, k + 1) cavity radius of every frame, pixels
    direction: np.ndarray   # (n,) -1 contracting, +1 relaxing
    labels: np.ndarray      # (n, size, size) uint8 ACDC labels of the first frame (3 cavity, 2 myocardium)
    determined: np.ndarray  # (n,) bool: the last given frame's radius alone fixes the direction (control subjects)

    def __len__(self) -> int:
        return len(self.images)


def simulate_lv_sequences(n: int, size: int = 16, k: int = 4, seed: int = 0, *,
                          r_range: tuple[float, float] = (2.8, 4.6), delta: float = 0.8, wall: float = 0.6,
                          contract_above: float = 4.2, relax_below: float = 3.2,
                          noise: float = 0.02) -> LvSequences:
    """``n`` subjects × ``k + 1`` frames of an LV slice whose cavity radius moves by ``delta`` px per frame.

    Args:
        n: number of subjects (one sequence each).
        size: side of the square frames in pixels.
        k: frames given to a model; frame ``k`` (the ``k + 1``-th) is the one to predict.
        seed: seed of the random draws (last radius, direction, centre, gain, noise — in that order).
        r_range: the last given frame's radius is uniform in this range (pixels).
        delta: change of the radius per frame (pixels).
        wall: thickness of the myocardial ring (pixels).
        contract_above, relax_below: at or beyond these last radii the direction is fixed (contract / relax);
            between them it is a fair coin.
        noise: standard deviation of the additive Gaussian noise.

    Returns:
        :class:`LvSequences`.
    """
    if k < 1 or size < 4 or n < 1:
        raise ValueError(f"need n >= 1, k >= 1 and size >= 4; got n={n}, k={k}, size={size}")
    if not r_range[0] < r_range[1] or delta <= 0:
        raise ValueError(f"need r_range[0] < r_range[1] and delta > 0; got r_range={r_range}, delta={delta}")
    rng = np.random.default_rng(seed)
    r_last = rng.uniform(r_range[0], r_range[1], n)
    s = np.where(r_last >= contract_above, -1.0,
                 np.where(r_last <= relax_below, 1.0, rng.choice([-1.0, 1.0], n)))
    r = r_last[:, None] + s[:, None] * delta * (np.arange(k + 1)[None] - (k - 1))
    yy, xx = np.mgrid[:size, :size] + 0.5
    c = size / 2 + rng.uniform(-0.3, 0.3, (n, 2))
    d = np.hypot(yy[None] - c[:, 0, None, None], xx[None] - c[:, 1, None, None])[:, None]   # (n, 1, H, W)
    cavity = np.clip(r[:, :, None, None] - d + 0.5, 0, 1)                                   # partial volume
    ring = np.clip(r[:, :, None, None] + wall - d + 0.5, 0, 1) - cavity
    gain = rng.uniform(0.8, 1.2, (n, 1, 1, 1))
    img = gain * (0.1 + 0.9 * cavity + 0.3 * ring) + rng.normal(0, noise, (n, k + 1, size, size))
    label = np.where(cavity[:, 0] > 0.5, ACDC_LV, np.where(ring[:, 0] > 0.5, ACDC_MYO, 0)).astype(np.uint8)
    determined = (r_last >= contract_above) | (r_last <= relax_below)
    return LvSequences(img.astype(np.float32), r, s, label, determined)


def cavity_area(img01: np.ndarray, low: float = 0.45, high: float = 0.95) -> np.ndarray:
    """Soft LV cavity area (px²) of frames scaled to [0, 1]: bright pixels counted with a linear ramp.

    A pixel at or below ``low`` counts 0, at or above ``high`` counts 1, linearly between — a partial-volume
    count of bright blood that needs no segmentation. Reduces over the last two axes.
    """
    if high <= low:
        raise ValueError(f"need high > low; got low={low}, high={high}")
    return np.clip((np.asarray(img01) - low) / (high - low), 0, 1).sum((-1, -2))
