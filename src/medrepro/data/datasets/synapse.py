"""Synapse multi-organ abdominal CT (BTCV, MICCAI 2015) in the TransUNet preprocessing.

The version most decoder/upsampler papers train on is the one prepared by TransUNet (Chen et al., 2021,
arXiv:2102.04306; ``datasets/README.md`` of github.com/Beckschen/TransUNet): the 30 labelled BTCV training
scans, clipped to [-125, 275] HU and scaled to [0, 1] per volume, with the 8-organ labels below; 18 scans
cut into 2-D training slices, 12 kept as 3-D test volumes. Real on-disk layout (the ``Synapse`` folder is
the dataset root)::

    Synapse/
      train_npz/case0005_slice000.npz …       one axial slice per file: ``image`` (512, 512) in [0, 1],
                                              ``label`` (512, 512) with values 0..8 (integer or float storage)
      test_vol_h5/case0001.npy.h5 …           one volume per file (HDF5): ``image`` (Z, 512, 512), ``label`` (Z, 512, 512)

Labels (:data:`LABELS`, as named by code that trains on TransUNet's copy; TransUNet's repository itself does
not list the names): 1 aorta, 2 gallbladder, 3 left kidney, 4 right kidney, 5 liver, 6 pancreas, 7 spleen,
8 stomach. (The raw BTCV volumes have 13 labels in another order — 1 spleen, 2 right kidney, 3 left kidney,
4 gallbladder, … — TransUNet's copy is already remapped.)
The split is fixed by TransUNet's ``lists/lists_Synapse`` (:data:`TRAIN_CASES`, :data:`TEST_CASES`).

:func:`load_train_slices` reads ``train_npz`` (numpy only). :func:`load_test_volumes` reads ``test_vol_h5``
and needs ``h5py`` (imported only there). :func:`write_slice` stores a slice exactly as the real files are
stored — smoke runs write simulated slices (:mod:`medrepro.sim.abdomen`) with it and read them back through
the same loader. :func:`make_fixture` writes a miniature copy of the layout for the tests (the ``test_vol_h5``
part only when ``h5py`` is installed).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

LABELS: dict[int, str] = {0: "background", 1: "aorta", 2: "gallbladder", 3: "kidney_L", 4: "kidney_R",
                          5: "liver", 6: "pancreas", 7: "spleen", 8: "stomach"}
#: TransUNet's split (``lists/lists_Synapse/train.txt`` and ``test_vol.txt``): 18 training, 12 test scans.
TRAIN_CASES: tuple[str, ...] = tuple(f"case{i:04d}" for i in (5, 6, 7, 9, 10, 21, 23, 24, 26, 27, 28, 30, 31, 33,
                                                              34, 37, 39, 40))
TEST_CASES: tuple[str, ...] = tuple(f"case{i:04d}" for i in (8, 22, 38, 36, 32, 2, 29, 3, 1, 4, 25, 35))
TRAIN_DIR, TEST_DIR = "train_npz", "test_vol_h5"
_SLICE = re.compile(r"^(case\d{4})_slice(\d{3,4})\.npz$")
_VOLUME = re.compile(r"^(case\d{4})\.npy\.h5$")


class SynapseFormatError(FormatError):
    """A file of the Synapse (TransUNet) layout is malformed; the message names the file."""


# ------------------------------------------------------------------------------------------- slices
def _check_pair(path: Path, image: np.ndarray, label: np.ndarray, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    if image.ndim != ndim or label.shape != image.shape:
        raise SynapseFormatError(f"{path}: image {image.shape} and label {label.shape} must be equal "
                                 f"{ndim}-D arrays")
    if not np.isfinite(image).all():
        raise SynapseFormatError(f"{path}: image has {int((~np.isfinite(image)).sum())} NaN/inf values")
    lab = np.rint(label)
    bad = (np.abs(lab - label) > 1e-3) | (lab < 0) | (lab > max(LABELS))
    if bad.any():
        raise SynapseFormatError(f"{path}: {int(bad.sum())} label values are not integers in 0..{max(LABELS)} "
                                 f"(e.g. {float(np.asarray(label)[bad].ravel()[0])})")
    return image.astype(np.float32), lab.astype(np.uint8)


def read_slice(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``train_npz`` slice: ``(image float32 (H, W), label uint8 (H, W))``, validated.

    Raises:
        FileNotFoundError: no such file.
        SynapseFormatError: not a readable ``.npz``, ``image``/``label`` missing, shapes differ, NaN values,
            or labels outside 0..8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Synapse slice not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("image", "label") if k not in data.files]
            if missing:
                raise SynapseFormatError(f"{path}: has arrays {data.files}, lacks {missing}")
            image, label = np.asarray(data["image"]), np.asarray(data["label"])
    except SynapseFormatError:
        raise
    except Exception as exc:  # zipfile / numpy raise several kinds for truncated or foreign files
        raise SynapseFormatError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    return _check_pair(path, image, label, 2)


def write_slice(path: str | os.PathLike[str], image: np.ndarray, label: np.ndarray) -> Path:
    """Write one slice as the TransUNet files are written: ``np.savez(image=float32, label=float32)``."""
    path = Path(path)
    image, label = np.asarray(image, np.float32), np.asarray(label)
    if image.ndim != 2 or label.shape != image.shape:
        raise ValueError(f"image {image.shape} and label {label.shape} must be equal 2-D arrays")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    with open(tmp, "wb") as fh:
        np.savez(fh, image=image, label=label.astype(np.float32))
    os.replace(tmp, path)
    return path


def slice_name(case: str, index: int) -> str:
    """``case0005``, 3 → ``case0005_slice003.npz``."""
    return f"{case}_slice{index:03d}.npz"


def list_slices(root: str | os.PathLike[str]) -> list[tuple[str, int, Path]]:
    """``(case, slice index, path)`` of every file in ``root/train_npz``, sorted by case and index.

    Raises:
        FileNotFoundError: ``root/train_npz`` does not exist.
    """
    folder = Path(root) / TRAIN_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"Synapse training folder not found: {folder} "
                                f"(is {root} the 'Synapse' folder of the TransUNet preprocessing?)")
    out = []
    for p in folder.iterdir():
        m = _SLICE.match(p.name)
        if m:
            out.append((m.group(1), int(m.group(2)), p))
    return sorted(out, key=lambda r: (r[0], r[1]))


def list_cases(root: str | os.PathLike[str], split: str = "train") -> list[str]:
    """Case ids (``caseXXXX``) present under ``root`` for ``split`` (``"train"`` slices or ``"test"`` volumes)."""
    if split == "train":
        return sorted({c for c, _, _ in list_slices(root)})
    if split == "test":
        folder = Path(root) / TEST_DIR
        if not folder.is_dir():
            return []
        return sorted(m.group(1) for p in folder.iterdir() if (m := _VOLUME.match(p.name)))
    raise ValueError(f"split must be 'train' or 'test', got {split!r}")


@dataclass
class SynapseSlices:
    """2-D axial slices of several cases, ready for a 2-D network."""

    images: np.ndarray       # (N, H, W) float32 in [0, 1]
    labels: np.ndarray       # (N, H, W) uint8, values in LABELS
    case: np.ndarray         # (N,) case id
    slice_index: np.ndarray  # (N,) index in its volume

    def __len__(self) -> int:
        return len(self.images)


def resize_stack(stack: np.ndarray, size: int, order: int) -> np.ndarray:
    """Resize (N, H, W) to (N, size, size) with spline ``order`` (3 for images, 0 for labels, as TransUNet)."""
    from scipy import ndimage

    n, h, w = stack.shape
    if (h, w) == (size, size):
        return stack
    return ndimage.zoom(stack, (1, size / h, size / w), order=order, mode="nearest", grid_mode=False)


def load_train_slices(root: str | os.PathLike[str], cases: Iterable[str] | None = None, *,
                      size: int | None = None, drop_empty: bool = False) -> SynapseSlices:
    """Read the ``train_npz`` slices of ``cases`` (default: all present), optionally resized to ``size``².

    Images are resized with cubic splines and clipped back to [0, 1], labels with nearest neighbour — the
    resampling TransUNet applies to its 224 × 224 network input. ``drop_empty`` removes slices without organs.

    Raises:
        FileNotFoundError: the folder is missing, or a requested case has no slice.
        SynapseFormatError: a file is malformed (named in the message), or slices differ in shape without ``size``.
    """
    rows = list_slices(root)
    if cases is not None:
        wanted = list(cases)
        have = {c for c, _, _ in rows}
        missing = [c for c in wanted if c not in have]
        if missing:
            raise FileNotFoundError(f"no slices of {', '.join(missing)} in {Path(root) / TRAIN_DIR}")
        keep = set(wanted)
        rows = [r for r in rows if r[0] in keep]
    if not rows:
        raise FileNotFoundError(f"no slice files (caseXXXX_sliceYYY.npz) in {Path(root) / TRAIN_DIR}")
    imgs, labs = [], []
    for _, _, p in rows:
        img, lab = read_slice(p)
        if size is not None:
            img = np.clip(resize_stack(img[None], size, 3)[0], 0, 1)
            lab = resize_stack(lab[None], size, 0)[0]
        imgs.append(img)
        labs.append(lab)
    shapes = {a.shape for a in imgs}
    if len(shapes) > 1:
        raise SynapseFormatError(f"slices in {Path(root) / TRAIN_DIR} differ in shape {sorted(shapes)}; pass size=")
    out = SynapseSlices(images=np.stack(imgs), labels=np.stack(labs), case=np.asarray([r[0] for r in rows]),
                        slice_index=np.asarray([r[1] for r in rows]))
    if drop_empty:
        k = out.labels.reshape(len(out), -1).any(1)
        out = SynapseSlices(out.images[k], out.labels[k], out.case[k], out.slice_index[k])
    return out


# ------------------------------------------------------------------------------------------ volumes
def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading or writing Synapse test volumes (test_vol_h5/*.npy.h5, HDF5) needs h5py: "
                          "pip install h5py") from exc
    return h5py


def has_h5py() -> bool:
    """True when ``h5py`` can be imported (needed for ``test_vol_h5``)."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class SynapseVolume:
    """One 3-D test volume: ``image`` (Z, H, W) float32 in [0, 1], ``label`` (Z, H, W) uint8."""

    case: str
    image: np.ndarray
    label: np.ndarray


