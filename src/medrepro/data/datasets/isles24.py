"""ISLES'24 — acute stroke CT (NCCT, CTA, 4-D CTP, perfusion maps) → final infarct on follow-up MRI, BIDS-like.

On-disk layout of the training set (Zenodo record 16748089 and later versions; one archive ``train.7z`` of about
99 GB). The official repository github.com/ezequieldlrosa/isles24 ships two sample masks
``utils/data/derivatives/sub-stroke0014/ses-02/sub-stroke0014_ses-02_lesion-msk.nii.gz``; the rest of the names
below are as several third-party loaders of the archive spell them (not confirmed against the archive here)::

    raw_data/sub-stroke0001/ses-01/sub-stroke0001_ses-01_{ncct,cta,ctp}.nii.gz       (ctp: 4-D, 1 s per frame)
    raw_data/sub-stroke0001/ses-02/sub-stroke0001_ses-02_{dwi,adc}.nii.gz
    derivatives/sub-stroke0001/ses-01/sub-stroke0001_ses-01_space-ncct_{cta,ctp}.nii.gz
    derivatives/sub-stroke0001/ses-01/perfusion-maps/sub-stroke0001_ses-01_space-ncct_{cbf,cbv,mtt,tmax}.nii.gz
    derivatives/sub-stroke0001/ses-02/sub-stroke0001_ses-02_lesion-msk.nii.gz         (final infarct, NCCT grid)
    phenotype/sub-stroke0001/ses-01/sub-stroke0001_ses-01_demographic_baseline.csv
    phenotype/sub-stroke0001/ses-02/sub-stroke0001_ses-02_outcome.csv

Everything in ``derivatives/`` is registered to the case's NCCT. One later archive names the mask
``*_ses-02_space-ncct_lesion-msk.nii.gz`` and some copies spell ``rawdata/``: :func:`paths` accepts both.
:func:`load_case` reads the four maps, the mask and the two clinical tables (and, when asked and present, the
NCCT and the 4-D CTP from ``raw_data/``), checks that the maps and the mask share one grid, and can block-average
the grid (``downsample``) since the real maps are ~512 × 512 × 60 voxels of 0.4 × 0.4 × 2 mm.
The clinical tables' column names and codings are not confirmed here; :func:`reperfusion` looks for a column
containing "TICI" and reads mTICI grades 2b, 2c and 3 as successful reperfusion.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

DATASET = "isles24"
MAPS: tuple[str, ...] = ("cbf", "cbv", "mtt", "tmax")
_CASE = re.compile(r"^sub-stroke(\d{4})$")
LICENCE = "CC BY-NC-SA 4.0"


class Isles24FormatError(FormatError):
    """An ISLES'24 file is missing or malformed; the message names the file."""


@dataclass
class Case:
    """One case on the NCCT grid (optionally block-averaged): maps (float32), mask (uint8), clinical tables."""

    case_id: str
    maps: dict[str, np.ndarray]
    mask: np.ndarray
    affine: np.ndarray
    voxel_ml: float
    clinical: dict[str, str] = field(default_factory=dict)
    ncct: np.ndarray | None = None
    ctp: np.ndarray | None = None     # (X, Y, Z, T) HU
    dt: float | None = None           # CTP frame interval (s), from the NIfTI header


def _raw_dir(root: Path) -> Path:
    for name in ("raw_data", "rawdata"):
        if (root / name).is_dir():
            return root / name
    return root / "raw_data"


def case_ids(root: str | os.PathLike[str]) -> list[str]:
    """``sub-strokeXXXX`` folders under ``derivatives/`` (the part full mode needs), sorted."""
    der = Path(root) / "derivatives"
    if not der.is_dir():
        raise FileNotFoundError(f"ISLES'24: no derivatives/ folder in {root}")
    return sorted(p.name for p in der.iterdir() if p.is_dir() and _CASE.match(p.name))


