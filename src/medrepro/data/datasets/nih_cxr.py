"""NIH ChestX-ray8 / ChestX-ray14: frontal chest radiographs (PNG) with text-mined labels and a box subset.

The real layout, as the NIH Clinical Center distributes it (nihcc.app.box.com/v/ChestXray-NIHCC; the twelve
``images_001.tar.gz`` ... ``images_012.tar.gz`` archives each extract to ``images/``)::

    Data_Entry_2017.csv      Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,
                             View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],
                             (one row per image; labels joined by "|"; "No Finding" for none)
    BBox_List_2017.csv       Image Index,Finding Label,Bbox [x,y,w,h],,,   (984 boxes on ~880 images, in the
                             pixels of the 1024 × 1024 PNGs; the bracketed header splits into four columns)
    train_val_list.txt       image names of the official train/validation split (patient-wise)
    test_list.txt            image names of the official test split
    images/00000001_000.png  1024 × 1024 8-bit grayscale PNG (a few are RGBA), <patient>_<follow-up>.png

Some copies keep each archive's folder (``images_001/images/...``); both are read. The CSV has been
re-released as ``Data_Entry_2017_v2020.csv`` (some column names changed); columns are read by position
after checking the first four names, so either release is read. The ChestX-ray8 paper used eight labels
(:data:`LABELS8`); ChestX-ray14 adds six (:data:`LABELS14`). The box file spells "Infiltrate" where the
label file spells "Infiltration"; :func:`read_boxes` maps it.

:func:`write_layout` writes images and their truth in this layout (the smoke run writes simulated films
this way and reads them back through :func:`load`, as full mode reads the real files), and
:func:`make_fixture` writes a miniature copy for the tests.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

#: The eight labels of ChestX-ray8 (the paper's Table 1 order is alphabetical, as here).
LABELS8: tuple[str, ...] = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
                            "Pneumonia", "Pneumothorax")
#: The fourteen labels of ChestX-ray14.
LABELS14: tuple[str, ...] = LABELS8 + ("Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening",
                                       "Hernia")
ENTRY_FILES = ("Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv")
ENTRY_HEADER = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
                "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],")
BOX_FILE = "BBox_List_2017.csv"
BOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"
_BOX_ALIASES = {"Infiltrate": "Infiltration"}
#: Simulator finding -> ChestX-ray label, for the smoke run and the fixture.
SIM_TO_NIH = {"cardiomegaly": "Cardiomegaly", "effusion": "Effusion", "nodule": "Nodule",
              "consolidation": "Consolidation", "pneumothorax": "Pneumothorax", "atelectasis": "Atelectasis"}


@dataclass
class NihEntry:
    """The rows of the label file: image names, patient ids, follow-up numbers, views and labels."""

    images: list[str]
    patient: np.ndarray
    follow_up: np.ndarray
    view: list[str]
    labels: np.ndarray                # (n, len(label_names)) bool
    label_names: tuple[str, ...]


@dataclass
class NihData:
    """Images ``(n, size, size)`` float32 in [0, 1] (display convention), labels, patients and boxes.

    ``boxes`` ``(n, K, 4)`` pixels ``(x0, y0, x1, y1)`` at ``size``, NaN where the box list has none.
    """

    images: np.ndarray
    labels: np.ndarray
    patient: np.ndarray
    names: list[str]
    label_names: tuple[str, ...]
    boxes: np.ndarray
    split: np.ndarray = field(default_factory=lambda: np.zeros(0, "U5"))   # "train" or "test" per image

    def __len__(self) -> int:
        return len(self.images)


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder holding the label file: ``path`` or a child of it.

    Raises:
        FileNotFoundError: no ``Data_Entry_2017.csv`` (or the v2020 file) there (the folder is named).
    """
    path = Path(path)
    for cand in (path, *sorted(p for p in path.iterdir() if p.is_dir())) if path.is_dir() else ():
        if any((cand / f).is_file() for f in ENTRY_FILES):
            return cand
    raise FileNotFoundError(f"no {' or '.join(ENTRY_FILES)} in {path} (or a folder inside it): "
                            "download the label file from the NIH box folder (see data_manifests/nih_cxr.yaml)")


def read_entry(root: str | os.PathLike[str], labels: Sequence[str] = LABELS8) -> NihEntry:
    """Read the label file (by column position, after checking the first four column names).

    Raises:
        FormatError: an unexpected header, a row with too few fields or a non-numeric patient id (file and line).
    """
    root = find_root(root)
    path = next(root / f for f in ENTRY_FILES if (root / f).is_file())
    images, patient, follow, view, lab = [], [], [], [], []
    with open(path, newline="") as fh:
        rows = csv.reader(fh)
        head = next(rows, [])
        if [h.strip() for h in head[:4]] != ["Image Index", "Finding Labels", "Follow-up #", "Patient ID"]:
            raise FormatError(f"{path}: unexpected header {head[:4]}; expected Image Index, Finding Labels, "
                              "Follow-up #, Patient ID, ...")
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) < 7:
                raise FormatError(f"{path}, line {line}: {len(row)} fields, expected at least 7")
            try:
                patient.append(int(row[3]))
                follow.append(int(row[2]))
            except ValueError as exc:
                raise FormatError(f"{path}, line {line}: patient id or follow-up is not a number ({exc})") from exc
            found = set(row[1].split("|"))
            unknown = found - set(LABELS14) - {"No Finding"}
            if unknown:
                raise FormatError(f"{path}, line {line}: unknown labels {sorted(unknown)}")
            images.append(row[0].strip())
            view.append(row[6].strip())
            lab.append([name in found for name in labels])
    return NihEntry(images, np.asarray(patient), np.asarray(follow), view,
                    np.asarray(lab, bool).reshape(len(images), len(labels)), tuple(labels))


