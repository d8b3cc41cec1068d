"""PAXRay: Projected Anatomy for X-Ray (Seibold et al., BMVC 2022) — CT-projected radiographs with multi-label masks.

880 pseudo-radiographs (frontal and lateral) projected from the RibFrac chest CTs, each with a stack of binary
masks (166 channels: 92 fine anatomical structures and their super-classes) that overlap wherever structures lie
behind one another. The layout of ``paxray_dataset.zip`` as the official code reads it (``data/
general_json_dataset.py`` and ``base_dataset.py`` of github.com/ConstantinSeibold/multilabel_segmentation_paxray;
file names as in the dataset README, e.g. ``RibFrac1frontal``)::

    <root>/                              the unpacked paxray_dataset folder
      paxray.json                        {"label_dict": {"0": name, ...}, "train": [...], "val": [...], "test": [...]}
                                         each split a list of {"image": "images/<stem>.png",
                                                               "target": "labels/<stem>.npy"}
      images/<stem>.png                  the projection, 512 × 512, 8-bit (read as grey)
      labels/<stem>.npy                  bool (C, 512, 512), C = len(label_dict), channel i = label_dict[str(i)]

``<stem>`` is ``<case><view>``: the CT case (e.g. ``RibFrac1``, the patient) and the view (``frontal`` or
``lateral``). :func:`load_split` reads one split, resizes images bilinearly and masks by nearest neighbour (as the
official loader) when asked, and keeps the channels asked for. Missing files, a label stack whose shape does not
match its image or ``label_dict``, and a malformed index raise :class:`PaxrayLayoutError` naming the file.
:func:`make_fixture` writes a miniature of this layout from :mod:`medrepro.sim.torso` phantoms (PNG through
Pillow, ``.npy`` through numpy), for the tests.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

INDEX = "paxray.json"
SPLITS: tuple[str, ...] = ("train", "val", "test")
VIEWS: tuple[str, ...] = ("frontal", "lateral")
_STEM = re.compile(r"^(?P<case>.+?)(?P<view>frontal|lateral)$", re.IGNORECASE)


class PaxrayLayoutError(ValueError):
    """The folder does not hold the PAXRay layout (the message names the file)."""


@dataclass
class PaxrayData:
    """One split: ``images`` (N, H, W) float32 in [0, 1], ``labels`` (N, C, H, W) bool, the ``class_names`` of
    the C channels, per image its file ``stem``, CT ``case`` (the patient) and ``view``, and the image paths."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    stems: list[str]
    case: np.ndarray
    view: np.ndarray
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


def dataset_root(root: str | os.PathLike[str], datafile: str = INDEX) -> Path:
    """``root`` or ``root/paxray_dataset`` (or ``root/paxray``), whichever holds the index file."""
    root = Path(root)
    for cand in (root, root / "paxray_dataset", root / "paxray"):
        if (cand / datafile).is_file():
            return cand
    raise FileNotFoundError(f"no PAXRay index {datafile} in {root} or in its paxray_dataset/ or paxray/ folder")


def read_index(root: str | os.PathLike[str], datafile: str = INDEX) -> dict:
    """The parsed index (``label_dict`` and the split lists), checked for the keys the loader needs."""
    path = dataset_root(root, datafile) / datafile
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise PaxrayLayoutError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(index, dict) or not isinstance(index.get("label_dict"), dict):
        raise PaxrayLayoutError(f"{path}: no 'label_dict' mapping of channel index to name")
    keys = sorted(index["label_dict"], key=lambda k: int(k) if str(k).isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))]:
        raise PaxrayLayoutError(f"{path}: label_dict keys must be '0'..'{len(keys) - 1}', got {keys[:5]}...")
    for split in SPLITS:
        for k, item in enumerate(index.get(split, []) or []):
            if not isinstance(item, dict) or "image" not in item or "target" not in item:
                raise PaxrayLayoutError(f"{path}: entry {k} of split {split!r} lacks 'image' or 'target'")
    return index


def label_names(root: str | os.PathLike[str], datafile: str = INDEX) -> list[str]:
    """The channel names, in channel order."""
    d = read_index(root, datafile)["label_dict"]
    return [d[str(i)] for i in range(len(d))]


