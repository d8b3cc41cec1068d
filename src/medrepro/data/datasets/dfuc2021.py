"""DFUC 2021 (Yap et al. 2021; Cassidy et al. 2021): diabetic-foot-ulcer patches, four classes.

The training release holds 5,955 labelled and 3,994 unlabelled patches (the 5,734 test patches were scored on the
challenge server; their labels are not released). Its layout, as read by the code bases of several challenge
entries (e.g. ``train = pd.read_csv("DFUC2021_train/train.csv"); train[0:5955]``, images joined from
``DFUC2021_train/images``)::

    DFUC2021_train/
        train.csv          image,none,infection,ischaemia,both      one row per image, one-hot labels
        images/<image>     the JPEG patches named in the ``image`` column

``train.csv`` lists the 5,955 labelled images first, then the 3,994 unlabelled ones, whose four label cells are
empty. There are no patient identifiers. The image names of the real release and the patch size are not
confirmed here (third-party code resizes the patches to 224 × 224 before use); the loader takes the names from the
CSV and resizes when ``size`` is given.

:func:`load` reads the CSV and the images (RGB, float32 in [0, 1]); labels are the class index of
:data:`CLASSES` or -1 for an unlabelled image. :func:`write_simulated` writes simulated patches in the same
layout through Pillow and pandas; :func:`make_fixture` writes a miniature copy.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

#: The four classes, in the column order of train.csv.
CLASSES: tuple[str, ...] = ("none", "infection", "ischaemia", "both")
COLUMNS: tuple[str, ...] = ("image",) + CLASSES
ROOT_NAME = "DFUC2021_train"
#: Counts of the real training release (Cassidy et al. 2021; Yap et al. 2021).
N_LABELLED, N_UNLABELLED = 5955, 3994


class Dfuc2021LayoutError(FileNotFoundError):
    """The folder does not hold DFUC2021_train/train.csv and DFUC2021_train/images/."""


@dataclass
class Dfuc2021:
    """Images ``(n, 3, H, W)`` float32 RGB in [0, 1]; ``labels`` the class index, -1 where unlabelled."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    @property
    def labelled(self) -> np.ndarray:
        """Boolean mask of the labelled rows."""
        return self.labels >= 0


def find_root(root: str | Path) -> Path:
    """The ``DFUC2021_train`` folder: ``root`` itself or its child of that name."""
    root = Path(root).expanduser()
    for cand in (root, root / ROOT_NAME):
        if (cand / "train.csv").is_file() and (cand / "images").is_dir():
            return cand
    raise Dfuc2021LayoutError(f"{root}: no train.csv with an images/ folder beside it (nor in {ROOT_NAME}/); "
                              "see data_manifests/dfuc2021.yaml for the layout and the licence steps")


def read_index(root: str | Path) -> tuple[list[str], np.ndarray]:
    """Image names and labels (class index, -1 for an unlabelled row) from ``train.csv``.

    Raises:
        ValueError: a header other than ``image,none,infection,ischaemia,both``, a row whose labels are not one-hot
            (exactly one ``1``, the rest ``0``) nor all empty, or a repeated image name; the message names the row.
    """
    path = find_root(root) / "train.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise ValueError(f"{path}: header must be {','.join(COLUMNS)}, got {rows[0] if rows else 'an empty file'}")
    names, labels = [], []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"{path}, line {i}: {len(row)} fields, expected {len(COLUMNS)}")
        cells = [c.strip() for c in row[1:]]
        if all(c == "" for c in cells):
            labels.append(-1)
        else:
            try:
                vals = [int(float(c)) for c in cells]
            except ValueError:
                raise ValueError(f"{path}, line {i} ({row[0]}): labels {cells} are not 0/1") from None
            if sorted(vals) != [0, 0, 0, 1]:
                raise ValueError(f"{path}, line {i} ({row[0]}): labels {cells} are not one-hot over {CLASSES}")
            labels.append(vals.index(1))
        names.append(row[0].strip())
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: an image is listed twice")
    return names, np.array(labels, np.int64)


