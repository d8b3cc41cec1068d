"""HyperKvasir: labelled and segmented gastrointestinal endoscopy images (Borgli et al., Scientific Data 2020).

The layout read here, from the dataset's official repository (github.com/simula/hyper-kvasir, README) and the
split lists of Adiga et al.'s official code (``Datasets/HyperKvasir/HKVASIR_{train,test}.txt``, which name
files such as ``labeled-images/upper-gi-tract/anatomical-landmarks/z-line/<uuid>.jpg``)::

    <root>/
      labeled-images/<tract>/<category>/<finding>/<name>.jpg     10,662 JPEGs in 23 finding folders; the
                                                                  finding folder is the class
      segmented-images/images/<name>.jpg                         1,000 polyp images, JPEG
      segmented-images/masks/<name>.jpg                          their masks (white: polyp), same file names
      HKVASIR_train.txt, HKVASIR_test.txt (optional)             Adiga et al.'s split: a header line, then
                                                                  ``image_id class_id path`` (class_id 1-based)

The names of the two segmented-image folders (``images``, ``masks``) follow the README's description ("one
for images and one for masks"); they are matched case-insensitively. Masks are JPEG-compressed, so they are
binarised at 128. A missing folder, an unreadable image, a mask whose size differs from its image or a split
line that names a missing file raises an error naming the file. :func:`make_fixture` writes a miniature of this
layout with PIL from simulated frames (:mod:`medrepro.sim.endoscopy`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

SUFFIXES = (".jpg", ".jpeg", ".png")
#: Where the simulated classes are written: (tract, category) of HyperKvasir's labelled-image tree.
SIM_PARENT = ("lower-gi-tract", "pathological-findings")
SPLIT_FILES = {"train": "HKVASIR_train.txt", "test": "HKVASIR_test.txt"}


class HyperKvasirLayoutError(ValueError):
    """The folder does not hold the expected HyperKvasir layout (the message names the file or folder)."""


@dataclass
class LabeledImages:
    """Images ``(N, 3, size, size)`` float32 in [0, 1], labels into ``classes`` (finding folder names), paths."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


@dataclass
class SegmentedImages:
    """Images ``(N, 3, size, size)`` float32 in [0, 1], masks ``(N, size, size)`` bool, paths of the images."""

    images: np.ndarray
    masks: np.ndarray
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


def _sub(root: Path, name: str) -> Path:
    """The child folder ``name`` of ``root`` (case-insensitive)."""
    if root.is_dir():
        for p in sorted(root.iterdir()):
            if p.is_dir() and p.name.lower() == name.lower():
                return p
    raise FileNotFoundError(f"no folder {name!r} in {root}")


def read_rgb(path: str | os.PathLike[str], size: int | None = None) -> np.ndarray:
    """One image as float32 RGB ``(3, H, W)`` in [0, 1], resized to ``size × size`` when given.

    Raises:
        FileNotFoundError: no such file. ImageFormatError: the file cannot be decoded (the message names it).
    """
    from PIL import Image

    from ..io import open_image

    im = open_image(path).convert("RGB")
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BOX if min(im.size) > size else Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0


def read_mask(path: str | os.PathLike[str], size: int | None = None) -> np.ndarray:
    """A mask as bool ``(H, W)``: grey level ≥ 128 (the JPEG masks are not exactly 0/255)."""
    from PIL import Image

    from ..io import open_image

    im = open_image(path).convert("L")
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im) >= 128


def labeled_files(root: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """The labelled images under ``root/labeled-images``, by finding folder (the class), names sorted.

    Raises:
        FileNotFoundError: no ``labeled-images`` folder. HyperKvasirLayoutError: no image in it.
    """
    base = _sub(Path(root), "labeled-images")
    found: dict[str, list[Path]] = {}
    for p in sorted(base.rglob("*")):
        if p.is_file() and p.suffix.lower() in SUFFIXES:
            found.setdefault(p.parent.name, []).append(p)
    if not found:
        raise HyperKvasirLayoutError(f"{base}: no {'/'.join(SUFFIXES)} image in any finding folder")
    return dict(sorted(found.items()))


def read_split(root: str | os.PathLike[str], split: str) -> list[tuple[int, Path]]:
    """Adiga et al.'s split list ``root/HKVASIR_<split>.txt``: (0-based class id, image path) per line.

    Raises:
        FileNotFoundError: no split file. HyperKvasirLayoutError: a malformed line, or a line naming a missing
        image (the message names the file and the line).
    """
    path = Path(root) / SPLIT_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(f"split list not found: {path}")
    rows = []
    with open(path) as fh:
        fh.readline()                                                     # header: image_id class_id path
        for i, line in enumerate(fh, start=2):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3 or not parts[1].isdigit():
                raise HyperKvasirLayoutError(f"{path}, line {i}: expected 'image_id class_id path', got {line!r}")
            img = Path(root) / parts[2]
            if not img.is_file():
                raise HyperKvasirLayoutError(f"{path}, line {i}: image {img} not found")
            rows.append((int(parts[1]) - 1, img))
    return rows


def load_labeled(root: str | os.PathLike[str], *, size: int = 32, split: str | None = None,
                 max_per_class: int | None = None, seed: int = 0) -> LabeledImages:
    """Read labelled images, resized to ``size × size``.

    Args:
        root: the folder holding ``labeled-images`` (and the split lists, when ``split`` is given).
        split: ``"train"`` or ``"test"``: the images of Adiga et al.'s split list, with its class ids (class
            names are then the finding folders in id order); ``None``: every image, classes = finding folders
            in sorted order.
        max_per_class: read at most this many images per class (a random subset drawn with ``seed``).
    """
    if split is None:
        by_class = labeled_files(root)
        classes = tuple(by_class)
        items = [(k, p) for k, c in enumerate(classes) for p in by_class[c]]
    else:
        items = read_split(root, split)
        names: dict[int, str] = {}
        for k, p in items:
            names.setdefault(k, p.parent.name)
        classes = tuple(names.get(k, f"class-{k}") for k in range(max(names) + 1))
    if max_per_class is not None:
        rng = np.random.default_rng(seed)
        keep = []
        for k in sorted({k for k, _ in items}):
            idx = [i for i, (kk, _) in enumerate(items) if kk == k]
            keep += sorted(rng.permutation(idx)[:max_per_class].tolist()) if len(idx) > max_per_class else idx
        items = [items[i] for i in sorted(keep)]
    images = np.stack([read_rgb(p, size) for _, p in items])
    return LabeledImages(images, np.array([k for k, _ in items], np.int64), classes, [p for _, p in items])


def load_segmented(root: str | os.PathLike[str], *, size: int = 32, limit: int | None = None) -> SegmentedImages:
    """Read ``segmented-images``: each image in ``images/`` with the mask of the same name in ``masks/``.

    Raises:
        FileNotFoundError: a missing folder. HyperKvasirLayoutError: an image without a mask, or a mask whose
        size differs from its image's (each naming the file).
    """
    from ..io import open_image

    base = _sub(Path(root), "segmented-images")
    img_dir, mask_dir = _sub(base, "images"), _sub(base, "masks")
    files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in SUFFIXES)
    if not files:
        raise HyperKvasirLayoutError(f"{img_dir}: no image")
    files = files[:limit] if limit else files
    images, masks = [], []
    for p in files:
        m = mask_dir / p.name
        if not m.is_file():
            raise HyperKvasirLayoutError(f"{p}: no mask {m}")
        if open_image(p).size != open_image(m).size:
            raise HyperKvasirLayoutError(f"{m}: size {open_image(m).size} differs from its image's {open_image(p).size}")
        images.append(read_rgb(p, size))
        masks.append(read_mask(m, size))
    return SegmentedImages(np.stack(images), np.stack(masks), files)


