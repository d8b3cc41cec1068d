"""LA 2018 — the left atrium of the 2018 Atrial Segmentation Challenge (3-D LGE-MRI, binary LA cavity labels).

Real on-disk layout. The challenge release has one folder per patient; the UA-MT repository
(github.com/yulequan/UA-MT, ``data/``) adds a preprocessed HDF5 copy of each case and the 80/20 train/test
lists that the semi-supervised literature uses. The dataset root is the folder that holds::

    train.list                                  80 case ids, one per line   (UA-MT split; optional)
    test.list                                   20 case ids                 (UA-MT split; optional)
    2018LA_Seg_Training Set/
      06SR5RBREL16DQ6M8LWS/
        lgemri.nrrd                             the LGE-MRI volume, 0.625 mm isotropic, exactly 88 slices in z
        laendo.nrrd                             the LA cavity mask: 255 inside, 0 outside
        mri_norm2.h5                            UA-MT copy: datasets ``image`` (z-scored float32, cropped around
                                                the LA in x and y) and ``label`` (uint8, 0/1)
      …

Either file pair is enough: :func:`load_case` reads ``mri_norm2.h5`` when it is there (this needs ``h5py``, which
medrepro does not require) and the challenge's NRRD files otherwise, with a small NRRD reader included here
(:func:`read_nrrd`, no extra dependency). Volumes keep the files' (X, Y, Z) axis order.

:func:`load_slices` cuts the volumes into 2-D axial slices for 2-D networks: it crops the NRRD volumes around
the LA the way UA-MT's preprocessing does (with fixed margins instead of random ones), scales every volume to
[0, 1] and resizes each slice to a square. :func:`make_fixture` writes a miniature of the layout (NRRD files
and both lists) with simulated content, for the tests.
"""
from __future__ import annotations

import bz2
import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

TRAIN_DIR = "2018LA_Seg_Training Set"
IMAGE_NRRD, LABEL_NRRD, H5_NAME = "lgemri.nrrd", "laendo.nrrd", "mri_norm2.h5"
LABELS: dict[int, str] = {0: "background", 1: "LA"}
#: margins (x, y, z) of the UA-MT crop around the LA; UA-MT draws them at random in 10–20 (x, y) and 5–10 (z)
CROP_MARGIN: tuple[int, int, int] = (15, 15, 7)


class La2018FormatError(FormatError):
    """A file of the LA 2018 layout is malformed; the message names the file."""


# ----------------------------------------------------------------------------------------------- NRRD
_NRRD_TYPES = {
    "uchar": "u1", "unsigned char": "u1", "uint8": "u1", "uint8_t": "u1",
    "signed char": "i1", "int8": "i1", "int8_t": "i1",
    "short": "i2", "short int": "i2", "signed short": "i2", "signed short int": "i2", "int16": "i2", "int16_t": "i2",
    "ushort": "u2", "unsigned short": "u2", "unsigned short int": "u2", "uint16": "u2", "uint16_t": "u2",
    "int": "i4", "signed int": "i4", "int32": "i4", "int32_t": "i4",
    "uint": "u4", "unsigned int": "u4", "uint32": "u4", "uint32_t": "u4",
    "float": "f4", "double": "f8",
}


