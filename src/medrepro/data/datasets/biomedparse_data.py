"""BiomedParseData (Zhao et al., Nature Methods 2024): images with one binary mask per named object type.

BiomedParse was trained on image–mask–text triples assembled from public segmentation sets. Every source set is
stored in one layout, which the official repository describes for fine-tuning data and reads in
``biomedparse_datasets/create-customer-datasets.py`` (github.com/microsoft/BiomedParse)::

    <dataset>/
      train/<IMAGE>_<MODALITY>_<SITE>.png              the image (1024 × 1024 PNG, RGB or grey)
      train_mask/<IMAGE>_<MODALITY>_<SITE>_<TARGET>.png one binary mask per target in the image (pixels != 0)
      test/ ... test_mask/ ...                           the same for the test split
      train.json, test.json                              COCO-style index derived from the folders (optional here)

``<IMAGE>`` is any unique string (it may contain ``_``), ``<MODALITY>`` and ``<SITE>`` contain no ``_``, and
``<TARGET>`` is the object-type name with spaces written as ``+`` (e.g. ``left+heart+ventricle``). The official
script splits a mask's file name at its last ``_`` into the image's file name and the target, and makes the text
prompt ``"<target> in <site> <modality>"``. :func:`load_split` does the same: it returns the images, one mask per
(image, target) pair, the target names, and each image's modality and site. Images are read as grey (Pillow's
``L`` conversion of an RGB file) and resized bilinearly, masks by nearest neighbour, when ``size`` is given.
A mask without its image, a file name that does not follow the convention and a mask whose size differs from its
image's raise :class:`BiomedParseLayoutError` naming the file. :func:`write_scenes` writes simulated scenes in this layout (PNG through Pillow, RGB images as the released data,
masks 0/255); :func:`make_fixture` writes a marked miniature of it for the tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import mark_fixture

SPLITS: tuple[str, ...] = ("train", "test")


class BiomedParseLayoutError(ValueError):
    """A folder or file that does not follow the BiomedParseData layout (the message names it)."""


@dataclass
class BiomedParseSplit:
    """One split: ``images`` (N, H, W) float32 in [0, 1] with their ``stems``, ``modality`` and ``site``;
    ``masks`` (P, H, W) bool, one per (image, target) pair, with ``pair_image`` (P,) the image index and
    ``pair_target`` (P,) the index into ``targets`` (the sorted target names of the split)."""

    images: np.ndarray
    stems: list[str]
    modality: list[str]
    site: list[str]
    masks: np.ndarray
    pair_image: np.ndarray
    pair_target: np.ndarray
    targets: list[str]
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    def prompt(self, k: int) -> str:
        """The official text prompt of pair ``k``: ``"<target> in <site> <modality>"``."""
        i = int(self.pair_image[k])
        return f"{self.targets[int(self.pair_target[k])]} in {self.site[i]} {self.modality[i]}"


def dataset_root(root: str | os.PathLike[str]) -> Path:
    """``root`` or its one sub-folder that holds ``train_mask/`` (a user may name the unpacked parent folder)."""
    root = Path(root).expanduser()
    if (root / "train_mask").is_dir():
        return root
    subs = sorted(p for p in root.iterdir() if (p / "train_mask").is_dir()) if root.is_dir() else []
    if len(subs) == 1:
        return subs[0]
    if len(subs) > 1:
        raise BiomedParseLayoutError(f"{root} holds several BiomedParseData sets ({', '.join(p.name for p in subs)});"
                                     " pass one of them as DATA_DIR")
    raise FileNotFoundError(f"no BiomedParseData folder (with train/ and train_mask/) at {root} or in its "
                            "sub-folders; see data_manifests/biomedparse_data.yaml")


def parse_mask_name(name: str) -> tuple[str, str]:
    """(image file name, target) of a mask file name, as the official script splits it: at the last ``_``;
    ``+`` in the target stands for a space. Raises :class:`BiomedParseLayoutError` when it cannot be split."""
    stem = Path(name).stem
    if "_" not in stem:
        raise BiomedParseLayoutError(f"{name}: a mask name must be <IMAGE>_<MODALITY>_<SITE>_<TARGET>.png")
    image_stem, target = stem.rsplit("_", 1)
    if image_stem.count("_") < 2 or not target:
        raise BiomedParseLayoutError(f"{name}: a mask name must be <IMAGE>_<MODALITY>_<SITE>_<TARGET>.png")
    return image_stem + ".png", target.replace("+", " ")


def _read(path: Path, size: int | None, mask: bool) -> np.ndarray:
    from PIL import Image

    from ..io import open_image

    im = open_image(path)
    if mask:
        arr = np.asarray(im)
        arr = (arr[..., 0] if arr.ndim == 3 else arr) != 0
        if size is not None and arr.shape != (size, size):
            rows = (np.arange(size) * arr.shape[0] / size).astype(int)          # nearest neighbour
            cols = (np.arange(size) * arr.shape[1] / size).astype(int)
            arr = arr[rows][:, cols]
        return arr
    grey = im.convert("L")
    if size is not None and grey.size != (size, size):
        grey = grey.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(grey, np.float32) / 255.0


def load_split(root: str | os.PathLike[str], split: str = "train", *, size: int | None = None,
               limit: int | None = None, targets: list[str] | None = None) -> BiomedParseSplit:
    """Read one split (``train`` or ``test``): every image that has at least one mask, and all its masks.

    ``size`` resizes to ``size`` × ``size``; ``limit`` keeps the first images (sorted by file name);
    ``targets`` keeps only those target names (and fixes the order of :attr:`BiomedParseSplit.targets`).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    base = dataset_root(root)
    img_dir, mask_dir = base / split, base / f"{split}_mask"
    if not mask_dir.is_dir() or not img_dir.is_dir():
        raise FileNotFoundError(f"{base}: no {split}/ and {split}_mask/ folders")
    by_image: dict[str, list[tuple[str, Path]]] = {}
    for p in sorted(mask_dir.glob("*.png")):
        image_name, target = parse_mask_name(p.name)
        if targets is not None and target not in targets:
            continue
        if not (img_dir / image_name).is_file():
            raise BiomedParseLayoutError(f"{p}: its image {img_dir / image_name} does not exist")
        by_image.setdefault(image_name, []).append((target, p))
    names = sorted(by_image)[:limit]
    if not names:
        raise BiomedParseLayoutError(f"{mask_dir}: no mask files" + (f" of targets {targets}" if targets else ""))
    target_names = list(targets) if targets is not None else sorted({t for n in names for t, _ in by_image[n]})
    ims, masks, pi, pt, mods, sites = [], [], [], [], [], []
    for i, name in enumerate(names):
        img = _read(img_dir / name, size, mask=False)
        ims.append(img)
        stem = Path(name).stem
        _, mod, site = stem.rsplit("_", 2)
        mods.append(mod)
        sites.append(site)
        for target, p in by_image[name]:
            m = _read(p, size, mask=True)
            if m.shape != img.shape:
                raise BiomedParseLayoutError(f"{p}: mask is {m.shape[0]}×{m.shape[1]}, its image is "
                                             f"{img.shape[0]}×{img.shape[1]}")
            masks.append(m)
            pi.append(i)
            pt.append(target_names.index(target))
    shapes = {a.shape for a in ims}
    if len(shapes) > 1:
        raise BiomedParseLayoutError(f"{img_dir}: images of different sizes {sorted(shapes)}; pass size=")
    return BiomedParseSplit(np.stack(ims), [Path(n).stem for n in names], mods, sites, np.stack(masks),
                            np.asarray(pi), np.asarray(pt), target_names, [img_dir / n for n in names])


