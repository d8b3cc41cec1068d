"""FIVES: Fundus Image dataset for AI-based Vessel Segmentation (Jin et al., Scientific Data 9:475, 2022).

800 colour fundus photographs (2048 × 2048 px) with one pixel-wise vessel annotation each, 200 per category —
age-related macular degeneration (A), diabetic retinopathy (D), glaucoma (G) and normal (N) — split by the
authors into 600 training and 200 test images. The layout this loader reads is the one of the figshare archive,
as other public FIVES loaders and the SAUNA code read it (the SAUNA code renames ``Ground truth`` to
``GroundTruth``; both are accepted)::

    <root>/                          the FIVES folder (or its parent holding ``FIVES/``)
      train/
        Original/<n>_<c>.png         RGB fundus photograph, <n> a number, <c> the category letter A, D, G or N
        Ground truth/<n>_<c>.png     the vessel mask, same file name: vessel 255, background 0 (grey or RGB)
      test/
        Original/…  Ground truth/…

:func:`load` reads one split, pairs images and masks by file name, resizes both to ``size`` × ``size`` when asked
(images bicubic; masks bicubic then thresholded at 120, as SAUNA's ``convert_gt``) and returns floats in [0, 1]
and boolean masks. An image without a mask, a mask without an image, an unreadable file or a mask whose size
differs from its image's raises an error naming the file. :func:`make_fixture` writes a miniature of the layout
with PIL from :mod:`medrepro.sim.retina`, for the tests.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import ImageFormatError
from . import mark_fixture

SPLITS: tuple[str, ...] = ("train", "test")
IMAGE_DIR = "Original"
MASK_DIRS: tuple[str, ...] = ("Ground truth", "GroundTruth")
#: FIVES' category letters and their meaning.
CATEGORIES: dict[str, str] = {"A": "AMD", "D": "diabetic retinopathy", "G": "glaucoma", "N": "normal"}
_NAME = re.compile(r"^(\d+)_([ADGN])\.png$", re.IGNORECASE)


class FivesLayoutError(ValueError):
    """The folder does not hold the FIVES layout (the message names the file or folder)."""


@dataclass
class FivesData:
    """One split: ``images`` (N, H, W, 3) float32 in [0, 1], ``masks`` (N, H, W) bool, file ``names``,
    category letters, and the image paths."""

    images: np.ndarray
    masks: np.ndarray
    names: list[str]
    category: np.ndarray
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


def split_root(root: str | os.PathLike[str], split: str) -> Path:
    """The folder ``<root>/<split>`` (or ``<root>/FIVES/<split>``) that holds ``Original`` and the masks.

    Raises:
        ValueError: an unknown split. FileNotFoundError: neither folder exists.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    for cand in (root / split, root / "FIVES" / split):
        if (cand / IMAGE_DIR).is_dir():
            return cand
    raise FileNotFoundError(f"no FIVES split folder {split}/{IMAGE_DIR} in {root} or {root / 'FIVES'}")


def _mask_dir(folder: Path) -> Path:
    for name in MASK_DIRS:
        if (folder / name).is_dir():
            return folder / name
    raise FileNotFoundError(f"{folder}: no mask folder ({' or '.join(repr(m) for m in MASK_DIRS)})")


def _number(name: str) -> tuple[int, str]:
    m = _NAME.match(name)
    return (int(m.group(1)), name) if m else (1 << 30, name)


def list_pairs(root: str | os.PathLike[str], split: str) -> list[tuple[Path, Path]]:
    """(image, mask) paths of one split, in the numeric order of the file names.

    Raises:
        FivesLayoutError: an image without its mask or a mask without its image (named), or an empty split.
    """
    folder = split_root(root, split)
    mdir = _mask_dir(folder)
    imgs = {p.name: p for p in (folder / IMAGE_DIR).iterdir() if p.suffix.lower() == ".png"}
    masks = {p.name: p for p in mdir.iterdir() if p.suffix.lower() == ".png"}
    if not imgs:
        raise FivesLayoutError(f"{folder / IMAGE_DIR}: no .png image")
    for name in sorted(set(imgs) - set(masks)):
        raise FivesLayoutError(f"{imgs[name]}: no mask of the same name in {mdir}")
    for name in sorted(set(masks) - set(imgs)):
        raise FivesLayoutError(f"{masks[name]}: no image of the same name in {folder / IMAGE_DIR}")
    return [(imgs[n], masks[n]) for n in sorted(imgs, key=_number)]


