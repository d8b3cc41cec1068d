"""Simulated colour fundus photographs with a branching vessel tree, its clean mask and an annotator's mask.

The smoke data of the retinal-vessel notebooks (SAUNA). :func:`simulate_fundus` draws ``n`` eyes, each a square
RGB fundus image inside a circular field of view (FOV), with:

Realistic:
    - anatomy: an optic disc (bright, yellowish) on the left or right third of the image, four main arcades
      leaving it (upper and lower, temporal and nasal) that wander, branch and taper from about 5-6 px to below
      1 px; a darker macula opposite the disc;
    - appearance: orange-red background, vessels darker in the green channel than in the red, with a contrast
      that grows with the vessel's width (a thin vessel absorbs less light) and anti-aliased edges (partial
      volume); vignetting towards the FOV rim, a smooth uneven illumination field per eye, a choroidal texture
      and Gaussian sensor noise; black outside the FOV;
    - inter-eye variability: disc position, arcade angles, tortuosity, branching, illumination, contrast, noise.
    - an annotator: the mask a person would draw (:attr:`FundusBatch.annotated`) differs from the clean
      geometry (:attr:`FundusBatch.clean`) in the ways the SAUNA paper names as uncertain — every vessel's drawn
      width differs from the true one by a random amount per branch, thin vessels (true width < ``thin_px``) are
      drawn at a laterally shifted position (a smooth random walk along the branch), and a fraction of the thin
      branches is not drawn at all.
Not modelled:
    - arteries vs veins, crossings' nicking, the central light reflex, haemorrhages, exudates, drusen and other
      lesions, the fovea's avascular zone as an exact shape, camera colour profiles, JPEG compression, real
      image sizes (the default is 96 × 96 px; FIVES images are 2048 × 2048).

The width of every clean vessel pixel is returned (:attr:`FundusBatch.width`), so metrics can be split into thin
and thick vessels against the clean geometry, which no real dataset provides.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class FundusSpec:
    """Knobs of the fundus simulator (defaults: the SAUNA smoke setting)."""

    size: int = 96                              #: image side in pixels
    max_width: tuple[float, float] = (3.5, 5.0)  #: width range of the four main arcades at the disc (px)
    min_width: float = 0.7                      #: a branch ends when it tapers below this width (px)
    taper: float = 0.985                        #: width factor per 1.5-px step along a branch
    branch_prob: float = 0.07                   #: probability of a side branch at each step
    tortuosity: float = 0.12                    #: sd of the direction change per step (radians)
    contrast: tuple[float, float] = (0.28, 0.40)  #: vessel darkening of the green channel at full absorption
    noise: tuple[float, float] = (0.025, 0.045)   #: sd of the Gaussian noise (intensity in [0, 1])
    illumination: float = 0.25                  #: amplitude of the smooth uneven illumination field
    thin_px: float = 2.0                        #: vessels narrower than this count as thin (for the annotator)
    width_jitter: float = 0.6                   #: sd of the annotator's drawn width − true width, per branch (px)
    thin_shift: float = 0.8                     #: sd of the annotator's lateral offset of thin vessels (px)
    thin_drop: float = 0.3                      #: probability that the annotator skips a thin branch


@dataclass
class FundusBatch:
    """Simulated eyes. Images ``(n, H, W, 3)`` uint8; masks ``(n, H, W)`` bool; widths ``(n, H, W)`` float32
    (the true vessel width at each clean vessel pixel, 0 elsewhere); ``fov`` ``(n, H, W)`` bool; ``disease``:
    one of FIVES' four category letters per eye (A, D, G, N), drawn at random (it changes nothing here)."""

    images: np.ndarray
    clean: np.ndarray
    annotated: np.ndarray
    width: np.ndarray
    fov: np.ndarray
    disease: np.ndarray
    spec: FundusSpec = field(default_factory=FundusSpec)

    def __len__(self) -> int:
        return self.images.shape[0]


