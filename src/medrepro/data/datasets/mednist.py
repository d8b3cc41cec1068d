"""MedNIST: 58,954 grayscale 64 × 64 JPEG thumbnails in six classes (the MONAI tutorial dataset).

The real layout, as MONAI's ``MedNISTDataset`` reads it (``monai/apps/datasets.py``) and as
``MedNIST.tar.gz`` extracts::

    MedNIST/
      AbdomenCT/000000.jpeg 000001.jpeg ...
      BreastMRI/000000.jpeg ...
      CXR/  ChestCT/  Hand/  HeadCT/

One folder per class; the class names, sorted, give the label indices (MONAI's convention). There is no
index file and no patient identifier, so splits here are random per class (as in MONAI's tutorials).

:func:`load` reads that layout (optionally a subset of classes, at most ``max_per_class`` images per
class, resized to ``size``); :func:`write` stores images in it; :func:`make_fixture` writes a miniature
copy filled with simulated images (``medrepro.sim.mednist``) for the tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import ImageFormatError
from . import mark_fixture

#: The six class folders of the real dataset, sorted (the label order MONAI uses).
CLASS_NAMES: tuple[str, ...] = ("AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT")
#: File name suffixes read as images (the real dataset has only ``.jpeg``).
SUFFIXES = (".jpeg", ".jpg", ".png")
#: Side of the real thumbnails in pixels.
NATIVE_SIZE = 64


@dataclass
class MedNISTData:
    """Images in [0, 1] as float32 ``(N, size, size)``, labels ``(N,)``, class names and file paths."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "MedNISTData":
        """The images at ``index`` (an integer or boolean array)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return MedNISTData(self.images[index], self.labels[index], self.class_names,
                           [self.paths[i] for i in index] if self.paths else [])


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds the class folders: ``path`` itself or ``path/MedNIST``.

    Raises:
        FileNotFoundError: neither holds any of the six class folders.
    """
    path = Path(path)
    for cand in (path, path / "MedNIST"):
        if cand.is_dir() and any((cand / c).is_dir() for c in CLASS_NAMES):
            return cand
    raise FileNotFoundError(f"no MedNIST class folder ({', '.join(CLASS_NAMES)}) in {path} or {path / 'MedNIST'}")


def list_files(root: str | os.PathLike[str], classes: Sequence[str] | None = None
               ) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """Image files, labels and class names of a MedNIST folder, sorted by class then by file name.

    Args:
        root: the ``MedNIST`` folder (or its parent).
        classes: class folders to read (default: every class folder present, sorted like MONAI does).

    Raises:
        FileNotFoundError: the folder, or a requested class folder, is missing, or a class folder holds no image.
    """
    root = find_root(root)
    present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    names = tuple(classes) if classes is not None else tuple(present)
    missing = [c for c in names if c not in present]
    if missing:
        raise FileNotFoundError(f"{root}: missing class folder(s) {missing}; present: {present}")
    paths: list[Path] = []
    labels: list[int] = []
    for k, name in enumerate(names):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{root / name}: class folder holds no {'/'.join(SUFFIXES)} image")
        paths += files
        labels += [k] * len(files)
    return paths, np.asarray(labels, dtype=np.int64), names


def read_image(path: str | os.PathLike[str], size: int | None = None) -> np.ndarray:
    """Read one thumbnail as float32 in [0, 1], ``(H, W)``; resized to ``size × size`` when given.

    Raises:
        FileNotFoundError: no such file.
        ImageFormatError: the file cannot be decoded, or it is a colour image (MedNIST is grayscale).
    """
    from PIL import Image

    from ..io import open_image

    im = open_image(path)                                   # FileNotFoundError / ImageFormatError naming the file
    scale = 65535.0 if im.mode.startswith("I") else 255.0
    if im.mode not in ("L", "I;16", "I", "F"):
        raise ImageFormatError(f"{path}: mode {im.mode!r} ({len(im.getbands())} bands); "
                               "MedNIST images are single-channel grayscale")
    if size is not None and im.size != (size, size):
        im = im.convert("F").resize((size, size), Image.Resampling.BOX if im.size[0] > size
                                    else Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.float32)
    if arr.ndim != 2:
        raise ImageFormatError(f"{path}: expected a 2-D image, got shape {arr.shape}")
    return np.clip(arr / scale, 0.0, 1.0)


def load(root: str | os.PathLike[str], *, classes: Sequence[str] | None = None, max_per_class: int | None = None,
         size: int | None = None, seed: int = 0) -> MedNISTData:
    """Read MedNIST images from the real layout.

    Args:
        root: the ``MedNIST`` folder (or its parent).
        classes: class folders to read (default: all present, sorted); label ``k`` is ``classes[k]``.
        max_per_class: read at most this many images per class, a random subset drawn with ``seed``
            (``None``: all).
        size: resize every image to ``size × size`` (``None``: keep 64 × 64).
        seed: seeds the subset draw.

    Returns:
        :class:`MedNISTData`, class by class.

    Raises:
        FileNotFoundError, ImageFormatError: see :func:`list_files` and :func:`read_image`; images of
        different sizes (without ``size``) raise ImageFormatError naming the odd file.
    """
    paths, labels, names = list_files(root, classes)
    if max_per_class is not None:
        rng = np.random.default_rng(seed)
        keep = np.concatenate([np.sort(rng.permutation(np.flatnonzero(labels == k))[:max_per_class])
                               for k in range(len(names))])
        paths, labels = [paths[i] for i in keep], labels[keep]
    images = [read_image(p, size) for p in paths]
    shape = images[0].shape if images else (size or NATIVE_SIZE,) * 2
    for p, im in zip(paths, images):
        if im.shape != shape:
            raise ImageFormatError(f"{p}: shape {im.shape}, the other images are {shape}; pass size= to resize")
    arr = np.stack(images) if images else np.zeros((0, *shape), np.float32)
    return MedNISTData(arr, labels, names, list(paths))


def write(root: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
          quality: int = 90) -> Path:
    """Write uint8 images ``(N, H, W)`` as ``root/MedNIST/<ClassName>/<000000>.jpeg`` (numbered per class).

    Returns:
        The ``MedNIST`` folder.
    """
    from PIL import Image

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    folder = Path(root) / "MedNIST"
    counters: dict[int, int] = {}
    for img, lab in zip(images, np.asarray(labels)):
        k = int(lab)
        out = folder / class_names[k]
        if k not in counters:
            out.mkdir(parents=True, exist_ok=True)
            counters[k] = 0
        Image.fromarray(img).save(out / f"{counters[k]:06d}.jpeg", format="JPEG", quality=quality)
        counters[k] += 1
    return folder


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_per_class: int = 12) -> Path:
    """Write a miniature MedNIST (``root/MedNIST/<Class>/000000.jpeg``, 64 × 64) with simulated images.

    Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    from ...sim.mednist import MedNISTSpec, simulate_mednist

    root = Path(root)
    batch = simulate_mednist(n_per_class, seed=seed, spec=MedNISTSpec(size=NATIVE_SIZE))
    write(root, batch.images, batch.labels, batch.class_names)
    mark_fixture(root, "mednist")
    return root