def read_pair(image_path: str | os.PathLike[str], mask_path: str | os.PathLike[str],
              size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One image (H, W, 3) float32 in [0, 1] and its mask (H, W) bool, resized to ``size`` when given.

    Raises:
        FileNotFoundError / ImageFormatError: a missing or unreadable file (named). FivesLayoutError: the mask's
        size differs from the image's.
    """
    from PIL import Image

    from ..io import open_image

    im = open_image(image_path).convert("RGB")
    mk = open_image(mask_path).convert("L")            # RGB masks (0/255 in every channel) become grey levels
    if mk.size != im.size:
        raise FivesLayoutError(f"{mask_path}: mask is {mk.size[0]}×{mk.size[1]} px, its image {image_path} is "
                               f"{im.size[0]}×{im.size[1]}")
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BICUBIC)
        mk = mk.resize((size, size), Image.Resampling.BICUBIC)
        mask = np.asarray(mk) > 120                    # SAUNA's convert_gt: bicubic resize, threshold at 120
    else:
        mask = np.asarray(mk) > 127
    return np.asarray(im, dtype=np.float32) / 255.0, mask


def load(root: str | os.PathLike[str], split: str = "train", *, size: int | None = None,
         limit: int | None = None) -> FivesData:
    """Read a FIVES split (see the module docstring); ``limit``: the first ``limit`` images only."""
    pairs = list_pairs(root, split)[:limit]
    ims, mks = zip(*(read_pair(i, m, size) for i, m in pairs))
    shapes = {a.shape for a in ims}
    if len(shapes) > 1:
        raise FivesLayoutError(f"{split_root(root, split)}: images of different sizes {sorted(shapes)}; pass size=")
    names = [i.name for i, _ in pairs]
    cat = np.array([(_NAME.match(n).group(2).upper() if _NAME.match(n) else "?") for n in names])
    return FivesData(np.stack(ims), np.stack(mks), names, cat, [i for i, _ in pairs])


def write(root: str | os.PathLike[str], split: str, images: np.ndarray, masks: np.ndarray,
          categories: Sequence[str], start: int = 1, mask_mode: str = "L") -> list[str]:
    """Write uint8 RGB ``images`` (N, H, W, 3) and boolean ``masks`` (N, H, W) as ``<root>/<split>/Original`` and
    ``Ground truth`` PNGs named ``<start + i>_<category>.png`` (PIL). ``mask_mode`` "L" or "RGB" (0/255).
    Returns the file names."""
    from PIL import Image

    images, masks = np.asarray(images), np.asarray(masks)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    if masks.shape != images.shape[:3]:
        raise ValueError(f"masks {masks.shape} do not match images {images.shape}")
    folder = Path(root) / split
    (folder / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    (folder / MASK_DIRS[0]).mkdir(parents=True, exist_ok=True)
    names = []
    for i, (img, m, c) in enumerate(zip(images, masks, categories)):
        name = f"{start + i}_{c}.png"
        Image.fromarray(img, "RGB").save(folder / IMAGE_DIR / name, format="PNG")
        Image.fromarray(np.where(m, 255, 0).astype(np.uint8), "L").convert(mask_mode).save(
            folder / MASK_DIRS[0] / name, format="PNG")
        names.append(name)
    return names


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_train: int = 6, n_test: int = 4,
                 size: int = 64) -> Path:
    """A miniature FIVES: ``n_train`` + ``n_test`` simulated eyes (PIL PNGs, annotated masks), test masks in RGB.

    Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    from ...sim.retina import FundusSpec, simulate_fundus

    root = Path(root)
    b = simulate_fundus(n_train + n_test, FundusSpec(size=size), seed=seed)
    write(root, "train", b.images[:n_train], b.annotated[:n_train], b.disease[:n_train])
    write(root, "test", b.images[n_train:], b.annotated[n_train:], b.disease[n_train:], start=n_train + 1,
          mask_mode="RGB")
    mark_fixture(root, "fives")
    return root


__all__ = ["FivesData", "FivesLayoutError", "ImageFormatError", "load", "list_pairs", "read_pair", "write",
           "make_fixture", "split_root", "CATEGORIES"]