def write_scenes(root: str | os.PathLike[str], split: str, scenes, *, modality: str = "Sim",
                 site: str = "phantom") -> Path:
    """Write simulated scenes (:class:`medrepro.sim.parsing_scenes.Scenes`) as one split of the layout.

    Image ``i`` becomes ``<split>/<split>_<i:05d>_<modality>_<site>.png`` (RGB, the grey value in all three
    channels, as the released images are RGB), and each object of the image one 0/255 grey mask
    ``<split>_mask/<split>_<i:05d>_<modality>_<site>_<target>.png`` (spaces as ``+``). Returns ``root``.
    """
    from PIL import Image

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if "_" in modality or "_" in site:
        raise ValueError(f"modality and site must not contain '_' (got {modality!r}, {site!r})")
    root = Path(root)
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / f"{split}_mask").mkdir(parents=True, exist_ok=True)
    grey = np.round(np.clip(scenes.images, 0, 1) * 255).astype(np.uint8)
    for i in range(len(scenes)):
        stem = f"{split}_{i:05d}_{modality}_{site}"
        Image.fromarray(np.repeat(grey[i][..., None], 3, axis=2), mode="RGB").save(root / split / f"{stem}.png")
        for t, name in enumerate(scenes.types):
            if scenes.present[i, t]:
                Image.fromarray(scenes.masks[i, t].astype(np.uint8) * 255, mode="L").save(
                    root / f"{split}_mask" / f"{stem}_{name.replace(' ', '+')}.png")
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, *, n_train: int = 12, n_test: int = 6,
                 size: int = 32) -> Path:
    """A miniature of the layout from :func:`medrepro.sim.parsing_scenes.simulate_scenes`, marked as a fixture
    (the tests run the notebook's full mode on it). Returns ``root``."""
    from ...sim.parsing_scenes import simulate_scenes

    for split, n, s in (("train", n_train, seed * 2 + 1), ("test", n_test, seed * 2 + 2)):
        write_scenes(root, split, simulate_scenes(n, size=size, seed=s))
    mark_fixture(root, "biomedparse_data")
    return Path(root)