def read_volume(path: str | os.PathLike[str]) -> SynapseVolume:
    """Read one ``test_vol_h5/caseXXXX.npy.h5`` volume, validated.

    Raises:
        ImportError: h5py is not installed.
        FileNotFoundError: no such file.
        SynapseFormatError: unreadable HDF5, ``image``/``label`` missing, shapes differ, or bad labels.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Synapse test volume not found: {path}")
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("image", "label") if k not in f]
            if missing:
                raise SynapseFormatError(f"{path}: has datasets {sorted(f.keys())}, lacks {missing}")
            image, label = np.asarray(f["image"][:]), np.asarray(f["label"][:])
    except SynapseFormatError:
        raise
    except Exception as exc:
        raise SynapseFormatError(f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})") from exc
    image, label = _check_pair(path, image, label, 3)
    m = _VOLUME.match(path.name)
    return SynapseVolume(case=m.group(1) if m else path.stem, image=image, label=label)


def write_volume(path: str | os.PathLike[str], image: np.ndarray, label: np.ndarray) -> Path:
    """Write a (Z, H, W) volume as TransUNet does: HDF5 datasets ``image`` and ``label`` (needs h5py)."""
    h5py = _h5py()
    path = Path(path)
    image, label = np.asarray(image, np.float32), np.asarray(label)
    if image.ndim != 3 or label.shape != image.shape:
        raise ValueError(f"image {image.shape} and label {label.shape} must be equal 3-D arrays")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    with h5py.File(tmp, "w") as f:
        f.create_dataset("image", data=image)
        f.create_dataset("label", data=label.astype(np.float32))
    os.replace(tmp, path)
    return path


def load_test_volumes(root: str | os.PathLike[str], cases: Sequence[str] | None = None) -> list[SynapseVolume]:
    """Read the ``test_vol_h5`` volumes of ``cases`` (default: all present), in the given order."""
    cases = list(cases) if cases is not None else list_cases(root, "test")
    if not cases:
        raise FileNotFoundError(f"no test volumes (caseXXXX.npy.h5) in {Path(root) / TEST_DIR}")
    return [read_volume(Path(root) / TEST_DIR / f"{c}.npy.h5") for c in cases]


# ------------------------------------------------------------------------------------------ fixture
def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_train_cases: int = 4, n_test_cases: int = 2,
                 n_slices: int = 5, size: int = 64) -> Path:
    """Write a miniature ``Synapse/`` folder (train_npz slices; test_vol_h5 volumes when h5py is installed).

    Case ids are the first ones of TransUNet's split; the content is simulated (:mod:`medrepro.sim.abdomen`,
    CT windowed to [0, 1]). Returns ``root``; the dataset itself is ``root/Synapse`` (the manifest's ``root``).
    """
    from ...sim.abdomen import AbdomenSpec, ct_window, simulate_abdomen

    root = Path(root)
    ds = root / "Synapse"
    cohort = simulate_abdomen(n_train_cases + n_test_cases, n_slices, spec=AbdomenSpec(size=size), seed=seed)
    images = ct_window(cohort.images).reshape(-1, n_slices, size, size)
    labels = cohort.labels.reshape(-1, n_slices, size, size)
    for i, case in enumerate(TRAIN_CASES[:n_train_cases]):
        for z in range(n_slices):
            write_slice(ds / TRAIN_DIR / slice_name(case, z), images[i, z], labels[i, z])
    if has_h5py():
        for j, case in enumerate(TEST_CASES[:n_test_cases]):
            write_volume(ds / TEST_DIR / f"{case}.npy.h5", images[n_train_cases + j], labels[n_train_cases + j])
    mark_fixture(root, "synapse")
    return root
