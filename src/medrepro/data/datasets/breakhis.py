"""BreakHis (Spanhol et al., IEEE TBME 2016): 7,909 H&E breast-tumour images of 82 patients, four magnifications.

The layout of the published archive ``BreaKHis_v1.tar.gz`` (as read by, e.g., kaiko-ai/eva's ``BreaKHis`` class)::

    BreaKHis_v1/histology_slides/breast/<benign|malignant>/SOB/<subtype>/<patient folder>/<mag>X/<file>.png
    e.g. .../benign/SOB/adenosis/SOB_B_A_14-22549AB/40X/SOB_B_A-14-22549AB-40-001.png

The file name carries everything: ``<procedure>_<B|M>_<class>-<year>-<slide id>-<magnification>-<seq>.png``, with
the class abbreviations of :data:`ABBREV` (A adenosis, F fibroadenoma, PT phyllodes tumour, TA tubular adenoma,
DC ductal, LC lobular, MC mucinous, PC papillary carcinoma). The **patient** is the slide id (``22549AB``), as
eva's patient-level split uses it: every image of a patient must fall in one split, or a model is tested on
patients it has seen (images of one patient share stain, scanner and tissue). Images are 700 × 460 RGB PNGs, 8 bits
per channel.

:func:`load` reads the folder tree (checking that each file's name agrees with the folders it sits in) and
returns the images, resized with Pillow when ``size`` is given. :func:`write_simulated` writes patches of
:mod:`medrepro.sim.histology` in the same layout through Pillow; :func:`make_fixture` writes a miniature copy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

#: Folder names of the eight subtypes, benign first (the order of the class index).
CLASSES: tuple[str, ...] = ("adenosis", "fibroadenoma", "phyllodes_tumor", "tubular_adenoma",
                            "ductal_carcinoma", "lobular_carcinoma", "mucinous_carcinoma", "papillary_carcinoma")
ABBREV: tuple[str, ...] = ("A", "F", "PT", "TA", "DC", "LC", "MC", "PC")
MAGNIFICATIONS: tuple[str, ...] = ("40X", "100X", "200X", "400X")
ROOT_NAME = "BreaKHis_v1"
_BASE = Path("histology_slides") / "breast"
_NAME = re.compile(r"^(?P<proc>[A-Z]+)_(?P<tumour>[BM])_(?P<cls>[A-Z]+)-(?P<year>\d+)-(?P<slide>[0-9A-Za-z]+)-"
                   r"(?P<mag>\d+)-(?P<seq>\d+)\.png$")


class BreakHisLayoutError(FileNotFoundError):
    """The folder does not hold BreakHis's histology_slides/breast/<benign|malignant>/SOB/... layout."""


@dataclass
class BreakHis:
    """Images ``(n, 3, H, W)`` float32 RGB in [0, 1] with their class, tumour type, patient and magnification."""

    images: np.ndarray
    labels: np.ndarray                 # index into CLASSES
    malignant: np.ndarray              # 0 benign, 1 malignant
    patient: np.ndarray                # slide id (str), the grouping unit
    magnification: np.ndarray          # "40X", ...
    paths: list[Path] = field(default_factory=list)


def find_root(root: str | Path) -> Path:
    """The ``BreaKHis_v1`` folder: ``root`` itself or its child of that name."""
    root = Path(root)
    for cand in (root, root / ROOT_NAME):
        if (cand / _BASE).is_dir():
            return cand
    raise BreakHisLayoutError(f"{root}: no histology_slides/breast/ folder (nor {ROOT_NAME}/histology_slides/"
                              "breast/); expected <benign|malignant>/SOB/<subtype>/<patient>/<mag>X/*.png below it")


def parse_name(path: str | Path) -> dict[str, str]:
    """Fields of a BreakHis file name; raises ValueError naming the file when it does not follow the convention."""
    name = Path(path).name
    m = _NAME.match(name)
    if m is None or m["cls"] not in ABBREV:
        raise ValueError(f"{path}: not a BreakHis file name <proc>_<B|M>_<class>-<year>-<slide>-<mag>-<seq>.png "
                         f"with class one of {ABBREV}")
    return m.groupdict()


def index(root: str | Path, magnifications: Sequence[str] | None = None) -> list[tuple[Path, int, str, str]]:
    """(path, class index, patient, magnification) of every image, sorted by path.

    Raises:
        BreakHisLayoutError: no layout, or no image of the asked magnifications.
        ValueError: a file whose name disagrees with its folders (tumour type, subtype or magnification).
    """
    base = find_root(root) / _BASE
    mags = tuple(magnifications) if magnifications else MAGNIFICATIONS
    bad = [m for m in mags if m not in MAGNIFICATIONS]
    if bad:
        raise ValueError(f"magnifications must be among {MAGNIFICATIONS}, got {bad}")
    rows = []
    for path in sorted(base.glob("*/SOB/*/*/*/*.png")):
        tumour, _, subtype, _, mag = path.relative_to(base).parts[:5]
        if mag not in mags:
            continue
        f = parse_name(path)
        k = ABBREV.index(f["cls"])
        if subtype != CLASSES[k] or tumour != ("malignant" if k >= 4 else "benign") or f["tumour"] != tumour[0].upper():
            raise ValueError(f"{path}: the file name says {f['tumour']}/{f['cls']}, the folders {tumour}/{subtype}")
        if f"{f['mag']}X" != mag:
            raise ValueError(f"{path}: the file name says {f['mag']}X, the folder {mag}")
        rows.append((path, k, f["slide"], mag))
    if not rows:
        raise BreakHisLayoutError(f"{base}: no *.png under <benign|malignant>/SOB/<subtype>/<patient>/<mag>X/ for "
                                  f"magnifications {mags}")
    return rows