def read_boxes(root: str | os.PathLike[str]) -> dict[tuple[str, str], np.ndarray]:
    """``{(image, label): (x0, y0, x1, y1)}`` from the box list (pixels of the 1024² PNGs); empty if absent."""
    root = find_root(root)
    path = root / BOX_FILE
    if not path.is_file():
        return {}
    out = {}
    with open(path, newline="") as fh:
        rows = csv.reader(fh)
        next(rows, None)
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            try:
                x, y, w, h = (float(v) for v in row[2:6])
            except ValueError as exc:
                raise FormatError(f"{path}, line {line}: box is not four numbers ({row[2:6]})") from exc
            label = _BOX_ALIASES.get(row[1].strip(), row[1].strip())
            out[(row[0].strip(), label)] = np.array([x, y, x + w, y + h])
    return out


def read_split(root: str | os.PathLike[str]) -> dict[str, str]:
    """``{image: "train" | "test"}`` from ``train_val_list.txt`` and ``test_list.txt``."""
    root = find_root(root)
    out = {}
    for fname, name in (("train_val_list.txt", "train"), ("test_list.txt", "test")):
        p = root / fname
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing (the official split lists are part of the NIH release)")
        out.update({ln.strip(): name for ln in p.read_text().splitlines() if ln.strip()})
    return out


def image_path(root: Path, name: str) -> Path:
    """Where an image lives: ``images/<name>`` or ``images_0NN/images/<name>``."""
    p = root / "images" / name
    if p.is_file():
        return p
    for sub in sorted(root.glob("images_*/images")):
        if (sub / name).is_file():
            return sub / name
    raise FileNotFoundError(f"{name}: not in {root / 'images'} nor in {root}/images_*/images "
                            "(extract the twelve image archives there)")


def load(root: str | os.PathLike[str], *, size: int = 64, labels: Sequence[str] = LABELS8,
         max_images: int | None = None, seed: int = 0, with_boxes_first: bool = True) -> NihData:
    """Read images (resized to ``size``), labels, patients, boxes and the official split.

    ``max_images`` reads a random subset of whole patients (seeded), always keeping the images that have
    boxes when ``with_boxes_first``: the full set is 112,120 images and ~42 GB of PNGs.
    """
    from ..radiograph import _resize, read_radiograph

    root = find_root(root)
    entry = read_entry(root, labels)
    boxes = read_boxes(root)
    split = read_split(root)
    idx = np.arange(len(entry.images))
    if max_images is not None and max_images < len(idx):
        rng = np.random.default_rng(seed)
        boxed = {img for img, _ in boxes}
        keep = [i for i in idx if entry.images[i] in boxed] if with_boxes_first else []
        pats = rng.permutation(np.unique(entry.patient))
        chosen = set(keep)
        for pt in pats:
            if len(chosen) >= max_images:
                break
            chosen.update(np.flatnonzero(entry.patient == pt).tolist())
        idx = np.array(sorted(chosen))
    images = np.zeros((len(idx), size, size), np.float32)
    box = np.full((len(idx), len(labels), 4), np.nan)
    for j, i in enumerate(idx):
        name = entry.images[i]
        r = read_radiograph(image_path(root, name), normalise="range")      # read once, at its own size
        h, w = r.image.shape
        images[j] = _resize(r.image, size)
        for k, lab in enumerate(labels):
            b = boxes.get((name, lab))
            if b is not None:
                box[j, k] = b * np.array([size / w, size / h, size / w, size / h])
    names = [entry.images[i] for i in idx]
    missing = [n for n in names if n not in split]
    if missing:
        raise FormatError(f"{root}: {len(missing)} images are in neither split list (e.g. {missing[0]})")
    return NihData(images, entry.labels[idx], entry.patient[idx], names, tuple(labels), box,
                   np.array([split[n] for n in names]))


