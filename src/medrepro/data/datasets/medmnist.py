"""MedMNIST 2-D ``.npz`` files: the layout every 2-D MedMNIST dataset (PathMNIST, DermaMNIST, BloodMNIST, ...) uses.

The layout, as the official ``medmnist`` package reads it (``medmnist/dataset.py`` and ``medmnist/info.py``,
v3.0.2, read for this module) and as Zenodo record 10519652 distributes it: one file per dataset and image size,
``<flag>.npz`` for 28 × 28 and ``<flag>_<size>.npz`` for 64, 128 and 224, holding six arrays::

    train_images  (N_train, H, W)     uint8   grayscale datasets (e.g. BreastMNIST, OrganAMNIST)
                  (N_train, H, W, 3)  uint8   RGB datasets (e.g. PathMNIST, DermaMNIST, BloodMNIST)
    train_labels  (N_train, 1)        integer class index (multi-label ChestMNIST: (N, 14) of 0/1)
    val_images, val_labels, test_images, test_labels   the same for the validation and test splits

``medmnist`` indexes ``npz[f"{split}_images"]`` and ``npz[f"{split}_labels"]`` and turns an image into a PIL image
(``Image.fromarray``), so the arrays are plain uint8 images, channels last. There is no patient identifier in
the files: MedMNIST's splits are the source datasets' (or random 7:1:2), so intervals here can only resample
images.

:func:`load` reads one split and checks that layout, naming the file in every error; :func:`write` stores
arrays in it (``numpy.savez_compressed``). ``medrepro.data.datasets.bloodmnist`` adds the BloodMNIST manifest
and its miniature fixture.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

#: The three splits of every MedMNIST file.
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: A few 2-D MedMNIST datasets, from the official ``medmnist/info.py`` (v3.0.2): channels, classes, split sizes,
#: the md5 of the 28 × 28 file on Zenodo record 10519652, and the licence stated there.
INFO: dict[str, dict] = {
    "pathmnist": dict(n_channels=3, n_classes=9, n_samples={"train": 89996, "val": 10004, "test": 7180},
                      md5="a8b06965200029087d5bd730944a56c1", license="CC BY 4.0"),
    "dermamnist": dict(n_channels=3, n_classes=7, n_samples={"train": 7007, "val": 1003, "test": 2005},
                       md5="0744692d530f8e62ec473284d019b0c7", license="CC BY-NC 4.0"),
    "bloodmnist": dict(n_channels=3, n_classes=8, n_samples={"train": 11959, "val": 1712, "test": 3421},
                       md5="7053d0359d879ad8a5505303e11de1dc", license="CC BY 4.0"),
    "organamnist": dict(n_channels=1, n_classes=11, n_samples={"train": 34561, "val": 6491, "test": 17778},
                        md5="68e3f8846a6bd62f0c9bf841c0d9eacc", license="CC BY 4.0"),
    "breastmnist": dict(n_channels=1, n_classes=2, n_samples={"train": 546, "val": 78, "test": 156},
                        md5="750601b1f35ba3300ea97c75c52ff8f6", license="CC BY 4.0"),
}


class MedMNISTFormatError(ValueError):
    """A ``.npz`` file does not have the MedMNIST layout (keys, dtypes, shapes); the message names the file."""


@dataclass
class MedMNISTSplit:
    """One split: images float32 ``(N, C, H, W)`` in [0, 1] (channels first, for torch), labels int64 ``(N,)``."""

    images: np.ndarray
    labels: np.ndarray
    path: Path
    split: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_channels(self) -> int:
        return int(self.images.shape[1])


def filename(flag: str, size: int = 28) -> str:
    """The file name the official package uses: ``<flag>.npz`` at 28 px, ``<flag>_<size>.npz`` otherwise."""
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


def _check_pair(path: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    if images.dtype != np.uint8:
        raise MedMNISTFormatError(f"{path}: {split}_images has dtype {images.dtype}; MedMNIST images are uint8")
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise MedMNISTFormatError(f"{path}: {split}_images has shape {images.shape}; expected (N, H, W) "
                                  "(grayscale) or (N, H, W, 3) (RGB, channels last)")
    if images.shape[1] != images.shape[2]:
        raise MedMNISTFormatError(f"{path}: {split}_images are {images.shape[1]} × {images.shape[2]}; MedMNIST "
                                  "images are square")
    if labels.ndim != 2 or labels.shape[1] != 1:
        raise MedMNISTFormatError(f"{path}: {split}_labels has shape {labels.shape}; expected (N, 1) class indices "
                                  "(multi-label files such as ChestMNIST are not read by this loader)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise MedMNISTFormatError(f"{path}: {split}_labels has dtype {labels.dtype}; expected integer class indices")
    if len(labels) != len(images):
        raise MedMNISTFormatError(f"{path}: {len(images)} {split}_images but {len(labels)} {split}_labels")
    if len(labels) and labels.min() < 0:
        raise MedMNISTFormatError(f"{path}: {split}_labels holds negative class indices")


def load(path: str | os.PathLike[str], split: str = "train") -> MedMNISTSplit:
    """Read one split of a MedMNIST 2-D ``.npz`` file.

    Raises:
        FileNotFoundError: no such file.
        MedMNISTFormatError: not a readable ``.npz``, a missing key (all missing keys are named), or images and
            labels of the wrong dtype or shape.
    """
    path = Path(path)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not path.is_file():
        raise FileNotFoundError(f"MedMNIST file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels") if f"{s}_{k}" not in npz.files]
            if missing:
                raise MedMNISTFormatError(f"{path}: missing key(s) {', '.join(missing)}; a MedMNIST file holds "
                                          f"train/val/test _images and _labels (found: {', '.join(npz.files)})")
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise MedMNISTFormatError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # object arrays refused by allow_pickle=False
        if isinstance(exc, MedMNISTFormatError):
            raise
        raise MedMNISTFormatError(f"{path}: {exc}") from exc
    _check_pair(path, split, images, labels)
    x = images.astype(np.float32) / 255.0
    x = x[:, None] if x.ndim == 3 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return MedMNISTSplit(x, labels[:, 0].astype(np.int64), path, split)


def write(path: str | os.PathLike[str], splits: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write ``{"train": (images, labels), "val": ..., "test": ...}`` in the MedMNIST layout.

    ``images``: uint8 ``(N, H, W)`` or ``(N, H, W, 3)``; ``labels``: integer ``(N,)`` or ``(N, 1)`` (stored as
    uint8 ``(N, 1)``). Returns the path.
    """
    path = Path(path)
    arrays = {}
    for s in SPLITS:
        if s not in splits:
            raise ValueError(f"write needs the three splits {SPLITS}; {s!r} is missing")
        images, labels = np.asarray(splits[s][0]), np.asarray(splits[s][1]).reshape(-1, 1)
        if np.issubdtype(labels.dtype, np.integer) and len(labels) and (labels.min() < 0 or labels.max() > 255):
            raise ValueError(f"{s}: class indices must lie in 0..255 to be stored as uint8")
        labels = labels.astype(np.uint8) if np.issubdtype(labels.dtype, np.integer) else labels
        _check_pair(path, s, images, labels)
        arrays[f"{s}_images"], arrays[f"{s}_labels"] = images, labels
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # an open file: numpy would otherwise append .npz to a name without it
        np.savez_compressed(fh, **arrays)
    return path


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1], ``(N, C, H, W)`` or ``(N, H, W)``, to MedMNIST's uint8 (channels last for C = 3)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_shuffled(path: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, n_val: int, n_test: int,
                   seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """Shuffle simulated images and labels, keep the last ``n_val`` and ``n_test`` as validation and test, and write
    the three splits in the MedMNIST layout (what a smoke run writes before reading it back with :func:`load`).

    Args:
        path: the ``.npz`` file to write (its folder is created).
        images: floats in [0, 1], ``(N, C, H, W)`` or ``(N, H, W)`` (stored as uint8, see :func:`to_uint8`).
        labels: class indices ``(N,)``.
        n_val, n_test: sizes of the validation and test splits; the rest is the training split.
        seed: seed of the shuffle (``np.random.default_rng(seed).permutation``).

    Returns:
        ``(path, images, labels)``: the file and the shuffled arrays in the order written (train, val, test), the
        reference for a round-trip check.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{path}: {len(images)} images but {len(labels)} labels")
    if n_val < 0 or n_test < 0 or n_val + n_test >= len(labels):
        raise ValueError(f"{path}: n_val={n_val} and n_test={n_test} leave no training images of {len(labels)}")
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    cut = [len(labels) - n_val - n_test, len(labels) - n_test]
    path = write(path, dict(zip(SPLITS, zip(np.split(to_uint8(images), cut), np.split(labels, cut)))))
    return path, images, labels


def concat_splits(splits: Mapping[str, MedMNISTSplit]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three splits as one array each, in :data:`SPLITS` order: ``(images, labels, split name per image)``."""
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise ValueError(f"concat_splits needs the splits {SPLITS}; missing {missing}")
    images = np.concatenate([splits[s].images for s in SPLITS])
    labels = np.concatenate([splits[s].labels for s in SPLITS])
    names = np.concatenate([[s] * len(splits[s]) for s in SPLITS])
    return images, labels, names