def count_images(root: str | Path) -> dict[str, int]:
    """Number of PNG files per magnification folder (0 where there are none), to compare with the publisher's table."""
    base = find_root(root) / _BASE
    return {m: len(list(base.glob(f"*/SOB/*/*/{m}/*.png"))) for m in MAGNIFICATIONS}


def read_png(path: str | Path, size: int | None = None) -> np.ndarray:
    """One image as (3, H, W) float32 in [0, 1], read with Pillow; resized to size × size (bilinear) when given."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode != "RGB":
            raise ValueError(f"{path}: expected an RGB image, got mode {im.mode}")
        if size is not None and im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return a.transpose(2, 0, 1)


def load(root: str | Path, magnifications: Sequence[str] | None = None, size: int | None = None,
         max_per_patient: int | None = None) -> BreakHis:
    """Read the images (of the given magnifications; at most ``max_per_patient`` per patient, in path order)."""
    rows = index(root, magnifications)
    if max_per_patient is not None:
        seen: dict[str, int] = {}
        kept = []
        for r in rows:
            seen[r[2]] = seen.get(r[2], 0) + 1
            if seen[r[2]] <= max_per_patient:
                kept.append(r)
        rows = kept
    imgs = [read_png(r[0], size) for r in rows]
    shapes = {a.shape for a in imgs}
    if len(shapes) != 1:
        raise ValueError(f"{find_root(root)}: images differ in size {sorted(shapes)}; pass size= to resize them")
    labels = np.array([r[1] for r in rows], np.int64)
    return BreakHis(images=np.stack(imgs), labels=labels, malignant=(labels >= 4).astype(np.int64),
                    patient=np.array([r[2] for r in rows]), magnification=np.array([r[3] for r in rows]),
                    paths=[r[0] for r in rows])


def patient_ids(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct slide ids in BreakHis's style (digits, sometimes two capital letters)."""
    rng = np.random.default_rng(seed)
    nums = rng.choice(np.arange(2000, 30000), size=n, replace=False)
    suffix = ["", "", "AB", "CD"]
    return [f"{v}{suffix[int(rng.integers(0, 4))]}" for v in nums]


def write_simulated(root: str | Path, images: np.ndarray, labels: Sequence[int], patient: Sequence[int],
                    magnification: str = "40X", year: int = 14, seed: int = 0) -> Path:
    """Write simulated patches (n, 3, H, W) in [0, 1] as 8-bit RGB PNGs (Pillow) in BreakHis's layout.

    ``patient`` holds integer patient indices; each gets a BreakHis-style slide id. Returns ``root/BreaKHis_v1``.
    """
    from PIL import Image

    if magnification not in MAGNIFICATIONS:
        raise ValueError(f"magnification must be one of {MAGNIFICATIONS}, got {magnification!r}")
    images = np.asarray(images)
    labels, patient = np.asarray(labels), np.asarray(patient)
    if images.ndim != 4 or images.shape[1] != 3 or not len(images) == len(labels) == len(patient):
        raise ValueError(f"write_simulated needs images (n, 3, H, W) and n labels and patients; got {images.shape}, "
                         f"{labels.shape}, {patient.shape}")
    ids = dict(zip(np.unique(patient), patient_ids(len(np.unique(patient)), seed)))
    out = Path(root) / ROOT_NAME
    u8 = np.round(np.clip(images, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    seq: dict[int, int] = {}
    for i in range(len(u8)):
        k, p = int(labels[i]), patient[i]
        tumour, ab = ("malignant", "M") if k >= 4 else ("benign", "B")
        folder = out / _BASE / tumour / "SOB" / CLASSES[k] / f"SOB_{ab}_{ABBREV[k]}_{year}-{ids[p]}" / magnification
        folder.mkdir(parents=True, exist_ok=True)
        seq[p] = seq.get(p, 0) + 1
        name = f"SOB_{ab}_{ABBREV[k]}-{year}-{ids[p]}-{magnification[:-1]}-{seq[p]:03d}.png"
        Image.fromarray(u8[i], mode="RGB").save(folder / name)
    return out


def make_fixture(root: str | Path, seed: int = 0, n_patients: int = 16, images_per_patient: int = 3,
                 size: int = 32) -> Path:
    """A miniature BreakHis: ``n_patients`` simulated patients (all eight classes) at 40X, in the real layout."""
    from ...sim.histology import simulate_he

    root = Path(root)
    b = simulate_he(n_patients, images_per_patient, size=size, seed=seed)
    write_simulated(root, b.images, b.labels, b.patient, seed=seed)
    mark_fixture(root, "breakhis")
    return root
