"""Small H&E breast-histology patches with benign and malignant nuclei and four tissue architectures per group.

:func:`simulate_he` draws ``n_patients`` patients with ``images_per_patient`` patches each, vectorised over
patches (no per-image Python loop), as float32 RGB ``(n, 3, size, size)`` in [0, 1], deterministic by seed. Each
patient has one of eight classes, as in BreakHis (:data:`CLASSES`): four benign and four malignant subtypes. The
class has two independent parts, so a model needs two kinds of evidence:

* **benign or malignant — local, high-frequency evidence in the nuclei.** Malignant patches have more nuclei,
  a larger share of large nuclei (pleomorphism) and darker hematoxylin (hyperchromasia). The per-patch draws of
  benign and malignant overlap.
* **the subtype — global, low-frequency evidence in the tissue architecture.** Epithelium (crowded nuclei, pale
  eosin) and stroma (pink eosin, few nuclei) are arranged along one low-frequency pattern per subtype,
  :math:`\\cos(\\pi u x)\\cos(\\pi v y)` over the patch with :math:`(u, v)` from :data:`LAYOUTS` (random sign,
  amplitude and sub-patch shift), mixed with smooth random tissue texture. Every small window
  looks alike across subtypes (an edge between epithelium and stroma); only the arrangement over the whole patch
  tells them apart.

Colours come from the Beer–Lambert stain model: optical density ``c_H · h + c_E · e`` with the hematoxylin and
eosin vectors of scikit-image's ``rgb_from_hed``, perturbed per patient (stain batches), and ``RGB = 10^(−OD)``.
Patches of one patient share that patient's stain vectors and strengths and its nuclear size: a split by image
lets a model recognise the patient (the leak that BreakHis papers warn about).

Realistic: H&E colours by Beer–Lambert, nuclei as blurred blobs of two sizes, per-patient stain variation,
epithelium/stroma contrast. Not modelled: real gland and duct shapes (lumens, papillae, mucin pools), mitoses,
nucleoli and chromatin texture, fat and vessels, magnification levels, blur and JPEG/scan artefacts, the real
BreakHis class frequencies (one patient per class here in turn). ``book/guides/multimodality-images.ipynb`` shows
patches beside scikit-image's real H&E-like sample and compares their optical densities.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .modalities import _smooth

#: BreakHis's eight classes: benign (adenosis, fibroadenoma, phyllodes tumour, tubular adenoma) then malignant
#: (ductal, lobular, mucinous, papillary carcinoma), as the folder names of the real set.
CLASSES: tuple[str, ...] = ("adenosis", "fibroadenoma", "phyllodes_tumor", "tubular_adenoma",
                            "ductal_carcinoma", "lobular_carcinoma", "mucinous_carcinoma", "papillary_carcinoma")
#: BreakHis's abbreviations of the eight classes (file names such as ``SOB_B_A-14-22549AB-40-001.png``).
ABBREV: tuple[str, ...] = ("A", "F", "PT", "TA", "DC", "LC", "MC", "PC")
#: The low-frequency pattern (u, v) of each subtype's architecture, indexed by ``class % 4``.
LAYOUTS: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (1, 1), (2, 1))
#: Optical-density vectors of hematoxylin and eosin (scikit-image ``rgb_from_hed``, rows 0 and 1).
H_VECTOR = np.array([0.65, 0.70, 0.29])
E_VECTOR = np.array([0.07, 0.99, 0.11])


@dataclass
class HEBatch:
    """``images`` (n, 3, size, size) float32 RGB in [0, 1]; ``labels`` (n,) class index into :data:`CLASSES`;
    ``malignant`` (n,) 0/1; ``patient`` (n,) patient index; ``layout_sign`` (n,) ±1 of each patch's pattern."""

    images: np.ndarray
    labels: np.ndarray
    malignant: np.ndarray
    patient: np.ndarray
    layout_sign: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def simulate_he(n_patients: int, images_per_patient: int = 8, *, size: int = 32, seed: int = 0,
                nuclear_overlap: float = 1.0, texture: float = 0.6, classes: tuple[int, ...] | None = None
                ) -> HEBatch:
    """Simulate ``images_per_patient`` H&E patches of ``size`` × ``size`` pixels for each of ``n_patients``.

    Args:
        n_patients: patients; patient ``p`` has class ``classes[p % len(classes)]`` (all eight by default).
        images_per_patient: patches per patient (BreakHis has tens per patient and magnification).
        size: pixels per side.
        seed: the same seed draws the same patches.
        nuclear_overlap: how much the benign and malignant nuclear draws overlap (0: separate, 1: default,
            larger: harder).
        texture: weight of the smooth random tissue texture mixed into the architecture pattern (0: pure pattern).
        classes: which class indices to draw (default all of :data:`CLASSES`).

    Returns:
        :class:`HEBatch` with patches ordered patient by patient.

    Raises:
        ValueError: for fewer than one patient or patch, a size under 8 or an unknown class.
    """
    if n_patients < 1 or images_per_patient < 1 or size < 8:
        raise ValueError(f"simulate_he needs n_patients >= 1, images_per_patient >= 1, size >= 8; got "
                         f"{n_patients}, {images_per_patient}, {size}")
    classes = tuple(range(len(CLASSES))) if classes is None else tuple(classes)
    if not classes or any(c not in range(len(CLASSES)) for c in classes):
        raise ValueError(f"classes must be indices into CLASSES (0-7), got {classes}")
    rng = np.random.default_rng(seed)
    n = n_patients * images_per_patient
    patient = np.repeat(np.arange(n_patients), images_per_patient)
    p_class = np.array([classes[p % len(classes)] for p in range(n_patients)])
    labels = p_class[patient]
    mal = (labels >= 4).astype(np.int64)

    # per patient: stain vectors and strengths (stain batch), typical nuclear size, background tone
    h_vec = _unit(H_VECTOR + rng.normal(0, 0.06, (n_patients, 3)))[patient]
    e_vec = _unit(E_VECTOR + rng.normal(0, 0.06, (n_patients, 3)))[patient]
    s_h = rng.uniform(0.75, 1.25, n_patients)[patient]
    s_e = rng.uniform(0.7, 1.3, n_patients)[patient]
    big_p = rng.uniform(-0.08, 0.08, n_patients)[patient]

    # architecture: one low-frequency pattern per subtype, transposed / signed / shifted per patch, plus texture
    c = (np.arange(size) + 0.5) / size
    uv = np.array(LAYOUTS)[labels % 4]
    u, v = uv[:, 0, None, None], uv[:, 1, None, None]
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    dy, dx = rng.uniform(-0.06, 0.06, (2, n, 1, 1))
    yy, xx = c[None, :, None] + dy, c[None, None, :] + dx
    pattern = np.cos(np.pi * u * xx) * np.cos(np.pi * v * yy) * sign[:, None, None]
    field = rng.uniform(0.7, 1.3, (n, 1, 1)) * pattern + texture * _smooth(rng, n, size, size / 8)
    epi = 1 / (1 + np.exp(-3.0 * field))                                     # epithelium 1, stroma 0

    # nuclei: seeds of small and large nuclei, denser in epithelium; malignant: denser, larger share, darker
    k = nuclear_overlap
    density = np.where(mal, rng.uniform(0.05 - 0.012 * k, 0.07, n), rng.uniform(0.035, 0.035 + 0.015 * k, n))
    big_share = np.clip(np.where(mal, rng.uniform(0.45 - 0.2 * k, 0.7, n), rng.uniform(0.1, 0.2 + 0.2 * k, n))
                        + big_p, 0.02, 0.95)
    chroma = np.where(mal, rng.uniform(1.0 - 0.15 * k, 1.25, n), rng.uniform(0.8, 0.9 + 0.15 * k, n))
    seeds = rng.random((n, size, size)) < (density[:, None, None] * (0.25 + 1.5 * epi))
    big = rng.random((n, size, size)) < big_share[:, None, None]
    small_n = ndimage.gaussian_filter((seeds & ~big).astype(float), (0, 0.8, 0.8)) * 6.0
    big_n = ndimage.gaussian_filter((seeds & big).astype(float), (0, 1.1, 1.1)) * 10.0
    nuclei = np.clip(small_n + big_n, 0, 1.3)

    # stains: hematoxylin in nuclei (and a little everywhere), eosin mostly in stroma; Beer–Lambert to RGB
    c_h = s_h[:, None, None] * chroma[:, None, None] * (0.9 * nuclei + 0.05) + 0.03 * _smooth(rng, n, size, 1.0)
    c_e = s_e[:, None, None] * (0.12 + 0.28 * (1 - epi) + 0.04 * _smooth(rng, n, size, 1.5))
    od = np.clip(c_h, 0, None)[:, None] * h_vec[:, :, None, None] + np.clip(c_e, 0, None)[:, None] * e_vec[:, :, None, None]
    rgb = 10.0 ** (-od) + rng.normal(0, 0.012, od.shape)
    return HEBatch(images=np.clip(rgb, 0, 1).astype(np.float32), labels=labels.astype(np.int64),
                   malignant=mal, patient=patient.astype(np.int64), layout_sign=sign)


