"""CMRxRecon 2023 (MICCAI challenge): multi-coil cine k-space in MATLAB v7.3 ``.mat`` files.

Layout of the release (the official ``ChallengeDataFormat/Format_cine.txt``)::

    MultiCoil/Cine/TrainingSet/FullSample/P001/cine_sax.mat        key "kspace_full"
    MultiCoil/Cine/TrainingSet/FullSample/P001/cine_lax.mat
    MultiCoil/Cine/TrainingSet/AccFactor04/P001/cine_sax.mat       key "kspace_sub04"
    MultiCoil/Cine/TrainingSet/AccFactor04/P001/cine_sax_mask.mat  key "mask04"
    ... AccFactor08 (kspace_sub08, mask08), AccFactor10 (kspace_sub10, mask10); ValidationSet without FullSample

Conventions (checked against the official repository, CmrxRecon/CMRxRecon @2cb293a):

- a ``.mat`` v7.3 file is an HDF5 file behind a 512-byte MATLAB header (``scipy.io.loadmat`` refuses it
  and points to an HDF5 reader; the official ``loadFun.loadmat`` falls back to h5py);
- MATLAB writes arrays column-major, so h5py reads the dimensions reversed: the k-space that MATLAB sees as
  (kx, ky, coils, slices, frames) reads as ``(frames, slices, coils, ky, kx)`` — the official tutorial prints
  ``12 10 10 204 512`` for ``[nframe, nslice, ncoil, ny, nx]`` of one subject; ``loadFun`` transposes with
  ``[4, 3, 2, 1, 0]`` to get MATLAB's order back;
- complex numbers are an HDF5 compound of two fields ``real`` and ``imag`` (read as ``d["real"] + 1j * d["imag"]``);
- a mask is (kx, ky) in MATLAB, (ky, kx) through h5py, the same for every coil, slice and frame, with the
  24 central ky lines always sampled; ky (the phase-encoding direction) is the undersampled one.

Not confirmed from a primary source: the floating-point precision of the released k-space (written here
as single, with MATLAB's ``MATLAB_class`` attribute) and whether the mask files are v7.3 or v5 (both are read).
"""
from __future__ import annotations

import datetime
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import mark_fixture

DATASET = "cmrxrecon"
CINE = Path("MultiCoil") / "Cine"
ACCELERATIONS = (4, 8, 10)
_SUBJECT = re.compile(r"^P\d{3}$")


class CmrxReconFormatError(ValueError):
    """A file does not have the CMRxRecon layout (names the file and what is wrong)."""


# --------------------------------------------------------------------------- MATLAB v7.3 files
def _mat73_header() -> bytes:
    """The 512-byte user block MATLAB puts before the HDF5 data of a v7.3 file."""
    stamp = datetime.datetime(2023, 1, 1).strftime("%a %b %d %H:%M:%S %Y")
    text = f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {stamp} HDF5 schema 1.00 .".encode()
    head = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"   # subsys offset, version 0x0200, endian
    return head.ljust(512, b"\x00")


