"""Projection radiographs (chest X-ray) on disk: one reader for DICOM CR/DX, 8-/16-bit PNG and 8-bit JPEG.

:func:`read_radiograph` is the one reader that smoke and full mode share: it opens the simulated films
that :func:`write_radiograph_dicom` writes, the real radiograph ``RG1_UNCR.dcm`` that ships in pydicom-data
(Computed Radiography, MONOCHROME1, 15 stored bits), the 8-bit PNGs of NIH ChestX-ray8/14 and the 8-bit
grayscale JPEGs of MIMIC-CXR-JPG (decoded by Pillow, as the release's own scripts do). It returns
the image in display convention (bright = attenuating; MONOCHROME1 is inverted over its stored range by
:func:`medrepro.data.io.read_dicom`), as float32 in [0, 1] after a named normalisation, optionally
resized by area averaging.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import DicomError, ImageFormatError, read_dicom

#: SOP classes of the projection radiographs written here.
SOP_CLASS = {"CR": "1.2.840.10008.5.1.4.1.1.1",          # Computed Radiography Image Storage
             "DX": "1.2.840.10008.5.1.4.1.1.1.1"}         # Digital X-Ray Image Storage - For Presentation
NORMALISATIONS = ("range", "percentile", "none")


@dataclass
class Radiograph:
    """A radiograph in display convention: ``image`` float32 ``(H, W)`` and the facts read with it."""

    image: np.ndarray
    path: Path
    photometric: str = "MONOCHROME2"     # as stored; the image is always in display convention
    modality: str = ""
    view_position: str = ""
    patient_id: str = ""
    bits_stored: int = 8
    pixel_spacing_mm: float | None = None


def write_radiograph_dicom(path: str | os.PathLike[str], pixels: np.ndarray, *, bits_stored: int = 12,
                           photometric: str = "MONOCHROME2", modality: str = "CR", view_position: str = "PA",
                           patient_id: str = "SIM", pixel_spacing_mm: float = 0.5,
                           description: str = "simulated chest radiograph") -> Path:
    """Write a display-convention image (``(H, W)`` unsigned integers, bright = attenuating) as CR or DX.

    With ``photometric="MONOCHROME1"`` the stored values are inverted over the stored range
    (``2**bits_stored - 1 - v``), as CR systems that store "white = low" do; :func:`read_radiograph` reads
    both back to the same image. The file is written to a temporary name and renamed, so a failure leaves
    no partial file.

    Raises:
        ValueError: ``pixels`` not 2-D unsigned integers within ``bits_stored``, an unknown modality or
            photometric interpretation.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    px = np.asarray(pixels)
    path = Path(path)
    if px.ndim != 2 or px.dtype.kind != "u":
        raise ValueError(f"{path}: pixels must be a 2-D unsigned-integer image, got {px.shape} {px.dtype}")
    if not 8 <= bits_stored <= 16 or int(px.max(initial=0)) >= 2 ** bits_stored:
        raise ValueError(f"{path}: pixel values up to {int(px.max(initial=0))} do not fit {bits_stored} stored bits")
    if modality not in SOP_CLASS:
        raise ValueError(f"{path}: modality must be one of {sorted(SOP_CLASS)}, got {modality!r}")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"{path}: photometric must be MONOCHROME1 or MONOCHROME2, got {photometric!r}")
    stored = px.astype(np.uint16)
    if photometric == "MONOCHROME1":
        stored = (2 ** bits_stored - 1 - stored.astype(np.int64)).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SOP_CLASS[modality], meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.Manufacturer = modality, "medrepro"
    ds.PatientID, ds.PatientName, ds.SeriesDescription = patient_id, "SIMULATED", description
    ds.BodyPartExamined, ds.ViewPosition, ds.PatientOrientation = "CHEST", view_position, ["L", "F"]
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImagerPixelSpacing = [float(pixel_spacing_mm)] * 2
    ds.PixelSpacing = [float(pixel_spacing_mm)] * 2
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.Rows, ds.Columns = int(px.shape[0]), int(px.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, int(bits_stored), int(bits_stored) - 1, 0
    ds.WindowCenter, ds.WindowWidth = 2 ** (bits_stored - 1), 2 ** bits_stored
    ds.PixelData = np.ascontiguousarray(stored, dtype="<u2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    from .io import save_dicom_atomic

    return save_dicom_atomic(ds, path)


def _normalise(x: np.ndarray, how: str, top: float, path: Path) -> np.ndarray:
    if how == "range":
        return np.clip(x / top, 0, 1)
    if how == "percentile":
        lo, hi = np.percentile(x, [0.5, 99.5])
        return np.clip((x - lo) / max(hi - lo, 1e-6), 0, 1)
    if how == "none":
        return x
    raise ValueError(f"{path}: normalise must be one of {NORMALISATIONS}, got {how!r}")


def _resize(x: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return x
    shape = (size, size) if isinstance(size, int) else tuple(size)
    if x.shape == shape:
        return x
    from skimage.transform import resize

    return resize(x, shape, order=1, anti_aliasing=x.shape[0] > shape[0], preserve_range=True)


def read_radiograph(path: str | os.PathLike[str], *, size: int | tuple[int, int] | None = None,
                    normalise: str = "range") -> Radiograph:
    """Read a radiograph (DICOM CR/DX, or an 8-/16-bit grayscale PNG) in display convention.

    Args:
        path: a ``.dcm`` (any name; DICOM is recognised by content), ``.png`` or ``.jpg``/``.jpeg`` file.
        size: resize to ``size × size`` (or ``(H, W)``) with area averaging when shrinking.
        normalise: ``"range"`` divides by the stored range (``2**BitsStored - 1``; 255 or 65535 for PNG),
            ``"percentile"`` maps the 0.5th-99.5th percentiles to [0, 1] (for films whose values fill only
            part of the range, as RG1_UNCR's do), ``"none"`` keeps the stored values (float).

    Raises:
        FileNotFoundError: no such file.
        DicomError: a DICOM file without pixel data, with colour samples or several frames.
        ImageFormatError: a PNG that cannot be decoded or is not grayscale (RGBA PNGs, which a few NIH files
            are, are converted to luminance).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"radiograph not found: {path}")
    if path.suffix.lower() == ".png":
        return _read_png(path, size, normalise)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        return _read_png(path, size, normalise, kind="JPEG")
    px, ds = read_dicom(path)
    if int(getattr(ds, "SamplesPerPixel", 1)) != 1 or px.ndim != 2:
        raise DicomError(f"{path}: not a single-frame grayscale radiograph (shape {px.shape}, "
                         f"{getattr(ds, 'SamplesPerPixel', '?')} samples per pixel)")
    bits = int(getattr(ds, "BitsStored", 0) or px.dtype.itemsize * 8)
    x = px.astype(np.float32)
    x = _normalise(x, normalise, float(2 ** bits - 1), path)
    spacing = getattr(ds, "PixelSpacing", None) or getattr(ds, "ImagerPixelSpacing", None)
    sp = float(spacing[0]) if spacing is not None and float(spacing[0]) > 0 else None
    return Radiograph(_resize(x, size).astype(np.float32), path, str(ds.PhotometricInterpretation),
                      str(getattr(ds, "Modality", "")), str(getattr(ds, "ViewPosition", "")),
                      str(getattr(ds, "PatientID", "")), bits, sp)


def _read_png(path: Path, size, normalise: str, kind: str = "PNG") -> Radiograph:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "RGB", "LA", "P"):
                im = im.convert("L")
            if im.mode not in ("L", "I;16", "I"):
                raise ImageFormatError(f"{path}: mode {im.mode!r} is not a grayscale radiograph")
            bits = 8 if im.mode == "L" else 16
            x = np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageFormatError(f"{path}: cannot decode the {kind} ({type(exc).__name__}: {exc})") from exc
    x = _normalise(x, normalise, float(2 ** bits - 1), path)
    return Radiograph(_resize(x, size).astype(np.float32), path, "MONOCHROME2", "", "", "", bits, None)


def write_radiograph_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an image in [0, 1] as an 8-bit grayscale PNG (the format of NIH ChestX-ray8/14), atomically."""
    from PIL import Image

    x = np.asarray(image, dtype=np.float64)
    path = Path(path)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"{path}: image must be a finite 2-D array, got {x.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8), mode="L").save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
