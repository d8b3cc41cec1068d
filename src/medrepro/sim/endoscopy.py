"""Simulated endoscopy-like colour frames: a finding whose *surface pattern* is its class, among strong nuisances.

A miniature for deep metric learning on images with many attributes (Adiga et al., 2022: colour, shape,
artefacts). Each frame shows a patch of mucosa seen through a round scope field, and one darker elliptic
"finding" whose surface pattern (plain, stripes in four directions, spots; :data:`PATTERNS`) is the class.
Everything else is a nuisance that an embedding must learn to ignore:

- the **imaging mode** (``domain``): white light (red-pink mucosa), a narrow-band-like mode (green-cyan) or a
  dye-spray-like mode (blue); the three modes are the data's distinct sub-populations — clusters that
  k-means finds in the pixels and in an untrained network's features;
- a smooth mucosal texture, global brightness, the finding's contrast, size, elongation, angle and position,
  and the pattern's period and phase;
- specular highlights (small white spots) and, in half of the frames, the green position-guide box that
  HyperKvasir frames carry in their lower-left corner;
- Gaussian noise (and JPEG compression when written to disk).

The finding's mask is returned: attention maps and Grad-CAM are scored against it (a proxy segmentation).
``pretext=True`` draws four other classes (stripes at intermediate angles and longer periods): a different task
on the same kind of image, to pretrain a backbone in the role ImageNet plays in the paper.

Realistic: colour frames in a round field, a finding of a few percent of the frame, per-frame colour and
brightness shifts, overlays and highlights like those of real colonoscopy frames. Not modelled: real
anatomy and pathology (classes are textures, not findings), folds, bubbles, motion blur, the
real class imbalance, several frames of one patient. Vectorised over frames, deterministic by seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The six surface patterns of the finding (the classes), in label order.
PATTERNS: tuple[str, ...] = ("plain", "stripes-0", "stripes-45", "stripes-90", "stripes-135", "spots")
#: The pretext classes (stripes at intermediate angles) used to pretrain a backbone, as ImageNet would.
PRETEXT: tuple[str, ...] = ("stripes-22", "stripes-67", "stripes-112", "stripes-157")
#: The three imaging modes (the data's sub-populations), with the mean mucosa colour (RGB in [0, 1]).
DOMAINS: dict[str, tuple[float, float, float]] = {
    "white-light": (0.78, 0.38, 0.32), "narrow-band": (0.30, 0.58, 0.52), "dye-spray": (0.28, 0.40, 0.80)}


@dataclass(frozen=True)
class EndoSpec:
    """Knobs of the simulator (defaults: the smoke run's calibrated difficulty).

    ``radius`` is the finding's radius range as a fraction of the half-width; ``contrast`` the range of the
    finding's brightness ratio to the mucosa (drawn below 1 or above its inverse, lighter or darker with
    probability ``lighter``); ``pattern`` the amplitude of the surface pattern (the class signal); ``texture`` the amplitude of the mucosal texture; ``noise`` the pixel noise (std); ``guide_box``
    the probability of the position-guide overlay; ``highlights`` the maximum number of specular spots.
    """

    size: int = 32
    radius: tuple[float, float] = (0.22, 0.36)
    contrast: tuple[float, float] = (0.55, 0.8)
    texture: float = 0.12
    noise: float = 0.04
    guide_box: float = 0.5
    highlights: int = 3
    colour_jitter: float = 0.08
    lighter: float = 0.0
    pattern: float = 0.35


@dataclass
class EndoBatch:
    """``images`` (N, H, W, 3) float32 in [0, 1]; ``labels`` the pattern class; ``domain`` the imaging mode;
    ``masks`` (N, H, W) bool, the finding's pixels."""

    images: np.ndarray
    labels: np.ndarray
    domain: np.ndarray
    masks: np.ndarray
    classes: tuple[str, ...] = PATTERNS
    domains: tuple[str, ...] = tuple(DOMAINS)

    def to_uint8(self) -> np.ndarray:
        return np.clip(np.round(self.images * 255), 0, 255).astype(np.uint8)


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) linear-interpolation weights: a coarse grid to a fine one, as a matrix."""
    pos = np.linspace(0, n_in - 1, n_out)
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    t = pos - lo
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), lo] = 1 - t
    m[np.arange(n_out), lo + 1] = t
    return m


def pattern(labels: np.ndarray, xx: np.ndarray, yy: np.ndarray, rng: np.random.Generator, size: int,
            pretext: bool = False) -> np.ndarray:
    """Surface patterns (N, H, W) in [-1, 1] for the classes ``labels``, period 3-5 pixels, phase drawn per frame.

    Target classes (:data:`PATTERNS`): 0 plain (zero), 1-4 stripes whose lines run at 0, 45, 90, 135 degrees,
    5 spots. ``pretext=True``: the four classes of :data:`PRETEXT` instead, stripes at 22.5, 67.5, 112.5 and
    157.5 degrees, period 4-7 pixels — a different task on the same kind of texture, for pretraining.
    """
    labels = np.asarray(labels)
    n = len(labels)
    lo, hi = (4.0, 7.0) if pretext else (3.0, 5.0)
    period = rng.uniform(lo, hi, (n, 1, 1)).astype(np.float32) * 2.0 / size      # in grid units
    phase = rng.uniform(0, 2 * np.pi, (2, n, 1, 1)).astype(np.float32)
    lines = np.array([22.5, 67.5, 112.5, 157.5] if pretext else [0.0, 0.0, 45.0, 90.0, 135.0, 0.0], np.float32)
    theta = np.deg2rad(lines[labels] + 90.0)[:, None, None]              # the wave vector is normal to the lines
    w = 2 * np.pi / period
    stripes = np.cos(w * (np.cos(theta) * xx - np.sin(theta) * yy) + phase[0])
    if pretext:
        return stripes.astype(np.float32)
    spots = np.cos(w * xx + phase[0]) * np.cos(w * yy + phase[1])
    spots = np.where(spots > 0.5, 1.0, -0.3).astype(np.float32)
    out = np.where((labels == 5)[:, None, None], spots, stripes)
    return np.where((labels == 0)[:, None, None], 0.0, out).astype(np.float32)


def simulate_endoscopy(n: int, *, spec: EndoSpec = EndoSpec(), seed: int = 0, pretext: bool = False) -> EndoBatch:
    """Simulate ``n`` frames with balanced pattern classes (:data:`PATTERNS`, or :data:`PRETEXT` with
    ``pretext=True``) and imaging modes drawn uniformly. Deterministic by ``seed``."""
    classes = PRETEXT if pretext else PATTERNS
    n_classes = len(classes)
    rng = np.random.default_rng(seed)
    s = spec.size
    labels = rng.permutation(np.arange(n) % n_classes)
    domain = rng.integers(0, len(DOMAINS), n)
    g = np.linspace(-1, 1, s, dtype=np.float32)
    yy, xx = np.meshgrid(g, g, indexing="ij")                              # (H, W)

    # mucosa: the mode's colour, jittered per frame, times brightness and a smooth texture
    base = np.asarray(list(DOMAINS.values()), np.float32)[domain]          # (N, 3)
    base = base + rng.normal(0, spec.colour_jitter, (n, 3)).astype(np.float32)
    bright = rng.uniform(0.75, 1.2, (n, 1, 1)).astype(np.float32)
    m = _interp_matrix(s, 6)
    tex = np.einsum("hi,nij,wj->nhw", m, rng.normal(0, 1, (n, 6, 6)).astype(np.float32), m)
    shade = bright * (1 + spec.texture * tex)                              # (N, H, W)

    # the finding: an elliptic patch at a random place, size and angle, darker than the mucosa, whose surface
    # pattern is the class: plain, stripes at 0, 45, 90 or 135 degrees, or spots
    radius = rng.uniform(*spec.radius, (n, 1, 1)).astype(np.float32)
    aspect = rng.uniform(0.7, 1.0, (n, 1, 1)).astype(np.float32)
    ang = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    cr, ca = 0.4 * np.sqrt(rng.uniform(0, 1, (n, 1, 1))), rng.uniform(0, 2 * np.pi, (n, 1, 1))
    cx, cy = (cr * np.cos(ca)).astype(np.float32), (cr * np.sin(ca)).astype(np.float32)
    dx, dy = (xx - cx) / radius, (yy - cy) / radius
    u, v = np.cos(ang) * dx + np.sin(ang) * dy, -np.sin(ang) * dx + np.cos(ang) * dy
    masks = (u ** 2 + (v / aspect) ** 2) < 1.0
    c = rng.uniform(*spec.contrast, (n, 1, 1)).astype(np.float32)
    c = np.where(rng.uniform(size=(n, 1, 1)) < spec.lighter, 1 / c, c)
    shade = np.where(masks, shade * c * (1 + spec.pattern * pattern(labels, xx, yy, rng, s, pretext)), shade)
    img = base[:, None, None, :] * shade[..., None]                        # (N, H, W, 3)

    # specular highlights: small white spots anywhere in the field (they hide what lies beneath)
    covered = np.zeros(masks.shape, bool)
    for k in range(spec.highlights):
        on = rng.uniform(size=(n, 1, 1)) < 0.6 if k else np.ones((n, 1, 1), bool)
        hx, hy = rng.uniform(-0.8, 0.8, (2, n, 1, 1)).astype(np.float32)
        spot = on & (((xx - hx) ** 2 + (yy - hy) ** 2) < rng.uniform(0.004, 0.012, (n, 1, 1)))
        img = np.where(spot[..., None], 0.97, img)
        covered |= spot

    # the position-guide box (green outline, lower-left corner), in some frames
    box = (xx < -0.45) & (yy > 0.45) & ~((xx < -0.55) & (xx > -0.95) & (yy > 0.55) & (yy < 0.95)) & (xx > -1.0)
    has_box = rng.uniform(size=(n, 1, 1)) < spec.guide_box
    img = np.where((box & has_box)[..., None], np.array([0.1, 0.75, 0.2], np.float32), img)
    covered |= box & has_box

    img = img + rng.normal(0, spec.noise, img.shape).astype(np.float32)
    field = (xx ** 2 + yy ** 2) < 1.08                                     # the scope's round field, black outside
    img = np.where(field[None, ..., None], img, 0.0)
    masks = masks & field & ~covered
    return EndoBatch(np.clip(img, 0, 1).astype(np.float32), labels.astype(np.int64), domain.astype(np.int64), masks,
                     classes)
