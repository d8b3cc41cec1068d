"""CT-RATE: non-contrast chest CT volumes (NIfTI) paired with radiology reports (Hamamci et al., 2024).

Layout of the release on Hugging Face (``ibrahimhamamci/CT-RATE``, folder ``dataset/``), as the authors' CT-CLIP
code and users' loaders read it::

    dataset/train/train_<n>/train_<n>_<s>/train_<n>_<s>_<r>.nii.gz      patient n, scan s (a, b, ...), reconstruction r
    dataset/valid/valid_<n>/valid_<n>_<s>/valid_<n>_<s>_<r>.nii.gz
    dataset/radiology_text_reports/train_reports.csv                   VolumeName, ..., Findings_EN, Impressions_EN
    dataset/radiology_text_reports/validation_reports.csv
    dataset/metadata/train_metadata.csv                                VolumeName, RescaleSlope, RescaleIntercept,
    dataset/metadata/validation_metadata.csv                           XYSpacing, ZSpacing, ...

Intensities follow CT-CLIP's preprocessing script (``data_preprocess/preprocess_ctrate_train.py``): the stored
values times ``RescaleSlope`` plus ``RescaleIntercept`` from the metadata table give HU, clipped to [−1000, 1000]
and divided by 1000; the array read by nibabel is transposed ``(2, 0, 1)`` so that slices come first. Not confirmed
here (the archives were not opened): whether a later release of the volumes (the ``*_fixed`` folders) already stores
HU — then pass ``rescale=False`` — and the exact columns of the tables beyond those named above. CT-RATE ships no
lung masks (MedSyn made its anatomy masks with segmentation tools): :func:`load` reads masks that the user made,
from a folder that mirrors the volumes' layout, or none.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import FormatError, read_nifti, write_nifti
from . import mark_fixture

DATASET = "ct_rate"
LICENCE = "CC BY-NC-SA 4.0 (the Hugging Face dataset card), access after accepting the dataset's terms"
SPLITS = {"train": ("train", "train_reports.csv", "train_metadata.csv"),
          "valid": ("valid", "validation_reports.csv", "validation_metadata.csv")}
_NAME = re.compile(r"^(?P<split>train|valid)_(?P<patient>\d+)_(?P<scan>[a-z]+)_(?P<recon>\d+)\.nii\.gz$")


class CtRateFormatError(FormatError):
    """A CT-RATE file or table row is missing or malformed; the message names it."""


@dataclass
class CtRateSet:
    """Volumes on [−1, 1] (HU / 1000 after clipping), (n, D, H, W) float32; masks (n, D, H, W) bool or None; the
    findings text of each volume's report, its ``VolumeName`` and its patient (``<split>_<n>``)."""

    volumes: np.ndarray
    masks: np.ndarray | None
    findings: list[str]
    names: list[str]
    patients: list[str]

    def __len__(self) -> int:
        return len(self.volumes)


def base_dir(root: str | os.PathLike[str]) -> Path:
    """The folder that holds ``radiology_text_reports/``: ``root`` itself or ``root/dataset``."""
    root = Path(root)
    for cand in (root, root / "dataset"):
        if (cand / "radiology_text_reports").is_dir():
            return cand
    raise FileNotFoundError(f"CT-RATE: no radiology_text_reports/ folder in {root} (or {root}/dataset); "
                            "see data_manifests/ct_rate.yaml")


def parse_name(name: str) -> dict[str, str]:
    """Split a ``VolumeName`` (``train_12_a_2.nii.gz``) into split, patient, scan and reconstruction."""
    m = _NAME.match(name)
    if not m:
        raise CtRateFormatError(f"CT-RATE: {name!r} is not a volume name like train_12_a_2.nii.gz")
    return m.groupdict()


def relative_path(name: str, folder: str | None = None) -> Path:
    """Where a volume lies under the dataset folder: ``<folder>/<split>_<n>/<split>_<n>_<s>/<name>``; ``folder``
    defaults to the split (``train`` or ``valid``)."""
    p = parse_name(name)
    patient = f"{p['split']}_{p['patient']}"
    return Path(folder or p["split"]) / patient / f"{patient}_{p['scan']}" / name


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CT-RATE CSV table (every one has ``VolumeName``)."""
    if not path.is_file():
        raise FileNotFoundError(f"CT-RATE: missing table {path}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and "VolumeName" not in rows[0]:
        raise CtRateFormatError(f"{path}: no VolumeName column (columns: {list(rows[0])})")
    return rows


def read_volume(path: Path, slope: float = 1.0, intercept: float = 0.0) -> np.ndarray:
    """One volume in HU, slices first: the stored array × slope + intercept, transposed (2, 0, 1) as CT-CLIP does.
    Raises FileNotFoundError or :class:`medrepro.data.io.NiftiError` naming the file."""
    arr = read_nifti(path, ndim=3).array
    return (slope * arr + intercept).transpose(2, 0, 1)


def to_unit(hu: np.ndarray) -> np.ndarray:
    """CT-CLIP's intensity scale: HU clipped to [−1000, 1000], divided by 1000."""
    return (np.clip(hu, -1000.0, 1000.0) / 1000.0).astype(np.float32)


def resize(vol: np.ndarray, size: tuple[int, int, int], *, nearest: bool = False) -> np.ndarray:
    """A (D, H, W) volume resampled to ``size`` (trilinear, or nearest for masks); unchanged when it fits already."""
    if tuple(vol.shape) == tuple(size):
        return vol
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(vol, dtype=np.float32))[None, None]
    out = F.interpolate(t, size=tuple(size), mode="nearest" if nearest else "trilinear",
                        **({} if nearest else {"align_corners": False}))
    return out[0, 0].numpy()


