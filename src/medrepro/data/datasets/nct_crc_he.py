"""NCT-CRC-HE-100K and CRC-VAL-HE-7K (Kather et al., PLOS Medicine 2019): H&E colorectal tissue tiles in 9 classes.

Zenodo record 1214456 (CC BY 4.0) holds two archives that unpack to one folder each, a sub-folder per tissue class
and one 224 × 224 RGB TIFF (0.5 µm per pixel, Macenko-normalised) per tile::

    NCT-CRC-HE-100K/<CLASS>/<CLASS>-<ID>.tif     100,000 tiles of 86 slides (training)
    CRC-VAL-HE-7K/<CLASS>/<CLASS>-<ID>.tif         7,180 tiles of 50 other patients (the external test set)

with ``<CLASS>`` one of :data:`CLASSES` (adipose, background, debris, lymphocytes, mucus, smooth muscle, normal
mucosa, cancer-associated stroma, tumour epithelium) and ``<ID>`` letters (e.g. ``ADI-AAAWMSFI.tif``). The class is
the folder (torchvision's ``ImageFolder`` reads it that way, as kaiko-ai/eva does); the file name's prefix repeats
it. No slide or patient identifier is published per tile.

:func:`load` reads one split (checking that each file's prefix agrees with its folder), resizing with Pillow when
``size`` is given. :func:`write` writes simulated tiles in this layout through ``tifffile`` (the reference TIFF
library); :func:`make_fixture` writes a miniature copy of both folders from :mod:`medrepro.sim.histology`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture
from .breakhis import read_png

#: The nine tissue classes, in the (alphabetical) order of the folders, as ImageFolder indexes them.
CLASSES: tuple[str, ...] = ("ADI", "BACK", "DEB", "LYM", "MUC", "MUS", "NORM", "STR", "TUM")
#: Split name → folder name.
SPLITS: dict[str, str] = {"train": "NCT-CRC-HE-100K", "test": "CRC-VAL-HE-7K"}
_NAME = re.compile(r"^(?P<cls>[A-Z]+)-(?P<id>[A-Za-z0-9-]+)\.tif$")


class NctCrcLayoutError(FileNotFoundError):
    """The folder does not hold the NCT-CRC-HE-100K / CRC-VAL-HE-7K layout."""


@dataclass
class NctCrc:
    """Tiles ``(n, 3, H, W)`` float32 RGB in [0, 1] with their class index into :data:`CLASSES` and file name."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def split_dir(root: str | Path, split: str) -> Path:
    """The folder of ``split`` ("train" or "test"): ``root/<folder>`` or ``root`` itself when it is that folder."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    root, name = Path(root), SPLITS[split]
    for cand in (root / name, root):
        if cand.name == name and cand.is_dir():
            return cand
    raise NctCrcLayoutError(f"{root}: no {name}/ folder; expected {name}/<CLASS>/<CLASS>-<ID>.tif with CLASS one of "
                            f"{CLASSES} (see data_manifests/nct_crc_he.yaml)")


def index(root: str | Path, split: str = "train") -> list[tuple[Path, int]]:
    """(path, class index) of every tile of a split, sorted by path.

    Raises:
        NctCrcLayoutError: no split folder, or no tile in it.
        ValueError: an unknown class folder, or a file whose name's class disagrees with its folder.
    """
    base = split_dir(root, split)
    rows = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if folder.name not in CLASSES:
            raise ValueError(f"{folder}: not a tissue class folder (expected one of {CLASSES})")
        for path in sorted(folder.glob("*.tif")):
            m = _NAME.match(path.name)
            if m is None or m["cls"] != folder.name:
                raise ValueError(f"{path}: the file name should be {folder.name}-<ID>.tif (its class prefix must be "
                                 f"the folder's)")
            rows.append((path, CLASSES.index(folder.name)))
    if not rows:
        raise NctCrcLayoutError(f"{base}: no <CLASS>/<CLASS>-<ID>.tif tiles below it")
    return rows


def read_tile(path: str | Path, size: int | None = None) -> np.ndarray:
    """One tile as (3, H, W) float32 in [0, 1], read with Pillow (8-bit RGB required); resized to size × size
    (bilinear) when given — BreakHis's reader, which Pillow serves for TIFF as for PNG."""
    return read_png(path, size)