def paths(root: str | os.PathLike[str], case_id: str) -> dict[str, Path]:
    """File paths of one case: the four maps, ``msk``, ``ncct``, ``ctp``, ``baseline`` and ``outcome`` tables."""
    root = Path(root)
    der = root / "derivatives" / case_id
    out = {m: der / "ses-01" / "perfusion-maps" / f"{case_id}_ses-01_space-ncct_{m}.nii.gz" for m in MAPS}
    msk = der / "ses-02" / f"{case_id}_ses-02_lesion-msk.nii.gz"
    alt = der / "ses-02" / f"{case_id}_ses-02_space-ncct_lesion-msk.nii.gz"
    out["msk"] = alt if (alt.is_file() and not msk.is_file()) else msk
    raw = _raw_dir(root) / case_id / "ses-01"
    out["ncct"] = raw / f"{case_id}_ses-01_ncct.nii.gz"
    out["ctp"] = raw / f"{case_id}_ses-01_ctp.nii.gz"
    ph = root / "phenotype" / case_id
    out["baseline"] = ph / "ses-01" / f"{case_id}_ses-01_demographic_baseline.csv"
    out["outcome"] = ph / "ses-02" / f"{case_id}_ses-02_outcome.csv"
    return out


def _load(path: Path, ndim: int = 3):
    import nibabel as nib

    if not path.is_file():
        raise Isles24FormatError(f"missing file: {path}")
    try:
        img = nib.load(path)
        data = np.asarray(img.dataobj)       # read in full: a truncated gzip fails here, naming the file below
    except Exception as exc:  # nibabel raises several types (ImageFileError, EOFError, zlib.error, ValueError)
        raise Isles24FormatError(f"{path}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    if data.ndim != ndim:
        raise Isles24FormatError(f"{path}: expected a {ndim}-D image, got shape {data.shape}")
    return img, data


def _table(path: Path) -> dict[str, str]:
    """One-row CSV → {column: value}; an absent table gives {}."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2 or len(rows[1]) != len(rows[0]):
        raise Isles24FormatError(f"{path}: expected a header and one row of {len(rows[0]) if rows else 0} values")
    return {k.strip(): v.strip() for k, v in zip(rows[0], rows[1])}


def block_mean(a: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Average non-overlapping blocks of ``factors`` voxels (the edge remainder is cropped)."""
    f = [int(x) for x in factors]
    s = [(n // k) * k for n, k in zip(a.shape, f)]
    a = np.asarray(a, np.float32)[tuple(slice(0, n) for n in s)]
    shape = []
    for n, k in zip(s, f):
        shape += [n // k, k]
    return a.reshape(shape).mean(axis=tuple(range(1, 2 * len(f), 2)))


def load_case(root: str | os.PathLike[str], case_id: str, *, ctp: bool = False,
              downsample: Sequence[int] | None = None) -> Case:
    """Read one case: maps and mask (same grid, checked), clinical tables; NCCT and CTP when ``ctp``.

    ``downsample`` block-averages maps (and the CTP) by these factors; the mask becomes "half the block or more".
    """
    p = paths(root, case_id)
    mimg, mask = _load(p["msk"])
    if not np.isin(np.unique(mask), [0, 1]).all():
        raise Isles24FormatError(f"{p['msk']}: mask values {np.unique(mask)[:5].tolist()}, expected 0/1")
    maps = {}
    for m in MAPS:
        img, data = _load(p[m])
        if data.shape != mask.shape or not np.allclose(img.affine, mimg.affine, atol=1e-3):
            raise Isles24FormatError(f"{p[m]}: grid {data.shape} differs from the lesion mask's {mask.shape} "
                                     "(derivatives share the NCCT grid)")
        maps[m] = np.asarray(img.get_fdata(dtype=np.float32))
    zooms = np.array(mimg.header.get_zooms()[:3], float)
    affine = mimg.affine.copy()
    ncct = series = dt = None
    if ctp and p["ctp"].is_file():
        cimg, series = _load(p["ctp"], ndim=4)
        if series.shape[:3] != mask.shape:
            raise Isles24FormatError(f"{p['ctp']}: grid {series.shape[:3]} differs from the mask's {mask.shape}")
        series = np.asarray(cimg.get_fdata(dtype=np.float32))
        dt = float(cimg.header.get_zooms()[3]) or 1.0
        _, ncct = _load(p["ncct"])
        ncct = ncct.astype(np.float32)
    m8 = mask.astype(np.uint8)
    if downsample is not None:
        f = list(downsample)
        maps = {k: block_mean(v, f) for k, v in maps.items()}
        m8 = (block_mean(m8, f) >= 0.5).astype(np.uint8)
        if series is not None:
            series = block_mean(series, f + [1])
            ncct = block_mean(ncct, f)
        affine[:3, :3] = affine[:3, :3] * np.array(f)[None, :]
        zooms = zooms * np.array(f)
    clinical = {**_table(p["baseline"]), **_table(p["outcome"])}
    return Case(case_id, maps, m8, affine, float(np.prod(zooms) / 1000.0), clinical, ncct, series, dt)


def reperfusion(clinical: dict[str, str]) -> bool | None:
    """Successful reperfusion (mTICI 2b, 2c or 3) from the outcome table; None when absent or unreadable."""
    key = next((k for k in clinical if "tici" in k.lower()), None)
    if key is None:
        return None
    v = clinical[key].strip().lower().replace("tici", "").replace("m", "").strip()
    if v in {"2b", "2c", "3", "3.0"}:
        return True
    if v in {"0", "1", "2a", "0.0", "1.0"}:
        return False
    return None


def write_case(root: str | os.PathLike[str], case_id: str, *, maps: dict[str, np.ndarray], mask: np.ndarray,
               affine: np.ndarray, ncct: np.ndarray | None = None, ctp: np.ndarray | None = None, dt: float = 1.0,
               clinical: dict[str, dict[str, object]] | None = None, space_ncct_mask: bool = False
               ) -> dict[str, Path]:
    """Write a case in the ISLES'24 layout with nibabel (refuses to overwrite).

    ``clinical`` = {"baseline": {...}, "outcome": {...}} one-row tables. ``space_ncct_mask`` uses the later
    archive's mask name ``*_ses-02_space-ncct_lesion-msk.nii.gz``.
    """
    import nibabel as nib

    if not _CASE.match(case_id):
        raise ValueError(f"case id must look like sub-stroke0001, got {case_id!r}")
    p = paths(root, case_id)
    if space_ncct_mask:
        p["msk"] = p["msk"].with_name(f"{case_id}_ses-02_space-ncct_lesion-msk.nii.gz")
    todo: list[tuple[Path, np.ndarray, str]] = [(p[m], np.asarray(maps[m], np.float32), "sec") for m in MAPS]
    todo.append((p["msk"], np.asarray(mask, np.uint8), "sec"))
    if ncct is not None:
        todo.append((p["ncct"], np.asarray(ncct, np.int16), "sec"))
    if ctp is not None:
        todo.append((p["ctp"], np.asarray(ctp, np.int16), "sec"))
    for path, data, unit in todo:
        if path.exists():
            raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
        path.parent.mkdir(parents=True, exist_ok=True)
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm", unit)
        if data.ndim == 4:
            img.header.set_zooms(tuple(img.header.get_zooms()[:3]) + (float(dt),))
        nib.save(img, path)
    for key in ("baseline", "outcome"):
        table = (clinical or {}).get(key)
        if table:
            p[key].parent.mkdir(parents=True, exist_ok=True)
            with open(p[key], "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(list(table))
                w.writerow([table[k] for k in table])
    return p


def write_simulated(root: str | os.PathLike[str], cases: Sequence, maps: Sequence[dict[str, np.ndarray]],
                    start: int = 1) -> list[str]:
    """Write ``medrepro.sim.ctp`` cases with their perfusion maps as sub-stroke0001, 0002, …; returns the ids."""
    ids = []
    for i, (c, m) in enumerate(zip(cases, maps)):
        cid = f"sub-stroke{start + i:04d}"
        write_case(root, cid, maps=m, mask=c.final, affine=c.affine, ncct=c.ncct, ctp=c.ctp, dt=c.dt,
                   clinical={"baseline": {"Age": 70, "Sex": "F"},
                             "outcome": {"mTICI postinterventional": "2b" if c.reperfused else "0"}},
                   space_ncct_mask=(i == 1))
        ids.append(cid)
    return ids


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_cases: int = 4) -> Path:
    """A miniature of the layout: ``n_cases`` simulated cases, maps from truncated-SVD deconvolution."""
    from ...ctp import maps_from_ctp
    from ...sim.ctp import simulate_ctp

    root = Path(root)
    cases = simulate_ctp(n_cases, seed=seed)
    write_simulated(root, cases, [maps_from_ctp(c.ctp, c.dt, brain=c.brain) for c in cases])
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "MAPS", "LICENCE", "Case", "Isles24FormatError", "case_ids", "paths", "load_case",
           "reperfusion", "block_mean", "write_case", "write_simulated", "make_fixture"]
