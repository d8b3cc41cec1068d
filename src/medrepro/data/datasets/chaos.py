"""CHAOS — Combined (CT-MR) Healthy Abdominal Organ Segmentation (Kavur et al., Medical Image Analysis 2021).

The MR part: abdominal MR of healthy subjects with two sequences, T1-DUAL (in-phase and opposed-phase echoes)
and T2-SPIR, each slice stored as one DICOM file, with ground truth for four organs stored as one grey-scale
PNG per slice. Real on-disk layout (the extracted ``CHAOS_Train_Sets.zip``; ``Train_Sets/`` is the dataset
root)::

    Train_Sets/
      CT/<id>/DICOM_anon/*.dcm, CT/<id>/Ground/*.png      CT, liver only (not read by this module)
      MR/<id>/                                            one folder per subject, named by a number
        T1DUAL/DICOM_anon/InPhase/IMG-XXXX-NNNNN.dcm
        T1DUAL/DICOM_anon/OutPhase/IMG-XXXX-NNNNN.dcm
        T1DUAL/Ground/IMG-XXXX-NNNNN.png                  named like the in-phase slices
        T2SPIR/DICOM_anon/IMG-XXXX-NNNNN.dcm
        T2SPIR/Ground/IMG-XXXX-NNNNN.png                  named like the T2-SPIR slices

Ground-truth PNGs code the organs by grey-value ranges (the challenge's data description; :data:`GREY_RANGES`):
liver 63 (55-70), right kidney 126 (110-135), left kidney 189 (175-200), spleen 252 (240-255), background 0.
:func:`read_ground` maps them to the labels of :data:`LABELS` (0 background, 1 liver, 2 right kidney,
3 left kidney, 4 spleen).

:func:`load_slices` reads the DICOM slices of one sequence through :func:`medrepro.data.io.read_dicom` and
their PNG ground truth (Pillow), pairs them by file name (or, for the opposed-phase echo, by position),
scales each volume to [0, 1] and optionally resizes the slices to a square. :func:`write_patient` writes one
subject in exactly this layout (a minimal valid MR Image Storage DICOM per slice, written with pydicom, and
a PNG per slice) — smoke runs store simulated subjects (:mod:`medrepro.sim.abdomen`) with it and read them back
through :func:`load_slices`. :func:`make_fixture` writes a miniature copy of the MR part for the tests.

Not checked against the real files here: the DICOM series numbers in the file names (the loader does not
depend on them) and whether every real subject's slices are already in anatomical order by file name (the
loader sorts by ``InstanceNumber`` when the files carry it, by name otherwise).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import FormatError, read_dicom
from . import mark_fixture

LABELS: dict[int, str] = {0: "background", 1: "liver", 2: "kidney_R", 3: "kidney_L", 4: "spleen"}
#: Grey values of the ground-truth PNGs: label → (nominal value, lowest, highest).
GREY_RANGES: dict[int, tuple[int, int, int]] = {1: (63, 55, 70), 2: (126, 110, 135), 3: (189, 175, 200),
                                                 4: (252, 240, 255)}
#: The sequences this loader reads, as paths below ``MR/<id>/``: (DICOM folder, Ground folder).
SEQUENCES: dict[str, tuple[str, str]] = {
    "T2SPIR": ("T2SPIR/DICOM_anon", "T2SPIR/Ground"),
    "T1DUAL/InPhase": ("T1DUAL/DICOM_anon/InPhase", "T1DUAL/Ground"),
    "T1DUAL/OutPhase": ("T1DUAL/DICOM_anon/OutPhase", "T1DUAL/Ground"),
}
_SUBJECT = re.compile(r"^\d+$")
#: Share of pixels with a grey value outside every range (and not 0) above which a PNG is rejected.
MAX_STRAY_FRACTION = 0.005


class ChaosFormatError(FormatError):
    """A file of the CHAOS layout is malformed; the message names the file."""


# ------------------------------------------------------------------------------------------ ground truth
def grey_to_labels(grey: np.ndarray, *, source: str = "array") -> np.ndarray:
    """Map the grey values of a CHAOS ground-truth image to labels 0..4 (:data:`LABELS`).

    Pixels whose value is neither 0 nor inside a range of :data:`GREY_RANGES` become background when they are
    a few stray pixels (at most :data:`MAX_STRAY_FRACTION` of the image, e.g. from resampling); more raise.

    Raises:
        ChaosFormatError: too many pixels outside the organ ranges (the message names ``source``).
    """
    grey = np.asarray(grey)
    labels = np.zeros(grey.shape, np.uint8)
    known = grey == 0
    for lab, (_, lo, hi) in GREY_RANGES.items():
        inside = (grey >= lo) & (grey <= hi)
        labels[inside] = lab
        known |= inside
    stray = int((~known).sum())
    if stray > MAX_STRAY_FRACTION * grey.size:
        values = np.unique(grey[~known])[:5].tolist()
        raise ChaosFormatError(f"{source}: {stray} pixels have grey values outside the CHAOS organ ranges "
                               f"(e.g. {values}); expected 0 or 55-70, 110-135, 175-200, 240-255")
    return labels


def labels_to_grey(labels: np.ndarray) -> np.ndarray:
    """Labels 0..4 → the nominal CHAOS grey values (0, 63, 126, 189, 252) as uint8."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > 4):
        raise ValueError(f"CHAOS MR labels are 0..4, got {labels.min()}..{labels.max()}")
    lut = np.array([0] + [GREY_RANGES[k][0] for k in (1, 2, 3, 4)], np.uint8)
    return lut[labels.astype(np.intp)]