#: Tissue classes of :func:`simulate_tissue_slides`, named as the NCT-CRC-HE-100K folders (Kather et al. 2019):
#: adipose, lymphocytes, cancer-associated stroma, tumour epithelium.
TISSUES: tuple[str, ...] = ("ADI", "LYM", "STR", "TUM")
# per tissue: nucleus-seed density, nuclear blur (size), hematoxylin strength, eosin base, eosin texture weight, fat
_TISSUE_PARAMS = {"ADI": (0.006, 0.8, 0.8, 0.04, 0.0, 1.0), "LYM": (0.22, 0.6, 1.15, 0.10, 0.05, 0.0),
                  "STR": (0.025, 0.9, 0.8, 0.30, 0.25, 0.0), "TUM": (0.09, 1.25, 0.95, 0.17, 0.06, 0.0)}


@dataclass
class TissueSlides:
    """``images`` (n, 3, S, S) float32 RGB in [0, 1] with S = grid · tile; ``tile_labels`` (n, grid, grid) tissue
    index into :data:`TISSUES` of every tile; ``tile`` the tile side in pixels."""

    images: np.ndarray
    tile_labels: np.ndarray
    tile: int

    def tiles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every tile as ``(tiles (m, 3, tile, tile), labels (m,), slide (m,), position (m, 2) row/col)``, slide by
        slide in row-major order."""
        n, _, s, _ = self.images.shape
        g, t = s // self.tile, self.tile
        x = self.images.reshape(n, 3, g, t, g, t).transpose(0, 2, 4, 1, 3, 5).reshape(n * g * g, 3, t, t)
        rc = np.stack(np.meshgrid(np.arange(g), np.arange(g), indexing="ij"), -1).reshape(-1, 2)
        return (np.ascontiguousarray(x), self.tile_labels.reshape(-1), np.repeat(np.arange(n), g * g),
                np.tile(rc, (n, 1)))


def voronoi_tile_map(n: int, grid: int, regions: int, n_kinds: int, rng: np.random.Generator | int = 0
                     ) -> np.ndarray:
    """``n`` tissue maps on a ``grid`` × ``grid`` array of tiles: Voronoi cells around ``regions`` random seed tiles,
    each cell a different kind out of ``n_kinds`` (ties broken by a small random offset per seed). Returns
    (n, grid, grid) int64 kind indices."""
    if not 1 <= regions <= min(n_kinds, grid * grid):
        raise ValueError(f"regions must be between 1 and min(n_kinds, grid²) = {min(n_kinds, grid * grid)}, "
                         f"got {regions}")
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    seeds = np.stack([rng.permutation(grid * grid)[:regions] for _ in range(n)])                 # (n, r)
    kinds = np.stack([rng.permutation(n_kinds)[:regions] for _ in range(n)])                      # (n, r)
    rc = np.stack(np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij"), -1).reshape(-1, 2)  # (g², 2)
    d = ((rc[None, :, None] - rc[seeds][:, None]) ** 2).sum(-1) + rng.uniform(0, 0.5, (n, 1, regions))
    return np.take_along_axis(kinds, d.argmin(-1), 1).reshape(n, grid, grid).astype(np.int64)


def simulate_tissue_slides(n_slides: int, *, grid: int = 4, tile: int = 16, regions: int = 3, seed: int = 0,
                           stain_jitter: float = 1.0) -> TissueSlides:
    """Large H&E-like images (tiny "slides") made of tissue regions, vectorised over slides.

    Each slide is a ``grid`` × ``grid`` array of ``tile``-pixel tiles. Its tissue map is a Voronoi partition of the
    tile grid around ``regions`` random seed tiles, each seed a different tissue of :data:`TISSUES`, so regions are
    contiguous and each tile holds one tissue. Every tissue is rendered over the whole slide and the map picks, per
    tile, which one shows: texture runs on across tiles of one region, and changes at region boundaries.

    Tissues (Beer–Lambert colours from the hematoxylin and eosin vectors of :func:`simulate_he`): **ADI** white fat
    vacuoles with thin eosin membranes and rare nuclei; **LYM** crowded small dark nuclei on little eosin; **STR**
    pink streaked eosin with sparse nuclei; **TUM** larger, crowded nuclei on moderate eosin. Per slide: stain
    vectors and strengths (``stain_jitter`` scales their spread) and the tissues' densities vary.

    Realistic: H&E colours, per-slide stain variation, textures continuous within a region and sharp at region
    boundaries. Not modelled: gland and crypt architecture, mucus, debris, muscle, normal mucosa, background (the
    other five NCT-CRC-HE classes), boundaries that do not follow tile edges, blur and scanner artefacts.
    """
    if n_slides < 1 or grid < 1 or tile < 4 or not 1 <= regions <= len(TISSUES):
        raise ValueError(f"simulate_tissue_slides needs n_slides >= 1, grid >= 1, tile >= 4 and 1 <= regions <= "
                         f"{len(TISSUES)}; got {n_slides}, {grid}, {tile}, {regions}")
    rng = np.random.default_rng(seed)
    n, s, k = n_slides, grid * tile, len(TISSUES)
    tile_labels = voronoi_tile_map(n, grid, regions, k, rng)
    pix = np.repeat(np.repeat(tile_labels, tile, 1), tile, 2)                                    # (n, s, s)

    j = stain_jitter
    h_vec = _unit(H_VECTOR + rng.normal(0, 0.05 * j, (n, 3)))
    e_vec = _unit(E_VECTOR + rng.normal(0, 0.05 * j, (n, 3)))
    s_h = rng.uniform(1 - 0.15 * j, 1 + 0.15 * j, n)[:, None, None]
    s_e = rng.uniform(1 - 0.2 * j, 1 + 0.2 * j, n)[:, None, None]
    c_h = np.zeros((n, s, s))
    c_e = np.zeros((n, s, s))
    fat = np.zeros((n, s, s))
    for i, name in enumerate(TISSUES):
        dens, blur, hs, e0, etex, is_fat = _TISSUE_PARAMS[name]
        m = pix == i
        dens_n = dens * rng.uniform(0.75, 1.25, (n, 1, 1))
        nuc = ndimage.gaussian_filter((rng.random((n, s, s)) < dens_n).astype(float), (0, blur, blur))
        nuc = np.clip(nuc * (2 * np.pi * blur ** 2) * 0.9, 0, 1.2)
        if is_fat:   # vacuoles: thin eosin lines where a smooth field crosses zero
            z = _smooth(rng, n, s, 2.5)
            memb = np.exp(-(z / 0.25) ** 2)
            eos = e0 + 0.45 * memb
            fat = np.where(m, 1.0, fat)
        else:        # streaked (anisotropic) eosin texture
            streak = ndimage.gaussian_filter(rng.standard_normal((n, s, s)), (0, 0.7, 3.0))
            streak /= streak.std(axis=(1, 2), keepdims=True)
            eos = e0 * (1 + etex / max(e0, 1e-6) * 0.5 * streak)
        c_h = np.where(m, hs * nuc + 0.03, c_h)
        c_e = np.where(m, eos, c_e)
    c_h = s_h * np.clip(c_h, 0, None)
    c_e = s_e * np.clip(c_e, 0, None)
    od = c_h[:, None] * h_vec[:, :, None, None] + c_e[:, None] * e_vec[:, :, None, None]
    rgb = 10.0 ** (-od) + rng.normal(0, 0.015, od.shape)
    return TissueSlides(images=np.clip(rgb, 0, 1).astype(np.float32), tile_labels=tile_labels.astype(np.int64),
                        tile=tile)