def _grow_tree(rng: np.random.Generator, spec: FundusSpec, disc: np.ndarray, side: int) -> list[np.ndarray]:
    """Branches of one eye: a list of arrays (k, 3) of points (x, y, width), each a polyline of 1.5-px steps."""
    size = spec.size
    centre = np.array([size / 2, size / 2])
    radius = 0.48 * size
    branches: list[np.ndarray] = []
    # the four arcades: temporal ones (towards the macula) leave at ±(35..60)°, nasal ones at ±(110..150)°
    towards = 0.0 if side < 0 else np.pi             # disc on the left (side −1) → temporal direction is +x
    stack = []
    for sgn in (-1, 1):
        stack.append((disc.copy(), towards + sgn * rng.uniform(0.6, 1.05), rng.uniform(*spec.max_width)))
        stack.append((disc.copy(), towards + sgn * rng.uniform(1.9, 2.6), rng.uniform(*spec.max_width) * 0.8))
    while stack and len(branches) < 120:
        p, ang, w = stack.pop()
        pts = [(p[0], p[1], w)]
        curve = rng.normal(0, 0.03)
        for _ in range(400):
            ang += curve + rng.normal(0, spec.tortuosity)
            curve = 0.9 * curve + rng.normal(0, 0.01)
            p = p + 1.5 * np.array([np.cos(ang), np.sin(ang)])
            w *= spec.taper
            if w < spec.min_width or np.hypot(*(p - centre)) > radius:
                break
            pts.append((p[0], p[1], w))
            if rng.random() < spec.branch_prob and w > 1.3:
                child_w = w * rng.uniform(0.55, 0.8)
                stack.append((p.copy(), ang + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1), child_w))
                w *= rng.uniform(0.85, 0.95)            # the parent narrows after a branch point
        if len(pts) >= 3:
            branches.append(np.asarray(pts, dtype=np.float64))
    return branches


