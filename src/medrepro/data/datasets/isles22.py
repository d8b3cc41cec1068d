"""ISLES 2022 — multi-centre acute/sub-acute ischaemic stroke MRI (DWI, ADC, FLAIR) with infarct masks, BIDS.

Real on-disk layout (the challenge repository github.com/ezequieldlrosa/isles22, README and its sample case
``sub-strokecase0009``). The dataset root holds::

    rawdata/
      sub-strokecase0001/
        ses-0001/
          sub-strokecase0001_ses-0001_adc.nii.gz     (+ .json sidecar, DICOM-derived metadata)
          sub-strokecase0001_ses-0001_dwi.nii.gz     (+ .json; b = 1000 or 800 s/mm² trace image)
          sub-strokecase0001_ses-0001_flair.nii.gz   (+ .json)
    derivatives/
      sub-strokecase0001/
        ses-0001/
          sub-strokecase0001_ses-0001_msk.nii.gz     infarct mask (0/1), on the DWI/ADC grid
          sub-strokecase0001_ses-0001_snp.png        a snapshot (not read here)

DWI, ADC and the mask share one grid; FLAIR may come at another resolution and orientation. :func:`load_case`
reads the files with nibabel and, when asked (``flair_to_dwi=True``), resamples FLAIR onto the DWI grid with
``nibabel.processing.resample_from_to`` (world coordinates from the affines). :func:`write_case` writes a case in
the same layout (used by the smoke runs and :func:`make_fixture`).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

DATASET = "isles22"
MODALITIES: tuple[str, ...] = ("dwi", "adc", "flair")
SESSION = "ses-0001"
_CASE = re.compile(r"^sub-strokecase(\d{4})$")


class Isles22FormatError(FormatError):
    """An ISLES 2022 file is missing or malformed; the message names the file."""


@dataclass
class Case:
    """One case: images and mask as float32/uint8 arrays on the DWI grid, its affine and voxel volume (ml)."""

    case_id: str
    dwi: np.ndarray
    adc: np.ndarray
    flair: np.ndarray | None
    mask: np.ndarray
    affine: np.ndarray
    voxel_ml: float


def case_ids(root: str | os.PathLike[str]) -> list[str]:
    """``sub-strokecaseXXXX`` folders under ``rawdata/``, sorted."""
    raw = Path(root) / "rawdata"
    if not raw.is_dir():
        raise FileNotFoundError(f"ISLES 2022: no rawdata/ folder in {root}")
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and _CASE.match(p.name))


def paths(root: str | os.PathLike[str], case_id: str) -> dict[str, Path]:
    """File paths of one case: dwi, adc, flair (rawdata) and msk (derivatives)."""
    root = Path(root)
    raw = root / "rawdata" / case_id / SESSION
    out = {m: raw / f"{case_id}_{SESSION}_{m}.nii.gz" for m in MODALITIES}
    out["msk"] = root / "derivatives" / case_id / SESSION / f"{case_id}_{SESSION}_msk.nii.gz"
    return out


def _load(path: Path):
    import nibabel as nib

    if not path.is_file():
        raise Isles22FormatError(f"missing file: {path}")
    try:
        img = nib.load(path)
        img.get_fdata(dtype=np.float32)   # read in full: a truncated gzip fails here, naming the file below
    except Exception as exc:  # nibabel raises several types (ImageFileError, EOFError, zlib.error, ValueError)
        raise Isles22FormatError(f"{path}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    if img.ndim != 3:
        raise Isles22FormatError(f"{path}: expected a 3-D volume, got shape {img.shape}")
    return img


def load_case(root: str | os.PathLike[str], case_id: str, *, flair: bool = True,
              flair_to_dwi: bool = True) -> Case:
    """Read one case; FLAIR resampled onto the DWI grid (trilinear) when ``flair_to_dwi``."""
    p = paths(root, case_id)
    dwi, adc, msk = _load(p["dwi"]), _load(p["adc"]), _load(p["msk"])
    for name, img in (("adc", adc), ("msk", msk)):
        if img.shape != dwi.shape or not np.allclose(img.affine, dwi.affine, atol=1e-3):
            raise Isles22FormatError(f"{p[name]}: grid {img.shape} differs from the DWI's {dwi.shape} "
                                     "(ADC and mask must share the DWI grid)")
    fl = None
    if flair:
        fimg = _load(p["flair"])
        if flair_to_dwi and (fimg.shape != dwi.shape or not np.allclose(fimg.affine, dwi.affine, atol=1e-3)):
            from nibabel.processing import resample_from_to

            fimg = resample_from_to(fimg, dwi, order=1)
        fl = np.asarray(fimg.get_fdata(dtype=np.float32))
    m = np.asarray(msk.dataobj)
    if not np.isin(np.unique(m), [0, 1]).all():
        raise Isles22FormatError(f"{p['msk']}: mask values {np.unique(m)[:5].tolist()}, expected 0/1")
    return Case(case_id, dwi.get_fdata(dtype=np.float32), adc.get_fdata(dtype=np.float32), fl,
                m.astype(np.uint8), dwi.affine, float(np.prod(dwi.header.get_zooms()[:3]) / 1000.0))


def write_case(root: str | os.PathLike[str], case_id: str, images: dict[str, np.ndarray], mask: np.ndarray,
               affine: np.ndarray, sidecars: dict[str, dict] | None = None) -> dict[str, Path]:
    """Write a case in the ISLES 2022 layout with nibabel (refuses to overwrite)."""
    import nibabel as nib

    if not _CASE.match(case_id):
        raise ValueError(f"case id must look like sub-strokecase0001, got {case_id!r}")
    p = paths(root, case_id)
    for key, path in p.items():
        if path.exists():
            raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
        path.parent.mkdir(parents=True, exist_ok=True)
    for m in MODALITIES:
        img = nib.Nifti1Image(np.asarray(images[m], np.float32), affine)
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, p[m])
        meta = {"dataset": "ISLES_22", "Modality": "MR", **((sidecars or {}).get(m, {}))}
        p[m].with_name(p[m].name.replace(".nii.gz", ".json")).write_text(json.dumps(meta, indent=4))
    mimg = nib.Nifti1Image(np.asarray(mask, np.uint8), affine)
    mimg.header.set_xyzt_units("mm", "sec")
    nib.save(mimg, p["msk"])
    return p


def write_simulated(root: str | os.PathLike[str], cases: Sequence, start: int = 1) -> list[str]:
    """Write ``medrepro.sim.stroke_mri`` cases as sub-strokecase0001, 0002, …; returns the case ids."""
    ids = []
    for i, c in enumerate(cases):
        cid = f"sub-strokecase{start + i:04d}"
        write_case(root, cid, {"dwi": c.dwi, "adc": c.adc, "flair": c.flair}, c.mask, c.affine,
                   {"dwi": {"DiffusionBValue": 1000.0}})
        ids.append(cid)
    return ids


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_cases: int = 4) -> Path:
    """A miniature of the layout: ``n_cases`` simulated cases; the FLAIR of the first at a coarser grid."""
    import nibabel as nib
    from nibabel.processing import resample_to_output

    from ...sim.stroke_mri import simulate_stroke

    root = Path(root)
    cases = simulate_stroke(n_cases, seed=seed)
    ids = write_simulated(root, cases)
    # real ISLES 2022 FLAIR images have their own grid: store the first case's FLAIR at 1.5x the voxel size
    fp = paths(root, ids[0])["flair"]
    img = nib.load(fp)
    coarse = resample_to_output(img, voxel_sizes=tuple(1.5 * z for z in img.header.get_zooms()[:3]), order=1)
    fp.unlink()
    nib.save(coarse, fp)
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "MODALITIES", "Case", "Isles22FormatError", "case_ids", "paths", "load_case", "write_case",
           "write_simulated", "make_fixture"]
