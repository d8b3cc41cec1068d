"""ACDC — the Automated Cardiac Diagnosis Challenge cine-MR dataset (Bernard et al., IEEE TMI 2018).

Real on-disk layout (the extracted ``database/`` folder is the dataset root)::

    database/
      MANDATORY_CITATION.md
      training/patient001/ … patient100/
        Info.cfg                       ED: 1 / ES: 12 / Group: DCM / Height: 184.0 / NbFrame: 30 / Weight: 95.0
        patient001_4d.nii.gz           the whole cine sequence (X, Y, Z, T)
        patient001_frame01.nii.gz      the ED frame (X, Y, Z); its number is ``ED`` in Info.cfg
        patient001_frame01_gt.nii.gz   its labels: 0 background, 1 RV cavity, 2 myocardium, 3 LV cavity
        patient001_frame12.nii.gz      the ES frame (``ES`` in Info.cfg)
        patient001_frame12_gt.nii.gz
      testing/patient101/ … patient150/   (same layout)

The label convention is the one stated on the challenge's evaluation page ("0, 1, 2 and 3 represent voxels
located in the background, in the RV cavity, in the myocardium, and in the LV cavity").

:func:`load_slices` reads the ED and ES frames of the chosen patients into 2-D short-axis slices (what 2-D
semi-supervised methods such as BCP train on), normalised per volume and optionally resized to a square.
:func:`write_patient` writes one patient in exactly this layout — smoke runs store simulated patients
(:mod:`medrepro.sim.cardiac`) with it and read them back through :func:`load_slices`.
:func:`make_fixture` writes a miniature copy of the layout for the tests.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import FormatError, read_nifti, write_nifti
from . import mark_fixture

LABELS: dict[int, str] = {0: "background", 1: "RV", 2: "MYO", 3: "LV"}
INFO_KEYS: tuple[str, ...] = ("ED", "ES", "Group", "Height", "NbFrame", "Weight")
SPLITS: tuple[str, ...] = ("training", "testing")
_PATIENT = re.compile(r"^patient\d{3}$")


class AcdcFormatError(FormatError):
    """A file of the ACDC layout is malformed; the message names the file."""


# ------------------------------------------------------------------------------------------ Info.cfg
def read_info(path: str | os.PathLike[str]) -> dict[str, object]:
    """Parse an ``Info.cfg`` (``Key: value`` lines) into a dict with typed ED, ES, NbFrame, Height, Weight.

    Raises:
        FileNotFoundError: the file is missing.
        AcdcFormatError: a line is not ``Key: value``, a required key is missing, or a value has the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ACDC Info.cfg not found: {path}")
    info: dict[str, object] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise AcdcFormatError(f"{path}, line {n}: expected 'Key: value', got {line!r}")
        info[key.strip()] = value.strip()
    missing = [k for k in INFO_KEYS if k not in info]
    if missing:
        raise AcdcFormatError(f"{path}: missing {', '.join(missing)} (needs {', '.join(INFO_KEYS)})")
    try:
        for k in ("ED", "ES", "NbFrame"):
            info[k] = int(str(info[k]))
        for k in ("Height", "Weight"):
            info[k] = float(str(info[k]))
    except ValueError as exc:
        raise AcdcFormatError(f"{path}: {exc}") from exc
    if not 1 <= info["ED"] <= info["NbFrame"] or not 1 <= info["ES"] <= info["NbFrame"]:  # type: ignore[operator]
        raise AcdcFormatError(f"{path}: ED={info['ED']} / ES={info['ES']} outside 1..NbFrame={info['NbFrame']}")
    return info


