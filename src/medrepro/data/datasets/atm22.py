"""ATM'22 — Multi-site, Multi-domain Airway Tree Modeling (MICCAI 2022 challenge): chest CT with airway labels.

Real on-disk layout (the organisers' repository github.com/EndoluminalSurgicalVision-IMR/ATM-22-Related-Work and
third-party loaders of the released training batches): the dataset root holds one folder per training batch, each
in the nnU-Net style::

    TrainBatch1/
      imagesTr/ATM_001_0000.nii.gz     CT volume, Hounsfield units (int16), world affine
      labelsTr/ATM_001_0000.nii.gz     airway label (0 background, 1 airway) on the same grid
    TrainBatch2/
      imagesTr/...  labelsTr/...

An image and its label share the file name. Case ``ATM_164_0000`` is left out, as the organisers announced (third-
party loaders skip it; the reason was not read here). :func:`load_case` reads a case with nibabel (any NIfTI
scaling is applied, so values are HU), checks that the label is binary and on the image's grid, and returns the
voxel spacing in mm. :func:`write_case` writes a case in the same layout (the smoke runs and :func:`make_fixture`).
The data need a registration on the challenge site (``data_manifests/atm22.yaml``); artery/vein labels are not
part of ATM'22.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import FormatError, read_nifti
from . import mark_fixture

DATASET = "atm22"
EXCLUDED = ("ATM_164_0000",)
_CASE = re.compile(r"^ATM_(\d{3})_0000$")
_BATCH = re.compile(r"^TrainBatch\d+$")


class Atm22FormatError(FormatError):
    """An ATM'22 file is missing or malformed; the message names the file."""


@dataclass
class Case:
    """One case: CT in HU (float32, x/y/z as stored), airway label (uint8 0/1), affine and spacing (mm)."""

    case_id: str
    image: np.ndarray
    label: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]


def case_ids(root: str | os.PathLike[str]) -> list[str]:
    """Case ids (``ATM_001_0000`` ...) over every ``TrainBatch*/imagesTr``, sorted, the excluded case left out."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ATM'22: no such folder {root}")
    batches = [p for p in sorted(root.iterdir()) if p.is_dir() and _BATCH.match(p.name)]
    if not batches:
        raise FileNotFoundError(f"ATM'22: no TrainBatch*/ folder in {root} (expected TrainBatch1/imagesTr/...)")
    ids = []
    for b in batches:
        for f in sorted((b / "imagesTr").glob("ATM_*_0000.nii.gz")):
            cid = f.name[: -len(".nii.gz")]
            if _CASE.match(cid) and cid not in EXCLUDED:
                ids.append(cid)
    return sorted(ids)


def paths(root: str | os.PathLike[str], case_id: str) -> dict[str, Path]:
    """The image and label paths of a case (whichever TrainBatch folder holds it; TrainBatch1 for a new case)."""
    if not _CASE.match(case_id):
        raise ValueError(f"ATM'22 case id must look like ATM_001_0000, got {case_id!r}")
    root = Path(root)
    batches = sorted(p for p in root.iterdir() if p.is_dir() and _BATCH.match(p.name)) if root.is_dir() else []
    batch = next((b for b in batches if (b / "imagesTr" / f"{case_id}.nii.gz").exists()), root / "TrainBatch1")
    return {"image": batch / "imagesTr" / f"{case_id}.nii.gz", "label": batch / "labelsTr" / f"{case_id}.nii.gz"}


def load_case(root: str | os.PathLike[str], case_id: str) -> Case:
    """Read one case (image in HU, binary airway label on the same grid) with :func:`medrepro.data.io.read_nifti`.

    Raises:
        FileNotFoundError: a file of the case is missing (the message names it).
        NiftiError: a file is unreadable, truncated or not 3-D.
        Atm22FormatError: the label is not 0/1 or not on the image's grid.
    """
    p = paths(root, case_id)
    img, lab = read_nifti(p["image"], ndim=3), read_nifti(p["label"], ndim=3, dtype=np.float32)
    if lab.array.shape != img.array.shape or not np.allclose(lab.affine, img.affine, atol=1e-3):
        raise Atm22FormatError(f"{p['label']}: grid {lab.array.shape} differs from the image's {img.array.shape} "
                               f"({p['image']}); an ATM'22 label shares its image's grid")
    vals = np.unique(lab.array)
    if not np.isin(vals, [0, 1]).all():
        raise Atm22FormatError(f"{p['label']}: label values {vals[:5].tolist()}, expected 0/1 (airway)")
    return Case(case_id, img.array, lab.array.astype(np.uint8), img.affine, img.spacing)  # type: ignore[arg-type]


def write_case(root: str | os.PathLike[str], case_id: str, image_hu: np.ndarray, label: np.ndarray,
               spacing: tuple[float, float, float] = (0.7, 0.7, 0.8), batch: int = 1) -> dict[str, Path]:
    """Write a case into ``TrainBatch<batch>`` with nibabel: CT as int16 HU, label as uint8 (never overwrites)."""
    import nibabel as nib

    if not _CASE.match(case_id):
        raise ValueError(f"ATM'22 case id must look like ATM_001_0000, got {case_id!r}")
    b = Path(root) / f"TrainBatch{batch}"
    p = {"image": b / "imagesTr" / f"{case_id}.nii.gz", "label": b / "labelsTr" / f"{case_id}.nii.gz"}
    image_hu, label = np.asarray(image_hu), np.asarray(label)
    if image_hu.shape != label.shape or image_hu.ndim != 3:
        raise ValueError(f"image {image_hu.shape} and label {label.shape} must be 3-D volumes of one shape")
    for path in p.values():
        if path.exists():
            raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
        path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])   # LPS-stored CT: x and y flipped in RAS
    ct = nib.Nifti1Image(np.clip(np.rint(image_hu), -1024, 3071).astype(np.int16), affine)
    ct.header.set_xyzt_units("mm", "sec")
    nib.save(ct, p["image"])
    lab = nib.Nifti1Image((label > 0).astype(np.uint8), affine)
    lab.header.set_xyzt_units("mm", "sec")
    nib.save(lab, p["label"])
    return p


def write_simulated(root: str | os.PathLike[str], images_hu: np.ndarray, airway: np.ndarray,
                    start: int = 1) -> list[str]:
    """Write simulated cubes (n, X, Y, Z) in HU with their airway masks as ATM_001_0000, ...; returns the ids."""
    ids = []
    for i in range(len(images_hu)):
        cid = f"ATM_{start + i:03d}_0000"
        write_case(root, cid, images_hu[i], airway[i])
        ids.append(cid)
    return ids


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_cases: int = 4, size: int = 24) -> Path:
    """A miniature of the layout: ``n_cases`` simulated lung cubes (``medrepro.sim.tubular_tree``) with their
    airway labels, split over TrainBatch1 and TrainBatch2, plus a file named like the excluded case."""
    from ...sim.tubular_tree import LungSpec, simulate_lung_trees

    root = Path(root)
    sim = simulate_lung_trees(n_cases, LungSpec(size=size, generations=3), seed=seed)
    half = (n_cases + 1) // 2
    for i in range(n_cases):
        write_case(root, f"ATM_{1 + i:03d}_0000", sim.image[i], sim.label[i] == 1, batch=1 if i < half else 2)
    write_case(root, EXCLUDED[0], sim.image[0], sim.label[0] == 1)   # present on disk, never listed
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "EXCLUDED", "Case", "Atm22FormatError", "case_ids", "paths", "load_case", "write_case",
           "write_simulated", "make_fixture"]
