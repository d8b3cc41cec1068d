"""Simulated frontal chest radiographs with findings, boxes, masks and severities.

:func:`simulate_cxr` draws ``n`` posteroanterior (PA) radiographs, vectorised over images (NumPy arrays of
shape ``(n, H, W)``; the only Python loops run over findings and anatomical parts, never over images),
deterministic by seed. Each image is built as a sum of projected attenuations (a line-integral picture of
the thorax) and then "exposed": ``I = 1 - exp(-mu * A)``, so that bright means attenuating (bone, heart,
fluid) and dark means air (lungs, pneumothorax), as a radiograph is displayed (DICOM MONOCHROME2).

Realistic:
    - anatomy in the places a reader expects on a PA film displayed with the patient's right on the
      viewer's left: two lung fields with rounded apices and diaphragmatic domes (the left dome lower),
      costophrenic angles, a mediastinum and spine, a heart two thirds to the patient's left with a
      cardiothoracic ratio (CTR) drawn per patient, posterior ribs curving down laterally, clavicles,
      soft tissue of the chest wall, vascular lung markings denser near the hila;
    - six findings with a severity in [0, 1], a pixel mask and a bounding box: cardiomegaly (CTR above
      0.5), pleural effusion (basal opacity with a meniscus rising laterally), nodule (a round opacity of
      4-14 mm at a 300 mm field of view), consolidation (a fluffy opacity confined to a lung), pneumothorax
      (a lateral-apical rim without lung markings, bounded by a thin visceral pleural line) and atelectasis
      (a plate-like band with elevation of the hemidiaphragm on its side); findings co-occur independently
      at prevalences the caller sets, so classes overlap as in real data;
    - per-patient variation (body size, lung height, diaphragm level, heart size and position, rib spacing)
      and acquisition variation: exposure (mu and a display gamma), patient rotation, scatter (a blurred
      veil that lowers contrast), quantum noise that grows with the signal, and a lead side marker (an "L"
      or "R" in a corner), which a network can learn as a shortcut as it can on real films;
    - a left-lateral (LL) film of the same patient (:func:`render_lateral`, :func:`render_view`): the same
      anatomy and findings seen from the side, for multi-view models.
Not modelled:
    - real anatomy (vessels as a tree, the hila, the trachea and bronchi, breast shadows, scapulae,
      anterior ribs, the aortic knob), AP supine films, devices (tubes, lines, pacemakers),
      the physics of the detector (MTF, heel effect, grids), post-processing of commercial CR/DX systems,
      the statistics of real findings (position, texture, their correlations with age and with each other),
      and the 14 labels of ChestX-ray14 (infiltration, mass, pneumonia and others are not drawn).

Coordinates are fractions of the image side: ``x`` from the image's left (the patient's right) to right,
``y`` from top to bottom. Boxes are ``(x0, y0, x1, y1)`` in pixels, inclusive-exclusive, NaN when absent.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

#: The findings the simulator draws, in label order.
FINDINGS: tuple[str, ...] = ("cardiomegaly", "effusion", "nodule", "consolidation", "pneumothorax", "atelectasis")

#: Default prevalence of each finding (independent draws): imbalanced, as in hospital data.
DEFAULT_PREVALENCE: dict[str, float] = {"cardiomegaly": 0.15, "effusion": 0.15, "nodule": 0.08,
                                        "consolidation": 0.12, "pneumothorax": 0.06, "atelectasis": 0.12}

#: A 5 x 3 bitmap of the side-marker letters.
_LETTERS = {"L": np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 1]], bool),
            "R": np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [1, 0, 1], [1, 0, 1]], bool)}


@dataclass(frozen=True)
class CxrSpec:
    """Knobs of the simulator.

    Args:
        size: image side in pixels (64-128 for smoke runs; the anatomy scales with it).
        prevalence: chance of each finding per image (independent draws); missing findings are never drawn.
        severity: range of the severity of a present finding (0: barely visible, 1: florid).
        anatomy_var: scales every per-patient anatomical jitter (0: one template patient).
        rotation_deg: standard deviation of the patient's rotation in degrees.
        exposure: range of the attenuation scale ``mu`` (under- to over-penetrated films).
        gamma: range of the display gamma.
        scatter: range of the scatter fraction (a blurred veil mixed into the image).
        noise: range of the quantum-noise standard deviation at full signal.
        marker_prob: chance that a side marker is burnt into a corner.
        texture: amplitude of the vascular lung markings.
    """

    size: int = 64
    prevalence: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PREVALENCE))
    severity: tuple[float, float] = (0.25, 1.0)
    anatomy_var: float = 1.0
    rotation_deg: float = 2.0
    exposure: tuple[float, float] = (1.6, 2.4)
    gamma: tuple[float, float] = (0.8, 1.25)
    scatter: tuple[float, float] = (0.05, 0.3)
    noise: tuple[float, float] = (0.01, 0.04)
    marker_prob: float = 0.7
    texture: float = 0.12


@dataclass
class CxrParams:
    """Everything drawn per image before rendering (arrays of shape ``(n,)`` unless stated).

    Keeping the draws apart from the rendering lets a prior study of the same patient be rendered with the
    same anatomy and other severities (:func:`prior_params`).
    """

    labels: np.ndarray            # (n, K) bool
    severity: np.ndarray          # (n, K) float in [0, 1], 0 where absent
    side: np.ndarray              # (n, K) -1 (patient's right, image left) or +1, per finding
    where: np.ndarray             # (n, K, 2) position of focal findings: fraction along the lung height, lateral
    anatomy: dict[str, np.ndarray]
    acquisition: dict[str, np.ndarray]
    texture_seed: np.ndarray      # (n,) int: seeds the lung markings of each patient

    @property
    def n(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "CxrParams":
        index = np.asarray(index)
        return CxrParams(self.labels[index], self.severity[index], self.side[index], self.where[index],
                         {k: v[index] for k, v in self.anatomy.items()},
                         {k: v[index] for k, v in self.acquisition.items()}, self.texture_seed[index])


@dataclass
class CxrBatch:
    """Simulated radiographs and their truth.

    ``images`` float32 ``(n, H, W)`` in [0, 1], bright = attenuating (MONOCHROME2 display);
    ``labels`` bool ``(n, K)``; ``severity`` ``(n, K)``; ``masks`` bool ``(n, K, H, W)``; ``boxes``
    ``(n, K, 4)`` pixels ``(x0, y0, x1, y1)``, NaN where absent; ``lung_mask`` bool ``(n, H, W)``;
    ``meta`` per-image facts (``ctr``, ``mu``, ``rotation_deg``, ``marker`` 0 none / 1 L / 2 R, ...).
    """

    images: np.ndarray
    labels: np.ndarray
    severity: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    lung_mask: np.ndarray
    params: CxrParams
    findings: tuple[str, ...] = FINDINGS
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)


# ------------------------------------------------------------------------------------------------ drawing
def sample_params(n: int, spec: CxrSpec = CxrSpec(), *, seed: int | np.random.Generator = 0) -> CxrParams:
    """Draw the anatomy, findings and acquisition of ``n`` images (no rendering)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    unknown = set(spec.prevalence) - set(FINDINGS)
    if unknown:
        raise ValueError(f"unknown findings {sorted(unknown)}; the simulator draws {FINDINGS}")
    K, v = len(FINDINGS), spec.anatomy_var
    prev = np.array([spec.prevalence.get(f, 0.0) for f in FINDINGS])
    labels = rng.random((n, K)) < prev
    lo, hi = spec.severity
    severity = np.where(labels, rng.uniform(lo, hi, (n, K)), 0.0)
    side = np.where(rng.random((n, K)) < 0.5, -1, 1)
    where = np.stack([rng.uniform(0.2, 0.8, (n, K)), rng.uniform(0.25, 0.75, (n, K))], axis=-1)
    ctr_normal = np.clip(rng.normal(0.44, 0.03 * v, n), 0.36, 0.49)
    k_card = FINDINGS.index("cardiomegaly")
    ctr = np.where(labels[:, k_card], 0.51 + 0.13 * severity[:, k_card], ctr_normal)
    anatomy = {
        "cx": 0.5 + rng.normal(0, 0.015 * v, n),
        "half_width": np.clip(0.38 + rng.normal(0, 0.025 * v, n), 0.32, 0.44),   # lateral lung border
        "top": 0.13 + rng.normal(0, 0.015 * v, n),                               # lung apices
        "dome": 0.74 + rng.normal(0, 0.03 * v, n),                               # right hemidiaphragm
        "dome_h": 0.07 + rng.normal(0, 0.01 * v, n),                              # height of the domes
        "ctr": ctr,
        "heart_h": 0.15 + rng.normal(0, 0.012 * v, n),                            # half-height of the heart
        "rib_spacing": 0.062 + rng.normal(0, 0.004 * v, n),
        "rib_curve": 0.9 + rng.normal(0, 0.1 * v, n),
        "soft": 0.25 + rng.normal(0, 0.05 * v, n),                                # chest wall soft tissue
    }
    acquisition = {
        "mu": rng.uniform(*spec.exposure, n),
        "gamma": rng.uniform(*spec.gamma, n),
        "rotation_deg": rng.normal(0, spec.rotation_deg, n),
        "scatter": rng.uniform(*spec.scatter, n),
        "noise": rng.uniform(*spec.noise, n),
        "marker": np.where(rng.random(n) < spec.marker_prob, rng.integers(1, 3, n), 0),
        "marker_corner": rng.integers(0, 2, n),
    }
    return CxrParams(labels, severity, side, where, anatomy, acquisition, rng.integers(0, 2**31 - 1, n))