def read_nrrd(path: str | os.PathLike[str]) -> tuple[np.ndarray, dict[str, str]]:
    """Read a NRRD file with attached data (encodings raw, gzip, bzip2) into an array shaped like ``sizes``.

    NRRD stores the fastest axis first, so ``sizes: X Y Z`` gives an array of shape (X, Y, Z).

    Raises:
        FileNotFoundError: no such file.
        La2018FormatError: not a NRRD file, a detached or unsupported encoding or type, or truncated data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NRRD file not found: {path}")
    raw = path.read_bytes()
    if not raw.startswith(b"NRRD"):
        raise La2018FormatError(f"{path}: not a NRRD file (no 'NRRD000x' magic line)")
    end = raw.find(b"\n\n")
    if end < 0:
        raise La2018FormatError(f"{path}: the header has no blank line before the data")
    header: dict[str, str] = {}
    for line in raw[:end].decode("latin-1").splitlines()[1:]:
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep and value.startswith("="):  # key:=value lines are free-form key/value pairs
            continue
        header[key.strip().lower()] = value.strip()
    for key in ("type", "dimension", "sizes", "encoding"):
        if key not in header:
            raise La2018FormatError(f"{path}: the header lacks the required field '{key}'")
    if "data file" in header or "datafile" in header:
        raise La2018FormatError(f"{path}: detached data files are not supported")
    dtype_code = _NRRD_TYPES.get(header["type"].lower())
    if dtype_code is None:
        raise La2018FormatError(f"{path}: unsupported NRRD type {header['type']!r}")
    endian = "<" if header.get("endian", "little").lower() == "little" else ">"
    dtype = np.dtype(endian + dtype_code)
    sizes = [int(s) for s in header["sizes"].split()]
    if len(sizes) != int(header["dimension"]):
        raise La2018FormatError(f"{path}: 'sizes' has {len(sizes)} entries, 'dimension' says {header['dimension']}")
    data = raw[end + 2:]
    encoding = header["encoding"].lower()
    try:
        if encoding in ("gzip", "gz"):
            data = gzip.decompress(data)
        elif encoding in ("bzip2", "bz2"):
            data = bz2.decompress(data)
        elif encoding != "raw":
            raise La2018FormatError(f"{path}: unsupported NRRD encoding {header['encoding']!r}")
    except (OSError, EOFError, ValueError) as exc:
        raise La2018FormatError(f"{path}: the {encoding} data cannot be decompressed ({exc})") from exc
    need = int(np.prod(sizes)) * dtype.itemsize
    if len(data) < need:
        raise La2018FormatError(f"{path}: sizes {sizes} need {need} bytes of {header['type']}, the file holds "
                                f"{len(data)}: truncated")
    arr = np.frombuffer(data[len(data) - need:], dtype=dtype).reshape(sizes[::-1]).T  # fastest axis first
    return np.ascontiguousarray(arr.astype(dtype.newbyteorder("="))), header


def nrrd_spacing(header: dict[str, str]) -> tuple[float, ...]:
    """Voxel size per axis from ``space directions`` (vector norms) or ``spacings``; 1.0 where absent."""
    n = int(header.get("dimension", 3))
    if "space directions" in header:
        vecs = re.findall(r"\(([^)]*)\)|none", header["space directions"])
        out = [float(np.linalg.norm([float(v) for v in vec.split(",")])) if vec else 1.0 for vec in vecs]
        if len(out) == n:
            return tuple(out)
    if "spacings" in header:
        vals = [float(v) if v.lower() != "nan" else 1.0 for v in header["spacings"].split()]
        if len(vals) == n:
            return tuple(vals)
    return (1.0,) * n


def write_nrrd(path: str | os.PathLike[str], array: np.ndarray, spacing: Sequence[float] = (0.625, 0.625, 0.625),
               encoding: str = "gzip") -> Path:
    """Write a 3-D array as NRRD0004 (little endian, ``space directions`` from ``spacing``), as the challenge does."""
    arr = np.asarray(array)
    names = {np.dtype("u1"): "unsigned char", np.dtype("i2"): "short", np.dtype("u2"): "unsigned short",
             np.dtype("i4"): "int", np.dtype("f4"): "float", np.dtype("f8"): "double"}
    kind = names.get(arr.dtype.newbyteorder("="))
    if kind is None:
        raise ValueError(f"cannot write dtype {arr.dtype} as NRRD (use uint8, int16, uint16, int32, float32, float64)")
    dirs = " ".join("(" + ",".join(f"{s if i == j else 0:g}" for j in range(arr.ndim)) + ")"
                    for i, s in enumerate(spacing[: arr.ndim]))
    header = (f"NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n"
              f"type: {kind}\ndimension: {arr.ndim}\nspace: left-posterior-superior\n"
              f"sizes: {' '.join(map(str, arr.shape))}\nspace directions: {dirs}\n"
              f"kinds: {' '.join(['domain'] * arr.ndim)}\nendian: little\nencoding: {encoding}\n"
              f"space origin: ({','.join(['0'] * arr.ndim)})\n\n")
    body = np.asarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes(order="F")   # fastest axis first
    if encoding == "gzip":
        body = gzip.compress(body, compresslevel=1)
    elif encoding != "raw":
        raise ValueError(f"encoding must be 'gzip' or 'raw', got {encoding!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    tmp.write_bytes(header.encode("latin-1") + body)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------- layout
def list_cases(root: str | os.PathLike[str], split: str | None = None) -> list[str]:
    """Case ids: those of ``train.list`` / ``test.list`` (``split="train"`` / ``"test"``), or every case folder.

    Raises:
        FileNotFoundError: the case folder (or the requested list) does not exist.
        La2018FormatError: a listed case has no folder.
    """
    root = Path(root)
    cases_dir = root / TRAIN_DIR
    if not cases_dir.is_dir():
        raise FileNotFoundError(f"LA 2018 case folder not found: {cases_dir} (is {root} the folder that holds "
                                f"'{TRAIN_DIR}'?)")
    if split is None:
        return sorted(p.name for p in cases_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    lst = root / f"{split}.list"
    if not lst.is_file():
        raise FileNotFoundError(f"{lst} not found: the UA-MT split lists come from github.com/yulequan/UA-MT (data/)")
    ids = [line.strip() for line in lst.read_text().splitlines() if line.strip()]
    missing = [i for i in ids if not (cases_dir / i).is_dir()]
    if missing:
        raise La2018FormatError(f"{lst} lists {len(missing)} case(s) with no folder in {cases_dir}, e.g. {missing[0]}")
    return ids


@dataclass
class LaCase:
    """One case: image and LA mask in the file's (X, Y, Z) order."""

    case: str
    image: np.ndarray      # float32
    label: np.ndarray      # uint8, 0 / 1
    spacing: tuple[float, float, float]
    source: str            # "h5" (UA-MT, already cropped and z-scored) or "nrrd" (challenge release)


