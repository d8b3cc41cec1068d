"""Single-cell crops from fluorescence "assays" that image different channel sets, in different orders.

A channel-adaptive model (ChAda-ViT, paper 54) must read images whose channels differ from one experiment to the
next: a 5-stain Cell-Painting-like assay, a 3-stain assay that lists its stains in another order, a DNA-only
screen. :func:`simulate_assay` draws ``n`` cell crops of one assay, vectorised over cells, as float32
``(n, len(stains), size, size)`` in [0, 1], with a phenotype per cell and the field each cell was imaged in.

Stains (:data:`STAINS`), one cell per crop:

============== ==========================================================================================
``DNA``        the nucleus: a filled ellipse with chromatin texture
``actin``      the cytoplasm with oriented fibres
``membrane``   a ring on the cell's outline
``mito``       cytoplasmic texture with fine puncta
``ER``         the same generator as ``mito`` (identically distributed by design)
============== ==========================================================================================

Phenotypes (:data:`PHENOTYPES`), each with its evidence in **one** stain:

* ``control`` — nothing changed;
* ``condensed`` — the nucleus shrinks and brightens (DNA);
* ``mito-puncta`` — bright enlarged puncta in the mitochondria stain only;
* ``ER-puncta`` — the same puncta in the ER stain only.

``mito`` and ``ER`` are drawn by the same generator, so the two puncta phenotypes differ **only in which channel
carries the puncta**: a model that averages the channels, or that attends over channels without knowing which is
which, cannot tell them apart (the designed task of the ChAda-ViT notebook). Phenotype strength varies per cell
(penetrance) and fields carry their own gain and background (a batch effect), so accuracy stays below the ceiling
and fields are the bootstrap unit.

Realistic: one cell per crop with nucleus inside cytoplasm, stain-specific textures, Poisson photon noise,
per-field gain and background. Not modelled: real morphology and its variability, neighbouring cells, out-of-focus
blur, bleed-through between channels, real mitochondria and ER morphology (here identical by design), cell-cycle
states, illumination vignetting, 16-bit camera ranges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .modalities import _smooth  # unit-variance smoothed noise, shared with the modality simulator

STAINS: tuple[str, ...] = ("DNA", "actin", "membrane", "mito", "ER")
PHENOTYPES: tuple[str, ...] = ("control", "condensed", "mito-puncta", "ER-puncta")


@dataclass
class AssayBatch:
    """Cells ``images`` (n, C, size, size) float32 in [0, 1] with ``stains`` naming the C channels in order,
    ``phenotype`` (n,) indices into :data:`PHENOTYPES`, ``field`` (n,) the field each cell was imaged in."""

    images: np.ndarray
    stains: tuple[str, ...]
    phenotype: np.ndarray
    field: np.ndarray
    assay: str


def _organelle(rng, n, size, cyto, puncta_on, strength):
    """Cytoplasmic texture with fine puncta; ``puncta_on`` cells get bright enlarged puncta scaled by strength."""
    on = (puncta_on * strength)[:, None, None]
    base = cyto * np.clip(0.25 + 0.1 * _smooth(rng, n, size, 1.0), 0, 1) * (1 + 1.2 * on)   # swollen, brighter
    fine = ndimage.gaussian_filter((rng.random((n, size, size)) < 0.05) * 1.0, (0, 0.6, 0.6)) * 2.5
    big = ndimage.gaussian_filter((rng.random((n, size, size)) < 0.02) * 1.0, (0, 1.1, 1.1)) * 14
    return np.clip(base + 0.35 * fine * cyto + on * big * cyto, 0, 1)


def simulate_assay(n: int, stains: tuple[str, ...] | list[str], *, phenotypes: tuple[int, ...] = (0, 1, 2, 3),
                   size: int = 32, cells_per_field: int = 16, seed: int = 0, assay: str = "assay",
                   penetrance: tuple[float, float] = (0.5, 1.0)) -> AssayBatch:
    """Simulate ``n`` cells of an assay imaging ``stains`` (names from :data:`STAINS`, in the assay's order).

    ``phenotypes`` are the phenotype indices the assay's wells show (drawn uniformly per cell); each cell's
    phenotype strength is drawn uniformly in ``penetrance`` (lower: subtler). Cells come in fields of
    ``cells_per_field``; each field has its own gain and background per stain. Deterministic by ``seed``
    (the same seed and ``n`` draw the same cells whatever ``stains`` lists; only their photon noise differs).
    """
    stains = tuple(stains)
    unknown = [s for s in stains if s not in STAINS]
    if unknown or not stains:
        raise ValueError(f"stains must be a non-empty selection of {STAINS}, got {stains}")
    if len(set(stains)) != len(stains):
        raise ValueError(f"a stain appears twice in {stains}")
    if any(not 0 <= p < len(PHENOTYPES) for p in phenotypes) or not phenotypes:
        raise ValueError(f"phenotypes are indices into {PHENOTYPES}, got {phenotypes}")
    if n < 0 or size < 16 or cells_per_field < 1:
        raise ValueError(f"need n >= 0, size >= 16 and cells_per_field >= 1, got {n}, {size}, {cells_per_field}")
    rng = np.random.default_rng([seed, 54])
    ph = np.asarray(phenotypes)[rng.integers(0, len(phenotypes), n)]
    strength = rng.uniform(*penetrance, n)
    field = np.arange(n) // cells_per_field
    n_fields = int(field.max()) + 1 if n else 0

    c = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")

    def u(lo, hi):
        return rng.uniform(lo, hi, n)[:, None, None]

    cx, cy, ang = u(-0.15, 0.15), u(-0.15, 0.15), u(0, np.pi)
    ca, cb = u(0.6, 0.85), u(0.45, 0.7)
    cr, sr = np.cos(ang), np.sin(ang)
    uu, vv = (x - cx) * cr + (y - cy) * sr, -(x - cx) * sr + (y - cy) * cr
    r_cell = np.sqrt((uu / ca) ** 2 + (vv / cb) ** 2)
    cyto = 1 / (1 + np.exp(np.clip((r_cell - 1) / 0.05, -50, 50)))
    shrink = np.where(ph == 1, 1 - 0.45 * strength, 1.0)[:, None, None]             # condensed nucleus
    na, nb = u(0.25, 0.36) * shrink, u(0.2, 0.3) * shrink
    r_nuc = np.sqrt(((x - cx - u(-.05, .05)) / na) ** 2 + ((y - cy - u(-.05, .05)) / nb) ** 2)
    nucleus = 1 / (1 + np.exp(np.clip((r_nuc - 1) / 0.06, -50, 50)))
    bright = np.where(ph == 1, 1 + 0.8 * strength, 1.0)[:, None, None]
    dna = np.clip(nucleus * 0.55 * bright * (1 + 0.15 * _smooth(rng, n, size, 0.8)), 0, 1)
    fib = ndimage.gaussian_filter(rng.standard_normal((n, size, size)), (0, 0.5, 2.5))
    actin = np.clip(cyto * (0.35 + 0.5 * np.abs(fib) / fib.std(axis=(1, 2), keepdims=True).clip(1e-9) * 0.5), 0, 1)
    membrane = np.clip(np.exp(-((r_cell - 1) / 0.08) ** 2) * 0.7, 0, 1)
    mito = _organelle(rng, n, size, cyto, (ph == 2).astype(float), strength)
    er = _organelle(rng, n, size, cyto, (ph == 3).astype(float), strength)
    all_ = {"DNA": dna, "actin": actin, "membrane": membrane, "mito": mito, "ER": er}
    gain = rng.uniform(0.8, 1.0, (max(n_fields, 1), len(STAINS)))                   # per field and stain
    bg = rng.uniform(0.0, 0.06, (max(n_fields, 1), len(STAINS)))
    out = []
    for s in stains:
        k = STAINS.index(s)
        img = all_[s] * gain[field, k][:, None, None] + bg[field, k][:, None, None]
        out.append(rng.poisson(np.clip(img, 0, 1) * 120 + 1) / 120.0)             # photon noise
    images = np.clip(np.stack(out, 1), 0, 1).astype(np.float32) if n else np.zeros((0, len(stains), size, size),
                                                                                      np.float32)
    return AssayBatch(images, stains, ph.astype(np.int64), field.astype(np.int64), assay)