def load(root: str | os.PathLike[str], split: str = "train", *, size: tuple[int, int, int] | None = None,
         max_volumes: int | None = None, folder: str | None = None, rescale: bool = True,
         mask_dir: str | os.PathLike[str] | None = None) -> CtRateSet:
    """Read the volumes of ``split`` in the order of its report table, with their findings.

    ``size``: resample every volume to (D, H, W); ``folder``: the volumes' folder under the dataset folder if not
    the split's name (e.g. ``train_fixed``); ``rescale``: apply the metadata's slope and intercept (CT-CLIP's
    rule); ``mask_dir``: a folder that mirrors the volumes' layout holding one mask (same file name) per volume.
    Rows whose volume is missing are skipped (a partial download); none found is an error.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    base = base_dir(root)
    vol_folder, reports_csv, meta_csv = SPLITS[split]
    reports = read_table(base / "radiology_text_reports" / reports_csv)
    meta = {}
    if rescale:
        meta = {r["VolumeName"]: r for r in read_table(base / "metadata" / meta_csv)}
    vols, masks, findings, names, patients = [], [], [], [], []
    for row in reports:
        name = row["VolumeName"]
        rel = relative_path(name, folder or vol_folder)
        if not (base / rel).is_file():
            continue
        slope, intercept = 1.0, 0.0
        if rescale:
            if name not in meta:
                raise CtRateFormatError(f"{base / 'metadata' / meta_csv}: no row for {name}")
            slope, intercept = float(meta[name]["RescaleSlope"]), float(meta[name]["RescaleIntercept"])
        v = to_unit(read_volume(base / rel, slope, intercept))
        vols.append(resize(v, size) if size else v)
        if mask_dir is not None:
            m = read_volume(Path(mask_dir) / rel) > 0.5
            if m.shape != v.shape:
                raise CtRateFormatError(f"{Path(mask_dir) / rel}: mask shape {m.shape} differs from the volume's "
                                        f"{v.shape}")
            masks.append(resize(m.astype(np.float32), size, nearest=True) > 0.5 if size else m)
        findings.append(row.get("Findings_EN", ""))
        names.append(name)
        p = parse_name(name)
        patients.append(f"{p['split']}_{p['patient']}")
        if max_volumes is not None and len(vols) >= max_volumes:
            break
    if not vols:
        raise FileNotFoundError(f"CT-RATE: none of the {len(reports)} volumes of {reports_csv} found under "
                                f"{base / (folder or vol_folder)}")
    return CtRateSet(np.stack(vols).astype(np.float32), np.stack(masks) if mask_dir is not None else None,
                     findings, names, patients)


def write(root: str | os.PathLike[str], hu: np.ndarray, findings: list[str], *, split: str = "train",
          masks: np.ndarray | None = None, mask_dir: str | os.PathLike[str] | None = None, first_patient: int = 1,
          scans_per_patient: int = 1, intercept: float = -1024.0,
          spacing: tuple[float, float, float] = (0.75, 0.75, 1.5)) -> Path:
    """Write (n, D, H, W) HU volumes in CT-RATE's layout under ``root/dataset`` through nibabel
    (:func:`medrepro.data.io.write_nifti`): int16 stored values ``round(HU) − intercept`` (slope 1), one
    reconstruction per scan, ``scans_per_patient`` scans (a, b, ...) per patient; the report and metadata tables;
    lung masks (uint8, same layout) under ``mask_dir`` when given.
    Appends to tables that exist. Returns ``root/dataset``."""
    base = Path(root) / "dataset"
    vol_folder, reports_csv, meta_csv = SPLITS[split]
    report_rows, meta_rows = [], []
    for k, (v, text) in enumerate(zip(hu, findings)):
        patient, scan = first_patient + k // scans_per_patient, "abcdefgh"[k % scans_per_patient]
        name = f"{vol_folder}_{patient}_{scan}_1.nii.gz"
        rel = relative_path(name)
        write_nifti(base / rel, np.round(v).transpose(1, 2, 0) - intercept, spacing, np.int16)
        if masks is not None and mask_dir is not None:
            write_nifti(Path(mask_dir) / rel, masks[k].transpose(1, 2, 0), spacing, np.uint8)
        report_rows.append({"VolumeName": name, "ClinicalInformation_EN": "Not given.", "Technique_EN":
                            "Non-contrast chest CT.", "Findings_EN": text, "Impressions_EN": text})
        meta_rows.append({"VolumeName": name, "RescaleSlope": "1.0", "RescaleIntercept": f"{intercept:g}",
                          "XYSpacing": f"[{spacing[0]}, {spacing[1]}]", "ZSpacing": f"{spacing[2]}"})
    for folder, fname, rows in (("radiology_text_reports", reports_csv, report_rows),
                                ("metadata", meta_csv, meta_rows)):
        (base / folder).mkdir(parents=True, exist_ok=True)
        with open(base / folder / fname, "a", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, list(rows[0]))
            if f.tell() == 0:
                w.writeheader()
            w.writerows(rows)
    return base


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_train: int = 12, n_valid: int = 4,
                 shape: tuple[int, int, int] = (16, 16, 24)) -> Path:
    """A miniature of the release: simulated chest volumes (``medrepro.sim.chest_ct``, two scans per training
    patient) with their one-sentence findings, in both splits, with the report and metadata tables. Returns
    ``root/dataset``."""
    from ...sim.chest_ct import simulate_chest_volumes

    tr = simulate_chest_volumes(n_train, shape=shape, seed=seed)
    va = simulate_chest_volumes(n_valid, shape=shape, seed=seed + 1)
    base = write(root, tr.hu, tr.reports, split="train", scans_per_patient=2)
    write(root, va.hu, va.reports, split="valid")
    mark_fixture(root, DATASET)
    return base