def _atomic_h5(path: Path, fill) -> None:
    """Write an HDF5 file with a MATLAB header to a temporary name, then rename (nothing half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w", userblock_size=512) as f:
            fill(f)
        with open(tmp, "r+b") as f:
            f.write(_mat73_header())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_kspace(path: str | os.PathLike[str], kspace: np.ndarray, key: str = "kspace_full") -> Path:
    """Write complex k-space (frames, slices, coils, ky, kx) as MATLAB v7.3 writes a complex single array.

    HDF5 compound ``{real, imag}`` of float32 in h5py's (reversed) dimension order, so MATLAB would see
    (kx, ky, coils, slices, frames), with the attribute ``MATLAB_class = "single"``.
    """
    kspace = np.asarray(kspace)
    if kspace.ndim != 5 or not np.iscomplexobj(kspace):
        raise ValueError(f"{path}: need complex k-space (frames, slices, coils, ky, kx), got {kspace.dtype} {kspace.shape}")
    comp = np.dtype([("real", "<f4"), ("imag", "<f4")])
    data = np.empty(kspace.shape, comp)
    data["real"], data["imag"] = kspace.real, kspace.imag

    def fill(f):
        ds = f.create_dataset(key, data=data)
        ds.attrs["MATLAB_class"] = np.bytes_("single")

    path = Path(path)
    _atomic_h5(path, fill)
    return path


def write_masks(path: str | os.PathLike[str], masks: dict[int, np.ndarray]) -> Path:
    """Write (ky, kx) masks as ``mask04``/``mask08``/``mask10`` (MATLAB double, v7.3)."""
    def fill(f):
        for r, m in masks.items():
            m = np.asarray(m)
            if m.ndim != 2:
                raise ValueError(f"{path}: mask{r:02d} must be (ky, kx), got shape {m.shape}")
            ds = f.create_dataset(f"mask{r:02d}", data=m.astype("<f8"))
            ds.attrs["MATLAB_class"] = np.bytes_("double")

    path = Path(path)
    _atomic_h5(path, fill)
    return path


def read_kspace(path: str | os.PathLike[str], key: str | None = None) -> np.ndarray:
    """Read a CMRxRecon k-space file → complex64 (frames, slices, coils, ky, kx) (single-coil: no coil axis).

    ``key`` defaults to the file's only variable whose name starts with ``kspace``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise CmrxReconFormatError(f"{path}: not a MATLAB v7.3 (HDF5) file; CMRxRecon k-space is saved with -v7.3")
    with h5py.File(path, "r") as f:
        keys = [k for k in f.keys() if k.startswith("kspace")]
        if key is None:
            if len(keys) != 1:
                raise CmrxReconFormatError(f"{path}: expected one 'kspace*' variable, found {sorted(f.keys())}")
            key = keys[0]
        if key not in f:
            raise CmrxReconFormatError(f"{path}: no variable {key!r} (has {sorted(f.keys())})")
        ds = f[key]
        names = ds.dtype.names or ()
        if set(names) != {"real", "imag"}:
            raise CmrxReconFormatError(f"{path}: {key} is {ds.dtype}, expected a compound of 'real' and 'imag'")
        raw = ds[()]
    if raw.ndim not in (4, 5):
        raise CmrxReconFormatError(f"{path}: {key} has shape {raw.shape}; expected (t, z, [coils,] ky, kx)")
    return (raw["real"] + 1j * raw["imag"]).astype(np.complex64)


def read_mask(path: str | os.PathLike[str], accel: int) -> np.ndarray:
    """Read ``mask{accel:02d}`` → boolean (ky, kx). Reads v7.3 (HDF5) and v5 files (the latter via scipy)."""
    path = Path(path)
    key = f"mask{accel:02d}"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            if key not in f:
                raise CmrxReconFormatError(f"{path}: no variable {key!r} (has {sorted(f.keys())})")
            m = np.asarray(f[key][()])                       # h5py: (ky, kx)
    else:
        from scipy.io import loadmat
        d = loadmat(path)
        if key not in d:
            raise CmrxReconFormatError(f"{path}: no variable {key!r}")
        m = np.asarray(d[key]).T                             # scipy keeps MATLAB's (kx, ky)
    if m.ndim != 2:
        raise CmrxReconFormatError(f"{path}: {key} has shape {m.shape}; expected 2-D")
    return m != 0


# --------------------------------------------------------------------------- the layout
def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds ``MultiCoil/`` (``path`` itself, or its ``ChallengeData``/``CMRxRecon`` child)."""
    path = Path(path).expanduser()
    for cand in (path, path / "ChallengeData", path / "CMRxRecon" / "ChallengeData"):
        if (cand / CINE).is_dir():
            return cand
    raise FileNotFoundError(f"{path}: no {CINE}/ folder here or in ChallengeData/; see data_manifests/cmrxrecon.yaml")


def list_subjects(root: str | os.PathLike[str], view: str = "sax") -> list[str]:
    """Training subjects with a fully sampled ``cine_<view>.mat`` (e.g. ``['P001', 'P002', ...]``)."""
    full = find_root(root) / CINE / "TrainingSet" / "FullSample"
    if not full.is_dir():
        raise FileNotFoundError(f"{full}: missing (the fully sampled training set)")
    return sorted(p.name for p in full.iterdir() if _SUBJECT.match(p.name) and (p / f"cine_{view}.mat").is_file())


@dataclass
class Subject:
    """One subject's fully sampled cine k-space (frames, slices, coils, ky, kx) and its official masks."""

    name: str
    kspace: np.ndarray
    masks: dict[int, np.ndarray]


