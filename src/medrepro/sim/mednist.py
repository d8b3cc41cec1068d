"""Simulated MedNIST-like thumbnails: six classes of small grayscale medical images.

MedNIST (the MONAI tutorial dataset) holds 64 × 64 grayscale JPEG thumbnails of six kinds of image:
``AbdomenCT``, ``BreastMRI``, ``CXR`` (frontal chest X-ray), ``ChestCT``, ``Hand`` (hand X-ray) and
``HeadCT``. :func:`simulate_mednist` draws phantoms of the same six kinds, vectorised over images (one
pass per class, no per-image Python loop), deterministic by seed. ``medrepro.data.datasets.mednist``
writes them in MedNIST's real layout (``MedNIST/<ClassName>/000000.jpeg``) so that a notebook reads
simulated and real data through the same loader.

Realistic:
    - the anatomy that tells the classes apart at thumbnail size: an axial head with a bright skull ring,
      brain and ventricles; an axial chest with dark lungs, heart and a bright vertebra; an axial abdomen
      with liver, kidneys, vertebra, a subcutaneous fat rim and bowel gas; a breast MRI with a bright
      dome of tissue, darker fibroglandular streaks and the chest wall; a frontal chest X-ray with lung
      fields, mediastinum, clavicles and spine filling the frame; a hand X-ray with palm, wrist and five
      fingers whose spread varies;
    - per-image variation: position, size, rotation, aspect, organ sizes and positions, contrast and
      brightness, smooth tissue texture, a multiplicative bias field, Gaussian noise, and (when written to
      disk) JPEG compression artefacts.
Not modelled:
    - real anatomy, pathology, the intensity statistics of the real modalities, the real thumbnails'
      cropping and windowing, patients who appear in several images, the class imbalance of MedNIST
      (8,954 BreastMRI vs 10,000 images in each other class).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: MedNIST's class folders, in the sorted order MONAI uses as label indices.
CLASS_NAMES: tuple[str, ...] = ("AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT")


@dataclass(frozen=True)
class MedNISTSpec:
    """Knobs of the simulator.

    ``variability`` scales every geometric jitter (0: one template per class; 1: the default spread);
    raise ``noise``, ``texture`` or ``bias`` to make images harder to model.
    """

    size: int = 64               # image side in pixels
    variability: float = 1.0     # scale of the per-image geometric jitter
    noise: float = 0.03          # standard deviation of additive Gaussian noise (intensity range 0..1)
    texture: float = 0.12        # amplitude of the smooth multiplicative tissue texture
    bias: float = 0.10           # amplitude of the smooth multiplicative bias field
    edge: float = 0.035          # softness of organ boundaries (fraction of the half-width)


@dataclass
class MedNISTBatch:
    """Simulated images ``(N, size, size)`` as uint8, integer labels ``(N,)`` and the class names."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]


