"""LIDC-IDRI lung-nodule ROIs as preprocessed and released by the LeFusion authors (NIfTI, HuggingFace).

Layout of the release ``YuheLiuu/LeFusion_Preprocessed_Data`` (``LIDC-IDRI/Pathological.tar`` and
``LIDC-IDRI/Normal.tar``), as the official README shows it and the official loaders
(``LeFusion/dataset/lidc_hist.py``, ``lidc_hist_in.py``) read it::

    LIDC-IDRI/Pathological/Image/**/Vol_<name>.nii.gz     CT ROI around one nodule (HU)
    LIDC-IDRI/Pathological/Mask/**/Mask_<name>.nii.gz     its nodule mask (same grid)
    LIDC-IDRI/Pathological/test.txt                       names (file name without .nii.gz) of the test ROIs
    LIDC-IDRI/Normal/Image/**/*.nii.gz                    ROIs from healthy lung
    LIDC-IDRI/Normal/Mask/**/*.nii.gz                     where a nodule should be generated

The mask of an image is found as the official loaders do: ``/Image`` → ``/Mask`` in the path and ``Vol_`` →
``Mask_`` in the file name. The official loaders clamp intensities to [−1000, 400] HU, scale them to [−1, 1]
and crop or pad to 32 × 64 × 64. Not confirmed here (the archives were not opened): the names after ``Vol_``
(:func:`patient_of` takes the patient as the name up to its last ``_`` and says so), the axis order of the
volumes, and whether ``test.txt`` lists names with or without the ``Vol_`` prefix (both are accepted).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import FormatError
from . import mark_fixture

DATASET = "lefusion_lidc"
LICENCE = ("LIDC-IDRI: CC BY 3.0 (TCIA); the preprocessed release on HuggingFace states no separate licence "
           "(see the manifest)")


class LidcRoiFormatError(FormatError):
    """A LeFusion LIDC ROI file is missing or malformed; the message names the file."""


@dataclass
class Roi:
    """One ROI: the image in HU (float32, as stored), its mask (uint8), the name and the patient."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    patient: str


def _base(root: str | os.PathLike[str]) -> Path:
    root = Path(root)
    for cand in (root, root / "LIDC-IDRI", root / "LIDC"):
        if (cand / "Pathological").is_dir() or (cand / "Normal").is_dir():
            return cand
    raise FileNotFoundError(f"LeFusion LIDC: no Pathological/ or Normal/ folder in {root} (or {root}/LIDC-IDRI); "
                            "see data_manifests/lefusion_lidc.yaml")


def name_of(path: Path) -> str:
    """The ROI's name as ``test.txt`` lists it: the file name without ``.nii.gz``."""
    return path.name[:-7] if path.name.endswith(".nii.gz") else path.stem


def patient_of(name: str) -> str:
    """The patient a ROI belongs to: the name without ``Vol_`` and without its last ``_<part>`` (an assumption
    about the release's names, not confirmed; a name without ``_`` is its own patient)."""
    n = name[4:] if name.startswith("Vol_") else name
    return n.rsplit("_", 1)[0] if "_" in n else n


def image_paths(root: str | os.PathLike[str], part: str = "Pathological") -> list[Path]:
    """Sorted image files of ``part`` (``Pathological`` or ``Normal``)."""
    if part not in ("Pathological", "Normal"):
        raise ValueError(f"part must be 'Pathological' or 'Normal', got {part!r}")
    folder = _base(root) / part / "Image"
    if not folder.is_dir():
        raise FileNotFoundError(f"LeFusion LIDC: missing folder {folder}")
    return sorted(folder.rglob("*.nii.gz"))


def mask_path(image_path: Path) -> Path:
    """The mask of an image, by the official loaders' rule (``/Image`` → ``/Mask``, ``Vol_`` → ``Mask_``)."""
    parts = list(image_path.parts)
    i = len(parts) - 1 - parts[::-1].index("Image")
    parts[i] = "Mask"
    return Path(*parts[:-1]) / image_path.name.replace("Vol_", "Mask_")


def test_names(root: str | os.PathLike[str]) -> set[str]:
    """Names listed in ``Pathological/test.txt`` (empty when the file is absent), with and without ``Vol_``."""
    f = _base(root) / "Pathological" / "test.txt"
    if not f.is_file():
        return set()
    names = {line.strip() for line in f.read_text().splitlines() if line.strip()}
    return names | {"Vol_" + n for n in names if not n.startswith("Vol_")}