def write_info(path: str | os.PathLike[str], info: dict[str, object]) -> Path:
    """Write an ``Info.cfg`` with the six ACDC keys (extra keys are ignored)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for k in INFO_KEYS:
        v = info[k]
        lines.append(f"{k}: {v:.1f}" if k in ("Height", "Weight") else f"{k}: {v}")
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------------------- reading
def list_patients(root: str | os.PathLike[str], split: str = "training") -> list[str]:
    """Patient folder names (``patientXXX``) under ``root/split``, sorted.

    Raises:
        FileNotFoundError: ``root/split`` does not exist.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(root) / split
    if not folder.is_dir():
        raise FileNotFoundError(f"ACDC split folder not found: {folder} (is {root} the extracted 'database' folder?)")
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _PATIENT.match(p.name))


def frame_paths(root: str | os.PathLike[str], patient: str, frame: int, split: str = "training") -> tuple[Path, Path]:
    """``(image, gt)`` paths of one frame of one patient."""
    folder = Path(root) / split / patient
    stem = f"{patient}_frame{frame:02d}"
    return folder / f"{stem}.nii.gz", folder / f"{stem}_gt.nii.gz"


@dataclass
class AcdcFrame:
    """One annotated frame (ED or ES) of one patient: arrays in the file's (X, Y, Z) order."""

    patient: str
    phase: str          # "ED" or "ES"
    frame: int
    image: np.ndarray   # float32
    label: np.ndarray   # uint8, values in LABELS
    spacing: tuple[float, ...]
    info: dict[str, object]


def load_patient(root: str | os.PathLike[str], patient: str, split: str = "training") -> list[AcdcFrame]:
    """Read the ED and ES frames of one patient with their ground truth, validated.

    Raises:
        FileNotFoundError: Info.cfg or a frame file is missing (the message names it).
        AcdcFormatError: a volume is not 3-D, image and labels differ in shape, or labels are outside 0..3.
    """
    folder = Path(root) / split / patient
    info = read_info(folder / "Info.cfg")
    frames = []
    for phase in ("ED", "ES"):
        n = int(info[phase])  # type: ignore[arg-type]
        img_p, gt_p = frame_paths(root, patient, n, split)
        img = read_nifti(img_p, ndim=3)
        gt = read_nifti(gt_p, ndim=3)
        if img.array.shape != gt.array.shape:
            raise AcdcFormatError(f"{gt_p}: labels have shape {gt.array.shape}, the image {img_p.name} has "
                                  f"{img.array.shape}")
        lab = np.rint(gt.array)
        bad = ~np.isin(lab, list(LABELS))
        if bad.any():
            raise AcdcFormatError(f"{gt_p}: {int(bad.sum())} voxels have labels outside {sorted(LABELS)} "
                                  f"(e.g. {float(lab[bad][0])})")
        frames.append(AcdcFrame(patient=patient, phase=phase, frame=n, image=img.array,
                                label=lab.astype(np.uint8), spacing=img.spacing, info=info))
    return frames


@dataclass
class AcdcSlices:
    """2-D short-axis slices of several patients, ready for a 2-D network."""

    images: np.ndarray     # (N, H, W) float32, each volume scaled to [0, 1]
    labels: np.ndarray     # (N, H, W) uint8
    patient: np.ndarray    # (N,) patient name
    phase: np.ndarray      # (N,) "ED" / "ES"
    slice_index: np.ndarray  # (N,) z index in its volume
    spacing: np.ndarray    # (N, 3) mm after resizing: in-plane (2) and slice thickness
    group: np.ndarray      # (N,) ACDC group of the patient

    def __len__(self) -> int:
        return len(self.images)

    @property
    def volume_id(self) -> np.ndarray:
        """``patient_phase`` per slice: slices with the same id form one 3-D volume."""
        return np.char.add(np.char.add(self.patient.astype(str), "_"), self.phase.astype(str))