def load_case(root: str | os.PathLike[str], case: str) -> LaCase:
    """Read one case, from ``mri_norm2.h5`` when present, otherwise from ``lgemri.nrrd`` + ``laendo.nrrd``.

    Raises:
        FileNotFoundError: neither file pair is there (the message names the folder).
        ImportError: only the HDF5 file is there and ``h5py`` is not installed.
        La2018FormatError: a volume is not 3-D, image and mask differ in shape, or the mask has other values
            than 0/1 (HDF5) or 0/255 (NRRD; 0/1 is accepted too).
    """
    folder = Path(root) / TRAIN_DIR / case
    h5, img_p, lab_p = folder / H5_NAME, folder / IMAGE_NRRD, folder / LABEL_NRRD
    if h5.is_file() and not (img_p.is_file() and lab_p.is_file() and _no_h5py()):
        try:
            import h5py
        except ImportError as exc:
            raise ImportError(f"{h5} is an HDF5 file: install h5py (pip install h5py) to read it, or provide "
                              f"{IMAGE_NRRD} and {LABEL_NRRD} from the challenge release") from exc
        with h5py.File(h5, "r") as f:
            for key in ("image", "label"):
                if key not in f:
                    raise La2018FormatError(f"{h5}: has no dataset '{key}' (found {sorted(f.keys())})")
            image, label = np.asarray(f["image"], np.float32), np.asarray(f["label"])
        spacing, source, allowed = (0.625, 0.625, 0.625), "h5", {0, 1}
        where = h5
    elif img_p.is_file() and lab_p.is_file():
        image, head = read_nrrd(img_p)
        label, _ = read_nrrd(lab_p)
        image = image.astype(np.float32)
        spacing, source, allowed = tuple(nrrd_spacing(head)), "nrrd", {0, 1, 255}  # type: ignore[assignment]
        where = lab_p
    else:
        raise FileNotFoundError(f"{folder}: neither {H5_NAME} nor the pair {IMAGE_NRRD} + {LABEL_NRRD} was found")
    if image.ndim != 3 or image.shape != label.shape:
        raise La2018FormatError(f"{where}: image {image.shape} and mask {label.shape} must be equal 3-D volumes")
    values = set(np.unique(label).tolist())
    if not values <= allowed:
        raise La2018FormatError(f"{where}: mask values {sorted(values)}, expected a subset of {sorted(allowed)}")
    if not np.isfinite(image).all():
        raise La2018FormatError(f"{where}: the image has NaN or infinite voxels")
    return LaCase(case=case, image=image, label=(label > 0).astype(np.uint8), spacing=spacing,  # type: ignore[arg-type]
                  source=source)


def _no_h5py() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return True
    return False


def crop_to_label(image: np.ndarray, label: np.ndarray, margin: Sequence[int] = CROP_MARGIN,
                  min_size: Sequence[int] = (112, 112, 80)) -> tuple[np.ndarray, np.ndarray]:
    """Crop x and y around the LA as UA-MT's preprocessing does (pad the box to ``min_size``, add ``margin``).

    UA-MT crops only x and y and keeps all slices; a volume without any LA voxel is returned whole.
    """
    nz = np.nonzero(label)
    if len(nz[0]) == 0:
        return image, label
    sl = []
    for ax in range(2):
        lo, hi = int(nz[ax].min()), int(nz[ax].max())
        pad = max(int(min_size[ax]) - (hi - lo), 0) // 2
        sl.append(slice(max(lo - margin[ax] - pad, 0), min(hi + margin[ax] + pad, label.shape[ax])))
    return image[sl[0], sl[1]], label[sl[0], sl[1]]


@dataclass
class LaSlices:
    """Axial 2-D slices of several cases, ready for a 2-D network."""

    images: np.ndarray       # (N, H, W) float32, each volume scaled to [0, 1]
    labels: np.ndarray       # (N, H, W) uint8, 0 / 1
    case: np.ndarray         # (N,) case id
    slice_index: np.ndarray  # (N,) z index in its volume
    spacing: np.ndarray      # (N, 3) mm after resizing: in-plane (2) and slice thickness

    def __len__(self) -> int:
        return len(self.images)

    @property
    def volume_id(self) -> np.ndarray:
        """The case of each slice (slices with the same id form one 3-D volume)."""
        return self.case