#: Change codes of a finding between the prior and the current study.
CHANGES: tuple[str, ...] = ("absent", "new", "worse", "stable", "improved", "resolved")


def prior_params(current: CxrParams, *, seed: int = 0, change_prob: float = 0.5,
                 spec: CxrSpec = CxrSpec(), resolve_prob: float | None = None) -> tuple[CxrParams, np.ndarray]:
    """A prior study of the same patients: same anatomy, other severities, its own acquisition.

    Each finding present now was, with probability ``change_prob``, new (absent before), worse (milder
    before) or improved (worse before), and otherwise stable; a finding absent now was present before with
    probability ``resolve_prob`` (resolved; default ``change_prob / 4``; never a finding whose prevalence in
    ``spec`` is 0 when ``resolve_prob`` is given). Returns the prior's parameters and the change code of each
    finding, an index into :data:`CHANGES`, shape ``(n, K)``.
    """
    rng = np.random.default_rng(seed)
    n, K = current.labels.shape
    lab, sev = current.labels.copy(), current.severity.copy()
    u = rng.random((n, K))
    kind = rng.integers(0, 3, (n, K))                        # 0 new, 1 worse, 2 improved
    changed = lab & (u < change_prob)
    code = np.where(lab, CHANGES.index("stable"), CHANGES.index("absent"))
    code = np.where(changed, np.array([1, 2, 4])[kind], code)
    prior_lab = lab & ~(changed & (kind == 0))
    prior_sev = np.where(changed & (kind == 1), sev * rng.uniform(0.3, 0.6, (n, K)), sev)
    prior_sev = np.where(changed & (kind == 2), np.minimum(1.0, sev + rng.uniform(0.3, 0.6, (n, K))), prior_sev)
    resolved = ~lab & (rng.random((n, K)) < (change_prob / 4 if resolve_prob is None else resolve_prob))
    if resolve_prob is not None:
        resolved &= np.array([spec.prevalence.get(f, 0.0) > 0 for f in FINDINGS])
    k_card = FINDINGS.index("cardiomegaly")
    resolved[:, k_card] = False                               # a large heart does not resolve between films
    prior_lab = prior_lab | resolved
    prior_sev = np.where(resolved, rng.uniform(*spec.severity, (n, K)), np.where(prior_lab, prior_sev, 0.0))
    code = np.where(resolved, CHANGES.index("resolved"), code)
    anatomy = dict(current.anatomy)
    anatomy["ctr"] = np.where(prior_lab[:, k_card], 0.51 + 0.13 * prior_sev[:, k_card],
                              np.minimum(current.anatomy["ctr"], 0.49))
    fresh = sample_params(n, spec, seed=rng)
    prior = CxrParams(prior_lab, prior_sev, current.side, current.where, anatomy, fresh.acquisition,
                      current.texture_seed)
    return prior, code