def read_ground(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one ground-truth PNG and return its labels (H, W) uint8.

    Raises:
        FileNotFoundError: the file is missing.
        ChaosFormatError: the file is not a readable image, or its grey values are not CHAOS organ codes.
    """
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CHAOS ground-truth PNG not found: {path}")
    try:
        with Image.open(path) as im:
            grey = np.asarray(im)
    except Exception as exc:  # Pillow raises several kinds of errors for a bad file
        raise ChaosFormatError(f"{path}: not a readable PNG ({exc})") from exc
    if grey.ndim == 3:          # RGB(A): the organ code is in every colour channel
        grey = grey[..., 0]
    if grey.ndim != 2:
        raise ChaosFormatError(f"{path}: expected a 2-D grey-scale image, got shape {grey.shape}")
    return grey_to_labels(grey, source=str(path))


# ------------------------------------------------------------------------------------------- reading
def list_patients(root: str | os.PathLike[str]) -> list[str]:
    """Subject folder names under ``root/MR`` (numbers), sorted numerically.

    Raises:
        FileNotFoundError: ``root/MR`` does not exist.
    """
    folder = Path(root) / "MR"
    if not folder.is_dir():
        raise FileNotFoundError(f"CHAOS MR folder not found: {folder} (is {root} the extracted 'Train_Sets' folder?)")
    return sorted((p.name for p in folder.iterdir() if p.is_dir() and _SUBJECT.match(p.name)), key=int)


def sequence_paths(root: str | os.PathLike[str], patient: str, sequence: str = "T2SPIR") -> tuple[Path, Path]:
    """``(DICOM folder, Ground folder)`` of one sequence of one subject."""
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence must be one of {list(SEQUENCES)}, got {sequence!r}")
    base = Path(root) / "MR" / str(patient)
    dcm, gt = SEQUENCES[sequence]
    return base / dcm, base / gt


@dataclass
class ChaosVolume:
    """One sequence of one subject: slices first, as stored (rows, columns)."""

    patient: str
    sequence: str
    image: np.ndarray      # (Z, H, W) float32, scanner units (rescale slope/intercept applied)
    label: np.ndarray      # (Z, H, W) uint8, values in LABELS
    spacing: tuple[float, float, float]   # (row, column, slice) in mm
    files: list[str]       # DICOM file names in slice order


def _sorted_dicoms(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".dcm")
    if not files:
        raise FileNotFoundError(f"no .dcm files in {folder}")
    return files


def load_volume(root: str | os.PathLike[str], patient: str, sequence: str = "T2SPIR") -> ChaosVolume:
    """Read one sequence of one subject with its ground truth, validated.

    DICOM slices are ordered by ``InstanceNumber`` (by file name when absent). Ground-truth PNGs are paired by
    file name; for ``T1DUAL/OutPhase``, whose files are named differently from the in-phase slices that the
    Ground folder follows, by position after sorting.

    Raises:
        FileNotFoundError: a folder, a DICOM file or its PNG is missing (the message names it).
        ChaosFormatError: slices differ in size, a PNG's size differs from its slice, or a PNG is malformed.
    """
    dcm_dir, gt_dir = sequence_paths(root, patient, sequence)
    if not dcm_dir.is_dir():
        raise FileNotFoundError(f"CHAOS DICOM folder not found: {dcm_dir}")
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"CHAOS ground-truth folder not found: {gt_dir}")
    slices = []
    for p in _sorted_dicoms(dcm_dir):
        px, ds = read_dicom(p)
        if px.ndim != 2:
            raise ChaosFormatError(f"{p}: expected one 2-D slice per file, got pixel data of shape {px.shape}")
        slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
        order = int(ds.InstanceNumber) if "InstanceNumber" in ds and ds.InstanceNumber is not None else None
        slices.append((order, p, px.astype(np.float32) * slope + intercept, ds))
    if all(s[0] is not None for s in slices):
        slices.sort(key=lambda s: (s[0], s[1].name))
    shapes = {s[2].shape for s in slices}
    if len(shapes) > 1:
        raise ChaosFormatError(f"{dcm_dir}: slices differ in size {sorted(shapes)}")
    pngs = sorted(gt_dir.glob("*.png"))
    by_stem = {p.stem: p for p in pngs}
    if sequence == "T1DUAL/OutPhase":
        if len(pngs) != len(slices):
            raise ChaosFormatError(f"{gt_dir}: {len(pngs)} ground-truth PNGs for {len(slices)} opposed-phase slices "
                                   f"in {dcm_dir}; they are paired by position and must be as many")
        gts = pngs
    else:
        missing = [s[1].name for s in slices if s[1].stem not in by_stem]
        if missing:
            raise FileNotFoundError(f"{gt_dir}: no ground-truth PNG for {len(missing)} slice(s), e.g. "
                                    f"{Path(missing[0]).stem}.png (for {dcm_dir / missing[0]})")
        gts = [by_stem[s[1].stem] for s in slices]
    labels = []
    for (_, p, px, _), g in zip(slices, gts):
        lab = read_ground(g)
        if lab.shape != px.shape:
            raise ChaosFormatError(f"{g}: ground truth {lab.shape} does not match its slice {p.name} {px.shape}")
        labels.append(lab)
    ds0 = slices[0][3]
    row, col = (float(v) for v in ds0.get("PixelSpacing", [1.0, 1.0]))
    thick = float(ds0.get("SpacingBetweenSlices", None) or ds0.get("SliceThickness", None) or 1.0)
    return ChaosVolume(patient=str(patient), sequence=sequence, image=np.stack([s[2] for s in slices]),
                       label=np.stack(labels), spacing=(row, col, thick), files=[s[1].name for s in slices])


@dataclass
class ChaosSlices:
    """2-D slices of several subjects, ready for a 2-D network."""

    images: np.ndarray       # (N, H, W) float32, each volume scaled to [0, 1]
    labels: np.ndarray       # (N, H, W) uint8
    patient: np.ndarray      # (N,) subject folder name
    slice_index: np.ndarray  # (N,) position in its volume
    spacing: np.ndarray      # (N, 3) mm after resizing: row, column, slice
    sequence: str = "T2SPIR"

    def __len__(self) -> int:
        return len(self.images)

    @property
    def volume_id(self) -> np.ndarray:
        """The subject of each slice: slices with the same id form one 3-D volume."""
        return self.patient.astype(str)


def _resize(stack: np.ndarray, size: int, order: int) -> np.ndarray:
    from scipy import ndimage

    z, h, w = stack.shape
    if (h, w) == (size, size):
        return stack
    return ndimage.zoom(stack, (1, size / h, size / w), order=order, mode="nearest", grid_mode=False)


def load_slices(root: str | os.PathLike[str], patients: Iterable[str] | None = None, *, sequence: str = "T2SPIR",
                size: int | None = None, drop_empty: bool = False) -> ChaosSlices:
    """Read one sequence of ``patients`` (default: every subject under ``root/MR``) as 2-D slices.

    Each volume is scaled to [0, 1] between its 0.5th and 99.5th percentiles; with ``size``, every slice is
    resized to ``size × size`` (bilinear for images, nearest for labels) and the spacing updated — CHAOS MR
    slices do not all have the same matrix size. ``drop_empty`` removes slices without any organ.
    """
    from .acdc import normalize_volume

    patients = list(patients) if patients is not None else list_patients(root)
    if not patients:
        raise ValueError(f"no CHAOS subjects to load from {Path(root) / 'MR'}")
    imgs, labs, pat, idx, sp = [], [], [], [], []
    for p in patients:
        v = load_volume(root, p, sequence)
        img, lab = normalize_volume(v.image), v.label
        row, col, thick = v.spacing
        if size is not None:
            row, col = row * img.shape[1] / size, col * img.shape[2] / size
            img, lab = _resize(img, size, 1), _resize(lab, size, 0)
        imgs.append(img.astype(np.float32))
        labs.append(lab.astype(np.uint8))
        pat += [str(p)] * len(img)
        idx.append(np.arange(len(img)))
        sp.append(np.tile([row, col, thick], (len(img), 1)))
    shapes = {a.shape[1:] for a in imgs}
    if len(shapes) > 1:
        raise ValueError(f"CHAOS slices differ in size {sorted(shapes)}; pass size= to resize them to a square")
    out = ChaosSlices(images=np.concatenate(imgs), labels=np.concatenate(labs), patient=np.asarray(pat),
                      slice_index=np.concatenate(idx), spacing=np.concatenate(sp).astype(np.float32),
                      sequence=sequence)
    if drop_empty:
        keep = out.labels.reshape(len(out), -1).any(1)
        out = ChaosSlices(out.images[keep], out.labels[keep], out.patient[keep], out.slice_index[keep],
                          out.spacing[keep], sequence)
    return out


# ------------------------------------------------------------------------------------------- writing
def _write_dicom(path: Path, pixels: np.ndarray, *, patient: str, series: int, instance: int,
                 spacing: Sequence[float], z_mm: float, description: str, echo_ms: float, repetition_ms: float,
                 study_uid: str, series_uid: str) -> None:
    """One minimal valid MR Image Storage file (explicit VR little endian, 16-bit unsigned, MONOCHROME2)."""
    from pydicom.dataset import FileMetaDataset, Dataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    sop_uid = generate_uid(entropy_srcs=[series_uid, str(instance)])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, sop_uid
    ds.Modality, ds.PatientID, ds.PatientName = "MR", f"CHAOS-SIM-{patient}", "Anonymized"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = series, instance, description
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M_FFE" if description.startswith("T1") else "M_SE"]
    ds.ScanningSequence = "GR" if description.startswith("T1") else "SE"
    ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SP", "", "2D"
    ds.EchoTime, ds.RepetitionTime, ds.MagneticFieldStrength = echo_ms, repetition_ms, 1.5
    ds.ImagePositionPatient = [0.0, 0.0, float(z_mm)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [float(spacing[0]), float(spacing[1])]
    ds.SliceThickness = ds.SpacingBetweenSlices = float(spacing[2])
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def _to_uint12(image: np.ndarray, scale: float | None) -> tuple[np.ndarray, float]:
    """Scanner-like 12-bit integers: the stack's 99.9th percentile maps to ~3000 unless ``scale`` is given."""
    image = np.asarray(image, np.float64)
    if scale is None:
        scale = 3000.0 / max(float(np.percentile(image, 99.9)), 1e-6)
    return np.clip(np.rint(image * scale), 0, 4095).astype(np.uint16), scale


def write_patient(root: str | os.PathLike[str], patient: str | int, image: np.ndarray, labels: np.ndarray, *,
                  spacing: Sequence[float] = (1.6, 1.6, 7.8), sequences: Sequence[str] = ("T2SPIR",),
                  out_phase: np.ndarray | None = None) -> Path:
    """Write one subject's MR in the CHAOS layout: DICOM slices and ground-truth PNGs per sequence.

    Args:
        image, labels: (Z, H, W) stacks in anatomical order; labels in 0..4 (:data:`LABELS`). Images are stored
            as 12-bit unsigned integers (scaled so that bright tissue is ~3000).
        spacing: (row, column, slice) in mm, written to PixelSpacing, SliceThickness and SpacingBetweenSlices.
        sequences: any of ``"T2SPIR"`` and ``"T1DUAL"``; ``"T1DUAL"`` writes the in-phase echo (``image``)
            and the opposed-phase echo (``out_phase``, default ``0.8 × image``) as interleaved instance numbers,
            the Ground PNGs named like the in-phase files.

    Returns:
        The subject folder ``root/MR/<patient>``.
    """
    from PIL import Image
    from pydicom.uid import generate_uid

    image, labels = np.asarray(image), np.asarray(labels)
    if image.shape != labels.shape or image.ndim != 3:
        raise ValueError(f"image {image.shape} and labels {labels.shape} must be equal (Z, H, W) stacks")
    patient = str(patient)
    if not _SUBJECT.match(patient):
        raise ValueError(f"CHAOS subject folders are numbers, got {patient!r}")
    grey = labels_to_grey(labels)
    base = Path(root) / "MR" / patient
    study_uid = generate_uid(entropy_srcs=["chaos-sim", patient])
    for seq in sequences:
        if seq not in ("T2SPIR", "T1DUAL"):
            raise ValueError(f"sequences are 'T2SPIR' and 'T1DUAL', got {seq!r}")
        series = 2 if seq == "T2SPIR" else 4
        series_uid = generate_uid(entropy_srcs=[study_uid, seq])
        gt_dir = base / seq / "Ground"
        gt_dir.mkdir(parents=True, exist_ok=True)
        echoes = [("", image, 1)] if seq == "T2SPIR" else [
            ("InPhase", image, 2), ("OutPhase", out_phase if out_phase is not None else 0.8 * image, 1)]
        scale = None
        for sub, stack, offset in echoes:
            ints, scale = _to_uint12(stack, scale)
            folder = base / seq / "DICOM_anon" / sub if sub else base / seq / "DICOM_anon"
            folder.mkdir(parents=True, exist_ok=True)
            for z in range(len(ints)):
                instance = z + 1 if seq == "T2SPIR" else 2 * z + offset   # T1-DUAL: echoes interleaved
                name = f"IMG-{series:04d}-{instance:05d}"
                _write_dicom(folder / f"{name}.dcm", ints[z], patient=patient, series=series, instance=instance,
                             spacing=spacing, z_mm=z * float(spacing[2]), description=f"{seq} {sub}".strip(),
                             echo_ms=(80.0 if seq == "T2SPIR" else 4.6 if sub == "InPhase" else 2.3),
                             repetition_ms=(1600.0 if seq == "T2SPIR" else 150.0), study_uid=study_uid,
                             series_uid=series_uid)
                if sub != "OutPhase":
                    Image.fromarray(grey[z], mode="L").save(gt_dir / f"{name}.png")
    return base


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 4, n_slices: int = 3,
                 size: int = 32) -> Path:
    """Write a miniature CHAOS ``Train_Sets/MR`` (T1-DUAL and T2-SPIR, with Ground) from simulated subjects.

    The last subject is written at a different matrix size (``size + 8``), as real CHAOS MR slices differ in
    size, so that the resizing path of :func:`load_slices` runs. The CT part is not written (this module does
    not read it). Returns ``root``; the dataset itself is ``root/Train_Sets`` (the manifest's ``root``).
    """
    from ...sim.abdomen import AbdomenSpec, simulate_abdomen

    root = Path(root)
    sizes = [size] * (n_patients - 1) + [size + 8] if n_patients > 1 else [size]
    for i, s in enumerate(sizes):
        c = simulate_abdomen(1, n_slices, spec=AbdomenSpec(size=s, modality="mr"), seed=seed * 1000 + i)
        write_patient(root / "Train_Sets", i + 1, c.images, from_synapse_labels(c.labels),
                      spacing=c.spacing, sequences=("T2SPIR", "T1DUAL"))
    mark_fixture(root, "chaos")
    return root


def from_synapse_labels(labels: np.ndarray) -> np.ndarray:
    """Map the 8-organ Synapse labels of :mod:`medrepro.sim.abdomen` to the CHAOS MR labels.

    Liver → 1, right kidney → 2, left kidney → 3, spleen → 4; every other organ becomes background (CHAOS
    does not label it).
    """
    from ...sim.abdomen import KIDNEY_L, KIDNEY_R, LIVER, SPLEEN

    labels = np.asarray(labels)
    lut = np.zeros(max(int(labels.max(initial=0)) + 1, 9), np.uint8)
    lut[[LIVER, KIDNEY_R, KIDNEY_L, SPLEEN]] = [1, 2, 3, 4]
    return lut[labels]
