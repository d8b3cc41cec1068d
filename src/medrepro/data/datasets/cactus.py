"""CACTUS: graded cardiac ultrasound images of a CAE Blue Phantom (Elmekki et al., 2025).

What the dataset's page (users.encs.concordia.ca/~kadem/cactus) states: 37,736 images, each classified by view
and graded 0-10 for quality (completeness and clarity); views A4C (7,422 images), SC (6,345), PL (6,102), PSAV
(5,832), PSMV (6,014) and a sixth class of random probe positions, Random (6,021). The archive
(``CactusDataset_2025.110003.zip``, 13.18 GB on academictorrents.com) could not be opened here, so its exact
folder and file names are **not confirmed**. This loader reads the layout it assumes, and says what it found::

    <root>/
      A4C/  PL/  PSAV/  PSMV/  SC/  Random/     one folder per class (names matched case-insensitively)
        <image>.png | .jpg | .jpeg | .bmp        grayscale or RGB (RGB is converted to grey)
      grades.csv (or any *.csv under <root>)    a column naming the image file and a column ``Grade``

Images are matched to grades by file name (and by class folder when the CSV has a column naming it). An image
without a grade, a CSV without the two columns, a grade outside 0-10 or an unreadable image raises an error
naming the file. :func:`make_fixture` writes a miniature of this layout with PIL and the ``csv`` module from
simulated frames (:mod:`medrepro.sim.echo_views`), for the tests.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import ImageFormatError
from . import mark_fixture

#: The six classes of the dataset's page, in the order used for labels.
CLASSES: tuple[str, ...] = ("A4C", "PL", "PSAV", "SC", "PSMV", "Random")
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class CactusLayoutError(ValueError):
    """The folder does not hold the expected CACTUS layout (the message names the file or folder)."""


@dataclass
class CactusData:
    """Images ``(N, size, size)`` float32 in [0, 1], class labels into ``classes``, grades 0-10, file paths."""

    images: np.ndarray
    labels: np.ndarray
    grades: np.ndarray
    classes: tuple[str, ...]
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


def class_folders(root: str | os.PathLike[str]) -> dict[str, Path]:
    """The class folders under ``root`` (or ``root/CACTUS``), keyed by the canonical class name.

    Raises:
        FileNotFoundError: no class folder at all.
    """
    root = Path(root)
    for cand in (root, root / "CACTUS"):
        if not cand.is_dir():
            continue
        found = {}
        for p in sorted(cand.iterdir()):
            for c in CLASSES:
                if p.is_dir() and p.name.lower() == c.lower():
                    found[c] = p
        if found:
            return found
    raise FileNotFoundError(f"no CACTUS class folder ({', '.join(CLASSES)}) in {root} or {root / 'CACTUS'}")


def read_grades(root: str | os.PathLike[str]) -> dict[tuple[str, str], float]:
    """Grades from every ``*.csv`` under ``root``, keyed by (class folder in lower case or ``""``, file name).

    Raises:
        CactusLayoutError: no CSV, a CSV without an image-name and a grade column, or a grade that is not a number
            in [0, 10] (the message names the CSV and the row).
    """
    root = Path(root)
    files = sorted(root.rglob("*.csv"))
    if not files:
        raise CactusLayoutError(f"{root}: no grades CSV (*.csv) found")
    grades: dict[tuple[str, str], float] = {}
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            name_col = next((cols[c] for c in cols if c in ("image", "image_name", "filename", "file", "name",
                                                             "image name", "file name", "path")), None)
            grade_col = next((cols[c] for c in cols if "grade" in c), None)
            view_col = next((cols[c] for c in cols if c in ("view", "class", "folder", "label")), None)
            if name_col is None or grade_col is None:
                raise CactusLayoutError(f"{path}: needs an image-name column and a grade column, has "
                                        f"{reader.fieldnames}")
            for i, row in enumerate(reader, start=2):
                try:
                    g = float(row[grade_col])
                except (TypeError, ValueError):
                    raise CactusLayoutError(f"{path}, line {i}: grade {row[grade_col]!r} is not a number") from None
                if not 0 <= g <= 10:
                    raise CactusLayoutError(f"{path}, line {i}: grade {g} outside 0-10")
                name = Path(str(row[name_col]).strip().replace("\\", "/"))
                view = (row[view_col].strip().lower() if view_col else
                        (name.parent.name.lower() if str(name.parent) not in ("", ".") else ""))
                grades[(view, name.name)] = g
    return grades


def read_image(path: str | os.PathLike[str], size: int | None = None) -> np.ndarray:
    """One image as float32 grey levels in [0, 1] ``(H, W)``, resized to ``size × size`` when given.

    Raises:
        FileNotFoundError: no such file. ImageFormatError: the file cannot be decoded (the message names it).
    """
    from PIL import Image

    from ..io import open_image

    im = open_image(path).convert("L")                      # FileNotFoundError / ImageFormatError naming the file
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BOX if min(im.size) > size else Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr


def load(root: str | os.PathLike[str], *, classes: Sequence[str] | None = None, size: int = 48,
         max_per_class: int | None = None, seed: int = 0) -> CactusData:
    """Read CACTUS images, classes and grades from the layout above.

    Args:
        root: the folder holding the class folders (or its parent with a ``CACTUS`` folder).
        classes: classes to read (default: those present, in :data:`CLASSES` order); labels index this tuple.
        size: every image is resized to ``size × size`` (the real images are larger and not square).
        max_per_class: read at most this many images per class (a random subset drawn with ``seed``).

    Raises:
        FileNotFoundError, CactusLayoutError, ImageFormatError: a missing class folder, an image without a grade,
        a bad CSV or an unreadable image — each naming the file.
    """
    folders = class_folders(root)
    names = tuple(c for c in CLASSES if c in folders) if classes is None else tuple(classes)
    missing = [c for c in names if c not in folders]
    if missing:
        raise FileNotFoundError(f"{root}: missing class folder(s) {missing}; present: {sorted(folders)}")
    grades = read_grades(Path(root))
    rng = np.random.default_rng(seed)
    paths, labels, grade = [], [], []
    for k, c in enumerate(names):
        files = sorted(p for p in folders[c].rglob("*") if p.suffix.lower() in SUFFIXES)
        if not files:
            raise CactusLayoutError(f"{folders[c]}: class folder holds no {'/'.join(SUFFIXES)} image")
        if max_per_class is not None and len(files) > max_per_class:
            files = [files[i] for i in np.sort(rng.permutation(len(files))[:max_per_class])]
        for p in files:
            g = grades.get((c.lower(), p.name), grades.get((folders[c].name.lower(), p.name), grades.get(("", p.name))))
            if g is None:
                raise CactusLayoutError(f"{p}: no grade for this image in the grades CSV(s) under {root}")
            paths.append(p); labels.append(k); grade.append(g)
    images = np.stack([read_image(p, size) for p in paths])
    return CactusData(images, np.asarray(labels, np.int64), np.asarray(grade, np.float64), names, paths)


def write(root: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray, grades: np.ndarray,
          classes: Sequence[str], names: Sequence[str] | None = None) -> Path:
    """Write uint8 images as ``root/<class>/<name>.png`` (PIL) and their grades to ``root/grades.csv``.

    ``names`` (file stems) default to ``000000``, ``000001``, ... Appends to an existing ``grades.csv``.
    Returns ``root``.
    """
    from PIL import Image

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    root = Path(root)
    rows = []
    for i, (img, lab, g) in enumerate(zip(images, np.asarray(labels), np.asarray(grades))):
        folder = root / classes[int(lab)]
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{names[i] if names is not None else f'{i:06d}'}.png"
        Image.fromarray(img).save(folder / name, format="PNG")
        rows.append((name, classes[int(lab)], f"{float(g):.4f}"))
    csv_path = root / "grades.csv"
    new = not csv_path.exists()
    with open(csv_path, "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["Image", "View", "Grade"])
        w.writerows(rows)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_scans: int = 6, frames_per_view: int = 2) -> Path:
    """A miniature of the assumed layout: every class folder with PNG frames from the view simulator, a grades CSV.

    Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    from ...sim.echo_views import VIEWS, ViewSpec, simulate_views

    root = Path(root)
    f = simulate_views(n_scans, frames_per_view, VIEWS, ViewSpec(size=64), n_random=frames_per_view, seed=seed)
    classes = tuple(f.views)                                      # the five views, then "Random"
    write(root, f.to_uint8(), f.view, np.round(f.grade, 2), classes)
    mark_fixture(root, "cactus")
    return root