def normalize_volume(vol: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    """Scale a volume to [0, 1] between two percentiles (robust min–max), clipping the tails."""
    lo, hi = np.percentile(vol, [lo_pct, hi_pct])
    return np.clip((vol - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)


def _resize(vol: np.ndarray, size: int, order: int) -> np.ndarray:
    from scipy import ndimage

    x, y = vol.shape[:2]
    if (x, y) == (size, size):
        return vol
    return ndimage.zoom(vol, (size / x, size / y, 1), order=order, mode="nearest", grid_mode=False)


def load_slices(root: str | os.PathLike[str], patients: Iterable[str] | None = None, *, split: str = "training",
                size: int | None = None, drop_empty: bool = False) -> AcdcSlices:
    """Read the ED and ES frames of ``patients`` (default: all of ``split``) as 2-D slices.

    Each volume is scaled to [0, 1] (:func:`normalize_volume`); with ``size``, each slice is resized to
    ``size × size`` (bilinear for images, nearest for labels — the SSL4MIS/BCP pipeline zooms to 256 × 256),
    and the in-plane spacing is updated accordingly. ``drop_empty`` removes slices without any foreground.
    """
    patients = list(patients) if patients is not None else list_patients(root, split)
    if not patients:
        raise ValueError(f"no patients to load from {Path(root) / split}")
    imgs, labs, pat, ph, zs, sp, grp = [], [], [], [], [], [], []
    for p in patients:
        for fr in load_patient(root, p, split):
            img, lab = normalize_volume(fr.image), fr.label
            sx, sy, sz = (tuple(fr.spacing) + (1.0, 1.0, 1.0))[:3]
            if size is not None:
                sx, sy = sx * img.shape[0] / size, sy * img.shape[1] / size
                img, lab = _resize(img, size, 1), _resize(lab, size, 0)
            nz = img.shape[2]
            imgs.append(np.moveaxis(img, 2, 0))
            labs.append(np.moveaxis(lab, 2, 0))
            pat += [p] * nz
            ph += [fr.phase] * nz
            zs.append(np.arange(nz))
            sp.append(np.tile([sx, sy, sz], (nz, 1)))
            grp += [str(fr.info["Group"])] * nz
    shapes = {a.shape[1:] for a in imgs}
    if len(shapes) > 1:
        raise ValueError(f"slices differ in shape {sorted(shapes)}; pass size= to resize them to a square")
    out = AcdcSlices(images=np.concatenate(imgs).astype(np.float32), labels=np.concatenate(labs).astype(np.uint8),
                     patient=np.asarray(pat), phase=np.asarray(ph), slice_index=np.concatenate(zs),
                     spacing=np.concatenate(sp).astype(np.float32), group=np.asarray(grp))
    if drop_empty:
        keep = out.labels.reshape(len(out), -1).any(1)
        out = AcdcSlices(*(getattr(out, f)[keep] for f in ("images", "labels", "patient", "phase", "slice_index",
                                                            "spacing", "group")))
    return out


# ------------------------------------------------------------------------------------------- writing
def write_patient(root: str | os.PathLike[str], patient: str, *, ed: tuple[np.ndarray, np.ndarray],
                  es: tuple[np.ndarray, np.ndarray], info: dict[str, object],
                  spacing: Sequence[float] = (1.5, 1.5, 10.0), split: str = "training", cine: bool = True) -> Path:
    """Write one patient in the ACDC layout: Info.cfg, ED/ES frames with ``_gt`` labels, and the 4-D cine.

    Args:
        ed, es: ``(image, labels)`` stacks shaped (Z, H, W) — slice first, as simulators produce them;
            they are stored as (X, Y, Z) like the real files (images int16, labels uint8).
        info: Info.cfg values (ED, ES, Group, Height, NbFrame, Weight).
        cine: also write ``patientXXX_4d.nii.gz`` (NbFrame frames interpolated ED → ES → ED).
    """
    if not _PATIENT.match(patient):
        raise ValueError(f"ACDC patient folders are named patientXXX, got {patient!r}")
    folder = Path(root) / split / patient
    write_info(folder / "Info.cfg", info)
    vols = {}
    for phase, (img, lab) in (("ED", ed), ("ES", es)):
        img, lab = np.asarray(img), np.asarray(lab)
        if img.shape != lab.shape or img.ndim != 3:
            raise ValueError(f"{phase}: image {img.shape} and labels {lab.shape} must be equal (Z, H, W) stacks")
        vol = np.moveaxis(img, 0, 2)
        vols[phase] = vol
        img_p, gt_p = frame_paths(root, patient, int(info[phase]), split)  # type: ignore[arg-type]
        write_nifti(img_p, np.clip(np.rint(vol), -32768, 32767), spacing, dtype=np.int16)
        write_nifti(gt_p, np.moveaxis(lab, 0, 2), spacing, dtype=np.uint8)
    if cine:
        nb, e_d, e_s = int(info["NbFrame"]), int(info["ED"]), int(info["ES"])  # type: ignore[arg-type]
        t = np.arange(1, nb + 1)
        # weight of the ES frame: 0 at ED, 1 at ES, back to 0 at the end of the cycle
        w = np.where(t <= e_s, (t - e_d) / max(e_s - e_d, 1), (nb + 1 - t) / max(nb + 1 - e_s, 1)).clip(0, 1)
        cine_arr = (1 - w) * vols["ED"][..., None] + w * vols["ES"][..., None]
        write_nifti(folder / f"{patient}_4d.nii.gz", np.clip(np.rint(cine_arr), -32768, 32767),
                    tuple(spacing) + (1.0,), dtype=np.int16)
    return folder


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_training: int = 8, n_testing: int = 2,
                 n_slices: int = 3, shape: tuple[int, int] = (44, 40)) -> Path:
    """Write a miniature ACDC ``database/`` (training + testing patients) with simulated content.

    The slices are deliberately not square (``shape``) so that the resizing path of :func:`load_slices`
    runs. Returns ``root``; the dataset itself is ``root/database`` (what the manifest's ``root`` names).
    """
    from ...sim.cardiac import CardiacSpec, simulate_cohort

    root = Path(root)
    db = root / "database"
    side = max(shape)
    spec = CardiacSpec(size=side + (-side) % 4)
    cohort = simulate_cohort(n_training + n_testing, n_slices, spec=spec, seed=seed)
    x0, y0 = (spec.size - shape[0]) // 2, (spec.size - shape[1]) // 2
    crop = (slice(None), slice(None), slice(None), slice(x0, x0 + shape[0]), slice(y0, y0 + shape[1]))
    imgs, labs = cohort.images[crop], cohort.labels[crop]
    for i in range(n_training + n_testing):
        split, num = ("training", i + 1) if i < n_training else ("testing", 101 + i - n_training)
        write_patient(db, f"patient{num:03d}", ed=(imgs[i, 0], labs[i, 0]), es=(imgs[i, 1], labs[i, 1]),
                      info=cohort.info[i], spacing=cohort.spacing, split=split)
    (db / "MANDATORY_CITATION.md").write_text(
        "Fixture: simulated content in the ACDC layout. The real dataset requires citing Bernard O. et al., "
        "IEEE TMI 37(11):2514-2525, 2018.\n")
    mark_fixture(root, "acdc")
    return root


# --------------------------------------------------------------------------------- 2-D + time series
@dataclass
class AcdcSeries:
    """2-D + time series of single short-axis slices, each with the labels of one annotated frame."""

    images: np.ndarray      # (N, T, H, W) float32 in [0, 1] (each series scaled as a whole)
    labels: np.ndarray      # (N, H, W) uint8, the ED frame's ground truth
    patient: np.ndarray     # (N,) patient folder name
    slice_index: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.images)