def find_classes(names: Sequence[str], patterns: dict[str, str]) -> dict[str, int]:
    """Channel index of the first name matching each regular expression (case-insensitive).

    Raises ``KeyError`` naming the pattern when no channel matches, with the available names."""
    out = {}
    for key, pat in patterns.items():
        hit = [i for i, n in enumerate(names) if re.search(pat, n, re.IGNORECASE)]
        if not hit:
            raise KeyError(f"no PAXRay label matches {pat!r} (for {key}); labels: {', '.join(names[:40])}"
                           + (" ..." if len(names) > 40 else ""))
        out[key] = hit[0]
    return out


def split_of(stem: str) -> tuple[str, str]:
    """(case, view) of a file stem such as ``RibFrac12frontal``; view ``"?"`` when it has no view suffix."""
    m = _STEM.match(stem)
    return (m.group("case"), m.group("view").lower()) if m else (stem, "?")


def read_image(path: str | os.PathLike[str], size: int | None = None) -> np.ndarray:
    """One projection (H, W) float32 in [0, 1] (grey; an RGB file's first channel), resized bilinearly."""
    from PIL import Image

    from ..io import open_image

    im = open_image(path)
    arr = np.asarray(im)
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32) / 255.0
    if size is not None and arr.shape != (size, size):
        arr = np.asarray(Image.fromarray(arr).resize((size, size), Image.Resampling.BILINEAR), np.float32)
    return arr


def read_labels(path: str | os.PathLike[str], n_classes: int, shape: tuple[int, int] | None = None,
                size: int | None = None, channels: Sequence[int] | None = None) -> np.ndarray:
    """One label stack (C', H, W) bool from ``.npy``; nearest-neighbour resized to ``size``; ``channels`` kept.

    Raises:
        FileNotFoundError: no file. PaxrayLayoutError: not (n_classes, H, W), or H, W differ from ``shape``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PAXRay label file not found: {path}")
    try:
        lab = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        raise PaxrayLayoutError(f"{path}: not a plain .npy array ({e})") from e
    if lab.ndim != 3 or lab.shape[0] != n_classes:
        raise PaxrayLayoutError(f"{path}: labels have shape {lab.shape}, expected ({n_classes}, H, W) — one "
                                f"channel per entry of label_dict")
    if shape is not None and lab.shape[1:] != tuple(shape):
        raise PaxrayLayoutError(f"{path}: labels are {lab.shape[1]}×{lab.shape[2]}, the image is "
                                f"{shape[0]}×{shape[1]}")
    lab = np.asarray(lab[list(channels)] if channels is not None else lab) != 0
    if size is not None and lab.shape[1:] != (size, size):
        rows = (np.arange(size) * lab.shape[1] / size).astype(int)       # nearest, as F.interpolate(mode="nearest")
        cols = (np.arange(size) * lab.shape[2] / size).astype(int)
        lab = lab[:, rows][:, :, cols]
    return lab


def load_split(root: str | os.PathLike[str], split: str = "train", *, size: int | None = None,
               channels: Sequence[int] | None = None, views: Sequence[str] | None = None,
               limit: int | None = None, datafile: str = INDEX) -> PaxrayData:
    """Read one split (``train``, ``val`` or ``test``) of the index: images, labels (``channels`` only), names.

    ``views`` keeps only those views (e.g. ``("frontal",)``); ``limit`` the first images only.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    base = dataset_root(root, datafile)
    index = read_index(base, datafile)
    names = label_names(base, datafile)
    items = index.get(split) or []
    if not items:
        raise PaxrayLayoutError(f"{base / datafile}: split {split!r} is empty or missing")
    chosen = []
    for item in items:
        stem = Path(item["image"]).stem
        case, view = split_of(stem)
        if views is None or view in views:
            chosen.append((item, stem, case, view))
    chosen = chosen[:limit]
    if not chosen:
        raise PaxrayLayoutError(f"{base / datafile}: no image of views {views} in split {split!r}")
    ims, labs = [], []
    for item, stem, _, _ in chosen:
        img_path, lab_path = base / item["image"], base / item["target"]
        if not img_path.is_file():
            raise FileNotFoundError(f"PAXRay image listed in {datafile} not found: {img_path}")
        img = read_image(img_path)
        labs.append(read_labels(lab_path, len(names), img.shape, size, channels))
        ims.append(read_image(img_path, size) if size is not None else img)
    shapes = {a.shape for a in ims}
    if len(shapes) > 1:
        raise PaxrayLayoutError(f"{base}: images of different sizes {sorted(shapes)}; pass size=")
    kept = [names[c] for c in channels] if channels is not None else names
    return PaxrayData(np.stack(ims), np.stack(labs), kept, [c[1] for c in chosen],
                      np.array([c[2] for c in chosen]), np.array([c[3] for c in chosen]),
                      [base / c[0]["image"] for c in chosen])


