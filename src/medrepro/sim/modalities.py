"""Small images of seven imaging modalities from one anatomy-and-texture kit, for "diverse vs narrow" pre-training.

:func:`simulate` draws ``n`` images of one modality, vectorised over images (no per-image Python loop), as float32
``(n, channels, size, size)`` in [0, 1], deterministic by seed:

============== ======== ==================================================================================
modality       channels what is drawn
============== ======== ==================================================================================
``ct``         1        axial body: fat rim, soft tissue, liver/kidneys/spleen, vertebra and ribs; fine
                        correlated noise; soft-tissue window
``mr``         1        the same anatomy with T1-like contrast (fat bright, bone dark), Rician noise and a
                        smooth coil bias field
``us``         1        B-mode sector: fan mask, depth attenuation, fully developed speckle (Rayleigh
                        amplitude of smoothed complex noise), hypo-echoic organs and an-echoic cysts
``xray``       1        frontal chest projection: exp(−∫μ) through lungs, mediastinum, ribs and clavicles;
                        mild quantum noise
``fundus``     3        RGB fundus photo: orange-red disc with vignetting, bright optic disc, darker macula,
                        branching vessels
``histology``  3        RGB bright-field IHC: hematoxylin nuclei and DAB-stained regions mixed by the
                        Beer–Lambert stain model of :func:`skimage.color.hed2rgb`
``microscopy`` 1–5      fluorescence channels of the same cells (DNA, actin/cytoplasm, membrane,
                        mitochondria puncta, ER texture) on a black background with Poisson noise
============== ======== ==================================================================================

Each image also carries an **organ/structure label** (``labels``), so a downstream task exists in every modality:
for CT and MR whether a focal lesion is present in the liver, for ultrasound whether a cyst is present, for the
X-ray whether a lung opacity is present, for the fundus whether bright lesions (exudates) are present, for
histology whether DAB staining is present, for microscopy whether the cells are in mitosis-like rounding.

Realistic: the layouts that identify each modality at 64 px, their noise models (correlated Gaussian for CT,
Rician for MR, speckle for US, Poisson for fluorescence), stain colours from scikit-image's H/E/DAB matrix.
Not modelled: real anatomy and its variability, scanner physics (reconstruction kernels, k-space, beamforming,
scatter), calibrated intensities (Hounsfield units), 3-D context, colour-Doppler, stain batch effects beyond a
random stain strength, real cell morphology and cell-cycle states. The guide
``book/guides/multimodality-images.ipynb`` compares texture statistics with the real samples that ship offline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MODALITIES: tuple[str, ...] = ("ct", "mr", "us", "xray", "fundus", "histology", "microscopy")
CHANNELS = {"ct": 1, "mr": 1, "us": 1, "xray": 1, "fundus": 3, "histology": 3, "microscopy": 5}
MICROSCOPY_CHANNELS: tuple[str, ...] = ("DNA", "actin", "membrane", "mitochondria", "ER")


@dataclass
class ModalityBatch:
    """Images ``(n, channels, size, size)`` float32 in [0, 1], binary labels ``(n,)``, the modality name."""

    images: np.ndarray
    labels: np.ndarray
    modality: str


def _grid(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    return np.broadcast_to(x, (n, size, size)), np.broadcast_to(y, (n, size, size))


def _u(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return rng.uniform(lo, hi, n)[:, None, None]


def _ellipse(x, y, cx, cy, ax, ay, angle=0.0, edge=0.04) -> np.ndarray:
    """Soft indicator (0..1) of a rotated ellipse; all parameters broadcast over images."""
    c, s = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    r = np.sqrt((u / ax) ** 2 + (v / ay) ** 2)
    return 1 / (1 + np.exp(np.clip((r - 1) / edge, -50, 50)))


def _smooth(rng: np.random.Generator, n: int, size: int, sigma: float, complex_: bool = False) -> np.ndarray:
    """Gaussian-filtered white noise, unit standard deviation per image (complex when asked)."""
    def one():
        z = ndimage.gaussian_filter(rng.standard_normal((n, size, size)), (0, sigma, sigma), mode="wrap")
        return z / z.std(axis=(1, 2), keepdims=True)
    return one() + 1j * one() if complex_ else one()


def _abdomen(rng, n, size, var, lesion_scale=1.0):
    """Shared axial anatomy for CT and MR: masks of body, fat rim, liver, kidneys, spleen, vertebra, lesion.

    ``lesion_scale`` multiplies the lesion's semi-axes (drawn in 0.05-0.1 of the half-width), not the draws."""
    x, y = _grid(n, size)
    ang = _u(rng, n, -0.15, 0.15) * var
    body = _ellipse(x, y, _u(rng, n, -.05, .05) * var, _u(rng, n, -.05, .05) * var, _u(rng, n, .78, .92),
                    _u(rng, n, .58, .72), ang)
    inner = _ellipse(x, y, 0, 0, _u(rng, n, .68, .8), _u(rng, n, .48, .6), ang)
    liver = _ellipse(x, y, _u(rng, n, -.45, -.3), _u(rng, n, -.2, 0), _u(rng, n, .25, .35), _u(rng, n, .2, .3),
                     _u(rng, n, -.5, .5)) * inner
    spleen = _ellipse(x, y, _u(rng, n, .35, .5), _u(rng, n, -.2, -.05), _u(rng, n, .1, .15), _u(rng, n, .12, .18)) * inner
    kid = sum(_ellipse(x, y, s * _u(rng, n, .22, .32), _u(rng, n, .2, .3), _u(rng, n, .08, .11), _u(rng, n, .12, .16),
                       s * 0.4) for s in (-1, 1)) * inner
    vert = _ellipse(x, y, 0, _u(rng, n, .32, .4), _u(rng, n, .08, .11), _u(rng, n, .08, .11), edge=0.1)
    ribs = (np.abs(np.sqrt((x / .8) ** 2 + (y / .6) ** 2) - 0.93) < 0.03) * (np.cos(8 * np.arctan2(y, x)) > 0.3)
    lab = rng.random(n) < 0.5
    les = _ellipse(x, y, _u(rng, n, -.45, -.3), _u(rng, n, -.15, -.05), lesion_scale * _u(rng, n, .05, .1),
                   lesion_scale * _u(rng, n, .05, .1))
    lesion = les * liver * lab[:, None, None]
    return dict(body=body, fat=np.clip(body - inner, 0, 1), liver=liver, spleen=spleen, kidney=kid, bone=np.clip(
        vert + ribs * body, 0, 1), lesion=lesion), lab.astype(np.int64)