def _rasterise(size: int, segs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments (m, 5) = (x0, y0, x1, y1, width): the signed margin max_s(w_s/2 − dist_s) per pixel and the
    width of the segment that attains it (pixels farther than a few px from every segment get margin −3).
    Pixel centres sit at integer coordinates. Each segment is evaluated on a window around its midpoint."""
    a, b, w = segs[:, :2], segs[:, 2:4], segs[:, 4]
    half = int(np.ceil(w.max() / 2 + np.hypot(*(b - a).T).max() / 2 + 1.5))
    off = np.arange(-half, half + 1)
    ox, oy = np.meshgrid(off, off)
    mid = np.round((a + b) / 2).astype(int)
    px = mid[:, :1] + ox.ravel()[None]                                  # (m, K²) candidate pixels
    py = mid[:, 1:] + oy.ravel()[None]
    d = b - a
    L2 = np.maximum((d ** 2).sum(1), 1e-12)[:, None]
    t = np.clip(((px - a[:, :1]) * d[:, :1] + (py - a[:, 1:]) * d[:, 1:]) / L2, 0, 1)
    dist = np.hypot(px - (a[:, :1] + t * d[:, :1]), py - (a[:, 1:] + t * d[:, 1:]))
    margin = w[:, None] / 2 - dist
    ok = (px >= 0) & (px < size) & (py >= 0) & (py < size) & (margin > -3)
    flat, m, wid = (py * size + px)[ok], margin[ok], np.broadcast_to(w[:, None], margin.shape)[ok]
    order = np.lexsort((m, flat))                                       # per pixel, the largest margin last
    flat, m, wid = flat[order], m[order], wid[order]
    last = np.r_[flat[1:] != flat[:-1], True]
    best = np.full(size * size, -3.0)
    width = np.zeros(size * size)
    best[flat[last]] = m[last]
    width[flat[last]] = wid[last]
    return best.reshape(size, size), width.reshape(size, size)


def _segments(branches: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.column_stack([b[:-1, :2], b[1:, :2], (b[:-1, 2] + b[1:, 2]) / 2]) for b in branches])


def _smooth_field(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma, mode="wrap")
    return f / (f.std() + 1e-12)


def _annotate(rng: np.random.Generator, spec: FundusSpec, branches: list[np.ndarray]) -> list[np.ndarray]:
    """The annotator's branches: drawn width jittered per branch, thin parts shifted sideways, thin branches skipped."""
    out = []
    for b in branches:
        thin = b[:, 2] < spec.thin_px
        if thin.all() and rng.random() < spec.thin_drop:
            continue                                                    # a thin branch the annotator missed
        b = b.copy()
        b[:, 2] = np.maximum(b[:, 2] + rng.normal(0, spec.width_jitter), 0.8)
        tangent = np.gradient(b[:, :2], axis=0)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
        walk = np.cumsum(rng.normal(0, 0.35, len(b)))
        walk = spec.thin_shift * walk / max(np.abs(walk).max(), 1.0) + rng.normal(0, spec.thin_shift / 2)
        b[:, :2] += (thin * walk)[:, None] * normal
        out.append(b)
    return out


def simulate_fundus(n: int, spec: FundusSpec = FundusSpec(), seed: int = 0) -> FundusBatch:
    """Simulate ``n`` eyes (see the module docstring). Deterministic by ``seed``."""
    rng = np.random.default_rng(seed)
    S = spec.size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float64)
    r = np.hypot(xx - S / 2 + 0.5, yy - S / 2 + 0.5) / (S / 2)
    fov = r < 0.97
    images = np.zeros((n, S, S, 3), np.uint8)
    clean = np.zeros((n, S, S), bool)
    annotated = np.zeros((n, S, S), bool)
    width = np.zeros((n, S, S), np.float32)
    disease = rng.choice(np.array(list("ADGN")), n)
    for i in range(n):
        side = rng.choice([-1, 1])
        disc = np.array([S / 2 + side * rng.uniform(0.22, 0.3) * S, S / 2 + rng.normal(0, 0.04 * S)])
        branches = _grow_tree(rng, spec, disc, side)
        margin, w = _rasterise(S, _segments(branches))
        clean[i] = (margin > 0) & fov
        width[i] = np.where(clean[i], w, 0)
        a_margin, _ = _rasterise(S, _segments(_annotate(rng, spec, branches)))
        annotated[i] = (a_margin > 0) & fov
        # appearance: background colour, vignetting, illumination, disc, macula, texture, vessels, noise
        cover = np.clip(margin + 0.5, 0, 1)                             # anti-aliased coverage of a pixel
        absorb = cover * (1 - np.exp(-np.maximum(w, 0.3) / 1.6))        # thin vessels absorb less
        base = np.array([0.78, 0.42, 0.20]) * rng.uniform(0.85, 1.1)
        vign = 1 - 0.45 * r ** 3
        illum = 1 + spec.illumination * _smooth_field(rng, S, S / 5) * 0.5
        d_disc = np.hypot(xx - disc[0], yy - disc[1]) / (0.07 * S)
        disc_glow = np.exp(-d_disc ** 2)
        mac = np.array([S / 2 - np.sign(disc[0] - S / 2) * 0.08 * S, disc[1]])
        macula = np.exp(-(np.hypot(xx - mac[0], yy - mac[1]) / (0.1 * S)) ** 2)
        texture = 0.03 * _smooth_field(rng, S, 1.5)
        c = rng.uniform(*spec.contrast)
        img = np.empty((S, S, 3))
        for ch, (gain_v, gain_d) in enumerate(((0.35, 0.25), (1.0, 0.45), (0.6, 0.3))):
            v = base[ch] * vign * illum * (1 + texture) + gain_d * disc_glow - 0.08 * macula * (ch > 0)
            v = v * (1 - gain_v * c / 0.3 * 0.3 * absorb)
            img[..., ch] = v
        img += rng.normal(0, rng.uniform(*spec.noise), img.shape)
        img[~fov] = 0
        images[i] = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return FundusBatch(images, clean, annotated, width, np.broadcast_to(fov, (n, S, S)).copy(), disease, spec)