def load_slices(root: str | os.PathLike[str], cases: Iterable[str] | None = None, *, size: int | None = 112,
                crop: bool = True, every: int = 1, drop_empty: bool = False) -> LaSlices:
    """Read ``cases`` (default: every case) and cut them into axial slices.

    NRRD volumes are first cropped around the LA like UA-MT's HDF5 copies (:func:`crop_to_label`). Each volume
    is scaled to [0, 1] between its 0.5th and 99.5th percentiles; with ``size`` each slice is resized to
    ``size × size`` (bilinear images, nearest labels). ``every`` keeps every n-th slice; ``drop_empty`` drops
    slices without LA.
    """
    from scipy import ndimage

    from .acdc import normalize_volume

    cases = list(cases) if cases is not None else list_cases(root)
    if not cases:
        raise ValueError(f"no cases to load from {root}")
    imgs, labs, ids, zs, sps = [], [], [], [], []
    for c in cases:
        vol = load_case(root, c)
        img, lab = vol.image, vol.label
        if crop and vol.source == "nrrd":
            img, lab = crop_to_label(img, lab)
        img = normalize_volume(img)
        keep = np.arange(0, img.shape[2], every)
        img, lab = img[:, :, keep], lab[:, :, keep]
        sx, sy, sz = vol.spacing
        if size is not None and img.shape[:2] != (size, size):
            fx, fy = size / img.shape[0], size / img.shape[1]
            img = ndimage.zoom(img, (fx, fy, 1), order=1, mode="nearest", grid_mode=False)
            lab = ndimage.zoom(lab, (fx, fy, 1), order=0, mode="nearest", grid_mode=False)
            sx, sy = sx / fx, sy / fy
        imgs.append(np.moveaxis(img, 2, 0))
        labs.append(np.moveaxis(lab, 2, 0))
        ids += [c] * len(keep)
        zs.append(keep)
        sps.append(np.tile([sx, sy, sz * every], (len(keep), 1)))
    shapes = {a.shape[1:] for a in imgs}
    if len(shapes) > 1:
        raise ValueError(f"slices differ in shape {sorted(shapes)}; pass size= to resize them to a square")
    out = LaSlices(images=np.concatenate(imgs).astype(np.float32), labels=np.concatenate(labs).astype(np.uint8),
                   case=np.asarray(ids), slice_index=np.concatenate(zs), spacing=np.concatenate(sps).astype(np.float32))
    if drop_empty:
        k = out.labels.reshape(len(out), -1).any(1)
        out = LaSlices(out.images[k], out.labels[k], out.case[k], out.slice_index[k], out.spacing[k])
    return out


# -------------------------------------------------------------------------------------------- fixture
def _simulated_case(rng: np.random.Generator, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A crude LGE-MRI-like volume with an atrium-shaped blob and two vein stubs (fixture content only)."""
    X, Y, Z = shape
    x, y, z = np.meshgrid(np.arange(X), np.arange(Y), np.arange(Z), indexing="ij")
    c = np.array([X, Y, Z]) * rng.uniform(0.4, 0.6, 3)
    r = np.array([X, Y, Z]) * rng.uniform(0.15, 0.25, 3)
    blob = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 < 1
    for side in (-1, 1):  # pulmonary vein stubs leaving the atrium
        vx, vy = c[0] + side * r[0] * 0.9, c[1] - r[1] * 0.6
        blob |= ((x - vx) ** 2 + (y - vy) ** 2 < (0.3 * r[0]) ** 2) & (np.abs(z - c[2]) < r[2])
    img = 60 + 25 * rng.standard_normal(shape) + 70 * blob
    return np.clip(img, 0, 255).astype(np.uint8), (255 * blob).astype(np.uint8)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_train: int = 6, n_test: int = 2,
                 shape: tuple[int, int, int] = (40, 36, 12)) -> Path:
    """Write a miniature LA 2018 root: ``train.list``, ``test.list`` and one folder per case with the
    challenge's ``lgemri.nrrd`` (uint8) and ``laendo.nrrd`` (0/255), filled with simulated volumes.

    The real volumes are 0.625 mm isotropic with 88 slices; the fixture keeps the spacing and uses ``shape``.
    Returns ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    ids = ["".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 20)) for _ in range(n_train + n_test)]
    for cid in ids:
        img, lab = _simulated_case(rng, shape)
        write_nrrd(root / TRAIN_DIR / cid / IMAGE_NRRD, img)
        write_nrrd(root / TRAIN_DIR / cid / LABEL_NRRD, lab)
    (root / "train.list").write_text("\n".join(ids[:n_train]) + "\n")
    (root / "test.list").write_text("\n".join(ids[n_train:]) + "\n")
    mark_fixture(root, "la2018")
    return root
