"""IDRCell100k (ChAda-ViT, Bourriez et al. CVPR 2024): multiplexed microscopy images, one file per channel.

The layout is the one the official code's ``IDRCell100K`` dataset class reads (``nicoboou/chadavit``,
``src/data/custom_datasets.py``):

```
<root>/train.csv        rows: image_id,"['<rel path of channel 1>', '<rel path of channel 2>', ...]" (no header)
<root>/test.csv         the same for the held-out images
<root>/images/<rel path>   one single-channel image file per channel, opened with PIL
```

An image is the stack of its channel files in the order the row lists them; images of different experiments have
different channel counts (1 to 10 in the real set). The Hugging Face repository ``nicoboou/IDRCell100k`` stores its
files under ``imgs/``; that its rows follow the same convention is **not confirmed**, so the loader also looks for
the channel files under ``imgs/``.

The real set has no labels (the official class returns a dummy label −1). A simulated copy adds
``<root>/metadata.csv`` (header ``image_id,experiment,field,stains,phenotype``), the simulation's truth: the stain
of each channel, the phenotype and the imaging field. Without it, :func:`load_split` gives phenotype −1, stains
``None`` and takes the experiment and field from the first two folders of the first channel's path.
``make_fixture`` writes a miniature of the layout from :mod:`medrepro.sim.cell_assays` as 8-bit PNG files through
PIL.
"""
from __future__ import annotations

import ast
import csv
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

SPLITS = ("train", "test")
IMAGE_DIRS = ("images", "imgs")
META = "metadata.csv"
META_COLUMNS = ("image_id", "experiment", "field", "stains", "phenotype")


class IDRCellLayoutError(FileNotFoundError):
    """The folder does not hold IDRCell100k's train.csv / test.csv and images/ layout."""


@dataclass
class Split:
    """One split: ``images[i]`` is (C_i, H, W) float32 in [0, 1]; ``stains[i]`` names its channels (or None)."""

    image_ids: list[str]
    images: list[np.ndarray]
    stains: list[tuple[str, ...] | None]
    phenotype: np.ndarray
    experiment: list[str]
    field: list[str]
    paths: list[list[Path]] = dc_field(default_factory=list)


def _image_dir(root: Path) -> Path:
    for name in IMAGE_DIRS:
        if (root / name).is_dir():
            return root / name
    raise IDRCellLayoutError(f"{root}: no images/ (or imgs/) folder; expected train.csv, test.csv and "
                             "images/<relative path of each channel file>")


def index(root: str | Path, split: str = "train") -> list[tuple[str, list[Path]]]:
    """(image_id, channel file paths) for every row of ``<split>.csv``, paths resolved under ``images/``."""
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = root / f"{split}.csv"
    if not path.is_file():
        raise IDRCellLayoutError(f"{root}: no {split}.csv; expected rows image_id,\"['<channel file>', ...]\"")
    base = _image_dir(root)
    rows = []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.reader(f), 1):
            if len(row) < 2:
                raise IDRCellLayoutError(f"{path}, line {line}: expected image_id and a list of channel files, "
                                         f"got {row}")
            try:
                rel = ast.literal_eval(row[1])                  # the official code eval()s the same string
            except (ValueError, SyntaxError):
                rel = [row[1]]                                  # a single path, not a list
            if isinstance(rel, str):
                rel = [rel]
            if not rel:
                raise IDRCellLayoutError(f"{path}, line {line}: image {row[0]} lists no channel file")
            rows.append((row[0], [base / r for r in rel]))
    return rows


def read_image(paths: Sequence[str | Path]) -> np.ndarray:
    """Stack the channel files (each opened with PIL, as the official code does) into (C, H, W) float32 in [0, 1].

    Integer files are divided by their type's maximum (255 for 8-bit, 65535 for 16-bit); float files are kept.
    """
    from PIL import Image

    chans = []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise IDRCellLayoutError(f"channel file {p} is missing")
        with Image.open(p) as im:
            a = np.array(im)
        if a.ndim != 2:
            raise ValueError(f"{p}: expected a single-channel image, got shape {a.shape}")
        chans.append(a.astype(np.float32) / np.iinfo(a.dtype).max if np.issubdtype(a.dtype, np.integer)
                     else a.astype(np.float32))
    shapes = {c.shape for c in chans}
    if len(shapes) != 1:
        raise ValueError(f"channels of one image differ in size: {[str(p) for p in paths]} have shapes {shapes}")
    return np.stack(chans)


