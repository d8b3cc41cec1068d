"""A SynthSeg / Brain-ID style generator of brain MRI slices from label maps (2-D, axial).

Anatomy: axial slices of the MNI152 2009 template's tissue maps (:func:`medrepro.sim.stroke_mri.mni_tissues`,
4 mm), one slice level per pseudo-subject, each with its own random smooth (elastic) deformation and scaling, so
that subjects differ in shape. The label map has four classes: 0 background, 1 CSF, 2 grey matter, 3 white matter
(the largest tissue probability inside the brain mask).

Images are drawn from a label map the way the SynthSeg lineage does (Billot et al. 2023; Brain-ID's
``BrainID/datasets/synth.py``): per label a Gaussian intensity (random mean and spread = a random contrast), then
a smooth multiplicative bias field, blur and down-sampling to a random resolution, Gaussian noise and a random
gamma. Brain-ID's intra-subject generator (``id_synth.py``) draws several images of the *same* deformed subject,
some with mild and some with severe corruption; :func:`synth_batch` takes a ``severity`` in [0, 1] that scales
every corruption, and :func:`intra_subject_batch` draws the mild and the severe ones.

Fixed "scanner" contrasts (:data:`CONTRASTS`: T1-, T2-, PD- and FLAIR-like tissue means) render the same anatomy
as a named sequence: the T1-like clean rendering is the anatomy target Brain-ID regresses. The means are
qualitative (CSF dark on T1, bright on T2, dark on FLAIR; white matter brighter than grey on T1, darker on T2),
settings of this simulator, not measurements.

Not modelled: 3-D anatomy, skull and scalp, lesions, partial volume beyond the template's own, motion, real
scanner physics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

LABELS: tuple[str, ...] = ("background", "csf", "gm", "wm")
# tissue means of the fixed renderings (background, CSF, GM, WM), on a 0..1 scale
CONTRASTS: dict[str, tuple[float, float, float, float]] = {
    "t1": (0.0, 0.25, 0.55, 0.85),
    "t2": (0.0, 0.95, 0.60, 0.40),
    "pd": (0.0, 0.80, 0.75, 0.62),
    "flair": (0.0, 0.10, 0.70, 0.50),
}
SHAPE: tuple[int, int] = (48, 56)


@dataclass
class BrainSubject:
    """One pseudo-subject: a label map (H, W) int64 in 0..3 and its tissue probabilities (4, H, W) float32."""

    labels: np.ndarray
    probs: np.ndarray
    level: int


def _smooth(shape: tuple[int, ...], rng: np.random.Generator, sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return f / (np.abs(f).max() + 1e-9)


def subjects(n: int, *, seed: int = 0, warp_px: float = 3.0, levels: tuple[int, int] = (16, 28)) -> list[BrainSubject]:
    """``n`` pseudo-subjects: MNI152 axial slices at a random level, elastically warped and scaled.

    ``warp_px`` is the largest displacement of the smooth random deformation (pixels of 4 mm); each subject is
    also scaled by 0.9–1.1 about the centre. Subject ``i`` depends on ``(seed, i)`` only.
    """
    from .stroke_mri import mni_tissues

    t = mni_tissues(4)
    h, w = SHAPE
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 58])
        z = int(rng.integers(levels[0], levels[1] + 1))
        mask = t["mask"][:h, :w, z]
        probs = np.stack([1 - mask, t["csf"][:h, :w, z], t["gm"][:h, :w, z], t["wm"][:h, :w, z]]).astype(np.float32)
        yy, xx = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
        s = rng.uniform(0.9, 1.1)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        dy = warp_px * _smooth((h, w), rng, 6.0)
        dx = warp_px * _smooth((h, w), rng, 6.0)
        coords = [cy + (yy - cy) / s + dy, cx + (xx - cx) / s + dx]
        warped = np.stack([ndimage.map_coordinates(p, coords, order=1, mode="nearest") for p in probs])
        warped[0] = np.where(warped[1:].sum(0) < 0.3, 1.0, warped[0])
        lab = warped.argmax(0)
        out.append(BrainSubject(lab.astype(np.int64), warped.astype(np.float32), z))
    return out


def _coarse(shape: tuple[int, int, int], g: torch.Generator, cells: int) -> torch.Tensor:
    """Smooth random fields (B, H, W) in [-1, 1]: ``cells`` × ``cells`` Gaussian noise, bicubic up-sampling."""
    b, h, w = shape
    f = F.interpolate(torch.randn(b, 1, cells, cells, generator=g), size=(h, w), mode="bicubic", align_corners=True)
    f = f[:, 0]
    return f / f.abs().amax((1, 2), keepdim=True).clamp_min(1e-6)


def render(labels: torch.Tensor, means: torch.Tensor, g: torch.Generator, *, spread: float = 0.03,
           texture: float = 0.03) -> torch.Tensor:
    """Per-label Gaussian intensities for a batch: image b has mean ``means[b, label]`` and SD ``spread``.

    ``labels`` (B, H, W) int64, ``means`` (B, 4); a smooth within-tissue texture of amplitude ``texture`` is
    added inside the head. Returns (B, H, W) float32.
    """
    img = torch.gather(means.float(), 1, labels.flatten(1)).view(labels.shape)
    img = img + spread * torch.randn(labels.shape, generator=g)
    return img + texture * _coarse(tuple(labels.shape), g, 8) * (labels > 0)


def corrupt(img: torch.Tensor, severity: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Bias field, blur + down-sampling, noise and gamma, each scaled by ``severity`` (B,) in [0, 1]; out in 0..1.

    At severity 1: a multiplicative bias field up to ±40 %, down-sampling by a factor drawn in 1..3 (area
    averaging, then bilinear back to the grid), noise SD up to 0.08 and a gamma in exp(±0.4). At severity 0 the
    image is only rescaled to 0..1.
    """
    b, h, w = img.shape
    sev = severity.float().clamp(0, 1).view(b, 1, 1)
    out = img * (1 + 0.4 * sev * _coarse((b, h, w), g, 4))
    factor = 1 + 2 * sev.flatten() * torch.rand(b, generator=g)
    rows = []
    for i in range(b):
        f = float(factor[i])
        x = out[i][None, None]
        if f > 1.05:
            x = F.interpolate(F.interpolate(x, scale_factor=1 / f, mode="area"), size=(h, w), mode="bilinear",
                              align_corners=False)
        rows.append(x[0, 0])
    out = torch.stack(rows)
    out = out + 0.08 * sev * torch.rand(b, 1, 1, generator=g) * torch.randn(b, h, w, generator=g)
    lo = out.amin((1, 2), keepdim=True)
    hi = out.amax((1, 2), keepdim=True)
    out = ((out - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)
    gamma = torch.exp(0.4 * sev * (2 * torch.rand(b, 1, 1, generator=g) - 1))
    return out ** gamma


def random_means(n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random contrasts (SynthSeg): every label's mean uniform in 0..1, background included. (n, 4)."""
    return torch.rand(n, len(LABELS), generator=g)


def fixed_means(contrast: str, n: int) -> torch.Tensor:
    """The tissue means of a fixed contrast of :data:`CONTRASTS`, repeated ``n`` times. (n, 4)."""
    return torch.tensor(CONTRASTS[contrast]).repeat(n, 1)


def synth_batch(labels: torch.Tensor, severity: torch.Tensor, g: torch.Generator,
                contrast: str | None = None) -> torch.Tensor:
    """Images of ``labels`` (B, H, W): random contrasts (``contrast=None``) or a fixed one, corrupted by ``severity``."""
    n = labels.shape[0]
    means = random_means(n, g) if contrast is None else fixed_means(contrast, n)
    return corrupt(render(labels, means, g), severity, g)


def intra_subject_batch(labels: torch.Tensor, g: torch.Generator, n_mild: int = 1, n_severe: int = 1,
                        mild: tuple[float, float] = (0.0, 0.3),
                        severe: tuple[float, float] = (0.6, 1.0)) -> torch.Tensor:
    """Brain-ID's mild-to-severe draws: (n_mild + n_severe, B, H, W), each draw its own random contrast.

    Sample k of subject b shares the subject's anatomy (its label map); the first ``n_mild`` draws have a mild
    corruption severity, the others a severe one, as ``id_synth.py`` splits ``all_samples`` into
    ``mild_samples`` and the rest.
    """
    b = labels.shape[0]
    out = []
    for k in range(n_mild + n_severe):
        lo, hi = mild if k < n_mild else severe
        sev = lo + (hi - lo) * torch.rand(b, generator=g)
        out.append(synth_batch(labels, sev, g))
    return torch.stack(out)


def anatomy_target(labels: torch.Tensor) -> torch.Tensor:
    """The anatomy Brain-ID regresses: the subject's clean T1-like rendering (tissue means, no noise)."""
    return torch.tensor(CONTRASTS["t1"])[labels]


__all__ = ["LABELS", "CONTRASTS", "SHAPE", "BrainSubject", "subjects", "render", "corrupt", "random_means",
           "fixed_means", "synth_batch", "intra_subject_batch", "anatomy_target"]
