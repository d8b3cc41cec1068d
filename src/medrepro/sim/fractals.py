"""Iterated-function-system (IFS) fractals for formula-driven pre-training (Anderson & Farrell, WACV 2022).

An IFS is a set of n contractive affine maps w_i(x) = A_i x + b_i, x ∈ ℝ². Its attractor — the fractal — is
drawn by the *chaos game*: start on the attractor (the fixed point of w_1), then repeatedly apply a map chosen
with probability ∝ |det A_i| and plot the point.

Anderson & Farrell's first idea is the **σ-factor**: write each A_i = U_i diag(σ_i1, σ_i2) V_i (rotations
U, V, singular values 1 ≥ σ_i1 ≥ σ_i2 ≥ 0) and constrain α = Σ_i (σ_i1 + 2σ_i2) to a narrow interval
β = ((5 + n)/2, (6 + n)/2). Too small α gives a few dots, too large fills the plane; the constraint keeps systems
whose attractors have rich geometry. Their second idea is **multi-instance prediction**: an image holds several
fractals from a fixed set of K systems and the network predicts which of the K are present (multi-label).

Vectorised: :func:`chaos_game` iterates a whole batch of systems at once (one numpy operation per step over
the batch) and :func:`render` bins all points of all images with one ``bincount``.

Realistic (with respect to the official code, ``catalys1/fractal-pretraining``): the σ-factor constraint and
its interval, random rotations with reflections, translations ~ U(−1, 1), map probabilities ∝ |det A|, the
start at a fixed point, graded rendering (intensity ∝ visits; ``FractalSpec.floor`` near 1 draws near-flat
silhouettes, as the official HSV colouring keeps the value channel constant), random jitter of one map's scale,
flips and transposes, several instances of 15–60 % of the image side on a textured background. The official
generator iterates 100,000 points at 224 px (about 2 per pixel); ``FractalSpec.points`` should keep a similar
density, or the fractals become a few specks.
Not modelled / different: colour (the official code colourises in HSV; grayscale here, as the medical targets),
the 3×3 random point patches, Gaussian blur, diamond-square backgrounds (1/f spectral noise here, a close
relative), and the singular-value sampler itself (same constraints, a simpler sequential draw, so the
distribution of single singular values differs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

MAX_MAPS = 8


def sample_singular_values(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Draw n pairs (σ1, σ2) with 1 ≥ σ1 ≥ σ2 ≥ 0 and Σ (σ1 + 2σ2) = alpha exactly.

    Sequential draw: pair i takes a share c_i = σ1 + 2σ2 ∈ [0, 3] that leaves the remaining pairs a feasible
    total, then splits it: σ2 ∈ [max(0, (c − 1)/2), c/3], σ1 = c − 2σ2 (so σ1 ≤ 1 and σ1 ≥ σ2).
    """
    if not 0 < alpha < 3 * n:
        raise ValueError(f"alpha must lie in (0, 3n) = (0, {3 * n}), got {alpha}")
    s = np.empty((n, 2))
    left = float(alpha)
    for i in range(n):
        rest = n - 1 - i                                  # pairs still to draw after this one
        c = left if rest == 0 else rng.uniform(max(0.0, left - 3 * rest), min(3.0, left))
        s2 = rng.uniform(max(0.0, (c - 1) / 2), c / 3)
        s[i] = c - 2 * s2, s2
        left -= c
    return s


