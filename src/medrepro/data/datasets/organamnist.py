"""OrganAMNIST (MedMNIST v2/v3): 58,830 axial CT crops of 11 abdominal and thoracic organs, 28 × 28, grayscale.

The real layout is one file, ``organamnist.npz`` (Zenodo record 10519652; md5 in ``data_manifests/organamnist.yaml``),
in the MedMNIST 2-D layout that :mod:`medrepro.data.datasets.medmnist` reads: ``train_images`` (34561, 28, 28)
uint8, ``train_labels`` (34561, 1), ``val_*`` (6491), ``test_*`` (17778). The images are the axial centre slices of
organ bounding boxes in the LiTS CT scans, windowed to an abdominal HU range and resized. The classes (official
``info.py``): 0 bladder, 1 femur-left, 2 femur-right, 3 heart, 4 kidney-left, 5 kidney-right, 6 liver, 7 lung-left,
8 lung-right, 9 pancreas, 10 spleen. Splits are by CT scan (115 / 16 / 70 scans), but the files carry no scan
identifier, so intervals on the real data can only resample images.

:func:`load` reads a split from a folder that holds ``organamnist.npz``; :func:`make_fixture` writes a miniature
file of the same layout (same keys, dtypes, channel-less grayscale) filled with simulated organ crops
(:func:`medrepro.sim.abdomen.organ_crops`). :func:`write_simulated` writes simulated crops with their OrganAMNIST
class indices (:data:`FROM_SYNAPSE`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from . import mark_fixture
from .medmnist import INFO, SPLITS, MedMNISTSplit, filename, load as load_npz, to_uint8, write

FLAG = "organamnist"
CLASS_NAMES: tuple[str, ...] = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
                                "liver", "lung-left", "lung-right", "pancreas", "spleen")
N_CLASSES = INFO[FLAG]["n_classes"]
#: Synapse organ label (``medrepro.sim.abdomen``) -> OrganAMNIST class index, for the five organs both share.
FROM_SYNAPSE: dict[int, int] = {3: 4, 4: 5, 5: 6, 6: 9, 7: 10}


def path(root: str | os.PathLike[str], size: int = 28) -> Path:
    """``root/organamnist.npz`` (or ``organamnist_<size>.npz``)."""
    return Path(root) / filename(FLAG, size)


def load(root: str | os.PathLike[str], split: str = "train", size: int = 28) -> MedMNISTSplit:
    """Read one split of ``root/organamnist.npz``; see :func:`medrepro.data.datasets.medmnist.load`."""
    data = load_npz(path(root, size), split)
    if data.n_channels != 1:
        raise ValueError(f"{data.path}: OrganAMNIST images are grayscale, found {data.n_channels} channels")
    if len(data) and (data.labels.min() < 0 or data.labels.max() >= N_CLASSES):
        raise ValueError(f"{data.path}: {split} labels must lie in 0..{N_CLASSES - 1}, found "
                         f"{data.labels.min()}..{data.labels.max()}")
    return data


def write_simulated(root: str | os.PathLike[str], splits: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write simulated crops as ``root/organamnist.npz``.

    ``splits`` maps train/val/test to ``(images in [0, 1] (N, 28, 28), Synapse organ labels (N,))``; the organ
    labels are mapped to OrganAMNIST's class indices with :data:`FROM_SYNAPSE` (an organ outside it is an error).
    Returns the file's path.
    """
    parts = {}
    for s in SPLITS:
        images, organs = splits[s]
        organs = np.asarray(organs)
        bad = sorted(set(organs.tolist()) - set(FROM_SYNAPSE))
        if bad:
            raise ValueError(f"{s}: Synapse organ label(s) {bad} have no OrganAMNIST class; use {sorted(FROM_SYNAPSE)}")
        parts[s] = (to_uint8(np.asarray(images)), np.array([FROM_SYNAPSE[int(o)] for o in organs], dtype=np.int64))
    return write(path(root), parts)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: tuple[int, int, int] = (4, 2, 3)) -> Path:
    """Write a miniature ``root/organamnist.npz`` from simulated abdominal slices (``n_subjects`` per split).

    Each split's crops come from its own simulated subjects (2 slices each, five organs): the fixture exercises the
    layout and the full-mode code path, never any claim. Returns ``root``.
    """
    from ...sim.abdomen import organ_crops, simulate_abdomen

    root = Path(root)
    parts = {}
    for k, (s, n) in enumerate(zip(SPLITS, n_subjects)):
        crops = organ_crops(simulate_abdomen(int(n), 2, seed=seed * 10 + k))
        parts[s] = (crops.images, crops.organ)
    write_simulated(root, parts)
    mark_fixture(root, FLAG)
    return root