def write_case(root: str | os.PathLike[str], stem: str, image: np.ndarray, labels: np.ndarray) -> dict[str, str]:
    """Write ``images/<stem>.png`` (8-bit grey, Pillow) and ``labels/<stem>.npy`` (bool (C, H, W), numpy);
    returns the index entry."""
    from PIL import Image

    root = Path(root)
    image = np.asarray(image)
    labels = np.asarray(labels, bool)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"image must be a (H, W) uint8 array, got {image.dtype} {image.shape}")
    if labels.ndim != 3 or labels.shape[1:] != image.shape:
        raise ValueError(f"labels must be (C, {image.shape[0]}, {image.shape[1]}), got {labels.shape}")
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(root / "images" / f"{stem}.png")
    np.save(root / "labels" / f"{stem}.npy", labels)
    return {"image": f"images/{stem}.png", "target": f"labels/{stem}.npy"}


def write_index(root: str | os.PathLike[str], class_names: Sequence[str],
                splits: dict[str, list[dict[str, str]]]) -> Path:
    """Write ``paxray.json`` with ``label_dict`` and the split lists."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    index = {"label_dict": {str(i): n for i, n in enumerate(class_names)}, **{s: splits.get(s, []) for s in SPLITS}}
    path = root / INDEX
    path.write_text(json.dumps(index, indent=1))
    return path


def write_simulated(root: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                    splits: dict[str, Sequence[int]], *, view: str = "frontal", prefix: str = "RibFrac",
                    lateral: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Write simulated projections in the PAXRay layout: case ``i`` (1-based) as ``<prefix><i><view>``.

    ``images`` (N, H, W) uint8, ``labels`` (N, C, H, W) bool, ``splits`` the case indices of each split;
    ``lateral`` optional (images, labels) of lateral views of the same cases. Returns the dataset root.
    """
    entries: dict[str, list[dict[str, str]]] = {s: [] for s in SPLITS}
    for split, idx in splits.items():
        for i in idx:
            entries[split].append(write_case(root, f"{prefix}{i + 1}{view}", images[i], labels[i]))
            if lateral is not None:
                entries[split].append(write_case(root, f"{prefix}{i + 1}lateral", lateral[0][i], lateral[1][i]))
    write_index(root, class_names, entries)
    return Path(root)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 6, size: int = 64) -> Path:
    """A miniature PAXRay folder: ``n_patients`` simulated torso phantoms (:mod:`medrepro.sim.torso`), frontal and
    lateral views, split train/val/test by patient, with the phantom's structures as ``label_dict``."""
    from ...sim import drr, torso

    root = Path(root)
    spec = torso.TorsoSpec(size=size, depth=size // 2)
    batch = torso.simulate_torso(n_patients, spec, seed=seed, keep_volumes=True)
    front = torso.to_uint8(batch.images)
    lat_img = drr.line_integral(batch.mu, batch.spacing_mm[2], axis=-1)               # (n, Z, Y): lateral rays
    lat_img = np.repeat(lat_img, 2, axis=-1)[..., :size]
    lat_lab = np.repeat(drr.project_labels(batch.labels3d, axis=-1), 2, axis=-1)[..., :size]
    n_test = max(1, n_patients // 3)
    n_val = 1 if n_patients - n_test > 1 else 0
    order = np.arange(n_patients)
    splits = {"train": order[: n_patients - n_test - n_val], "val": order[n_patients - n_test - n_val: n_patients - n_test],
              "test": order[n_patients - n_test:]}
    write_simulated(root, front, batch.labels, torso.CLASSES, splits, lateral=(torso.to_uint8(lat_img), lat_lab))
    mark_fixture(root, "paxray")
    return root