def _ct(rng, n, size, var, lesion_hu=45.0, lesion_scale=1.0):
    m, lab = _abdomen(rng, n, size, var, lesion_scale)
    if np.ndim(lesion_hu):                                                     # a range: conspicuity varies per image
        lesion_hu = rng.uniform(float(lesion_hu[0]), float(lesion_hu[1]), n)[:, None, None]
    hu = (-1000 * (1 - m["body"]) + m["body"] * 40 - 140 * m["fat"] + 20 * m["liver"] + 10 * m["spleen"]
          + 30 * m["kidney"] + 600 * m["bone"] - lesion_hu * m["lesion"])      # Hounsfield-like units
    hu = hu + 6 * _smooth(rng, n, size, 0.7) + 6 * _smooth(rng, n, size, 3)   # correlated quantum noise, texture
    img = np.clip((hu + 160) / 400, 0, 1)                                       # window: level 40, width 400
    return img[:, None], lab


def _mr(rng, n, size, var):
    m, lab = _abdomen(rng, n, size, var)
    s = (m["body"] * 0.35 + 0.45 * m["fat"] + 0.1 * m["liver"] + 0.05 * m["spleen"] - 0.05 * m["kidney"]
         - 0.25 * m["bone"] + 0.25 * m["lesion"] / 2)                          # T1-like: fat bright, bone dark
    s = s * (1 + 0.06 * _smooth(rng, n, size, 2.5))
    bias = np.exp(0.25 * _smooth(rng, n, size, size / 4))                      # coil sensitivity
    sigma = rng.uniform(0.02, 0.05, n)[:, None, None]
    z = s * bias + sigma * rng.standard_normal((n, size, size))
    mag = np.abs(z + 1j * sigma * rng.standard_normal((n, size, size)))       # Rician magnitude
    return np.clip(mag / np.quantile(mag, 0.995, axis=(1, 2), keepdims=True), 0, 1)[:, None], lab