def _metadata(root: Path) -> dict[str, dict[str, str]]:
    path = root / META
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(META_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise IDRCellLayoutError(f"{path}: missing columns {sorted(missing)}; expected {list(META_COLUMNS)}")
        return {r["image_id"]: r for r in reader}


def load_split(root: str | Path, split: str = "train", max_images: int | None = None) -> Split:
    """Read every image of a split (at most ``max_images``, in row order) with its metadata where present."""
    root = Path(root)
    rows = index(root, split)[:max_images]
    meta = _metadata(root)
    out = Split([], [], [], np.zeros(0, np.int64), [], [], [])
    pheno = []
    base = _image_dir(root)
    for image_id, paths in rows:
        img = read_image(paths)
        m = meta.get(image_id)
        if m is not None:
            stains = tuple(m["stains"].split(";"))
            if len(stains) != len(img):
                raise ValueError(f"{root / META}: image {image_id} lists {len(stains)} stains, its row in "
                                 f"{split}.csv {len(img)} channel files")
            exp, fld, ph = m["experiment"], m["field"], int(m["phenotype"])
        else:
            parts = paths[0].relative_to(base).parts
            stains, ph = None, -1
            exp, fld = parts[0], "/".join(parts[:2]) if len(parts) > 2 else parts[0]
        out.image_ids.append(image_id)
        out.images.append(img)
        out.stains.append(stains)
        out.experiment.append(exp)
        out.field.append(fld)
        out.paths.append(paths)
        pheno.append(ph)
    out.phenotype = np.asarray(pheno, np.int64)
    return out


def write_simulated(root: str | Path, splits: dict[str, Sequence]) -> Path:
    """Write simulated assays (:class:`medrepro.sim.cell_assays.AssayBatch`, several per split) in the layout.

    Channel files are 8-bit PNG written by PIL: ``images/<assay>/field<k>/<image_id>_<stain>.png``; the rows of
    ``<split>.csv`` list them in the assay's channel order; ``metadata.csv`` holds the simulation's truth.
    """
    from PIL import Image

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    meta_rows = []
    for split, batches in splits.items():
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        rows = []
        names = [b.assay for b in batches]
        if len(set(names)) != len(names):
            raise ValueError(f"write_simulated: assay names must be unique within split {split!r}, got {names}")
        for b in batches:
            u8 = np.round(np.clip(b.images, 0, 1) * 255).astype(np.uint8)
            for i in range(len(u8)):
                image_id = f"{split}-{b.assay}-{i:05d}"
                fld = f"{b.assay}/field{int(b.field[i]):03d}"
                (root / "images" / fld).mkdir(parents=True, exist_ok=True)
                rel = [f"{fld}/{image_id}_{s}.png" for s in b.stains]
                for c, r in enumerate(rel):
                    Image.fromarray(u8[i, c], mode="L").save(root / "images" / r)
                rows.append([image_id, str(rel)])
                meta_rows.append([image_id, b.assay, fld, ";".join(b.stains), int(b.phenotype[i])])
        with open(root / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows(rows)
    with open(root / META, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(META_COLUMNS)
        w.writerows(meta_rows)
    return root


FIXTURE_ASSAYS = {"A": ("DNA", "actin", "membrane", "mito", "ER"), "B": ("ER", "DNA", "mito"), "C": ("DNA",)}


def make_fixture(root: str | Path, seed: int = 0, n_per_assay: int = 32, size: int = 24) -> Path:
    """A miniature IDRCell100k: three simulated assays (5, 3 and 1 channels) in train.csv and test.csv."""
    from ...sim.cell_assays import simulate_assay

    root = Path(root)
    splits = {}
    for k, split in enumerate(SPLITS):
        splits[split] = [simulate_assay(n_per_assay, st, phenotypes=(0, 1) if a == "C" else (0, 1, 2, 3), size=size,
                                        cells_per_field=8, seed=seed * 100 + 10 * k + j, assay=a)
                         for j, (a, st) in enumerate(FIXTURE_ASSAYS.items())]
    write_simulated(root, splits)
    mark_fixture(root, "idrcell100k")
    return root
