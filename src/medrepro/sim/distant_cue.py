"""A designed miniature for global-context segmentation: an organ whose identity is set by a distant cue.

Segmentation papers that add global context to a convolutional network (a transformer branch, position
self-attention) claim it helps where a structure's label depends on something far away. On real scans that
dependence is mixed with local evidence, so a small CPU experiment cannot isolate it. This module draws
2-D "strip" images in which it is isolated by design:

- one **organ**, an ellipse of the same appearance in every image, sits near one end of the strip;
- one **cue**, a disk that is either brighter or darker than the background, sits near the other end;
- the organ's **label** is :data:`ORGAN_BRIGHT` (1) when the cue is bright and :data:`ORGAN_DARK` (3) when
  it is dark; the cue itself is labelled :data:`CUE` (2) whatever its kind.

Which end holds the organ is drawn per image (a mirror image is as likely), and the cue's kind is drawn
independently of everything else, so nothing within reach of the organ tells the two labels apart: a
network whose receptive field around an organ pixel stops short of the cue can outline the organ but can
only guess its label (half the organs wrong); one that sees the whole strip can name it. The returned
:attr:`DistantCueSet.gap` (the Chebyshev distance in pixels between the nearest organ and cue pixels) lets a
notebook check that its convolutional arm's receptive field is smaller than every gap.

``near_fraction`` puts the cue next to the organ in that share of the images (a control in which a local
network can read it too). :attr:`DistantCueSet.swapped` holds each image with the cue's kind swapped and
everything else (noise included) identical, for counterfactual probes ("does the label follow the cue?").

Realistic: nothing anatomical — it is a designed task, not a simulator of a modality. What carries over to
scans is the structure of the problem (identical local appearance, identity given by a distant landmark)
and the nuisances that make segmentation non-trivial: per-patient background level, organ contrast, organ
size and noise level, per-image organ shape and orientation, a smooth background field and Gaussian noise.
Several images ("slices") per patient share the patient's appearance, so intervals must resample patients.
Not modelled: anatomy, partial-volume effects, real noise statistics, several organs or several cues per
image, 3-D continuity between the slices of a patient.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Label values and names.
BACKGROUND, ORGAN_BRIGHT, CUE, ORGAN_DARK = 0, 1, 2, 3
LABELS: dict[int, str] = {BACKGROUND: "background", ORGAN_BRIGHT: "organ (bright cue)", CUE: "cue",
                          ORGAN_DARK: "organ (dark cue)"}


@dataclass(frozen=True)
class DistantCueSet:
    """Images, labels and the design facts of :func:`simulate_distant_cue` (N images of H × W pixels)."""

    images: np.ndarray       # (N, H, W) float32 in [0, 1]
    labels: np.ndarray       # (N, H, W) uint8, values in LABELS
    swapped: np.ndarray      # (N, H, W) float32: the same images with the cue's kind swapped
    patient: np.ndarray      # (N,) int patient index; the images of a patient share its appearance
    cue_bright: np.ndarray   # (N,) bool: the cue is bright (organ label 1) or dark (organ label 3)
    near: np.ndarray         # (N,) bool: the cue was placed next to the organ (control images)
    gap: np.ndarray          # (N,) int: Chebyshev distance (pixels) between the nearest organ and cue pixels

    def __len__(self) -> int:
        return len(self.images)


def simulate_distant_cue(n_patients: int, n_slices: int, *, height: int = 24, width: int = 72, seed: int = 0,
                         near_fraction: float = 0.0, cue_contrast: tuple[float, float] = (0.45, 0.2),
                         noise: tuple[float, float] = (0.04, 0.08)) -> DistantCueSet:
    """Draw ``n_patients × n_slices`` strip images (see the module docstring).

    Args:
        height, width: image size in pixels; the geometry (organ and cue sizes, margins) scales with
            ``height`` (designed at 24–32); ``width`` must be at least 2.5 × ``height`` so that the organ and
            the cue sit at opposite ends.
        seed: everything is drawn from ``numpy.random.default_rng(seed)``.
        near_fraction: share of the images whose cue is placed next to the organ (a local control).
        cue_contrast: (bright, dark): how far above and below the background the two kinds of cue lie.
        noise: range of the per-patient Gaussian noise standard deviation.
    Returns:
        A :class:`DistantCueSet`; images are clipped to [0, 1].
    """
    if n_patients < 1 or n_slices < 1:
        raise ValueError(f"need at least one patient and one slice, got {n_patients} × {n_slices}")
    if height < 16 or width < 2.5 * height:
        raise ValueError(f"strip of {height} × {width} px: height must be ≥ 16 and width ≥ 2.5 × height")
    if not 0.0 <= near_fraction <= 1.0:
        raise ValueError(f"near_fraction must lie in [0, 1], got {near_fraction}")
    rng = np.random.default_rng(seed)
    n = n_patients * n_slices
    patient = np.repeat(np.arange(n_patients), n_slices)
    k = height / 32.0                                            # geometry designed at 32 px, scaled
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    # per-patient appearance, shared by the patient's slices
    background = rng.uniform(0.25, 0.40, n_patients)[patient]
    organ_contrast = rng.uniform(0.15, 0.30, n_patients)[patient]
    sigma = rng.uniform(*noise, n_patients)[patient]
    radius = k * rng.uniform(4.0, 6.0, n_patients)[patient] * rng.uniform(0.85, 1.15, n)
    # per-image geometry and cue
    elong = rng.uniform(0.75, 1.33, n)                          # ellipse axes r·e and r/e
    cue_r = 5.0 * k
    near = rng.random(n) < near_fraction
    bright = rng.random(n) < 0.5
    mirror = rng.random(n) < 0.5
    ox = np.where(near, rng.uniform(0.3 * width, 0.5 * width, n), rng.uniform(8 * k, 22 * k, n))
    oy = rng.uniform(9 * k, height - 9 * k, n)
    cx = np.where(near, ox + radius * elong + cue_r + rng.uniform(1.5, 4.0, n) * k,
                  rng.uniform(width - 22 * k, width - 7 * k, n))
    cy = np.where(near, np.clip(oy + rng.uniform(-4, 4, n) * k, cue_r + 1, height - cue_r - 2),
                  rng.uniform(7 * k, height - 7 * k, n))
    ox, cx = np.where(mirror, width - 1 - ox, ox), np.where(mirror, width - 1 - cx, cx)

    e = lambda v: v[:, None, None]
    organ = ((xx - e(ox)) / e(radius * elong)) ** 2 + ((yy - e(oy)) / e(radius / elong)) ** 2 <= 1.0
    cue = (xx - e(cx)) ** 2 + (yy - e(cy)) ** 2 <= cue_r ** 2
    field = np.zeros((n, height, width), np.float32)             # smooth background variation
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0, n), rng.uniform(0.5, 3.0, n), rng.uniform(0, 2 * np.pi, n)
        field += np.cos(2 * np.pi * (e(fx) * xx / width + e(fy) * yy / height) + e(phase)).astype(np.float32)
    base = (e(background) + 0.03 * field + organ * e(organ_contrast)
            + e(sigma) * rng.standard_normal((n, height, width)))
    level = np.where(bright, cue_contrast[0], -cue_contrast[1])
    images = np.clip(base + cue * e(level), 0.0, 1.0).astype(np.float32)
    other = np.where(bright, -cue_contrast[1], cue_contrast[0])            # the other kind of cue
    swapped = np.clip(base + cue * e(other), 0.0, 1.0).astype(np.float32)

    labels = np.zeros((n, height, width), np.uint8)
    labels[cue] = CUE
    organ_label = np.where(bright, ORGAN_BRIGHT, ORGAN_DARK).astype(np.uint8)
    labels[organ] = np.broadcast_to(e(organ_label), organ.shape)[organ]
    return DistantCueSet(images=images, labels=labels, swapped=swapped, patient=patient, cue_bright=bright,
                         near=near, gap=_gaps(organ, cue))


def _gaps(organ: np.ndarray, cue: np.ndarray) -> np.ndarray:
    """Chebyshev distance (pixels) from the nearest organ pixel to the nearest cue pixel, per image."""
    out = np.empty(len(organ), dtype=int)
    for i, (o, c) in enumerate(zip(organ, cue)):
        if not (o.any() and c.any()):
            raise ValueError(f"image {i} has no organ or no cue pixel; enlarge the strip")
        out[i] = int(ndimage.distance_transform_cdt(~c, metric="chessboard")[o].min())
    return out
