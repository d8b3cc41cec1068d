"""IXI — brain MRI of ~600 healthy adults from three London hospitals: T1-, T2- and PD-weighted NIfTI per subject.

Real distribution (brain-development.org/ixi-dataset; CC BY-SA 3.0): one tar archive per sequence
(``IXI-T1.tar``, ``IXI-T2.tar``, ``IXI-PD.tar``, also MRA and DTI, not read here) holding one gzipped NIfTI per
subject, named ``IXI<nnn>-<site>-<nnnn>-<SEQ>.nii.gz`` with site ``Guys``, ``HH`` or ``IOP`` (for example
``IXI002-Guys-0828-T1.nii.gz``), and a demographics spreadsheet ``IXI.xls`` (not read here). The expected root
holds one folder per unpacked archive::

    IXI-T1/IXI002-Guys-0828-T1.nii.gz
    IXI-T2/IXI002-Guys-0828-T2.nii.gz
    IXI-PD/IXI002-Guys-0828-PD.nii.gz

(files lying directly in the root are found as well). The sequences of one subject are acquired on different
grids (T1 sagittal, T2 and PD a dual-echo axial pair); :func:`load_subject` reads them with nibabel and, with
``to="T2"``, resamples the others onto the T2 grid through their affines (``nibabel.processing.resample_from_to``).
:func:`write_subject` writes a subject in the same layout (the smoke runs and :func:`make_fixture` use it).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import read_nifti
from . import mark_fixture

DATASET = "ixi"
SEQUENCES: tuple[str, ...] = ("T1", "T2", "PD")
_FILE = re.compile(r"^(IXI\d{3}-(?:Guys|HH|IOP)-\d{4})-(T1|T2|PD)\.nii\.gz$")


@dataclass
class Subject:
    """One subject: ``images[seq]`` float32 arrays (on one grid when resampled), the grid's affine and the site."""

    subject_id: str
    images: dict[str, np.ndarray]
    affine: np.ndarray
    site: str


def _folders(root: Path) -> list[Path]:
    return [root / f"IXI-{s}" for s in SEQUENCES] + [root]


def subject_ids(root: str | os.PathLike[str], sequences: tuple[str, ...] = SEQUENCES) -> list[str]:
    """Subjects (``IXI002-Guys-0828``) that have a file for every one of ``sequences``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"IXI: no folder {root}")
    have: dict[str, set[str]] = {}
    for folder in _folders(root):
        if folder.is_dir():
            for p in folder.iterdir():
                m = _FILE.match(p.name)
                if m:
                    have.setdefault(m.group(1), set()).add(m.group(2))
    return sorted(s for s, seqs in have.items() if set(sequences) <= seqs)


def path(root: str | os.PathLike[str], subject_id: str, seq: str) -> Path:
    """The file of one sequence: ``IXI-<seq>/<id>-<seq>.nii.gz`` (or the same name in the root)."""
    if seq not in SEQUENCES:
        raise ValueError(f"sequence must be one of {SEQUENCES}, got {seq!r}")
    root = Path(root)
    name = f"{subject_id}-{seq}.nii.gz"
    inside = root / f"IXI-{seq}" / name
    return inside if inside.is_file() or not (root / name).is_file() else root / name


def load_subject(root: str | os.PathLike[str], subject_id: str, sequences: tuple[str, ...] = SEQUENCES,
                 to: str | None = "T2") -> Subject:
    """Read a subject's ``sequences``; with ``to``, resample the others onto that sequence's grid (trilinear).

    A missing file raises ``FileNotFoundError``, an unreadable one, a non-3-D one or one with NaN
    ``medrepro.data.io.NiftiError``; both name the file.
    """
    import nibabel as nib

    vols = {s: read_nifti(path(root, subject_id, s), ndim=3) for s in sequences}   # errors name the file
    ref = vols[to] if to else vols[sequences[0]]
    out = {}
    for s, v in vols.items():
        arr = v.array
        if to and (arr.shape != ref.array.shape or not np.allclose(v.affine, ref.affine, atol=1e-3)):
            from nibabel.processing import resample_from_to

            img = resample_from_to(nib.Nifti1Image(arr, v.affine), (ref.array.shape, ref.affine), order=1)
            arr = np.asarray(img.dataobj, np.float32)
        out[s] = arr
    return Subject(subject_id, out, ref.affine, subject_id.split("-")[1])


def write_subject(root: str | os.PathLike[str], subject_id: str, images: dict[str, np.ndarray],
                  affine: np.ndarray) -> dict[str, Path]:
    """Write one subject's volumes in the IXI layout with nibabel (refuses to overwrite)."""
    import nibabel as nib

    if not _FILE.match(f"{subject_id}-T1.nii.gz"):
        raise ValueError(f"subject id must look like IXI002-Guys-0828, got {subject_id!r}")
    out = {}
    for seq, vol in images.items():
        p = Path(root) / f"IXI-{seq}" / f"{subject_id}-{seq}.nii.gz"
        if p.exists():
            raise FileExistsError(f"{p} exists; medrepro does not overwrite dataset files")
        p.parent.mkdir(parents=True, exist_ok=True)
        vol = np.asarray(vol, np.float32)
        img = nib.Nifti1Image(vol if vol.ndim == 3 else vol[..., None], affine)
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, p)
        out[seq] = p
    return out


def simulated_id(i: int) -> str:
    """A subject id in IXI's pattern for simulated subject ``i`` (sites cycle Guys, HH, IOP)."""
    return f"IXI{i + 2:03d}-{('Guys', 'HH', 'IOP')[i % 3]}-{1000 + i:04d}"


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 6) -> Path:
    """A miniature of the layout: ``n_subjects`` simulated 2-D subjects (one axial slice each) as T1/T2/PD NIfTI.

    The T1 of the first subject is stored on a coarser grid (real IXI T1 images have their own grid), so the
    loader's resampling is exercised.
    """
    import nibabel as nib
    import torch
    from nibabel.processing import resample_to_output

    from ...sim import brain_synth as bs

    root = Path(root)
    subs = bs.subjects(n_subjects, seed=seed)
    g = torch.Generator().manual_seed(seed)
    lab = torch.from_numpy(np.stack([s.labels for s in subs]))
    vols = {seq: bs.synth_batch(lab, torch.full((n_subjects,), 0.2), g, seq.lower()).numpy() for seq in SEQUENCES}
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    for i in range(n_subjects):
        write_subject(root, simulated_id(i), {s: vols[s][i] for s in SEQUENCES}, affine)
    p = path(root, simulated_id(0), "T1")
    img = nib.load(p)
    coarse = resample_to_output(img, voxel_sizes=(6.0, 6.0, 4.0), order=1)
    p.unlink()
    nib.save(coarse, p)
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "SEQUENCES", "Subject", "subject_ids", "path", "load_subject",
           "write_subject", "simulated_id", "make_fixture"]