def write_labeled(root: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                  names: Sequence[str], *, quality: int = 95) -> list[Path]:
    """Write uint8 RGB images ``(N, H, W, 3)`` as JPEGs (PIL) under ``root/labeled-images/<tract>/<category>/
    <class>/<name>.jpg`` (``SIM_PARENT``). Returns the paths."""
    from PIL import Image

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    base = Path(root) / "labeled-images" / SIM_PARENT[0] / SIM_PARENT[1]
    paths = []
    for img, lab, name in zip(images, np.asarray(labels), names):
        folder = base / classes[int(lab)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, "RGB").save(folder / f"{name}.jpg", format="JPEG", quality=quality)
        paths.append(folder / f"{name}.jpg")
    return paths


def write_split(root: str | os.PathLike[str], split: str, labels: np.ndarray, paths: Sequence[Path]) -> Path:
    """Write Adiga et al.'s split list format: header, then ``image_id class_id path`` (1-based class id)."""
    root = Path(root)
    out = root / SPLIT_FILES[split]
    with open(out, "w") as fh:
        fh.write("image_id class_id path\n")
        for i, (lab, p) in enumerate(zip(np.asarray(labels), paths), start=1):
            fh.write(f"{i} {int(lab) + 1} {Path(p).relative_to(root).as_posix()}\n")
    return out


def write_segmented(root: str | os.PathLike[str], images: np.ndarray, masks: np.ndarray, names: Sequence[str],
                    *, quality: int = 95) -> Path:
    """Write ``segmented-images/images/<name>.jpg`` and ``segmented-images/masks/<name>.jpg`` (white: finding)."""
    from PIL import Image

    base = Path(root) / "segmented-images"
    (base / "images").mkdir(parents=True, exist_ok=True)
    (base / "masks").mkdir(parents=True, exist_ok=True)
    for img, m, name in zip(np.asarray(images), np.asarray(masks), names):
        Image.fromarray(img, "RGB").save(base / "images" / f"{name}.jpg", format="JPEG", quality=quality)
        Image.fromarray(np.where(m, 255, 0).astype(np.uint8), "L").save(base / "masks" / f"{name}.jpg",
                                                                      format="JPEG", quality=quality)
    return base


def write_simulated(root: str | os.PathLike[str], batch, train: np.ndarray, test: np.ndarray,
                    masked: np.ndarray | None = None) -> Path:
    """Write a simulated :class:`medrepro.sim.endoscopy.EndoBatch` in this layout: every frame as a labelled
    JPEG, the ``train`` and ``test`` rows as the two split lists, the ``masked`` rows (default: ``test``) also
    as segmented images with their masks. Returns ``root``."""
    root = Path(root)
    u8 = batch.to_uint8()
    names = [f"sim{i:05d}" for i in range(len(u8))]
    paths = write_labeled(root, u8, batch.labels, batch.classes, names)
    for split, rows in (("train", train), ("test", test)):
        write_split(root, split, batch.labels[rows], [paths[i] for i in rows])
    rows = test if masked is None else masked
    write_segmented(root, u8[rows], batch.masks[rows], [names[i] for i in rows])
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: int = 36) -> Path:
    """A miniature of the layout from simulated frames (PIL JPEGs, both split lists, segmented images for the
    test rows). Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker."""
    from ...sim.endoscopy import simulate_endoscopy

    root = Path(root)
    batch = simulate_endoscopy(n, seed=seed)
    cut = (2 * n) // 3
    write_simulated(root, batch, np.arange(cut), np.arange(cut, n))
    mark_fixture(root, "hyper_kvasir")
    return root