def write_series(root: str | os.PathLike[str], patient: str, *, series: np.ndarray, label: np.ndarray,
                 info: dict[str, object], spacing: Sequence[float] = (1.5, 1.5, 10.0),
                 split: str = "training", scale: float = 1000.0) -> Path:
    """Write a 2-D + time series (one slice) in the ACDC layout: ``_4d`` (X, Y, 1, T), ED/ES frames and labels.

    Args:
        series: (T, H, W) images (multiplied by ``scale`` and stored as int16, like the real files).
        label: (H, W) labels (0..3) of the ED frame; the ES frame gets the same labels (a series in which the
            heart does not change shape, as in motion-corrected first-pass perfusion).
        info: Info.cfg values; ``NbFrame`` must equal T.
    """
    series, label = np.asarray(series, dtype=float), np.asarray(label)
    if series.ndim != 3 or label.shape != series.shape[1:]:
        raise ValueError(f"series {series.shape} must be (T, H, W) and label {label.shape} (H, W)")
    if int(info["NbFrame"]) != series.shape[0]:  # type: ignore[arg-type]
        raise ValueError(f"NbFrame={info['NbFrame']} but the series has {series.shape[0]} frames")
    folder = Path(root) / split / patient
    if not _PATIENT.match(patient):
        raise ValueError(f"ACDC patient folders are named patientXXX, got {patient!r}")
    write_info(folder / "Info.cfg", info)
    vol = np.clip(np.rint(series * scale), -32768, 32767)
    for phase in ("ED", "ES"):
        img_p, gt_p = frame_paths(root, patient, int(info[phase]), split)  # type: ignore[arg-type]
        write_nifti(img_p, vol[int(info[phase]) - 1][:, :, None], spacing, dtype=np.int16)  # type: ignore[arg-type]
        write_nifti(gt_p, label[:, :, None], spacing, dtype=np.uint8)
    write_nifti(folder / f"{patient}_4d.nii.gz", np.moveaxis(vol, 0, 2)[:, :, None, :], tuple(spacing) + (1.0,),
                dtype=np.int16)
    return folder


