"""BloodMNIST (MedMNIST v2/v3): 17,092 RGB images of single blood cells in eight classes, 28 × 28 pixels.

The real layout is one file, ``bloodmnist.npz`` (Zenodo record 10519652; md5 in ``data_manifests/bloodmnist.yaml``),
in the MedMNIST 2-D layout that :mod:`medrepro.data.datasets.medmnist` reads: ``train_images`` (11959, 28, 28, 3)
uint8, ``train_labels`` (11959, 1), ``val_*`` (1712), ``test_*`` (3421). The classes (official ``info.py``):
0 basophil, 1 eosinophil, 2 erythroblast, 3 immature granulocytes, 4 lymphocyte, 5 monocyte, 6 neutrophil,
7 platelet. No patient identifiers: the images are split 7:1:2 at random.

:func:`load` reads a split from a folder that holds ``bloodmnist.npz``; :func:`make_fixture` writes a miniature
file of the same layout (same keys, dtypes, channels-last RGB) filled with simulated RGB images.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import mark_fixture
from .medmnist import INFO, MedMNISTSplit, filename, load as load_npz, to_uint8, write

FLAG = "bloodmnist"
CLASS_NAMES: tuple[str, ...] = ("basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte",
                                "monocyte", "neutrophil", "platelet")
N_CLASSES = INFO[FLAG]["n_classes"]


def path(root: str | os.PathLike[str], size: int = 28) -> Path:
    """``root/bloodmnist.npz`` (or ``bloodmnist_<size>.npz``)."""
    return Path(root) / filename(FLAG, size)


def load(root: str | os.PathLike[str], split: str = "train", size: int = 28) -> MedMNISTSplit:
    """Read one split of ``root/bloodmnist.npz``; see :func:`medrepro.data.datasets.medmnist.load`."""
    return load_npz(path(root, size), split)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: tuple[int, int, int] = (48, 16, 32)) -> Path:
    """Write a miniature ``root/bloodmnist.npz`` (``n`` train/val/test images, 28 × 28 RGB, 8 classes).

    The content is simulated histology-like RGB texture (``medrepro.sim.modalities``) with class labels drawn
    at random: the fixture exercises the layout and the full-mode code path, never any claim. Returns ``root``.
    """
    from ...sim.modalities import simulate

    root = Path(root)
    rng = np.random.default_rng(seed)
    batch = simulate("histology", int(sum(n)), size=28, seed=seed)
    images, labels = to_uint8(batch.images), rng.integers(0, N_CLASSES, int(sum(n)))
    cut = np.cumsum(n)[:-1]
    parts = dict(zip(("train", "val", "test"), zip(np.split(images, cut), np.split(labels, cut))))
    write(path(root), parts)
    mark_fixture(root, FLAG)
    return root