# ---------------------------------------------------------------------------------------------- helpers
def _u(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """``n`` uniform draws in [lo, hi), shaped (n, 1, 1) to broadcast over the image grid."""
    return rng.uniform(lo, hi, n).astype(np.float32)[:, None, None]


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # a numerically safe logistic


def _ellipse(x, y, cx, cy, ax, ay, edge, angle=0.0) -> np.ndarray:
    """Soft indicator (0..1) of an ellipse centred at (cx, cy) with semi-axes (ax, ay), rotated by ``angle``."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = x - cx, y - cy
    xr, yr = c * dx + s * dy, -s * dx + c * dy
    r = np.sqrt((xr / ax) ** 2 + (yr / ay) ** 2)
    return _sig((1.0 - r) / edge)


def _capsule(x, y, x0, y0, x1, y1, radius, edge) -> np.ndarray:
    """Soft indicator of a capsule: all points within ``radius`` of the segment (x0, y0)–(x1, y1)."""
    vx, vy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * vx + (y - y0) * vy) / (vx ** 2 + vy ** 2 + 1e-9), 0.0, 1.0)
    d = np.sqrt((x - x0 - t * vx) ** 2 + (y - y0 - t * vy) ** 2)
    return _sig((radius - d) / (edge * 0.5))


def _smooth_noise(rng: np.random.Generator, n: int, size: int, sigma_px: float) -> np.ndarray:
    """Gaussian random fields (n, size, size) with unit standard deviation, smoothed at ``sigma_px``."""
    from scipy import fft

    white = rng.standard_normal(size=(n, size, size), dtype=np.float32)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    kernel = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fx ** 2 + fy ** 2)).astype(np.float32)
    field = fft.irfft2(fft.rfft2(white) * kernel, s=(size, size))
    field -= field.mean(axis=(1, 2), keepdims=True)
    return (field / (field.std(axis=(1, 2), keepdims=True) + 1e-9)).astype(np.float32)


def _grid(rng: np.random.Generator, n: int, size: int, var: float, rot_deg: float, shift: float,
          scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-image transformed coordinates (x right, y down, both in [-1, 1] before the transform)."""
    lin = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
    y0, x0 = np.meshgrid(lin, lin, indexing="ij")
    th = np.deg2rad(_u(rng, n, -rot_deg, rot_deg) * var)
    sx = 1.0 + _u(rng, n, -scale, scale) * var
    sy = sx * (1.0 + _u(rng, n, -0.06, 0.06) * var)           # aspect
    tx, ty = _u(rng, n, -shift, shift) * var, _u(rng, n, -shift, shift) * var
    dx, dy = x0[None] - tx, y0[None] - ty
    c, s = np.cos(th), np.sin(th)
    return (c * dx + s * dy) / sx, (-s * dx + c * dy) / sy


# ---------------------------------------------------------------------------------------------- classes
def _head_ct(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 12, 0.06, 0.08)
    ax, ay = _u(rng, n, 0.70, 0.80), _u(rng, n, 0.82, 0.92)
    thick = _u(rng, n, 0.06, 0.10)
    outer = _ellipse(x, y, 0, 0, ax, ay, sp.edge)
    inner = _ellipse(x, y, 0, 0, ax - thick, ay - thick, sp.edge)
    img = 0.95 * (outer - inner)                                          # skull ring
    img += inner * (0.42 + 0.05 * tex)                                    # brain
    vs = _u(rng, n, 0.6, 1.4) * v + (1 - v)                              # ventricle size
    for side in (-1, 1):                                                  # lateral ventricles
        img -= 0.25 * _ellipse(x, y, side * 0.09, _u(rng, n, -0.12, -0.02), 0.05 * vs, 0.20 * vs,
                               sp.edge, angle=side * 0.25) * inner
    return img


def _chest_ct(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 8, 0.06, 0.08)
    bx, by = _u(rng, n, 0.82, 0.95), _u(rng, n, 0.58, 0.70)
    body = _ellipse(x, y, 0, 0.05, bx, by, sp.edge)
    img = body * (0.50 + 0.06 * tex)
    lw, lh = _u(rng, n, 0.26, 0.34), _u(rng, n, 0.36, 0.46)
    for side in (-1, 1):
        lung = _ellipse(x, y, side * _u(rng, n, 0.34, 0.42), _u(rng, n, -0.05, 0.05), lw, lh, sp.edge,
                        angle=side * 0.12)
        img -= 0.42 * lung * body
    img += 0.12 * _ellipse(x, y, _u(rng, n, 0.02, 0.14), _u(rng, n, 0.05, 0.18), _u(rng, n, 0.18, 0.26),
                           _u(rng, n, 0.16, 0.22), sp.edge)              # heart
    img += 0.45 * _ellipse(x, y, 0, _u(rng, n, 0.48, 0.56), 0.09, 0.08, sp.edge)   # vertebral body
    img += 0.25 * _capsule(x, y, -0.95, 0.78, 0.95, 0.78, 0.025, sp.edge)          # table
    return img


def _abdomen_ct(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 8, 0.06, 0.08)
    bx, by = _u(rng, n, 0.80, 0.95), _u(rng, n, 0.62, 0.75)
    body = _ellipse(x, y, 0, 0.02, bx, by, sp.edge)
    fat_rim = body - _ellipse(x, y, 0, 0.02, bx - 0.08, by - 0.08, sp.edge)
    img = body * (0.52 + 0.05 * tex) - 0.15 * fat_rim
    img += 0.12 * _ellipse(x, y, _u(rng, n, -0.42, -0.30), _u(rng, n, -0.20, -0.05), _u(rng, n, 0.28, 0.38),
                           _u(rng, n, 0.22, 0.32), sp.edge, angle=0.3)  # liver (patient's right)
    for side in (-1, 1):                                                   # kidneys
        img += 0.18 * _ellipse(x, y, side * _u(rng, n, 0.28, 0.36), _u(rng, n, 0.22, 0.32), 0.08, 0.12,
                               sp.edge, angle=side * 0.4)
    img += 0.42 * _ellipse(x, y, 0, _u(rng, n, 0.42, 0.50), 0.09, 0.08, sp.edge)   # vertebral body
    for _ in range(3):                                                     # bowel gas, present or not
        on = (rng.uniform(size=n) < 0.6)[:, None, None]
        img -= 0.40 * on * _ellipse(x, y, _u(rng, n, -0.1, 0.5), _u(rng, n, -0.35, 0.15), 0.06, 0.05, sp.edge)
    return img


def _breast_mri(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 10, 0.07, 0.08)
    base = _u(rng, n, 0.35, 0.50)                                          # chest-wall position (y)
    height, width = _u(rng, n, 0.75, 1.05), _u(rng, n, 0.70, 0.90)
    dome = _ellipse(x, y, 0, base, width, height, sp.edge) * _sig((base - y) / sp.edge)
    streaks = _smooth_noise(rng, n, sp.size, 1.2)
    img = dome * (0.62 + 0.10 * tex - 0.22 * _sig(3.0 * streaks))          # fat bright, glandular dark
    img += 0.55 * _capsule(x, y, -1.2, base + 0.06, 1.2, base + 0.06, 0.05, sp.edge)   # chest wall
    img += 0.20 * _sig((y - base - 0.12) / sp.edge) * (0.6 + 0.2 * tex)    # thorax below the wall
    return img


def _cxr(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 5, 0.05, 0.06)
    body = _ellipse(x, y, 0, 0.15, _u(rng, n, 0.95, 1.15), 1.3, sp.edge)
    img = body * (0.62 + 0.05 * tex)
    lw, lh = _u(rng, n, 0.28, 0.36), _u(rng, n, 0.50, 0.62)
    for side in (-1, 1):
        img -= 0.38 * _ellipse(x, y, side * _u(rng, n, 0.36, 0.44), _u(rng, n, -0.08, 0.02), lw, lh, sp.edge,
                               angle=-side * 0.10)
        img += 0.25 * _capsule(x, y, side * 0.08, -0.62, side * _u(rng, n, 0.55, 0.70), _u(rng, n, -0.78, -0.66),
                               0.035, sp.edge)                              # clavicles
    img += 0.22 * _ellipse(x, y, _u(rng, n, 0.04, 0.14), _u(rng, n, 0.22, 0.32), _u(rng, n, 0.22, 0.30),
                           _u(rng, n, 0.22, 0.28), sp.edge)                 # heart / mediastinum
    img += 0.15 * _capsule(x, y, 0, -1.0, 0, 1.0, 0.07, sp.edge)            # spine
    return img


def _hand(rng, n, sp: MedNISTSpec, tex):
    v = sp.variability
    x, y = _grid(rng, n, sp.size, v, 20, 0.06, 0.08)
    palm_y = _u(rng, n, 0.20, 0.32)
    img = 0.62 * _ellipse(x, y, 0, palm_y, _u(rng, n, 0.30, 0.36), _u(rng, n, 0.26, 0.32), sp.edge)
    img = np.maximum(img, 0.55 * _capsule(x, y, 0, palm_y, 0, 1.3, 0.22, sp.edge))          # wrist, forearm
    spread = _u(rng, n, 0.10, 0.26) * v + 0.18 * (1 - v)
    lengths = (0.48, 0.60, 0.64, 0.58, 0.46)
    for k, base_len in enumerate(lengths[1:], start=1):                     # four fingers
        ang = (k - 2.5) * spread
        x0 = (k - 2.5) * 0.14
        length = base_len * (1 + _u(rng, n, -0.08, 0.08))
        x1, y1 = x0 + length * np.sin(ang), palm_y - 0.2 - length * np.cos(ang)
        img = np.maximum(img, 0.68 * _capsule(x, y, x0, palm_y - 0.15, x1, y1, 0.055, sp.edge))
    th_ang = _u(rng, n, 0.7, 1.1)                                            # thumb, off to the side
    x1, y1 = -0.30 - lengths[0] * np.sin(th_ang), palm_y + 0.05 - lengths[0] * np.cos(th_ang)
    img = np.maximum(img, 0.68 * _capsule(x, y, -0.25, palm_y + 0.1, x1, y1, 0.06, sp.edge))
    return img * (1.0 + 0.06 * tex)


_RENDER = {"AbdomenCT": _abdomen_ct, "BreastMRI": _breast_mri, "CXR": _cxr, "ChestCT": _chest_ct,
           "Hand": _hand, "HeadCT": _head_ct}


def simulate_mednist(n_per_class: int | Sequence[int], *, classes: Sequence[str] = CLASS_NAMES, seed: int = 0,
                     spec: MedNISTSpec = MedNISTSpec()) -> MedNISTBatch:
    """Simulate MedNIST-like thumbnails, vectorised over the images of each class.

    Args:
        n_per_class: images per class (one number for all, or one per entry of ``classes``).
        classes: which classes, a subset of :data:`CLASS_NAMES`; label ``k`` is ``classes[k]``.
        seed: the same seed gives the same images.
        spec: the simulator's knobs (:class:`MedNISTSpec`).

    Returns:
        A :class:`MedNISTBatch` with uint8 images ``(N, spec.size, spec.size)`` (class by class, in the
        order of ``classes``) and their labels.

    Raises:
        ValueError: an unknown class name, or a negative count.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in _RENDER]
    if unknown:
        raise ValueError(f"unknown MedNIST class(es) {unknown}; known: {list(CLASS_NAMES)}")
    counts = [int(n_per_class)] * len(classes) if np.isscalar(n_per_class) else [int(c) for c in n_per_class]
    if len(counts) != len(classes) or min(counts, default=0) < 0:
        raise ValueError(f"n_per_class must be a non-negative count or one count per class, got {n_per_class!r}")
    images, labels = [], []
    for k, (name, n) in enumerate(zip(classes, counts)):
        if n == 0:
            continue
        # one stream per (seed, class name): adding or reordering classes does not change the others
        rng = np.random.default_rng([seed, CLASS_NAMES.index(name)])
        tex = _smooth_noise(rng, n, spec.size, spec.size / 10) * spec.texture / 0.12
        img = _RENDER[name](rng, n, spec, tex)
        bias = 1.0 + spec.bias * _smooth_noise(rng, n, spec.size, spec.size / 4)
        gain, offset = _u(rng, n, 0.85, 1.12), _u(rng, n, -0.04, 0.04)
        img = img * bias * gain + offset + spec.noise * rng.standard_normal(size=img.shape, dtype=np.float32)
        images.append(np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8))
        labels.append(np.full(n, k, dtype=np.int64))
    if not images:
        return MedNISTBatch(np.zeros((0, spec.size, spec.size), np.uint8), np.zeros(0, np.int64), classes)
    return MedNISTBatch(np.concatenate(images), np.concatenate(labels), classes)