def load_series(root: str | os.PathLike[str], patients: Iterable[str] | None = None, *, split: str = "training",
                n_frames: int | None = None, size: int | None = None) -> AcdcSeries:
    """Read every slice of each patient's ``_4d`` file as a (T, H, W) series with the ED frame's labels.

    ``n_frames`` keeps that many frames starting at the ED frame (wrapping around the cycle); ``size``
    resizes each slice to a square. Each series is scaled to [0, 1] by its own percentiles.

    Raises:
        FileNotFoundError: the ``_4d`` file or a frame is missing (the message names it).
        AcdcFormatError: the ``_4d`` file is not 4-D, its slices differ from the ED frame's, or it has fewer
            frames than ``NbFrame``.
    """
    patients = list(patients) if patients is not None else list_patients(root, split)
    if not patients:
        raise ValueError(f"no patients to load from {Path(root) / split}")
    imgs, labs, pat, zs = [], [], [], []
    for p in patients:
        ed = load_patient(root, p, split)[0]
        path = Path(root) / split / p / f"{p}_4d.nii.gz"
        cine = read_nifti(path, ndim=4).array
        if cine.shape[:3] != ed.label.shape:
            raise AcdcFormatError(f"{path}: shape {cine.shape} does not match the ED labels {ed.label.shape}")
        nb = int(ed.info["NbFrame"])  # type: ignore[arg-type]
        if cine.shape[3] < nb:
            raise AcdcFormatError(f"{path}: {cine.shape[3]} frames, Info.cfg says NbFrame={nb}")
        nt = n_frames or nb
        order = (np.arange(nt) + ed.frame - 1) % cine.shape[3]
        for z in range(cine.shape[2]):
            s = normalize_volume(cine[:, :, z, :][:, :, order])      # (X, Y, T)
            lab = ed.label[:, :, z]
            if size is not None:
                s, lab = _resize(s, size, 1), _resize(lab[:, :, None], size, 0)[:, :, 0]
            imgs.append(np.moveaxis(s, 2, 0))
            labs.append(lab)
            pat.append(p)
            zs.append(z)
    shapes = {a.shape for a in imgs}
    if len(shapes) > 1:
        raise ValueError(f"series differ in shape {sorted(shapes)}; pass size= and n_frames=")
    return AcdcSeries(images=np.stack(imgs).astype(np.float32), labels=np.stack(labs).astype(np.uint8),
                      patient=np.asarray(pat), slice_index=np.asarray(zs))