def load(root: str | Path, split: str = "train", size: int | None = None, max_per_class: int | None = None,
         seed: int = 0) -> NctCrc:
    """Read a split's tiles (at most ``max_per_class`` per class, drawn at random by ``seed``; all when None)."""
    rows = index(root, split)
    if max_per_class is not None:
        rng = np.random.default_rng(seed)
        keep = []
        for k in sorted({r[1] for r in rows}):
            idx = [i for i, r in enumerate(rows) if r[1] == k]
            keep += sorted(rng.permutation(idx)[:max_per_class].tolist())
        rows = [rows[i] for i in sorted(keep)]
    imgs = [read_tile(r[0], size) for r in rows]
    shapes = {a.shape for a in imgs}
    if len(shapes) != 1:
        raise ValueError(f"{split_dir(root, split)}: tiles differ in size {sorted(shapes)}; pass size= to resize them")
    return NctCrc(images=np.stack(imgs), labels=np.array([r[1] for r in rows], np.int64),
                  names=[r[0].name for r in rows], paths=[r[0] for r in rows])


def tile_ids(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct eight-letter tile ids in the style of the archives (``AAAWMSFI``)."""
    rng = np.random.default_rng(seed)
    ids: set[str] = set()
    out = []
    while len(out) < n:
        s = "".join(chr(65 + int(c)) for c in rng.integers(0, 26, 8))
        if s not in ids:
            ids.add(s)
            out.append(s)
    return out


def write(root: str | Path, images: np.ndarray, labels: Sequence[int], split: str = "train", seed: int = 0
          ) -> list[str]:
    """Write tiles (n, 3, H, W) in [0, 1] as 8-bit RGB TIFFs (``tifffile``) in the split's layout.

    ``labels`` index :data:`CLASSES`. Returns the file names written, in the order of ``images``.
    """
    import tifffile

    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or images.shape[1] != 3 or len(images) != len(labels):
        raise ValueError(f"write needs images (n, 3, H, W) and n labels; got {images.shape}, {labels.shape}")
    if labels.min() < 0 or labels.max() >= len(CLASSES):
        raise ValueError(f"labels must index CLASSES (0-{len(CLASSES) - 1}), got {labels.min()}..{labels.max()}")
    base = Path(root) / SPLITS[split]
    u8 = np.round(np.clip(images, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    names = []
    for img, k, tid in zip(u8, labels, tile_ids(len(u8), seed)):
        folder = base / CLASSES[int(k)]
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{CLASSES[int(k)]}-{tid}.tif"
        tifffile.imwrite(folder / name, img, photometric="rgb")
        names.append(name)
    return names


#: Index into :data:`CLASSES` of each tissue of :data:`medrepro.sim.histology.TISSUES` (ADI, LYM, STR, TUM).
SIM_TO_CLASS: tuple[int, ...] = (0, 3, 7, 8)


def make_fixture(root: str | Path, seed: int = 0, n_train_slides: int = 3, n_test_slides: int = 2,
                 tile: int = 32) -> Path:
    """A miniature of both folders: tiles of simulated tissue slides (:func:`~medrepro.sim.histology.
    simulate_tissue_slides`, four of the nine classes), ``tile`` pixels square."""
    from ...sim.histology import simulate_tissue_slides

    root = Path(root)
    for split, n, off in (("train", n_train_slides, 0), ("test", n_test_slides, 1)):
        x, y, _, _ = simulate_tissue_slides(n, tile=tile, seed=seed + off).tiles()
        write(root, x, np.asarray(SIM_TO_CLASS)[y], split, seed=seed + off)
    mark_fixture(root, "nct_crc_he")
    return root