def read_image(path: str | Path, size: int | None = None) -> np.ndarray:
    """One image as (3, H, W) float32 in [0, 1], read with Pillow (converted to RGB); resized (bilinear) to
    size × size when given."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None and im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return a.transpose(2, 0, 1)


def load(root: str | Path, size: int | None = None, which: str = "all") -> Dfuc2021:
    """Read ``train.csv`` and its images: ``which`` is ``"all"``, ``"labelled"`` or ``"unlabelled"``.

    Raises:
        Dfuc2021LayoutError: no layout, or an image named in the CSV is missing (the message names it).
        ValueError: images of different sizes without ``size``.
    """
    if which not in ("all", "labelled", "unlabelled"):
        raise ValueError(f"which must be 'all', 'labelled' or 'unlabelled', got {which!r}")
    base = find_root(root)
    names, labels = read_index(base)
    keep = {"all": np.ones(len(labels), bool), "labelled": labels >= 0, "unlabelled": labels < 0}[which]
    names = [n for n, k in zip(names, keep) if k]
    labels = labels[keep]
    paths = [base / "images" / n for n in names]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise Dfuc2021LayoutError(f"{base}: {len(missing)} image(s) named in train.csv are missing from images/, "
                                  f"e.g. {missing[0].name}")
    imgs = [read_image(p, size) for p in paths]
    shapes = {a.shape for a in imgs}
    if len(shapes) > 1:
        raise ValueError(f"{base}: images differ in size {sorted(shapes)}; pass size= to resize them")
    images = np.stack(imgs) if imgs else np.zeros((0, 3, size or 0, size or 0), np.float32)
    return Dfuc2021(images=images, labels=labels, names=names, paths=paths)


def image_names(n: int, start: int = 100001) -> list[str]:
    """``n`` image file names (six digits and ``.jpg``; the real release's naming is not confirmed)."""
    return [f"{start + i}.jpg" for i in range(n)]


def write_simulated(root: str | Path, images: np.ndarray, labels: Sequence[int], quality: int = 95) -> Path:
    """Write patches (n, 3, H, W) in [0, 1] as JPEG files (Pillow, ``quality``, no chroma subsampling) and
    ``train.csv`` (pandas) in DFUC 2021's layout; ``labels`` of -1 are written as unlabelled rows (empty cells),
    after the labelled ones as in the real file. Returns ``root/DFUC2021_train``.
    """
    import pandas as pd
    from PIL import Image

    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or images.shape[1] != 3 or len(images) != len(labels):
        raise ValueError(f"write_simulated needs images (n, 3, H, W) and n labels; got {images.shape}, {labels.shape}")
    if ((labels < -1) | (labels >= len(CLASSES))).any():
        raise ValueError(f"labels must be -1 (unlabelled) or a class index below {len(CLASSES)}")
    order = np.concatenate([np.flatnonzero(labels >= 0), np.flatnonzero(labels < 0)])
    out = Path(root) / ROOT_NAME
    (out / "images").mkdir(parents=True, exist_ok=True)
    names = image_names(len(order))
    u8 = np.round(np.clip(images, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    table = {c: [] for c in COLUMNS}
    for name, i in zip(names, order):
        Image.fromarray(u8[i], mode="RGB").save(out / "images" / name, quality=quality, subsampling=0)
        table["image"].append(name)
        for k, c in enumerate(CLASSES):
            table[c].append(pd.NA if labels[i] < 0 else int(labels[i] == k))
    pd.DataFrame(table).astype({c: "Int64" for c in CLASSES}).to_csv(out / "train.csv", index=False)
    return out


def written_order(labels: Sequence[int]) -> np.ndarray:
    """The row order :func:`write_simulated` writes: labelled images first, then unlabelled ones, each in input order."""
    labels = np.asarray(labels)
    return np.concatenate([np.flatnonzero(labels >= 0), np.flatnonzero(labels < 0)])


def make_fixture(root: str | Path, seed: int = 0, n_labelled: int = 24, n_unlabelled: int = 8,
                 size: int = 32) -> Path:
    """A miniature DFUC2021_train (all four classes, some unlabelled rows) of simulated patches, in the real layout."""
    from ...sim.foot_ulcer import UlcerSpec, simulate_ulcers

    root = Path(root)
    lab = simulate_ulcers(n_labelled, prevalence=(0.3, 0.3, 0.2, 0.2), spec=UlcerSpec(size=size), seed=seed)
    unl = simulate_ulcers(n_unlabelled, spec=UlcerSpec(size=size), seed=seed + 1)
    images = np.concatenate([lab.images, unl.images])
    labels = np.concatenate([lab.labels, np.full(n_unlabelled, -1)])
    write_simulated(root, images, labels)
    mark_fixture(root, "dfuc2021")
    return root