def _us(rng, n, size, var):
    x, y = _grid(n, size)
    apex = -1.05
    r = np.hypot(x, y - apex)
    th = np.arctan2(x, y - apex)
    half = _u(rng, n, .55, .7)
    fan = (np.abs(th) < half) & (r > 0.15) & (r < 2.0)
    tissue = 0.55 + 0.25 * _smooth(rng, n, size, size / 8)                        # echogenicity map
    organ = _ellipse(x, y, _u(rng, n, -.3, .3) * var, _u(rng, n, -.1, .4), _u(rng, n, .25, .45), _u(rng, n, .18, .3),
                     _u(rng, n, -.6, .6))
    lab = rng.random(n) < 0.5
    cyst = _ellipse(x, y, _u(rng, n, -.3, .3), _u(rng, n, .0, .5), _u(rng, n, .08, .15), _u(rng, n, .08, .15),
                    edge=0.02) * lab[:, None, None]
    echo = tissue * (1 - 0.5 * organ) * (1 - 0.95 * cyst) + 0.5 * (np.abs(r - 1.8) < 0.05)  # + a bright interface
    z = _smooth(rng, n, size, 1.5, complex_=True)                                 # complex scatterers, smoothed
    speckle = np.abs(z) / np.sqrt(2)                                              # Rayleigh amplitude
    atten = np.exp(-_u(rng, n, .3, .7) * (r - 0.15))                              # depth attenuation after TGC
    img = np.clip(echo, 0, None) * speckle * atten * fan
    img = np.log1p(4 * img) / np.log1p(4 * 2.0)                                   # log compression
    return np.clip(img, 0, 1)[:, None].astype(np.float64), lab.astype(np.int64)


def _xray(rng, n, size, var):
    x, y = _grid(n, size)
    thorax = _ellipse(x, y, 0, _u(rng, n, -.05, .05), _u(rng, n, .85, .95), _u(rng, n, .9, 1.0), edge=0.08)
    lungs = sum(_ellipse(x, y, s * _u(rng, n, .38, .45), _u(rng, n, -.1, .0), _u(rng, n, .25, .32),
                         _u(rng, n, .55, .65), s * _u(rng, n, -.15, -.05), edge=0.08) for s in (-1, 1))
    medi = _ellipse(x, y, _u(rng, n, -.05, .08), _u(rng, n, .1, .25), _u(rng, n, .18, .26), _u(rng, n, .35, .45),
                    edge=0.1)
    phase = _u(rng, n, 0, 2 * np.pi)
    ribs = (np.cos(11 * (y + 0.15 * x ** 2) + phase) > 0.75) * thorax * 0.35
    clav = sum(np.exp(-((y + 0.62 - 0.25 * np.abs(x)) / 0.03) ** 2) * (s * x > 0.05) * (s * x < 0.6) for s in (-1, 1))
    spine = np.exp(-(x / 0.07) ** 2) * thorax
    lab = rng.random(n) < 0.5
    opac = _ellipse(x, y, _u(rng, n, -.5, .5), _u(rng, n, -.2, .4), _u(rng, n, .1, .2), _u(rng, n, .1, .2),
                    edge=0.3) * lungs * lab[:, None, None]
    mu = (1.0 * thorax - 0.75 * lungs + 0.7 * medi + 0.5 * ribs + 0.6 * clav + 0.6 * spine + 0.45 * opac)
    mu = mu + 0.04 * _smooth(rng, n, size, 2)
    transmitted = np.exp(-1.6 * mu)
    counts = rng.poisson(transmitted * 20000) / 20000                               # quantum noise
    img = 1 - counts                                                              # displayed: dense is bright
    return np.clip((img - 0.2) / 0.75, 0, 1)[:, None], lab.astype(np.int64)


