"""CAMUS — Cardiac Acquisitions for Multi-structure Ultrasound Segmentation (2-D echocardiography, 500 patients).

Real on-disk layout of the NIfTI release (the dataset root is the folder ``database_nifti/``)::

    database_nifti/
      patient0001/
        Info_2CH.cfg                            "key: value" lines: ED, ES (1-based frame numbers), NbFrame,
        Info_4CH.cfg                            Sex, Age, ImageQuality (Good / Medium / Poor), EF, FrameRate
        patient0001_4CH_half_sequence.nii.gz    the half cycle from ED to ES (or ES to ED), uint8 grey levels
        patient0001_4CH_half_sequence_gt.nii.gz labels of every frame: 0 background, 1 LV endocardium,
                                                2 LV myocardium (epicardium), 3 left atrium
        patient0001_4CH_ED.nii.gz, patient0001_4CH_ED_gt.nii.gz, patient0001_4CH_ES.nii.gz, ..._ES_gt.nii.gz
        (the same for 2CH)
      patient0002/ ...

Axis order: nibabel returns each sequence as (width, height, frames) — SimpleITK, which reverses the axes,
returns (frames, height, width). :func:`load_sequence` returns (frames, rows, columns) with the depth running
down the rows, the orientation of the images on screen (the transducer at the top). Info files and file names
as used by several public CAMUS loaders (checked in their code; the file layout of the organisers' archive is
described in ``data_manifests/camus.yaml``).

:func:`make_fixture` writes a miniature copy of this layout with nibabel, from :mod:`medrepro.sim.echo` cines.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import FormatError, read_nifti
from . import mark_fixture

ROOT_DIR = "database_nifti"
VIEWS = ("2CH", "4CH")
LABELS: dict[int, str] = {0: "background", 1: "LV endocardium (cavity)", 2: "LV myocardium", 3: "left atrium"}
_PATIENT = re.compile(r"^patient\d{4}$")


class CamusFormatError(FormatError):
    """A CAMUS file is malformed or missing; the message names the file."""


@dataclass
class CamusSequence:
    """One half-cycle sequence of one view of one patient.

    Attributes:
        frames: (T, H, W) float32 in [0, 1] (uint8 grey levels / 255), depth down the rows.
        labels: (T, H, W) uint8 (``LABELS``), or ``None`` when not read.
        spacing_mm: (row, column) pixel size in mm from the NIfTI header.
        ed, es: 0-based frame indices of end-diastole and end-systole.
        info: the parsed ``Info_<view>.cfg``.
    """

    patient: str
    view: str
    frames: np.ndarray
    labels: np.ndarray | None
    spacing_mm: tuple[float, float]
    ed: int
    es: int
    info: dict[str, str] = field(default_factory=dict)


def dataset_dir(root: str | os.PathLike[str]) -> Path:
    """``root`` itself when it is ``database_nifti/`` (holds patient folders), else ``root/database_nifti``."""
    root = Path(root)
    if root.name == ROOT_DIR or (root.is_dir() and any(_PATIENT.match(p.name) for p in root.iterdir() if p.is_dir())):
        return root
    return root / ROOT_DIR


def list_patients(root: str | os.PathLike[str]) -> list[str]:
    """Sorted patient folder names (``patient0001`` ...)."""
    d = dataset_dir(root)
    if not d.is_dir():
        raise FileNotFoundError(f"CAMUS folder not found: {d}")
    names = sorted(p.name for p in d.iterdir() if p.is_dir() and _PATIENT.match(p.name))
    if not names:
        raise CamusFormatError(f"{d}: holds no patientNNNN folders")
    return names


def read_info(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse an ``Info_<view>.cfg`` file ("key: value" per line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CAMUS info file not found: {path}")
    info = {}
    for line in path.read_text(errors="replace").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    for key in ("ED", "ES", "NbFrame"):
        if key not in info or not info[key].isdigit():
            raise CamusFormatError(f"{path}: no integer {key} (found keys {sorted(info)})")
    return info


def load_sequence(root: str | os.PathLike[str], patient: str, view: str = "4CH", *, labels: bool = True) -> CamusSequence:
    """Read one half-sequence (and its labels) of ``patient`` in ``view`` ("2CH" or "4CH")."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    d = dataset_dir(root) / patient
    info_path = d / f"Info_{view}.cfg"
    info = read_info(info_path)
    img = read_nifti(d / f"{patient}_{view}_half_sequence.nii.gz", ndim=3)
    frames = np.transpose(img.array, (2, 1, 0))                        # (W, H, T) → (T, H, W)
    n = int(info["NbFrame"])
    if frames.shape[0] != n:
        raise CamusFormatError(f"{img.path}: holds {frames.shape[0]} frames, {info_path.name} says NbFrame {n}")
    if frames.min() < 0 or frames.max() > 255:
        raise CamusFormatError(f"{img.path}: grey levels outside 0-255 ({frames.min()}..{frames.max()})")
    lab = None
    if labels:
        gt = read_nifti(d / f"{patient}_{view}_half_sequence_gt.nii.gz", ndim=3)
        lab = np.rint(np.transpose(gt.array, (2, 1, 0))).astype(np.uint8)
        if lab.shape != frames.shape:
            raise CamusFormatError(f"{gt.path}: labels {lab.shape} do not match the sequence {frames.shape}")
        if lab.max() > 3:
            raise CamusFormatError(f"{gt.path}: label values {np.unique(lab).tolist()} outside 0-3")
    ed, es = int(info["ED"]) - 1, int(info["ES"]) - 1
    if not (0 <= ed < n and 0 <= es < n):
        raise CamusFormatError(f"{info_path}: ED {ed + 1} / ES {es + 1} outside 1..{n}")
    return CamusSequence(patient=patient, view=view, frames=(frames / 255.0).astype(np.float32), labels=lab,
                         spacing_mm=(float(img.spacing[1]), float(img.spacing[0])), ed=ed, es=es, info=info)


