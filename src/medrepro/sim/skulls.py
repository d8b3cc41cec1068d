"""Skull-like 3-D shells with cranial defects, for shape-completion (AutoImplant / SkullBreak-style) tasks.

A subject's cranial vault is the solid between two closed surfaces: an outer surface in polar form
:math:`\\rho = R(\\mathbf d)` around the head centre, with :math:`R` an ellipsoid (per-subject half-widths
left-right ``a``, front-back ``b``, up-down ``c``) times :math:`1 + m(\\mathbf d)`, a few low-order shape modes
(frontal bossing, occipital bulge, vertex height) that are **even in the left-right coordinate** — so the shell is
mirror-symmetric — plus a small **odd** term (plagiocephaly-like asymmetry, ``asym``) so that it is only nearly so;
and an inner surface ``thickness`` voxels inside it. Everything below a cut plane (the skull base) is removed,
leaving a bowl. Axis 0 is left-right (the mirror axis), axis 1 front-back, axis 2 foot-head.

A **defect** removes every shell voxel whose direction from the head centre lies within an angle ``psi`` of a
defect direction :math:`\\mathbf d_0` — a clean cut through the whole bone thickness, like the synthetic defects
of SkullBreak/SkullFix; the removed part is the **implant**. *Unilateral* defects keep their whole cone on one
side of the midline plane; *midline* defects are centred on it, so the mirror image of the hole is (nearly) the
hole itself.

Realistic: per-subject size and shape variation of the vault, near but imperfect bilateral symmetry, variable
bone thickness, through-thickness defects of controlled size and position with a known implant.
Not modelled: the facial skeleton, skull base, foramina, sutures, diploë (spongy bone) and its porosity, the
jagged or bevelled edges of real craniotomies, CT noise and segmentation errors, pose differences between
subjects (all are centred and aligned). Deterministic by seed; vectorised over voxels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFECT_TYPES = ("unilateral", "midline")


@dataclass(frozen=True)
class SkullSpec:
    """Shape-variation knobs (lengths in voxels of a ``size``³ grid)."""

    size: int = 24
    half_width: tuple[float, float] = (7.6, 9.2)       # a: left-right
    half_length: tuple[float, float] = (8.6, 10.4)     # b: front-back
    half_height: tuple[float, float] = (7.0, 8.8)      # c: foot-head
    thickness: tuple[float, float] = (1.5, 2.4)
    mode_sd: float = 0.06                              # sd of each symmetric shape-mode amplitude
    asym_sd: float = 0.025                             # sd of the odd (left-right asymmetric) term
    base_cut: float = -0.15                            # keep directions with d_z > base_cut
    centre_jitter: float = 0.8                         # sd of the head centre's shift (front-back, foot-head)
    psi: tuple[float, float] = (0.42, 0.62)            # defect half-angle (rad)


@dataclass
class Skull:
    """One subject: the complete vault (bool grid), its centre (voxels) and shape parameters."""

    complete: np.ndarray
    centre: np.ndarray
    params: dict


def _directions(size: int, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(size, dtype=float)
    p = np.stack(np.meshgrid(g, g, g, indexing="ij"), 0) - centre[:, None, None, None]
    rho = np.sqrt((p ** 2).sum(0))
    return p / np.maximum(rho, 1e-9), rho


def directions(size: int, centre: np.ndarray) -> np.ndarray:
    """Unit direction from ``centre`` to every voxel of a ``size``³ grid, shape (3, size, size, size)."""
    return _directions(size, np.asarray(centre, float))[0]


def vault_centre(mask: np.ndarray, base_fraction: float = 0.13) -> np.ndarray:
    """An estimate of the head centre of a vault-like mask: the bounding-box centre left-right and front-back, and
    ``base_fraction`` of the way up from its lowest voxel (where this simulator puts it for its default cut)."""
    m = np.asarray(mask, bool)
    out = []
    for ax in range(3):
        idx = np.flatnonzero(m.any(axis=tuple(a for a in range(3) if a != ax)))
        lo, hi = (idx[0], idx[-1]) if len(idx) else (0, m.shape[ax] - 1)
        out.append((lo + hi) / 2 if ax < 2 else lo + base_fraction * (hi - lo))
    return np.asarray(out, float)


def simulate_skull(rng: np.random.Generator, spec: SkullSpec = SkullSpec()) -> Skull:
    """Draw one subject's complete cranial vault."""
    n = spec.size
    a, b, c = (rng.uniform(*r) for r in (spec.half_width, spec.half_length, spec.half_height))
    t = rng.uniform(*spec.thickness)
    modes = rng.normal(0, spec.mode_sd, 3)
    asym = rng.normal(0, spec.asym_sd)
    centre = np.array([(n - 1) / 2, (n - 1) / 2 + rng.normal(0, spec.centre_jitter),
                       (n - 1) / 2 - 0.22 * n + rng.normal(0, spec.centre_jitter)])
    d, rho = _directions(n, centre)
    dx, dy, dz = d
    ell = 1.0 / np.sqrt((dx / a) ** 2 + (dy / b) ** 2 + (dz / c) ** 2)
    m = (modes[0] * dy * np.abs(dy) * (dy > 0)         # frontal bossing (even in dx)
         + modes[1] * dy ** 2 * (dy < 0)               # occipital bulge
         + modes[2] * dz ** 3                          # vertex height
         + asym * dx * (1 + dy) / 2)                   # odd in dx: mild asymmetry, mostly at the back
    r_out = ell * (1 + m)
    shell = (rho <= r_out) & (rho >= r_out - t) & (dz > spec.base_cut)
    shell[[0, -1]] = shell[:, [0, -1]] = shell[:, :, [0, -1]] = False   # keep a background border
    shift = grid_shift(shell)           # centre the bounding box as the MedShapeNet loader does
    shell = np.roll(shell, -shift, axis=(0, 1, 2))
    return Skull(shell, centre - shift, dict(a=a, b=b, c=c, thickness=t, modes=modes, asym=asym))