def _vessels(rng, n, size, cx, cy, m=8, pts=300):
    """Branching-looking vessel map: m arcs leaving the optic disc, rasterised and blurred."""
    t = np.linspace(0, 1, pts)
    theta0 = rng.uniform(0, 2 * np.pi, (n, m, 1))
    bend = rng.uniform(-1.2, 1.2, (n, m, 1))
    length = rng.uniform(0.6, 1.4, (n, m, 1))
    ang = theta0 + bend * t
    rr = length * t
    px = cx.reshape(n, 1, 1) + rr * np.cos(ang)
    py = cy.reshape(n, 1, 1) + rr * np.sin(ang)
    width = np.broadcast_to(rng.uniform(0.6, 1.0, (n, m, 1)) * (1 - 0.6 * t), px.shape)
    col = np.clip(((px + 1) / 2 * size).astype(int), 0, size - 1)
    row = np.clip(((py + 1) / 2 * size).astype(int), 0, size - 1)
    flat = (np.arange(n)[:, None, None] * size * size + row * size + col).ravel()
    v = np.bincount(flat, weights=width.ravel(), minlength=n * size * size).reshape(n, size, size)
    v = ndimage.gaussian_filter(v, (0, 0.6, 0.6))
    return np.clip(v / 1.5, 0, 1)


def _fundus(rng, n, size, var):
    x, y = _grid(n, size)
    disc = _ellipse(x, y, 0, 0, .95, .95, edge=0.02)
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    ocx, ocy = side * rng.uniform(.3, .45, n), rng.uniform(-.1, .1, n)
    od = _ellipse(x, y, ocx[:, None, None], ocy[:, None, None], .13, .15, edge=0.15)
    mac = np.exp(-((x + side[:, None, None] * 0.1) ** 2 + y ** 2) / 0.04)
    vig = 1 - 0.45 * (x ** 2 + y ** 2)
    ves = _vessels(rng, n, size, ocx, ocy)
    lab = rng.random(n) < 0.5
    ex_pts = (_smooth(rng, n, size, 1.0) > 2.2) * (np.hypot(x + side[:, None, None] * .1, y) < .45)
    exud = ndimage.gaussian_filter(ex_pts.astype(float), (0, .7, .7)) * lab[:, None, None]
    tex = 0.04 * _smooth(rng, n, size, 3)
    base = np.stack([0.80 + tex, 0.35 + tex / 2, 0.12 + 0 * tex], 1) * (vig * (1 - 0.35 * mac))[:, None]
    img = base * (1 - 0.55 * ves[:, None]) + od[:, None] * np.array([.2, .3, .15])[None, :, None, None]
    img = img + np.clip(2.5 * exud, 0, 1)[:, None] * np.array([.2, .5, .35])[None, :, None, None]
    img = img * _u(rng, n, .8, 1.1)[:, None] * disc[:, None] + rng.normal(0, 0.01, img.shape)
    return np.clip(img, 0, 1), lab.astype(np.int64)


def _histology(rng, n, size, var):
    from skimage.color import hed2rgb

    nuclei_seed = (rng.random((n, size, size)) < rng.uniform(0.006, 0.015, (n, 1, 1))).astype(float)
    nuclei = np.clip(ndimage.gaussian_filter(nuclei_seed, (0, 1.3, 1.3)) * 18, 0, 1)
    glands = np.clip(_smooth(rng, n, size, size / 10), -1, 1)
    lab = rng.random(n) < 0.5
    dab = np.clip(_smooth(rng, n, size, size / 12) - 0.3, 0, None) * lab[:, None, None]
    h = 0.25 * nuclei * _u(rng, n, .7, 1.2) + 0.03 * (glands > 0.3) + 0.015 * _smooth(rng, n, size, 1)
    e = 0.006 * (glands > -0.2) * _u(rng, n, .5, 1.5)
    d = 0.12 * dab * _u(rng, n, .6, 1.2)
    rgb = hed2rgb(np.stack([np.clip(h, 0, None), np.clip(e, 0, None), d], -1).reshape(-1, size, 3))
    rgb = rgb.reshape(n, size, size, 3).transpose(0, 3, 1, 2)
    return np.clip(rgb + rng.normal(0, 0.01, rgb.shape), 0, 1), lab.astype(np.int64)