def write_patient(root: str | os.PathLike[str], patient: str, view: str, frames_u8: np.ndarray, labels: np.ndarray,
                  spacing_mm: float, info: dict[str, object]) -> None:
    """Write one view of one patient in the CAMUS layout with nibabel: (T, H, W) arrays stored as (W, H, T)."""
    import nibabel as nib

    d = Path(root) / ROOT_DIR / patient if Path(root).name != ROOT_DIR else Path(root) / patient
    d.mkdir(parents=True, exist_ok=True)
    aff = np.diag([spacing_mm, spacing_mm, 1.0, 1.0])

    def save(arr: np.ndarray, name: str) -> None:
        img = nib.Nifti1Image(np.ascontiguousarray(np.transpose(arr, (2, 1, 0))).astype(np.uint8), aff)
        img.header.set_zooms((spacing_mm, spacing_mm, 1.0))
        nib.save(img, str(d / name))

    save(frames_u8, f"{patient}_{view}_half_sequence.nii.gz")
    save(labels, f"{patient}_{view}_half_sequence_gt.nii.gz")
    ed, es = int(info["ED"]) - 1, int(info["ES"]) - 1
    for key, f in (("ED", ed), ("ES", es)):
        save(frames_u8[f:f + 1], f"{patient}_{view}_{key}.nii.gz")
        save(labels[f:f + 1], f"{patient}_{view}_{key}_gt.nii.gz")
    (d / f"Info_{view}.cfg").write_text("".join(f"{k}: {v}\n" for k, v in info.items()))


def write_simulated(root: str | os.PathLike[str], n_patients: int, *, size: int = 64, seed: int = 0,
                    views: tuple[str, ...] = VIEWS, first: int = 1, spec_overrides: dict | None = None) -> Path:
    """Write ``n_patients`` simulated patients (ED → ES half-sequences, labels, Info files) in the CAMUS layout.

    Used by :func:`make_fixture` and by the smoke runs of the echo notebooks, which then read them back with
    :func:`load_sequence`, the loader of the real data. Patients are numbered from ``first``.
    """
    from ...sim.echo import EchoSpec, simulate_cines

    root = Path(root)
    for v, view in enumerate(views):
        spec = EchoSpec(size=size, seconds=1.6, view="a4c" if view == "4CH" else "a2c", **(spec_overrides or {}))
        c = simulate_cines(n_patients, spec, seed=seed * 2 + v)
        u8 = c.to_uint8(clean=True)
        for i in range(n_patients):
            # the first end-diastole in the clip; a clip with no R peak in it (a slow heart at a low frame rate)
            # starts at its first frame
            ed = int(c.ed_frames[i][0]) if len(c.ed_frames[i]) else 0
            es_after = c.es_frames[i][c.es_frames[i] > ed]
            es = int(es_after[0]) if len(es_after) else min(ed + 8, u8.shape[1] - 1)
            seq, lab = u8[i, ed:es + 1], c.labels[i, ed:es + 1]
            info = {"ED": 1, "ES": len(seq), "NbFrame": len(seq), "Sex": "F" if i % 2 else "M", "Age": 40 + (i * 7) % 45,
                    "ImageQuality": ("Good", "Medium", "Poor")[i % 3], "EF": round(100 * float(c.ef[i])),
                    "FrameRate": int(round(c.fps))}
            write_patient(root, f"patient{first + i:04d}", view, seq, lab, c.pixel_mm, info)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 6, size: int = 40) -> Path:
    """Write a miniature ``database_nifti/`` (both views, ED → ES half-sequences) from simulated cines.

    Returns ``root``; the dataset itself is ``root/database_nifti``.
    """
    write_simulated(root, n_patients, size=size, seed=seed)
    mark_fixture(root, "camus")
    return Path(root)