def load_subject(root: str | os.PathLike[str], subject: str, view: str = "sax") -> Subject:
    """Read ``FullSample/<subject>/cine_<view>.mat`` and, where present, the official masks of R = 4, 8, 10."""
    base = find_root(root) / CINE / "TrainingSet"
    k = read_kspace(base / "FullSample" / subject / f"cine_{view}.mat", "kspace_full")
    if k.ndim != 5:
        raise CmrxReconFormatError(f"{base / 'FullSample' / subject}: single-coil k-space; multi-coil expected")
    masks = {}
    for r in ACCELERATIONS:
        p = base / f"AccFactor{r:02d}" / subject / f"cine_{view}_mask.mat"
        if p.is_file():
            m = read_mask(p, r)
            if m.shape != k.shape[-2:]:
                raise CmrxReconFormatError(f"{p}: mask shape {m.shape} does not match k-space {k.shape[-2:]}")
            masks[r] = m
    return Subject(subject, k, masks)


def ranking_crop(images: np.ndarray) -> np.ndarray:
    """The challenge's evaluation region: the central third of kx-size and half of ky-size of each image.

    As ``run4Ranking.m`` (``crop(abs(img), [round(sx/3), round(sy/2), ...])`` with sx the read-out size).
    ``images`` is (..., ky, kx).
    """
    ny, nx = images.shape[-2:]
    cy, cx = int(round(ny / 2)), int(round(nx / 3))
    y0, x0 = ny // 2 - cy // 2, nx // 2 - cx // 2
    return images[..., y0:y0 + cy, x0:x0 + cx]


# --------------------------------------------------------------------------- fixture
def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 10) -> Path:
    """A miniature CMRxRecon training set (cine SAX, multi-coil) with simulated hearts, in the real layout.

    Ten subjects (enough for a subject-level split with two test subjects), 3 frames, 2 slices, 4 coils, ky of 40 or 44 lines (the matrix size varies between
    subjects, as in the release), kx of 64 with 2× read-out oversampling (the heart fills the central half),
    24 ACS lines, and the official masks of R = 4, 8, 10 (every R-th line plus the ACS block), written as
    MATLAB v7.3 files through h5py. Returns the folder that holds ``MultiCoil/``.
    """
    from ...sim.cardiac import CardiacSpec, simulate_cohort
    from ...sim.kspace import equispaced_mask, line_mask_2d, simulate_multicoil

    root = Path(root)
    base = root / CINE / "TrainingSet"
    for i in range(n_subjects):
        ny, nx = (40, 44)[i % 2], 64
        coh = simulate_cohort(1, 2, spec=CardiacSpec(size=ny), seed=seed * 100 + i)
        imgs = coh.images[0]                                  # (2 phases, 2 slices, ny, ny)
        frames = np.stack([imgs[0], 0.5 * (imgs[0] + imgs[1]), imgs[1]])   # ED, mid, ES: 3 frames
        frames = frames.reshape(-1, ny, ny)
        canvas = np.zeros((len(frames), ny, nx), np.float32)  # the read-out is oversampled 2x
        canvas[:, :, (nx - ny) // 2:(nx - ny) // 2 + ny] = frames
        mc = simulate_multicoil(canvas, 4, noise=0.02, groups=np.zeros(len(canvas)), seed=seed * 100 + i)
        k = mc.kspace.reshape(3, 2, 4, ny, nx) * 1e-3        # the release's k-space is of order 1e-3
        name = f"P{i + 1:03d}"
        write_kspace(base / "FullSample" / name / "cine_sax.mat", k, "kspace_full")
        for r in ACCELERATIONS:
            m = line_mask_2d(equispaced_mask(ny, r, 24), nx)
            write_masks(base / f"AccFactor{r:02d}" / name / "cine_sax_mask.mat", {r: m})
            write_kspace(base / f"AccFactor{r:02d}" / name / "cine_sax.mat", k * m, f"kspace_sub{r:02d}")
    mark_fixture(root, DATASET)
    return root