# ---------------------------------------------------------------------------------------------- rendering
def _interp_matrix(size: int, cells: int) -> np.ndarray:
    """``(size, cells)`` linear-interpolation weights from a coarse grid of cell centres to pixel centres."""
    pos = np.clip(((np.arange(size) + 0.5) * cells / size) - 0.5, 0, cells - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, cells - 1)
    m = np.zeros((size, cells), np.float32)
    m[np.arange(size), lo] += (1 - (pos - lo)).astype(np.float32)
    m[np.arange(size), hi] += (pos - lo).astype(np.float32)
    return m


def _upsample(coarse: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of ``(n, c, c)`` to ``(n, size, size)`` (separable, two matrix products)."""
    m = _interp_matrix(size, coarse.shape[-1])
    return np.einsum("hc,ncd,wd->nhw", m, coarse.astype(np.float32), m, optimize=True)


def _smooth_noise(seeds: np.ndarray, size: int, cells: int) -> np.ndarray:
    """Per-image smooth noise, ``(n, size, size)``, unit-ish amplitude, seeded per image (patient)."""
    coarse = np.stack([np.random.default_rng(int(s)).standard_normal((cells, cells)) for s in seeds]) \
        if len(seeds) else np.zeros((0, cells, cells))
    return _upsample(coarse, size)


def _sig(d: np.ndarray, width: float) -> np.ndarray:
    """A soft step: 1 where ``d > 0``, 0 where ``d < 0``, over ``width`` (fractions of the side)."""
    return 1.0 / (1.0 + np.exp(np.clip(-d / np.float32(width), -30, 30)))


def _lung_geometry(a: dict[str, np.ndarray], y: np.ndarray, side: np.ndarray | int, x: np.ndarray | None = None):
    """Medial and lateral border offsets from ``cx`` and the dome level of one hemithorax at height ``y``.

    Arrays broadcast: ``a`` values with ``y``. ``side`` -1 is the image's left (the patient's right lung).
    Returns ``(medial, lateral, dome_y)``; ``dome_y`` needs ``x`` (the dome curves across the hemithorax).
    """
    top, dome = a["top"], a["dome"] + np.where(np.asarray(side) > 0, 0.025, 0.0)   # left dome lower
    s = np.clip((y - top) / (dome - top), 0, 1)
    lateral = a["half_width"] * (0.45 + 0.55 * np.sqrt(np.clip(s * 2.2, 0, 1)))   # rounded apex
    hw = a["ctr"] * a["half_width"] * 1.08                                           # heart half-width ~ CTR
    hc = a["dome"] - a["heart_h"] * 0.9                                           # heart centre height
    inside = np.clip(1 - ((y - hc) / a["heart_h"]) ** 2, 0, 1)
    # the heart lies 2/3 to the patient's left (the image's right): its border on each side
    heart_edge = np.where(np.asarray(side) > 0, hw * (1 + 1 / 3), hw * (1 - 1 / 3)) * np.sqrt(inside)
    medial = np.maximum(0.055 + 0.02 * s, heart_edge)
    if x is None:
        return medial, lateral, None
    centre = side * (medial + lateral) / 2
    u = np.clip((x - centre) / ((lateral - medial) / 2 + 1e-6), -1.5, 1.5)
    dome_y = dome - a["dome_h"] * np.clip(1 - (u * 0.9 + 0.15 * side) ** 2, 0, 1)
    return medial, lateral, dome_y


def render(params: CxrParams, size: int = 64, *, seed: int = 0, texture: float = 0.12,
           effusion_rise: float = 0.2) -> CxrBatch:
    """Render the radiographs of ``params`` at ``size`` × ``size`` pixels, with masks and boxes.

    ``effusion_rise``: how far (in film heights) the fluid level of an effusion rises above the dome per unit of
    severity; the default keeps the simulator's frontal film, a larger value spreads small and large effusions
    over more of the lung (for coarse image tokens that must tell them apart).
    """
    n, K = params.labels.shape
    rng = np.random.default_rng(seed)
    a = {k: v[:, None, None].astype(np.float32) for k, v in params.anatomy.items()}
    q = {k: v[:, None, None].astype(np.float32) for k, v in params.acquisition.items()}
    g = ((np.arange(size) + 0.5) / size).astype(np.float32)
    y = g[None, :, None]                                           # (1, H, 1): rows
    # patient rotation, small: a horizontal shear about the image centre (the vertical component of a
    # rotation by a few degrees moves the anatomy by less than a pixel at these sizes)
    th = np.deg2rad(q["rotation_deg"])
    xr = g[None, None, :] + np.tan(th) * (y - 0.5)                 # (n, H, W)
    dx = xr - a["cx"]
    px = 1.0 / size
    w = max(px, 0.006)                                            # edge softness: about a pixel
    # ---- the body and the lungs
    body = _sig(a["half_width"] + 0.09 - np.abs(dx), w) * _sig(y - 0.02, w)
    lung = np.zeros((n, size, size), np.float32)
    dome_map = np.zeros((n, size, size), np.float32)
    side_of = np.where(dx < 0, -1, 1)
    for s in (-1, 1):
        med, lat, dome_y = _lung_geometry(a, y, s, dx)
        off = s * dx
        inside = _sig(off - med, w) * _sig(lat - off, w) * _sig(y - a["top"], w) * _sig(dome_y - y, w)
        lung += inside
        dome_map = np.where(side_of == s, dome_y, dome_map)
    lung = np.clip(lung, 0, 1)
    # apical rounding: the apex is a dome, not a flat top
    apex = _sig(0.2 - np.hypot((np.abs(dx) - a["half_width"] * 0.55) / 0.22, (y - a["top"] - 0.2) / 0.2) + 0.8, 0.02)
    lung = lung * np.where(y < a["top"] + 0.2, np.clip(apex, 0, 1), 1)
    masks = np.zeros((n, K, size, size), bool)
    # ---- attenuation: soft tissue, bone, lungs
    A = 0.55 * body + a["soft"] * body * _sig(np.abs(dx) - a["half_width"] + 0.01, 0.02)
    A += 0.25 * _sig(0.035 - np.abs(dx), w) * _sig(y - 0.0, w)                     # spine
    A += 0.15 * _sig(y - dome_map, w) * body                                       # abdomen below the domes
    marks = _smooth_noise(params.texture_seed, size, 12) + 0.5 * _smooth_noise(params.texture_seed + 7, size, 24)
    hilum = np.exp(-((np.abs(dx) - 0.12) ** 2 / 0.02 + (y - 0.45) ** 2 / 0.05))
    air = lung * (0.5 - texture * (0.4 + hilum) * np.abs(marks))                  # air removes attenuation
    # ---- findings that change the lungs (before the air is subtracted); each is computed only on the
    # images that have it
    lab, sev, side = params.labels, params.severity, params.side
    extra = np.zeros((n, size, size), np.float32)

    def sub(k: int):
        idx = np.flatnonzero(lab[:, k])
        aa = {key: v[idx] for key, v in a.items()}
        return idx, aa, sev[idx, k][:, None, None], side[idx, k][:, None, None], xr[idx], y, lung[idx]

    # pneumothorax: a lateral-apical rim of the lung without markings, edged by the visceral pleural line
    k = FINDINGS.index("pneumothorax")
    idx, aa, s_, sd_, xs, ys, lg = sub(k)
    if len(idx):
        dxs = xs - aa["cx"]
        med, lat, _ = _lung_geometry(aa, ys, sd_)
        off = sd_ * dxs
        frac = (ys - aa["top"]) / (aa["dome"] - aa["top"])
        width = (0.03 + 0.08 * s_) * np.clip(1.2 - frac, 0.2, 1)
        rim = lg * _sig(off - (lat - width), w) * _sig(off, w)
        air[idx] = air[idx] * (1 - rim) + rim * 0.58                              # more air, no markings
        line = lg * np.exp(-((off - (lat - width)) / (1.2 * px)) ** 2) * _sig(off, w) * _sig(0.8 - frac, 0.05)
        extra[idx] += 0.12 * line
        masks[idx, k] = rim > 0.5
    # effusion: basal fluid whose upper surface rises laterally (the meniscus)
    k = FINDINGS.index("effusion")
    idx, aa, s_, sd_, xs, ys, lg = sub(k)
    if len(idx):
        dxs = xs - aa["cx"]
        med, lat, _ = _lung_geometry(aa, ys, sd_)
        u = np.clip((sd_ * dxs - med) / (lat - med + 1e-6), 0, 1)
        level = aa["dome"] - (0.05 + effusion_rise * s_) - 0.08 * s_ * u ** 2
        fluid = lg * _sig(sd_ * dxs, w) * _sig(ys - level, 1.5 * w)
        extra[idx] += 0.5 * fluid
        masks[idx, k] = fluid > 0.5
    # consolidation: a fluffy opacity confined to the lung
    k = FINDINGS.index("consolidation")
    idx, aa, s_, sd_, xs, ys, lg = sub(k)
    if len(idx):
        cy, cxl = _focal_centre(aa, params.where[idx, k], sd_)
        r = 0.06 + 0.07 * s_
        fluff = _smooth_noise(params.texture_seed[idx] + 11, size, 10)
        blob = _sig(1 - np.hypot(xs - cxl, (ys - cy) / 1.3) / r + 0.35 * fluff, 0.15) * lg
        extra[idx] += (0.3 + 0.15 * s_) * blob
        masks[idx, k] = blob > 0.5
    # nodule: a round opacity
    k = FINDINGS.index("nodule")
    idx, aa, s_, sd_, xs, ys, lg = sub(k)
    if len(idx):
        cy, cxl = _focal_centre(aa, params.where[idx, k], sd_)
        r = 0.014 + 0.02 * s_
        nod = _sig(r - np.hypot(xs - cxl, ys - cy), 0.4 * px + 0.002)
        extra[idx] += 0.45 * nod
        masks[idx, k] = nod > 0.5
    # atelectasis: a plate-like band in the lower zone, the hemidiaphragm raised on its side
    k = FINDINGS.index("atelectasis")
    idx, aa, s_, sd_, xs, ys, lg = sub(k)
    if len(idx):
        where = params.where[idx, k].copy()
        where[:, 0] = 0.62 + 0.25 * (where[:, 0] - 0.2)                               # lower zone
        cy, cxl = _focal_centre(aa, where, sd_)
        ang = 0.25 * sd_
        along = (xs - cxl) * np.cos(ang) + (ys - cy) * np.sin(ang)
        across = -(xs - cxl) * np.sin(ang) + (ys - cy) * np.cos(ang)
        band = _sig(0.05 + 0.06 * s_ - np.abs(along), w) * _sig(0.008 + 0.014 * s_ - np.abs(across), 0.5 * w) * lg
        raise_dome = lg * _sig(sd_ * (xs - aa["cx"]), w) * _sig(ys - (dome_map[idx] - 0.035 * s_), w)
        extra[idx] += 0.35 * band + 0.4 * raise_dome
        masks[idx, k] = (band > 0.5) | (raise_dome > 0.5)
    # cardiomegaly: the heart (its size is the CTR drawn with the anatomy); the mask is the heart
    hw = a["ctr"] * a["half_width"] * 1.08
    hc = a["dome"] - a["heart_h"] * 0.9
    heart = _sig(1 - np.hypot((dx - hw / 3) / hw, (y - hc) / a["heart_h"]), 0.03)
    A += 0.12 * heart
    masks[:, FINDINGS.index("cardiomegaly")] = (heart > 0.5) & lab[:, FINDINGS.index("cardiomegaly"), None, None]
    # ---- bone: posterior ribs (curving down laterally) and clavicles
    phase = (y - a["top"] + 0.03 - a["rib_curve"] * (np.abs(dx) - 0.05).clip(0) ** 2) / a["rib_spacing"]
    ribs = (0.5 + 0.5 * np.cos(2 * np.pi * phase)) ** 6 * _sig(phase, 0.1) * _sig(10.5 - phase, 0.1)
    ribs = ribs * _sig(a["half_width"] + 0.03 - np.abs(dx), w) * _sig(np.abs(dx) - 0.04, w)
    A += 0.09 * ribs
    t = np.clip((np.abs(dx) - 0.05) / 0.3, 0, 1)
    clav_y = a["top"] + 0.02 - 0.06 * t
    clav = _sig(0.012 - np.abs(y - clav_y), 0.5 * w) * _sig(0.36 - np.abs(dx), w) * _sig(np.abs(dx) - 0.045, w)
    A += 0.3 * clav
    A = A - air + extra
    A = np.clip(A, 0, None)
    # ---- exposure, scatter, detector noise, marker
    img = _acquire(A, q, params, rng)
    boxes = boxes_from_masks(masks)
    meta = {"ctr": params.anatomy["ctr"].copy(), **{k: v.copy() for k, v in params.acquisition.items()}}
    return CxrBatch(img, params.labels.copy(), params.severity.copy(), masks, boxes, lung > 0.5, params,
                    FINDINGS, meta)


def _focal_centre(a: dict[str, np.ndarray], where: np.ndarray, side: np.ndarray):
    """Centre ``(y, x)`` of a focal finding inside a lung, from its fractions along the height and across."""
    fy = where[:, 0][:, None, None]
    fx = where[:, 1][:, None, None]
    y = a["top"] + 0.05 + fy * (a["dome"] - a["top"] - 0.12)
    med, lat, _ = _lung_geometry(a, y, side)
    x = a["cx"] + side * (med + fx * (lat - med))
    return y, x


def finding_centre(params: CxrParams, finding: str | int) -> tuple[np.ndarray, np.ndarray]:
    """Where :func:`render` centres a nodule or a consolidation on each film: ``(y, x)`` as fractions of the film's
    height and width, each of shape (n, 1, 1), for every film whether it has the finding or not.

    For notebooks that add or locate a focal finding on their own (a blob drawn on top, a grounding box) at the
    place the simulator would put it. Effusion, pneumothorax and atelectasis are not focal: ValueError.
    """
    k = FINDINGS.index(finding) if isinstance(finding, str) else int(finding)
    if FINDINGS[k] not in ("nodule", "consolidation"):
        raise ValueError(f"finding_centre: {FINDINGS[k]!r} is not a focal finding (nodule or consolidation)")
    a = {key: v[:, None, None] for key, v in params.anatomy.items()}
    return _focal_centre(a, params.where[:, k], params.side[:, k][:, None, None])


def _acquire(A: np.ndarray, q: dict[str, np.ndarray], params: CxrParams, rng: np.random.Generator) -> np.ndarray:
    """From attenuation ``A`` (n, size, size) to the displayed film: a slight blur, exposure ``1 − exp(−μA)``,
    scatter (a low-pass veil of 8 × 8 block means), display gamma, quantum noise that grows with the signal, the lead
    side marker; float32 in [0, 1]. Shared by the frontal and the lateral renderer."""
    from scipy.ndimage import gaussian_filter

    n, size = A.shape[0], A.shape[-1]
    A = gaussian_filter(A, (0, 0.5, 0.5))
    img = 1 - np.exp(-q["mu"] * A)
    cells = 8
    veil = _upsample(img.reshape(n, cells, size // cells, cells, size // cells).mean((2, 4)), size)
    img = (1 - q["scatter"]) * img + q["scatter"] * veil
    img = img ** q["gamma"]
    img = img + q["noise"] * np.sqrt(np.clip(img, 0, 1)) * rng.standard_normal(img.shape)
    img = _burn_marker(img, params.acquisition["marker"], params.acquisition["marker_corner"])
    return np.clip(img, 0, 1).astype(np.float32)


def _burn_marker(img: np.ndarray, marker: np.ndarray, corner: np.ndarray) -> np.ndarray:
    """Burn a bright side marker ("L" or "R") into the top-left or top-right corner of each image."""
    n, size, _ = img.shape
    scale = max(1, size // 40)
    out = img.copy()
    for code, letter in ((1, "L"), (2, "R")):
        glyph = np.kron(_LETTERS[letter], np.ones((scale, scale), bool))
        h, w_ = glyph.shape
        for c in (0, 1):
            sel = np.flatnonzero((marker == code) & (corner == c))
            if not len(sel):
                continue
            r0 = max(1, size // 32)
            c0 = r0 if c == 0 else size - r0 - w_
            patch = out[np.ix_(sel, np.arange(r0, r0 + h), np.arange(c0, c0 + w_))]
            out[np.ix_(sel, np.arange(r0, r0 + h), np.arange(c0, c0 + w_))] = np.where(glyph, 0.97, patch)
    return out


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """Bounding boxes ``(x0, y0, x1, y1)`` (pixels, exclusive ends) of boolean masks ``(..., H, W)``; NaN if empty."""
    m = np.asarray(masks, bool)
    rows, cols = m.any(-1), m.any(-2)
    H, W = m.shape[-2:]
    has = rows.any(-1)
    y0 = np.where(has, rows.argmax(-1), np.nan)
    y1 = np.where(has, H - rows[..., ::-1].argmax(-1), np.nan)
    x0 = np.where(has, cols.argmax(-1), np.nan)
    x1 = np.where(has, W - cols[..., ::-1].argmax(-1), np.nan)
    return np.stack([x0, y0, x1, y1], -1).astype(np.float64)


def simulate_cxr(n: int, spec: CxrSpec = CxrSpec(), *, seed: int = 0) -> CxrBatch:
    """Simulate ``n`` frontal chest radiographs (see the module docstring for what is and is not modelled)."""
    params = sample_params(n, spec, seed=seed)
    return render(params, spec.size, seed=seed + 1, texture=spec.texture)


def with_prevalence(spec: CxrSpec, **prevalence: float) -> CxrSpec:
    """A copy of ``spec`` with some prevalences changed (``with_prevalence(spec, nodule=0.3)``)."""
    return replace(spec, prevalence={**spec.prevalence, **prevalence})


def to_uint(images: np.ndarray, bits: int = 12) -> np.ndarray:
    """Images in [0, 1] as unsigned integers of ``bits`` stored bits (uint16), as a CR/DX detector stores them."""
    if not 8 <= bits <= 16:
        raise ValueError(f"bits must be 8..16, got {bits}")
    x = np.asarray(images, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("images have NaN or inf values")
    return np.round(np.clip(x, 0, 1) * (2 ** bits - 1)).astype(np.uint16)


def finding_names(labels: np.ndarray, findings: Sequence[str] = FINDINGS) -> list[list[str]]:
    """The names of the present findings of each row of ``labels``."""
    return [[f for f, on in zip(findings, row) if on] for row in np.asarray(labels, bool)]


# ------------------------------------------------------------------------------------------ lateral view
#: DICOM ``ViewPosition`` of each view :func:`render_view` draws (MIMIC-CXR's metadata uses the same codes).
VIEW_POSITIONS: tuple[str, ...] = ("PA", "LL")


def render_lateral(params: CxrParams, size: int = 64, *, seed: int = 0, texture: float = 0.12) -> CxrBatch:
    """Render the left-lateral (LL) radiographs of the patients of ``params``: same anatomy, same findings.

    Displayed as lateral films are, the patient facing the viewer's left: ``x`` runs from anterior (sternum, image
    left) to posterior (spine, image right). Both lungs overlap in one lung field; the heart lies anteriorly
    above the diaphragm, its depth growing with the CTR drawn for the frontal film; the vertebral bodies run down
    the back; the hemidiaphragms slope down to the deep posterior costophrenic sulcus. Findings keep their
    severity: an effusion fills the posterior sulcus with a meniscus rising posteriorly (its height grows with
    severity, as the frontal film's fluid level does, but on a lateral a small effusion shows *first*, in the
    sulcus); cardiomegaly fills the retrosternal and retrocardiac space; a nodule or a consolidation sits at its
    height along the lung (its anteroposterior position is drawn from ``where``'s lateral fraction); atelectasis
    is an oblique plate-like band; a pneumothorax an apical lucency without markings. The side of a finding is
    not visible (the lungs overlap), as on a real lateral film.

    Not modelled: the two hemidiaphragms apart, the fissures, the aortic arch and the trachea, the scapulae and
    arms, magnification of the side nearer the source. Masks and boxes are those of the lateral projection.
    """
    n, K = params.labels.shape
    rng = np.random.default_rng(seed)
    a = {k: v[:, None, None].astype(np.float32) for k, v in params.anatomy.items()}
    q = {k: v[:, None, None].astype(np.float32) for k, v in params.acquisition.items()}
    g = ((np.arange(size) + 0.5) / size).astype(np.float32)
    y = g[None, :, None]
    x = g[None, None, :] + np.tan(np.deg2rad(q["rotation_deg"])) * (y - 0.5) + (a["cx"] - 0.5)
    px = 1.0 / size
    w = max(px, 0.006)
    depth = 0.62 * a["half_width"] + 0.12                             # half the anteroposterior chest depth
    xa, xp = 0.47 - depth, 0.47 + depth                               # anterior and posterior chest walls
    u = (x - xa) / (xp - xa)                                          # 0 anterior, 1 posterior
    body = _sig(x - xa + 0.04, w) * _sig(xp + 0.05 - x, w) * _sig(y - 0.02, w)
    spine_front = 0.83
    top = a["top"] + 0.02 + 0.06 * ((u - 0.6) / 0.45) ** 2           # the apex, highest posteriorly
    dome_y = a["dome"] + 0.01 - a["dome_h"] * np.clip(1 - ((u - 0.42) / 0.5) ** 2, 0, 1) \
        + 0.09 * np.clip((u - 0.55) / 0.35, 0, 1) ** 2                 # deep posterior sulcus
    lung = _sig(u - 0.06, 0.5 * w) * _sig(spine_front - u, 0.5 * w) * _sig(y - top, w) * _sig(dome_y - y, w)
    # the heart: anterior, resting on the diaphragm; its depth grows with the CTR
    hx = 0.06 + 0.62 * a["ctr"]                                       # posterior border, fraction of depth
    hc_u, hr_u = (0.06 + hx) / 2, (hx - 0.06) / 2 + 0.04
    hc_y = a["dome"] - a["heart_h"] * 0.85
    heart = _sig(1 - np.hypot((u - hc_u) / hr_u, (y - hc_y) / (a["heart_h"] * 1.15)), 0.04)
    lung = np.clip(lung - heart, 0, 1)
    masks = np.zeros((n, K, size, size), bool)
    A = 0.75 * body + 0.1 * body * _sig(y - dome_y, w)                 # soft tissue (thicker side to side)
    A += 0.18 * heart
    vert = _sig(u - spine_front, 0.5 * w) * _sig(spine_front + 0.13 - u, 0.5 * w) * _sig(y - 0.05, w)
    discs = 0.75 + 0.25 * np.cos(2 * np.pi * (y - a["top"]) / (1.1 * a["rib_spacing"]))
    A += 0.32 * vert * discs                                         # vertebral bodies and discs
    A += 0.15 * _sig(0.012 - np.abs(u - 0.035), 0.5 * w) * _sig(y - a["top"], w) * _sig(a["dome"] - y, w)   # sternum
    phase = (y - a["top"] - 0.25 * (u - 0.5)) / a["rib_spacing"]
    A += 0.05 * (0.5 + 0.5 * np.cos(2 * np.pi * phase)) ** 6 * lung   # superimposed ribs, oblique
    marks = _smooth_noise(params.texture_seed, size, 12) + 0.5 * _smooth_noise(params.texture_seed + 7, size, 24)
    hilum = np.exp(-((u - 0.5) ** 2 / 0.02 + (y - 0.45) ** 2 / 0.04))
    air = lung * (0.8 - 1.3 * texture * (0.4 + hilum) * np.abs(marks))   # two lungs of air on the ray
    extra = np.zeros((n, size, size), np.float32)
    lab, sev = params.labels, params.severity

    def sub(k: int):
        idx = np.flatnonzero(lab[:, k])
        return idx, {key: v[idx] for key, v in a.items()}, sev[idx, k][:, None, None], u[idx], lung[idx]

    k = FINDINGS.index("effusion")
    idx, aa, s_, us, lg = sub(k)
    if len(idx):
        level = dome_y[idx] - (0.03 + 0.22 * s_) - 0.06 * s_ * np.clip((us - 0.5) / 0.35, 0, 1)
        fluid = lg * _sig(y - level, 1.5 * w) * _sig(us - 0.3, 0.05)
        air[idx] = air[idx] * (1 - fluid)                            # fluid displaces the air of the sulcus
        extra[idx] += 0.15 * fluid
        masks[idx, k] = fluid > 0.5
    k = FINDINGS.index("pneumothorax")
    idx, aa, s_, us, lg = sub(k)
    if len(idx):
        rim = lg * _sig(aa["top"] + 0.06 + 0.12 * s_ - y, w) * _sig(0.7 - us, 0.05)
        air[idx] = air[idx] * (1 - rim) + rim * 0.9
        masks[idx, k] = rim > 0.5
    for name, radius, gain in (("consolidation", (0.06, 0.07), 0.45), ("nodule", (0.014, 0.02), 0.6)):
        k = FINDINGS.index(name)
        idx, aa, s_, us, lg = sub(k)
        if len(idx):
            fy = params.where[idx, k, 0][:, None, None]
            cy = aa["top"] + 0.05 + fy * (aa["dome"] - aa["top"] - 0.12)
            cu = 0.3 + 0.4 * params.where[idx, k, 1][:, None, None]
            r = radius[0] + radius[1] * s_
            dist = np.hypot((us - cu) * (xp - xa)[idx], y - cy)
            if name == "consolidation":
                fluff = _smooth_noise(params.texture_seed[idx] + 11, size, 10)
                blob = _sig(1 - dist / r + 0.35 * fluff, 0.15) * lg
            else:
                blob = _sig(r - dist, 0.4 * px + 0.002)
            extra[idx] += gain * (0.7 + 0.3 * s_) * blob
            masks[idx, k] = blob > 0.5
    k = FINDINGS.index("atelectasis")
    idx, aa, s_, us, lg = sub(k)
    if len(idx):
        cy = aa["dome"] - 0.1
        along, across = (us - 0.5) * 0.8 + (y - cy) * 0.6, -(us - 0.5) * 0.6 + (y - cy) * 0.8
        band = _sig(0.18 + 0.1 * s_ - np.abs(along), w) * _sig(0.008 + 0.014 * s_ - np.abs(across), 0.5 * w) * lg
        extra[idx] += 0.45 * band
        masks[idx, k] = band > 0.5
    masks[:, FINDINGS.index("cardiomegaly")] = (heart > 0.5) & lab[:, FINDINGS.index("cardiomegaly"), None, None]
    A = np.clip(A - air + extra, 0, None)
    img = _acquire(A, q, params, rng)
    meta = {"ctr": params.anatomy["ctr"].copy(), **{k: v.copy() for k, v in params.acquisition.items()}}
    return CxrBatch(img, params.labels.copy(), params.severity.copy(), masks, boxes_from_masks(masks), lung > 0.5,
                    params, FINDINGS, meta)


def render_view(params: CxrParams, view: str, size: int = 64, *, seed: int = 0, texture: float = 0.12) -> CxrBatch:
    """:func:`render` for ``view="PA"``, :func:`render_lateral` for ``"LL"`` (or ``"LATERAL"``)."""
    if view == "PA":
        return render(params, size, seed=seed, texture=texture)
    if view in ("LL", "LATERAL"):
        return render_lateral(params, size, seed=seed, texture=texture)
    raise ValueError(f"view must be one of {VIEW_POSITIONS} (or 'LATERAL'), got {view!r}")