def _rotation(theta: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def sample_system(rng: np.random.Generator, n: int | None = None, *, constrain: bool = True,
                  beta: tuple[float, float] | None = None) -> np.ndarray:
    """One random IFS as an (n, 2, 3) array of affine maps [A | b], n ~ U{2, …, 7} unless given.

    ``constrain``: A_i = U_i diag(σ_i) V_i with the σ-factor α = Σ(σ_i1 + 2σ_i2) ~ U(β), β = ((5+n)/2, (6+n)/2)
    by default. Without it, every entry of A and b ~ U(−1, 1) (FractalDB-style; often not contractive).
    """
    n = int(rng.integers(2, MAX_MAPS)) if n is None else int(n)
    if not constrain:
        return rng.uniform(-1, 1, (n, 2, 3))
    lo, hi = beta if beta is not None else ((5 + n) / 2, (6 + n) / 2)
    sv = sample_singular_values(n, rng.uniform(lo, hi), rng)
    flips = np.sign(rng.random((2 * n, 2)) - 0.5)           # random reflections of the basis
    rot = _rotation(rng.uniform(-np.pi, np.pi, 2 * n)) * flips[:, None, :]
    u, v = rot[:n], rot[n:]
    m = np.empty((n, 2, 3))
    m[:, :, :2] = (u * sv[:, None, :]) @ v                 # A = U diag(σ) V
    m[:, :, 2] = rng.uniform(-1, 1, (n, 2))
    return m


def sigma_factor(system: np.ndarray) -> float:
    """α = Σ_i (σ_i1 + 2σ_i2) of a system's linear parts."""
    sv = np.linalg.svd(system[:, :, :2], compute_uv=False)
    return float((sv[:, 0] + 2 * sv[:, 1]).sum())


def jitter(system: np.ndarray, rng: np.random.Generator, scale: tuple[float, float] = (0.8, 1.1),
           attempts: int = 4) -> np.ndarray:
    """Scale one random map by U(scale) (the official 'basic' jitter); keep the original if it would expand."""
    for _ in range(attempts):
        out = system.copy()
        out[rng.integers(0, len(out))] *= rng.uniform(*scale)
        if np.linalg.svd(out[:, :, :2], compute_uv=False).max() <= 1:
            return out
    return system


def stack_systems(systems: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Systems of 1–8 maps stacked as (B, MAX_MAPS, 2, 3); padding maps are all zero (|det| 0: never chosen)."""
    if isinstance(systems, np.ndarray) and systems.ndim == 4:
        return systems
    maps = np.zeros((len(systems), MAX_MAPS, 2, 3))
    for i, sys_ in enumerate(systems):
        if not 1 <= len(sys_) <= MAX_MAPS:
            raise ValueError(f"a system needs 1 to {MAX_MAPS} maps, got {len(sys_)}")
        maps[i, :len(sys_)] = sys_
    return maps


def map_probabilities(maps: np.ndarray) -> np.ndarray:
    """p_i ∝ |det A_i| per system of a stack (B, MAX_MAPS, 2, 3); uniform over real maps if all dets are 0."""
    det = np.abs(maps[..., 0, 0] * maps[..., 1, 1] - maps[..., 0, 1] * maps[..., 1, 0])
    real = np.abs(maps).sum((-1, -2)) > 0
    total = det.sum(1, keepdims=True)
    return np.where(total > 0, det / np.where(total > 0, total, 1), real / real.sum(1, keepdims=True))


def jitter_stack(maps: np.ndarray, rng: np.random.Generator, scale: tuple[float, float] = (0.8, 1.1)) -> np.ndarray:
    """:func:`jitter` for a whole stack at once: one real map per system scaled by U(scale), unless it would expand."""
    out = maps.copy()
    n_real = (np.abs(maps).sum((-1, -2)) > 0).sum(1)
    k = (rng.random(len(maps)) * n_real).astype(int)
    rows = np.arange(len(maps))
    scaled = out[rows, k] * rng.uniform(*scale, (len(maps), 1, 1))
    ok = np.linalg.svd(scaled[:, :, :2], compute_uv=False).max(1) <= 1
    out[rows[ok], k[ok]] = scaled[ok]
    return out


def chaos_game(systems: Sequence[np.ndarray] | np.ndarray, n_points: int, rng: np.random.Generator, *, walkers: int = 64,
               burn_in: int = 4) -> np.ndarray:
    """Points on each system's attractor by random iteration, all systems at once: (B, n_points, 2).

    Every walker starts at x_0 = (I − A_1)⁻¹ b_1, the fixed point of the first map, which lies on the attractor,
    so every iterate lies on it too. ``walkers`` independent walkers per system run ⌈n_points / walkers⌉ steps
    after ``burn_in`` unrecorded steps (which only spread the walkers apart); running walkers in parallel
    instead of one long walk turns a few thousand sequential steps into a few dozen vectorised ones. Each step
    applies map i with probability p_i ∝ |det A_i|. Non-finite points (a non-contractive system that diverged)
    are returned as NaN.
    """
    maps = stack_systems(systems)
    prob = map_probabilities(maps)
    b = len(maps)
    a1, b1 = maps[:, 0, :, :2], maps[:, 0, :, 2]
    with np.errstate(all="ignore"):
        x0 = np.linalg.solve(np.eye(2)[None] - a1 + 1e-9 * np.eye(2)[None], b1[..., None])[..., 0]
    cum = np.cumsum(prob, 1)
    cum[:, -1] = 1.0 + 1e-9
    steps = -(-n_points // walkers)
    x = np.repeat(x0[:, None, :], walkers, 1)                           # (B, W, 2)
    out = np.empty((b, steps, walkers, 2))
    rows = np.arange(b)[:, None]
    with np.errstate(all="ignore"):
        for t in range(burn_in + steps):
            choice = (rng.random((b, walkers, 1)) > cum[:, None, :]).sum(-1)   # inverse-CDF draw of the map
            m = maps[rows, choice]                                     # (B, W, 2, 3): each walker's map
            x = np.einsum("bwij,bwj->bwi", m[..., :2], x) + m[..., 2]  # x ← A_i x + b_i
            if t >= burn_in:
                out[:, t - burn_in] = x
    out = out.reshape(b, steps * walkers, 2)[:, :n_points]
    out[~np.isfinite(out)] = np.nan
    return out


def render(coords: np.ndarray, size: int, region: np.ndarray | None = None) -> np.ndarray:
    """Graded rendering: each pixel counts the points that fall in it, divided by the image's maximum.

    ``coords`` (B, T, 2); ``region`` (B, 4) = [xmin, ymin, xmax, ymax] per image (default: the points' own
    bounding box). Points outside the region are dropped. Returns (B, size, size) in [0, 1]; the first
    coordinate indexes rows, as in the official renderer.
    """
    b, t, _ = coords.shape
    if region is None:
        region = np.concatenate([np.nanmin(coords, 1), np.nanmax(coords, 1)], 1)
    lo, hi = region[:, None, :2], region[:, None, 2:]
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    with np.errstate(invalid="ignore"):
        pix = np.floor((coords - lo) / span * (size - 1)).astype(np.float64)
    ok = np.isfinite(pix).all(-1) & (pix >= 0).all(-1) & (pix < size).all(-1)
    pix = np.where(ok[..., None], pix, 0).astype(np.int64)
    flat = (np.arange(b)[:, None] * size * size + pix[..., 0] * size + pix[..., 1])[ok]
    img = np.bincount(flat, minlength=b * size * size).reshape(b, size, size).astype(np.float32)
    return img / np.maximum(img.max(axis=(1, 2), keepdims=True), 1.0)


def spectral_background(n: int, size: int, rng: np.random.Generator, slope: float = 2.0) -> np.ndarray:
    """1/f^(slope/2)-amplitude noise (power ∝ 1/f^slope), scaled to [0, 1] per image: (n, size, size)."""
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    f[0, 0] = 1.0
    amp = f ** (-slope / 2)
    amp[0, 0] = 0.0
    phase = np.fft.fft2(rng.standard_normal((n, size, size)))
    img = np.real(np.fft.ifft2(phase * amp))
    lo, hi = img.min(axis=(1, 2), keepdims=True), img.max(axis=(1, 2), keepdims=True)
    return ((img - lo) / np.maximum(hi - lo, 1e-9)).astype(np.float32)


@dataclass(frozen=True)
class FractalSpec:
    """Rendering knobs (defaults follow the official generator where it applies)."""

    size: int = 32                          # image side in pixels
    points: int = 512                       # chaos-game points per instance
    n_objects: tuple[int, int] = (1, 4)     # instances per multi-instance image, inclusive
    object_size: tuple[float, float] = (0.3, 0.7)   # instance side as a fraction of the image side
    background: float = 0.35                # background contrast (0: black)
    brightness: tuple[float, float] = (0.5, 1.0)    # instance intensity range
    floor: float = 0.4                      # a visited pixel's intensity: val · (floor + (1 − floor) · visits/max);
                                            # 1 is a flat silhouette, as the official HSV value channel


def _flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random transpose and flips per image (the official flips)."""
    out = images.copy()
    n = len(out)
    t, v, h = rng.random((3, n)) > 0.5
    out[t] = out[t].transpose(0, 2, 1)
    out[v] = out[v][:, ::-1]
    out[h] = out[h][:, :, ::-1]
    return out


def single_instance_batch(systems: Sequence[np.ndarray], labels: np.ndarray, rng: np.random.Generator,
                          spec: FractalSpec = FractalSpec(), jitter_maps: bool = True) -> np.ndarray:
    """One fractal per image, filling the frame with random zoom (0.5–2×) and shift (±20 %), flips, background.

    ``labels`` (N,) index ``systems``; returns (N, size, size) float32 in [0, 1].
    """
    maps = stack_systems(systems)[np.asarray(labels)]
    pts = chaos_game(jitter_stack(maps, rng) if jitter_maps else maps, spec.points, rng)
    box = np.concatenate([np.nanmin(pts, 1), np.nanmax(pts, 1)], 1)
    centre, extent = (box[:, :2] + box[:, 2:]) / 2, box[:, 2:] - box[:, :2]
    centre = centre + extent * rng.uniform(-0.2, 0.2, (len(pts), 2))
    extent = extent * rng.uniform(0.5, 2.0, (len(pts), 2)) / 2
    fg = _flip(render(pts, spec.size, np.concatenate([centre - extent, centre + extent], 1)), rng)
    bg = spec.background * spectral_background(len(pts), spec.size, rng)
    val = rng.uniform(*spec.brightness, (len(pts), 1, 1))
    return np.where(fg > 0, val * (spec.floor + (1 - spec.floor) * fg), bg).astype(np.float32)


def multi_instance_batch(systems: Sequence[np.ndarray], n_images: int, rng: np.random.Generator,
                         spec: FractalSpec = FractalSpec(), jitter_maps: bool = True
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Images holding 1–4 fractals each (random systems, sizes, places), and the multi-hot labels (N, K).

    Each instance is rendered straight into its own square window of the image (side 30–70 % of the image,
    anywhere with at least half of it inside), later instances drawn over earlier ones, on a 1/f background.
    """
    k_sys, s = len(systems), spec.size
    counts = rng.integers(spec.n_objects[0], spec.n_objects[1] + 1, n_images)
    owner = np.repeat(np.arange(n_images), counts)                     # image of each instance
    which = rng.integers(0, k_sys, len(owner))                          # system of each instance
    labels = np.zeros((n_images, k_sys), np.float32)
    labels[owner, which] = 1.0
    maps = stack_systems(systems)[which]
    pts = chaos_game(jitter_stack(maps, rng) if jitter_maps else maps, spec.points, rng)
    box = np.concatenate([np.nanmin(pts, 1), np.nanmax(pts, 1)], 1)
    side = rng.uniform(*spec.object_size, len(owner)) * s               # window side in pixels
    corner = rng.uniform(-side[:, None] / 2, s - side[:, None] / 2, (len(owner), 2))
    unit = (pts - box[:, None, :2]) / np.maximum(box[:, None, 2:] - box[:, None, :2], 1e-9)   # into [0, 1]²
    flip = rng.random((len(owner), 3)) > 0.5
    unit = np.where(flip[:, None, :1], unit[..., ::-1], unit)           # transpose
    unit = np.where(flip[:, None, 1:], 1 - unit, unit)                  # flips
    placed = corner[:, None, :] + unit * side[:, None, None]            # pixel coordinates in the image
    fg = render(placed, s, np.tile([0.0, 0.0, s - 1.0, s - 1.0], (len(owner), 1)) * (s / (s - 1)))
    val = rng.uniform(*spec.brightness, len(owner))
    images = spec.background * spectral_background(n_images, s, rng)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)   # instance number in its image
    for k in range(int(counts.max())):                                 # painter's order: later instances on top
        j = np.flatnonzero(slot == k)
        layer = fg[j]
        images[owner[j]] = np.where(layer > 0, val[j, None, None] * (spec.floor + (1 - spec.floor) * layer), images[owner[j]])
    return images.astype(np.float32), labels