def write_layout(root: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, patient: np.ndarray,
                 follow_up: np.ndarray, label_names: Sequence[str], *, boxes: np.ndarray | None = None,
                 test: np.ndarray | None = None, box_prob: float = 1.0, seed: int = 0) -> Path:
    """Write images (``(n, H, W)`` in [0, 1]) and their truth in the NIH layout under ``root``.

    Labels use the NIH names (``label_names``); ``boxes`` ``(n, K, 4)`` pixels, written for a fraction
    ``box_prob`` of the present findings of the test images (as NIH drew boxes on a subset); ``test`` marks
    the images of ``test_list.txt``. The label file is written with the ``csv`` module in the real header.
    """
    from ..radiograph import write_radiograph_png

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    n, size = len(images), images.shape[-1]
    test = np.zeros(n, bool) if test is None else np.asarray(test, bool)
    rng = np.random.default_rng(seed)
    names = [f"{int(p):08d}_{int(f):03d}.png" for p, f in zip(patient, follow_up)]
    for name, img in zip(names, images):
        write_radiograph_png(root / "images" / name, img)
    with open(root / "Data_Entry_2017.csv", "w", newline="") as fh:
        fh.write(ENTRY_HEADER + "\n")
        w = csv.writer(fh, lineterminator="\n")
        for i, name in enumerate(names):
            found = [lab for lab, on in zip(label_names, labels[i]) if on]
            w.writerow([name, "|".join(found) or "No Finding", int(follow_up[i]), int(patient[i]),
                        int(rng.integers(20, 90)), "MF"[int(rng.integers(2))], "PA", size, size, 0.143, 0.143, ""])
    with open(root / BOX_FILE, "w", newline="") as fh:
        fh.write(BOX_HEADER + "\n")
        w = csv.writer(fh, lineterminator="\n")
        if boxes is not None:
            for i in np.flatnonzero(test):
                for k, lab in enumerate(label_names):
                    b = boxes[i, k]
                    if labels[i, k] and np.isfinite(b).all() and rng.random() < box_prob:
                        box_label = "Infiltrate" if lab == "Infiltration" else lab
                        w.writerow([names[i], box_label, b[0], b[1], b[2] - b[0], b[3] - b[1], "", "", ""])
    (root / "train_val_list.txt").write_text("".join(f"{nm}\n" for nm, t in zip(names, test) if not t))
    (root / "test_list.txt").write_text("".join(f"{nm}\n" for nm, t in zip(names, test) if t))
    return root


def simulated_layout(root: str | os.PathLike[str], n_patients: int, *, size: int = 64, spec=None, seed: int = 0,
                     test_fraction: float = 0.3, reports: bool = False):
    """Simulate two studies (prior and current) per patient and write them in the NIH layout.

    Returns ``(root, truth)`` where ``truth`` holds the films as simulated (before 8-bit storage) and what the
    real release does not: the simulator's labels over :data:`medrepro.sim.cxr.FINDINGS`, its masks and boxes, the change codes and, with
    ``reports``, one generated report per image (in the order of the label file's rows).
    """
    from ...sim import cxr
    from ...sim.cxr_reports import generate_reports

    spec = spec or cxr.CxrSpec(size=size)
    cur_p = cxr.sample_params(n_patients, spec, seed=seed)
    prior_p, change = cxr.prior_params(cur_p, seed=seed + 1, spec=spec)
    prior, cur = cxr.render(prior_p, size, seed=seed + 2, texture=spec.texture), \
        cxr.render(cur_p, size, seed=seed + 3, texture=spec.texture)
    rng = np.random.default_rng(seed + 4)
    is_test = rng.permutation(n_patients) < round(test_fraction * n_patients)
    patient = np.concatenate([np.arange(1, n_patients + 1)] * 2)
    follow = np.repeat([0, 1], n_patients)
    images = np.concatenate([prior.images, cur.images])
    labels = np.concatenate([prior.labels, cur.labels])
    boxes = np.concatenate([prior.boxes, cur.boxes])
    names = [SIM_TO_NIH[f] for f in cxr.FINDINGS]
    write_layout(root, images, labels, patient, follow, names, boxes=boxes, test=np.concatenate([is_test] * 2),
                 seed=seed + 5)
    truth = {"images": images, "labels": labels, "boxes": boxes, "masks": np.concatenate([prior.masks, cur.masks]),
             "patient": patient, "names": [f"{int(p):08d}_{int(f):03d}.png" for p, f in zip(patient, follow)],
             "label_names": tuple(names)}
    if reports:
        truth["reports"] = (generate_reports(prior_p.labels, prior_p.severity, prior_p.side, prior_p.where,
                                             seed=seed + 6)
                            + generate_reports(cur_p.labels, cur_p.severity, cur_p.side, cur_p.where,
                                               changes=change, seed=seed + 7))
    return Path(root), truth


def make_fixture(root: str | os.PathLike[str], seed: int = 0) -> Path:
    """A miniature NIH release (12 patients, two films each, 64 × 64 PNGs) with simulated content."""
    from ...sim import cxr

    root = Path(root)
    # a high prevalence, so that the six test patients hold positives and negatives of most labels and boxes
    spec = cxr.with_prevalence(cxr.CxrSpec(size=64), **{f: 0.4 for f in cxr.FINDINGS})
    simulated_layout(root, 12, size=64, spec=spec, seed=seed, test_fraction=0.5)
    mark_fixture(root, "nih_cxr")
    return root
