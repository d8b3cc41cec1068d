"""ASOCA — Automated Segmentation Of Coronary Arteries (MICCAI 2020 challenge; CCTA, coronary lumen masks).

Real on-disk layout. The challenge's archive ``ASOCA2020Data.zip`` (grand-challenge registration) unpacks to a
folder that holds::

    Train/0.nrrd … Train/39.nrrd              40 training CCTA volumes (20 normal, 20 with disease), NRRD
    Train_Masks/0.nrrd … Train_Masks/39.nrrd  the coronary lumen masks, 1 inside, 0 outside
    Test/0.nrrd …                             20 test volumes (no masks)

Later re-releases sort the same cases by cohort::

    Normal/CTCA/Normal_1.nrrd     Normal/Annotations/Normal_1.nrrd
    Diseased/CTCA/Diseased_1.nrrd Diseased/Annotations/Diseased_1.nrrd

:func:`list_cases` finds either layout (case ids ``"0"`` … or ``"Normal_1"`` …) and :func:`load_case` reads an
image and its mask with the NRRD reader of :mod:`medrepro.data.datasets.la2018` (raw / gzip / bzip2 encodings);
volumes keep the files' (X, Y, Z) axis order and ``space directions`` give the spacing in mm.
:func:`make_fixture` writes a miniature of the challenge layout with simulated CCTA cubes
(:func:`medrepro.sim.tubular_tree.simulate_coronary_trees`) as int16 HU volumes and uint8 masks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import FormatError
from . import mark_fixture
from .la2018 import nrrd_spacing, read_nrrd, write_nrrd

IMAGE_DIR, MASK_DIR, TEST_DIR = "Train", "Train_Masks", "Test"
COHORTS = ("Normal", "Diseased")
#: the fixture's voxel size (mm): ASOCA's in-plane spacing is about 0.3-0.45 mm, slices about 0.625 mm
FIXTURE_SPACING = (0.4, 0.4, 0.625)


class AsocaFormatError(FormatError):
    """A file of the ASOCA layout is malformed; the message names the file."""


def _paths(root: Path, case: str) -> tuple[Path, Path]:
    if (root / IMAGE_DIR).is_dir():
        return root / IMAGE_DIR / f"{case}.nrrd", root / MASK_DIR / f"{case}.nrrd"
    cohort = case.split("_")[0]
    return root / cohort / "CTCA" / f"{case}.nrrd", root / cohort / "Annotations" / f"{case}.nrrd"


def list_cases(root: str | os.PathLike[str]) -> list[str]:
    """Ids of the training cases that have a mask, in numeric order.

    Raises:
        FileNotFoundError: neither ``Train/`` + ``Train_Masks/`` nor ``Normal/`` / ``Diseased/`` is in ``root``.
        AsocaFormatError: an image has no mask (the message names it).
    """
    root = Path(root)
    if (root / IMAGE_DIR).is_dir():
        ids = [p.name[:-5] for p in (root / IMAGE_DIR).glob("*.nrrd")]
    elif any((root / c / "CTCA").is_dir() for c in COHORTS):
        ids = [p.name[:-5] for c in COHORTS if (root / c / "CTCA").is_dir() for p in (root / c / "CTCA").glob("*.nrrd")]
    else:
        raise FileNotFoundError(f"no ASOCA layout in {root}: expected '{IMAGE_DIR}/' and '{MASK_DIR}/' (the "
                                f"challenge archive ASOCA2020Data.zip, unpacked) or 'Normal/CTCA/' and 'Diseased/CTCA/'")

    def key(c: str) -> tuple[str, int]:
        head, _, num = c.rpartition("_")
        return (head, int(num)) if num.isdigit() else (c, -1)

    ids = sorted(ids, key=key)
    for c in ids:
        if not _paths(root, c)[1].is_file():
            raise AsocaFormatError(f"{_paths(root, c)[0]} has no mask at {_paths(root, c)[1]}")
    return ids


@dataclass
class AsocaCase:
    """One case in the file's (X, Y, Z) order: CT in HU (float32) and the lumen mask (uint8 0/1)."""

    case: str
    image: np.ndarray
    label: np.ndarray
    spacing: tuple[float, float, float]


def load_case(root: str | os.PathLike[str], case: str) -> AsocaCase:
    """Read one training case.

    Raises:
        FileNotFoundError: the image or mask file is missing (the message names it).
        AsocaFormatError: not 3-D, image and mask differ in shape, mask values other than 0/1 (255 accepted),
            or non-finite image values.
    """
    img_p, lab_p = _paths(Path(root), case)
    for p in (img_p, lab_p):
        if not p.is_file():
            raise FileNotFoundError(f"ASOCA case {case!r}: {p} not found")
    image, head = read_nrrd(img_p)
    label, _ = read_nrrd(lab_p)
    if image.ndim != 3 or image.shape != label.shape:
        raise AsocaFormatError(f"{lab_p}: image {image.shape} and mask {label.shape} must be equal 3-D volumes")
    values = set(np.unique(label).tolist())
    if not values <= {0, 1, 255}:
        raise AsocaFormatError(f"{lab_p}: mask values {sorted(values)}, expected 0/1")
    image = image.astype(np.float32)
    if not np.isfinite(image).all():
        raise AsocaFormatError(f"{img_p}: the image has NaN or infinite voxels")
    return AsocaCase(case, image, (label > 0).astype(np.uint8), tuple(nrrd_spacing(head)))  # type: ignore[arg-type]


def write_case(root: str | os.PathLike[str], case: str, image_hu: np.ndarray, mask: np.ndarray,
               spacing: tuple[float, float, float] = FIXTURE_SPACING) -> None:
    """Write one case in the challenge layout: ``Train/<case>.nrrd`` (int16 HU) and ``Train_Masks/<case>.nrrd``."""
    root = Path(root)
    hu = np.clip(np.rint(image_hu), -1024, 3071).astype(np.int16)
    write_nrrd(root / IMAGE_DIR / f"{case}.nrrd", hu, spacing=spacing)
    write_nrrd(root / MASK_DIR / f"{case}.nrrd", np.asarray(mask, np.uint8), spacing=spacing)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_cases: int = 6, size: int = 24) -> Path:
    """Write a miniature ASOCA root (``Train/``, ``Train_Masks/``, ``Test/``) of simulated CCTA cubes. Returns root."""
    from ...sim.tubular_tree import CoronarySpec, simulate_coronary_trees

    root = Path(root)
    sim = simulate_coronary_trees(n_cases + 1, CoronarySpec(size=size), seed=seed)
    for i in range(n_cases):
        write_case(root, str(i), sim.image[i], sim.label[i])
    write_nrrd(root / TEST_DIR / "0.nrrd", np.clip(np.rint(sim.image[-1]), -1024, 3071).astype(np.int16),
               spacing=FIXTURE_SPACING)
    mark_fixture(root, "asoca")
    return root