def _read(path: Path, what: str) -> tuple[np.ndarray, "object"]:
    import nibabel as nib

    if not path.is_file():
        raise LidcRoiFormatError(f"missing {what}: {path}")
    try:
        img = nib.load(path)
        data = np.asarray(img.get_fdata(dtype=np.float32))
    except Exception as exc:  # nibabel raises several types on a broken file
        raise LidcRoiFormatError(f"{path}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    if data.ndim != 3:
        raise LidcRoiFormatError(f"{path}: expected a 3-D ROI, got shape {data.shape}")
    return data, img


def load_roi(image_path: str | os.PathLike[str]) -> Roi:
    """Read one ROI and its mask; checks that they share the grid and that the mask is binary."""
    image_path = Path(image_path)
    image, img = _read(image_path, "image")
    mpath = mask_path(image_path)
    mask, mimg = _read(mpath, "mask")
    if mask.shape != image.shape:
        raise LidcRoiFormatError(f"{mpath}: mask shape {mask.shape} differs from the image's {image.shape}")
    if not np.isin(np.unique(mask), [0, 1]).all():
        raise LidcRoiFormatError(f"{mpath}: mask values {np.unique(mask)[:5].tolist()}, expected 0/1")
    name = name_of(image_path)
    return Roi(name, image, mask.astype(np.uint8), patient_of(name))


def load(root: str | os.PathLike[str], part: str = "Pathological", *, split: str = "all",
         max_rois: int | None = None) -> list[Roi]:
    """Read the ROIs of ``part``; for ``Pathological``, ``split`` is ``train`` (not in test.txt), ``test`` or ``all``."""
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    paths = image_paths(root, part)
    if part == "Pathological" and split != "all":
        test = test_names(root)
        paths = [p for p in paths if (name_of(p) in test) == (split == "test")]
    if max_rois is not None:
        paths = paths[:max_rois]
    if not paths:
        raise FileNotFoundError(f"LeFusion LIDC: no {part} ROIs ({split}) under {_base(root) / part / 'Image'}")
    return [load_roi(p) for p in paths]


def central_slices(rois: list[Roi], size: int, axis: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """2-D slices through each ROI's mask: the slice along ``axis`` with the largest mask area, cropped (or
    padded with −1000 HU) to ``size`` × ``size`` around the mask's centre of mass. Returns (images HU, masks)."""
    ims, ms = [], []
    for r in rois:
        img, m = np.moveaxis(r.image, axis, -1), np.moveaxis(r.mask, axis, -1)
        k = int(np.argmax(m.sum((0, 1)))) if m.any() else img.shape[-1] // 2
        a, b = img[..., k], m[..., k]
        cy, cx = (np.argwhere(b).mean(0).round().astype(int) if b.any() else np.array(a.shape) // 2)
        pa = np.pad(a, size, constant_values=-1000.0)
        pb = np.pad(b, size)
        y0, x0 = cy + size - size // 2, cx + size - size // 2
        ims.append(pa[y0:y0 + size, x0:x0 + size])
        ms.append(pb[y0:y0 + size, x0:x0 + size])
    return np.stack(ims).astype(np.float32), np.stack(ms).astype(np.uint8)


def _write(path: Path, data: np.ndarray, dtype) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(np.asarray(data).astype(dtype), np.diag([0.7, 0.7, 1.25, 1.0]))
    img.header.set_data_dtype(dtype)
    nib.save(img, path)


def write(root: str | os.PathLike[str], hu: np.ndarray, mask: np.ndarray, names: list[str], *,
          part: str = "Pathological", test: list[str] | None = None) -> Path:
    """Write ROIs in the release's layout under ``root/LIDC-IDRI`` (images int16 HU, masks uint8, gzipped NIfTI
    through nibabel); ``test`` names go to ``Pathological/test.txt``. Returns ``root/LIDC-IDRI``."""
    base = Path(root) / "LIDC-IDRI"
    for h, m, n in zip(hu, mask, names):
        fname = n if n.startswith("Vol_") or part == "Normal" else "Vol_" + n
        _write(base / part / "Image" / f"{fname}.nii.gz", np.round(h), np.int16)
        _write(base / part / "Mask" / f"{fname.replace('Vol_', 'Mask_')}.nii.gz", m, np.uint8)
    if test is not None:
        (base / "Pathological").mkdir(parents=True, exist_ok=True)
        (base / "Pathological" / "test.txt").write_text("".join(f"{t}\n" for t in test))
    return base


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_pathological: int = 12, n_normal: int = 4,
                 size: int = 16, depth: int = 3) -> Path:
    """A miniature of the release: simulated nodule ROIs (two per patient), normal ROIs, and a test.txt naming
    the ROIs of the last two patients (the release splits by case)."""
    from ...sim.lung_nodules import simulate_rois

    path = simulate_rois(n_pathological, size=size, depth=depth, seed=seed)
    normal = simulate_rois(n_normal, size=size, depth=depth, pathological=False, seed=seed + 1)
    pid = [1 + i // 2 for i in range(n_pathological)]                       # two ROIs per patient
    names = [f"Vol_LIDC-IDRI-{p:04d}_{i % 2}" for i, p in enumerate(pid)]
    test = [n for n, p in zip(names, pid) if p > max(pid) - 2]               # the last two patients' ROIs
    base = write(root, path.hu, path.mask, names, test=test)
    write(root, normal.hu, normal.mask, [f"Vol_normal_{i:03d}" for i in range(n_normal)], part="Normal")
    mark_fixture(root, DATASET)
    return base