def grid_shift(mask: np.ndarray) -> np.ndarray:
    """Whole-voxel shift per axis that puts the mask's bounding-box centre ``m`` where
    :func:`medrepro.data.datasets.medshapenet.grid_for` puts a mesh's: ``floor(m - (n - 1) / 2 + 0.5)``."""
    out = []
    for ax in range(3):
        idx = np.flatnonzero(np.asarray(mask).any(axis=tuple(a for a in range(3) if a != ax)))
        m = (idx[0] + idx[-1]) / 2 if len(idx) else (mask.shape[ax] - 1) / 2
        out.append(int(np.floor(m - (mask.shape[ax] - 1) / 2 + 0.5)))
    return np.asarray(out)


def defect_direction(rng: np.random.Generator, kind: str, psi: float) -> np.ndarray:
    """A unit defect direction: ``"unilateral"`` keeps the cone of half-angle ``psi`` (plus 0.08 rad) off the
    midline plane; ``"midline"`` centres it within ±0.06 of the plane (in d_x). Always on the upper vault."""
    if kind not in DEFECT_TYPES:
        raise ValueError(f"defect kind must be one of {DEFECT_TYPES}, got {kind!r}")
    for _ in range(1000):
        if kind == "unilateral":
            lo = np.sin(psi + 0.08)
            dx = rng.choice([-1, 1]) * rng.uniform(lo, lo + 0.25)
        else:
            dx = rng.uniform(-0.06, 0.06)
        dz = rng.uniform(0.35, 0.85)
        rest = 1 - dx ** 2 - dz ** 2
        if rest > 0.02:
            return np.array([dx, rng.choice([-1, 1]) * np.sqrt(rest), dz])
    raise RuntimeError("could not draw a defect direction")  # pragma: no cover


def cut_defect(complete: np.ndarray, centre: np.ndarray, direction: np.ndarray, psi: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(defective, implant)``: the shell voxels whose direction from ``centre`` is within ``psi`` of
    ``direction`` are removed (the implant); works on any binary skull grid with a known centre."""
    d, _ = _directions(complete.shape[0], np.asarray(centre, float)) if len(set(complete.shape)) == 1 else (None, None)
    if d is None:
        raise ValueError(f"cut_defect needs a cubic grid, got {complete.shape}")
    u = np.asarray(direction, float) / np.linalg.norm(direction)
    cone = np.tensordot(u, d, axes=1) >= np.cos(psi)
    implant = complete & cone
    return complete & ~cone, implant


def simulate_cohort(n_subjects: int, spec: SkullSpec = SkullSpec(), seed: int = 0,
                    kinds: tuple[str, ...] = DEFECT_TYPES) -> list[dict]:
    """``n_subjects`` skulls, each with one defect of every kind in ``kinds``.

    Returns one dict per subject: ``complete``, ``centre``, ``params`` and ``defects`` = {kind: dict(defective,
    implant, direction, psi)}.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_subjects):
        s = simulate_skull(rng, spec)
        defects = {}
        for kind in kinds:
            psi = rng.uniform(*spec.psi)
            d0 = defect_direction(rng, kind, psi)
            defective, implant = cut_defect(s.complete, s.centre, d0, psi)
            defects[kind] = dict(defective=defective, implant=implant, direction=d0, psi=psi)
        out.append(dict(complete=s.complete, centre=s.centre, params=s.params, defects=defects))
    return out


def mirror_lr(mask: np.ndarray) -> np.ndarray:
    """Left-right mirror image (axis 0) about the grid's centre plane."""
    return np.asarray(mask)[::-1]


def symmetry_dice(mask: np.ndarray, max_shift: int = 3) -> float:
    """Dice of a mask with its left-right mirror image in the best-fitting mid-sagittal plane (reflections
    about the grid's centre plane shifted by up to ``max_shift`` / 2 voxels); 1 for a perfectly symmetric shape."""
    m = np.asarray(mask, bool)
    s = m.sum() * 2
    if not s:
        return 1.0
    flipped = mirror_lr(m)
    return float(max(2 * (np.roll(flipped, k, 0) & m).sum() for k in range(-max_shift, max_shift + 1)) / s)