def _microscopy(rng, n, size, var, channels: int = 5):
    x, y = _grid(n, size)
    seeds = (rng.random((n, size, size)) < rng.uniform(0.004, 0.008, (n, 1, 1))).astype(float)
    lab = rng.random(n) < 0.5
    cyto_sigma = np.where(lab, 1.8, 3.0)                                            # rounded cells: compact
    dna = np.clip(ndimage.gaussian_filter(seeds, (0, 1.2, 1.2)) * 25, 0, 1)
    cyto = np.stack([ndimage.gaussian_filter(seeds[i], cyto_sigma[i]) for i in range(n)]) if n else seeds
    cyto = np.clip(cyto / np.maximum(cyto.max(axis=(1, 2), keepdims=True), 1e-9) * 1.6, 0, 1)
    membrane = np.clip(np.hypot(*np.gradient(cyto, axis=(1, 2))) * 6, 0, 1)
    mito = np.clip((rng.random((n, size, size)) < 0.08) * cyto * 1.5, 0, 1)
    mito = ndimage.gaussian_filter(mito, (0, 0.5, 0.5)) * 2
    er = np.clip(cyto * (0.6 + 0.4 * _smooth(rng, n, size, 0.8)), 0, 1)
    stack = np.stack([dna, cyto, membrane, mito, er], 1)[:, :channels]
    bright = rng.uniform(0.5, 1.0, (n, stack.shape[1], 1, 1))
    photons = rng.poisson(np.clip(stack * bright, 0, 1) * 200 + 2) / 200.0
    return np.clip(photons, 0, 1), lab.astype(np.int64)


_RENDER = {"ct": _ct, "mr": _mr, "us": _us, "xray": _xray, "fundus": _fundus, "histology": _histology,
           "microscopy": _microscopy}


def simulate(modality: str, n: int, *, size: int = 64, seed: int = 0, variability: float = 1.0,
             channels: int | None = None, lesion_hu: float | tuple[float, float] = 45.0,
             lesion_scale: float = 1.0) -> ModalityBatch:
    """Simulate ``n`` images of ``modality`` (one of :data:`MODALITIES`) at ``size`` × ``size`` pixels.

    ``channels`` (microscopy only) keeps the first 1–5 fluorescence channels of :data:`MICROSCOPY_CHANNELS`.
    ``variability`` scales the geometric jitter of the anatomy (CT, MR, ultrasound).
    ``lesion_hu`` (CT only) is how much darker than the liver the focal lesion is, in Hounsfield-like units (a
    ``(low, high)`` pair draws it per image, uniformly: lesions of varying conspicuity, some too faint to see), and
    ``lesion_scale`` (CT only) multiplies the lesion's size: lower the contrast to make the finding subtle (the
    defaults, 45 HU and 1, give the images of earlier releases, byte for byte).
    """
    if modality not in _RENDER:
        raise ValueError(f"unknown modality {modality!r}; known: {list(MODALITIES)}")
    if n < 0 or size < 8:
        raise ValueError(f"need n >= 0 and size >= 8, got n={n}, size={size}")
    rng = np.random.default_rng([seed, MODALITIES.index(modality)])
    if modality == "microscopy":
        c = CHANNELS["microscopy"] if channels is None else int(channels)
        if not 1 <= c <= 5:
            raise ValueError(f"microscopy has 1 to 5 channels, got {channels}")
        img, lab = _microscopy(rng, n, size, variability, c)
    else:
        if channels is not None and channels != CHANNELS[modality]:
            raise ValueError(f"{modality} has {CHANNELS[modality]} channel(s), got channels={channels}")
        if modality != "ct" and (np.ndim(lesion_hu) or lesion_hu != 45.0 or lesion_scale != 1.0):
            raise ValueError(f"lesion_hu and lesion_scale apply to CT only, not {modality!r}")
        extra = dict(lesion_hu=lesion_hu, lesion_scale=lesion_scale) if modality == "ct" else {}
        img, lab = _RENDER[modality](rng, n, size, variability, **extra)
    return ModalityBatch(img.astype(np.float32), lab, modality)


def to_gray(images: np.ndarray) -> np.ndarray:
    """(n, c, h, w) → (n, h, w): RGB by ITU-R 601 luma, other channel counts by their mean."""
    if images.shape[1] == 3:
        return np.tensordot(np.array([0.299, 0.587, 0.114]), images, axes=([0], [1])).astype(np.float32)
    return images.mean(1)
