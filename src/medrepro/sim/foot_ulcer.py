"""Simulated diabetic-foot-ulcer patches with a semantic map: infection and ischaemia as colour findings.

A miniature of DFUC 2021 (Yap et al. 2021): square colour patches centred on a foot ulcer, four classes
(:data:`CLASSES`: none, infection, ischaemia, both). Every image comes with its **semantic map**
(:data:`REGIONS`: skin, wound bed, infection halo, ischaemic patch), the kind of label map a pix2pix(HD)
generator renders from. What each class looks like:

- all: skin of a per-image tone (light to dark) under a lighting gradient and a smooth texture, and an elliptic
  wound bed (red granulation mixed with yellow slough) of random size, elongation and position; in a fraction of
  images dark **necrotic spots** (dried blood, eschar) inside the wound — a dark finding that is *not* ischaemia;
- infection: a warm red, swollen **halo** around the wound (erythema) and pale-yellow exudate spots in the bed;
- ischaemia: a dusky, blue-purple **patch** of skin next to the wound (a blob on one side, at a random angle);
- both: halo and patch.

Each finding has a per-image strength (some are faint), and the ischaemic patch's colour is a shift of the local
skin tone, so it looks different on light and dark skin. Gaussian noise; JPEG compression when written to disk.

Realistic: the four DFUC classes, their colour cues as described by clinicians (erythema, exudate, dusky or
bluish skin), their class imbalance (``prevalence``), varied skin tones and lighting. Not modelled: real foot
anatomy, toes and background, callus, depth, scale, several photographs of one ulcer, camera colour casts beyond
a global gain, label noise between graders. Vectorised over images, deterministic by seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The four DFUC 2021 classes, in label order (the column order of its train.csv).
CLASSES: tuple[str, ...] = ("none", "infection", "ischaemia", "both")
#: The regions of the semantic map, in label order.
REGIONS: tuple[str, ...] = ("skin", "wound bed", "infection halo", "ischaemic patch")
#: DFUC 2021's labelled training-set shares (5,955 images: 2,552 none, 2,555 infection, 227 ischaemia, 621 both).
DFUC_PREVALENCE: tuple[float, ...] = (2552 / 5955, 2555 / 5955, 227 / 5955, 621 / 5955)


@dataclass(frozen=True)
class UlcerSpec:
    """Knobs of the simulator (defaults: the smoke run's calibrated difficulty).

    ``strength`` is the range of a finding's per-image strength (1: textbook); ``necrosis`` the probability of
    dark necrotic spots in any wound; ``texture`` the skin texture amplitude; ``noise`` the pixel noise (std);
    ``gain`` the range of the global camera gain.
    """

    size: int = 32
    wound_radius: tuple[float, float] = (0.2, 0.32)
    strength: tuple[float, float] = (0.35, 1.0)
    necrosis: float = 0.35
    texture: float = 0.05
    noise: float = 0.025
    gain: tuple[float, float] = (0.8, 1.15)


@dataclass
class UlcerBatch:
    """``images`` (N, 3, H, W) float32 in [0, 1]; ``maps`` (N, H, W) int64 region labels; ``labels`` the class."""

    images: np.ndarray
    maps: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...] = CLASSES
    regions: tuple[str, ...] = REGIONS


def draw_labels(n: int, prevalence=DFUC_PREVALENCE, seed: int = 0) -> np.ndarray:
    """``n`` class labels drawn with the given shares (rounded counts, shuffled), so that rare classes appear."""
    p = np.asarray(prevalence, float)
    if p.shape != (len(CLASSES),) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"prevalence needs {len(CLASSES)} non-negative shares, got {prevalence}")
    counts = np.floor(p / p.sum() * n).astype(int)
    counts[np.argsort(-(p / p.sum() * n - counts))[: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(len(CLASSES)), counts)
    return np.random.default_rng(seed).permutation(labels)


def render(maps: np.ndarray, rng: np.random.Generator, spec: UlcerSpec = UlcerSpec(),
           strength: np.ndarray | None = None) -> np.ndarray:
    """Render images (N, 3, H, W) from semantic maps (N, H, W): the simulator's own "generator".

    Skin tone, lighting, texture, wound colours, necrosis, exudate and each finding's strength are drawn from
    ``rng``; ``strength`` (N, 2) fixes the halo and patch strengths instead.
    """
    n, h, w = maps.shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    # skin: tone from light (0.86, 0.67, 0.56) to dark (0.42, 0.27, 0.19), lighting gradient, smooth texture
    tone = rng.uniform(0, 1, n)[:, None]
    skin = (1 - tone) * np.array([0.86, 0.67, 0.56]) + tone * np.array([0.42, 0.27, 0.19])        # (n, 3)
    ang = rng.uniform(0, 2 * np.pi, n)
    light = 1 + 0.12 * (np.cos(ang)[:, None, None] * xx + np.sin(ang)[:, None, None] * yy)       # (n, h, w)
    freq = rng.uniform(2, 5, (n, 2))
    phase = rng.uniform(0, 2 * np.pi, (n, 2))
    tex = spec.texture * (np.sin(freq[:, :1, None] * np.pi * xx + phase[:, :1, None])
                          * np.cos(freq[:, 1:, None] * np.pi * yy + phase[:, 1:, None]))
    img = skin[:, :, None, None] * (light + tex)[:, None]
    # wound bed: granulation red mixed with yellow slough
    slough = rng.uniform(0, 0.6, n)[:, None]
    bed = (1 - slough) * np.array([0.72, 0.16, 0.15]) + slough * np.array([0.85, 0.74, 0.38])
    mottle = 0.08 * rng.standard_normal((n, 1, h, w))
    wound = maps == 1
    img = np.where(wound[:, None], bed[:, :, None, None] * (1 + mottle), img)
    if strength is None:
        lo, hi = spec.strength
        strength = rng.uniform(lo, hi, (n, 2))
    s_halo, s_patch = strength[:, 0, None, None, None], strength[:, 1, None, None, None]
    # infection halo: erythema, a warm red shift of the skin; exudate: pale-yellow spots in the bed
    halo = (maps == 2)[:, None]
    red = np.array([0.95, 0.35, 0.32])[None, :, None, None]
    img = np.where(halo, (1 - 0.7 * s_halo) * img + 0.7 * s_halo * red, img)
    infected = (maps == 2).any(axis=(1, 2))
    spots = (rng.uniform(0, 1, (n, 1, h, w)) < 0.10 * infected[:, None, None, None]) & wound[:, None]
    img = np.where(spots, (1 - 0.8 * s_halo) * img + 0.8 * s_halo * np.array([0.95, 0.92, 0.70])[None, :, None, None],
                   img)
    # ischaemic patch: dusky blue-purple, a darkening of the local skin towards blue
    patch = (maps == 3)[:, None]
    dusky = img * np.array([0.55, 0.5, 0.85])[None, :, None, None] + np.array([0.05, 0.03, 0.16])[None, :, None, None]
    img = np.where(patch, (1 - s_patch) * img + s_patch * dusky, img)
    # necrotic spots (any class): near-black dots in the wound, a dark finding that is not ischaemia
    necro = rng.uniform(0, 1, n) < spec.necrosis
    nspots = (rng.uniform(0, 1, (n, 1, h, w)) < 0.25 * necro[:, None, None, None]) & wound[:, None]
    img = np.where(nspots, 0.25 * img, img)
    gain = rng.uniform(*spec.gain, n)[:, None, None, None]
    img = img * gain + spec.noise * rng.standard_normal(img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def draw_maps(labels: np.ndarray, rng: np.random.Generator, spec: UlcerSpec = UlcerSpec()) -> np.ndarray:
    """Semantic maps (N, H, W) for the given class labels: wound bed, plus halo (infection) and patch (ischaemia)."""
    labels = np.asarray(labels)
    n, h = len(labels), spec.size
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, h), indexing="ij")
    cx, cy = rng.uniform(-0.2, 0.2, (2, n))[:, :, None, None]
    r = rng.uniform(*spec.wound_radius, n)[:, None, None]
    elong = rng.uniform(0.7, 1.3, n)[:, None, None]
    theta = rng.uniform(0, np.pi, n)[:, None, None]
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    rho = np.sqrt((u / elong) ** 2 + (v * elong) ** 2) / r                  # 1 on the wound's edge
    maps = np.zeros((n, h, h), np.int64)
    infected = np.isin(labels, (1, 3))[:, None, None]
    ischaemic = np.isin(labels, (2, 3))[:, None, None]
    width = rng.uniform(0.5, 0.9, n)[:, None, None]
    maps[infected & (rho < 1 + width)] = 2
    # the ischaemic patch: a blob beside the wound, at a random angle
    phi = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    pr = rng.uniform(0.22, 0.34, n)[:, None, None]
    dist = r * 1.05 + pr * 0.6
    px, py = cx + dist * np.cos(phi), cy + dist * np.sin(phi)
    blob = ((xx - px) ** 2 + (yy - py) ** 2) < pr ** 2
    maps[ischaemic & blob] = 3
    maps[rho < 1] = 1
    return maps


def add_patch(maps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Edit semantic maps: paint an ischaemic patch (region 3) beside each map's wound bed, at a random angle.

    This is how rare-class maps are made from common-class ones: a map of a ``none`` image becomes an
    ``ischaemia`` map, a map of an ``infection`` image a ``both`` map. Maps without a wound bed get a patch at a
    random place.
    """
    maps = np.array(maps, copy=True)
    n, h, w = maps.shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    wound = maps == 1
    area = wound.sum(axis=(1, 2))
    safe = np.maximum(area, 1)
    cx = np.where(area > 0, (wound * xx).sum(axis=(1, 2)) / safe, rng.uniform(-0.3, 0.3, n))
    cy = np.where(area > 0, (wound * yy).sum(axis=(1, 2)) / safe, rng.uniform(-0.3, 0.3, n))
    r = np.sqrt(np.maximum(area, 8) / np.pi) * 2 / h                        # wound radius in [-1, 1] units
    phi = rng.uniform(0, 2 * np.pi, n)
    pr = rng.uniform(0.22, 0.34, n)
    dist = r * 1.05 + pr * 0.6
    px, py = cx + dist * np.cos(phi), cy + dist * np.sin(phi)
    blob = ((xx - px[:, None, None]) ** 2 + (yy - py[:, None, None]) ** 2) < pr[:, None, None] ** 2
    maps[blob & ~wound] = 3
    return maps


def simulate_ulcers(n: int, *, prevalence=DFUC_PREVALENCE, spec: UlcerSpec = UlcerSpec(), seed: int = 0,
                    labels: np.ndarray | None = None) -> UlcerBatch:
    """Simulate ``n`` ulcer patches (classes drawn with ``prevalence`` unless ``labels`` are given)."""
    rng = np.random.default_rng(seed)
    labels = draw_labels(n, prevalence, seed=seed + 1) if labels is None else np.asarray(labels, np.int64)
    maps = draw_maps(labels, rng, spec)
    images = render(maps, rng, spec)
    return UlcerBatch(images=images, maps=maps, labels=labels.astype(np.int64))


def label_of_map(maps: np.ndarray) -> np.ndarray:
    """The class a map stands for: infection when it has a halo, ischaemia when it has a patch, both when both."""
    halo = (maps == 2).any(axis=(1, 2))
    patch = (maps == 3).any(axis=(1, 2))
    return (halo.astype(np.int64) + 2 * patch.astype(np.int64)).astype(np.int64) if len(maps) else np.zeros(0, np.int64)
