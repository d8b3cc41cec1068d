"""ECG Images dataset of Cardiac Patients (Khan & Hussain, Mendeley Data, version 2, 2021): loader and fixture.

The dataset is 928 JPEG scans of printed 12-lead ECG report pages from one hospital (Ch. Pervaiz Elahi
Institute of Cardiology, Multan, Pakistan), in four class folders. Its layout after download and
extraction (folder names as published, counts in the names are the authors')::

    ECG Images of Myocardial Infarction Patients (240x12=2880)/    MI(1).jpg  MI(2).jpg ...   (239 files)
    ECG Images of Patient that have abnormal heartbeat (233x12=2796)/  HB(1).jpg ...        (233 files)
    ECG Images of Patient that have History of MI (172x12=2064)/   PMI(1).jpg ...            (172 files)
    Normal Person ECG Images (284x12=3408)/                         Normal(1).jpg ...         (284 files)

Each page is about 2213 × 1572 px, RGB: a header (patient ID, sex, blank fields), the 3 × 4 lead grid
with a lead-II rhythm strip, and a footer (filter settings, paper speed, heart rate, date). Folder
names, file prefixes, counts, page size and the duplicate structure were read in two independent
public dataset cards that describe the download (GitHub READMEs), not on the Mendeley page itself;
see ``data_manifests/ecg_images.yaml``.

**No patient identifier in the file names.** The patient ID is printed in the page header only. The
cards report many byte-identical files (928 files, 491 distinct contents: each MI page appears about
eight times; Normal and History-of-MI pages twice). :func:`load` therefore groups files by content hash
(``groups``): splits by group keep copies of one page on one side. Different pages of one patient
cannot be detected and may still cross a split.

:func:`load` reads that layout (natural file order, validated images, optional crop to the lead grid,
resize), :func:`write` stores page images in it, :func:`simulate_classes` and :func:`render_pages` make
simulated printouts of the four classes (``medrepro.sim.ecg`` + ``medrepro.viz.ecg_image``), and
:func:`make_fixture` writes a miniature copy of the layout (with duplicated files, as the real set has)
for the tests.

Realistic (simulated pages): the print layout, paper grid and colours, a header and footer band with
text-like marks at the real page's proportions, a band-pass "device" filter, scanner-like pixel noise,
JPEG compression, exact duplicates. Not modelled: real text, page rotation or perspective, the real
printer's fonts and line widths, the hospital's patient mix.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import ImageFormatError
from . import mark_fixture


@dataclass(frozen=True)
class ClassSpec:
    """One class of the dataset: its key, folder name, file prefix and a plain-language title."""

    key: str
    folder: str
    prefix: str
    title: str


#: The four classes, in label order.
CLASSES: tuple[ClassSpec, ...] = (
    ClassSpec("normal", "Normal Person ECG Images (284x12=3408)", "Normal", "normal"),
    ClassSpec("mi", "ECG Images of Myocardial Infarction Patients (240x12=2880)", "MI", "myocardial infarction"),
    ClassSpec("history_mi", "ECG Images of Patient that have History of MI (172x12=2064)", "PMI", "history of MI"),
    ClassSpec("abnormal_hb", "ECG Images of Patient that have abnormal heartbeat (233x12=2796)", "HB",
              "abnormal heartbeat"),
)
CLASS_KEYS: tuple[str, ...] = tuple(c.key for c in CLASSES)
#: File counts per class folder in the published version 2 (MI(215).jpg is absent), as reported by the cards.
REAL_COUNTS: dict[str, int] = {"normal": 284, "mi": 239, "history_mi": 172, "abnormal_hb": 233}
#: Size of a real page in pixels (width, height), as reported by the cards.
REAL_PAGE_SIZE = (2213, 1572)
#: The lead grid inside a page, as fractions (left, top, right, bottom) of its width and height: the box
#: (68, 283, 2177, 1518) px of a 2213 × 1572 page reported by one dataset card. Cropping to it removes
#: the header and footer text (patient ID, heart rate, date), which a model could use as a shortcut.
GRID_BOX: tuple[float, float, float, float] = (68 / 2213, 283 / 1572, 2177 / 2213, 1518 / 1572)
SUFFIXES = (".jpg", ".jpeg", ".png")
#: Smallest page side (px) the loader accepts.
MIN_SIDE = 64


@dataclass
class EcgImageData:
    """Images ``(N, H, W, 3)`` uint8 RGB (or ``(N, H, W)`` grayscale), labels, content groups and paths."""

    images: np.ndarray
    labels: np.ndarray
    groups: np.ndarray  # files with identical bytes share a group (exact duplicates)
    paths: list[Path] = field(default_factory=list)
    class_keys: tuple[str, ...] = CLASS_KEYS

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_unique(self) -> int:
        """Number of distinct file contents."""
        return int(len(np.unique(self.groups)))

    def subset(self, index: np.ndarray) -> "EcgImageData":
        """The images at ``index`` (integer or boolean array)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return EcgImageData(self.images[index], self.labels[index], self.groups[index],
                            [self.paths[i] for i in index] if self.paths else [], self.class_keys)


# --------------------------------------------------------------------------------------------- reading
def _normalise(name: str) -> str:
    """Folder name without the ``(NNNx12=NNNN)`` count and case: matches renamed or re-zipped copies."""
    return re.sub(r"\s*\(\d+x\d+=\d+\)\s*$", "", name).strip().lower()


_BY_NAME = {_normalise(c.folder): k for k, c in enumerate(CLASSES)}


def class_of_folder(name: str) -> int | None:
    """Label index of a class folder name (with or without the count suffix), or None."""
    return _BY_NAME.get(_normalise(name))


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds the four class folders: ``path`` itself or one of its sub-folders.

    Raises:
        FileNotFoundError: no such folder, naming what was looked for.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"ECG images folder not found: {path}")
    cands = [path] + sorted(p for p in path.iterdir() if p.is_dir())
    for cand in cands:
        found = {class_of_folder(p.name) for p in cand.iterdir() if p.is_dir()} - {None}
        if len(found) == len(CLASSES):
            return cand
    names = "\n  ".join(c.folder for c in CLASSES)
    raise FileNotFoundError(f"no folder with the four class folders of the ECG images dataset in {path} or its "
                            f"sub-folders; expected:\n  {names}")


def _natural_key(p: Path) -> tuple:
    m = re.search(r"\((\d+)\)", p.stem)
    return (int(m.group(1)) if m else -1, p.name)


def list_files(root: str | os.PathLike[str]) -> tuple[list[Path], np.ndarray]:
    """Image files and labels of the dataset, class by class, files in natural order (``MI(2)`` before ``MI(10)``).

    Other files (``Thumbs.db``, ``.DS_Store``) are ignored.

    Raises:
        FileNotFoundError: see :func:`find_root`; or a class folder holds no image.
    """
    root = find_root(root)
    folders: dict[int, Path] = {}
    for p in sorted(root.iterdir()):
        k = class_of_folder(p.name) if p.is_dir() else None
        if k is not None:
            folders.setdefault(k, p)
    paths: list[Path] = []
    labels: list[int] = []
    for k in range(len(CLASSES)):
        files = sorted((f for f in folders[k].iterdir() if f.suffix.lower() in SUFFIXES and f.is_file()),
                       key=_natural_key)
        if not files:
            raise FileNotFoundError(f"{folders[k]}: class folder holds no {'/'.join(SUFFIXES)} image")
        paths += files
        labels += [k] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


def content_groups(paths: Sequence[str | os.PathLike[str]]) -> np.ndarray:
    """Group index per file: files with byte-identical content (MD5) share a group, numbered in order of appearance."""
    seen: dict[str, int] = {}
    out = np.empty(len(paths), dtype=np.int64)
    for i, p in enumerate(paths):
        digest = hashlib.md5(Path(p).read_bytes()).hexdigest()
        out[i] = seen.setdefault(digest, len(seen))
    return out


def read_image(path: str | os.PathLike[str], size: tuple[int, int] | None = None,
               crop: tuple[float, float, float, float] | None = None, gray: bool = False) -> np.ndarray:
    """Read one page as uint8, ``(H, W, 3)`` RGB or ``(H, W)`` grayscale; cropped and resized when asked.

    Args:
        path: a JPEG or PNG file.
        size: output ``(height, width)`` in pixels (``None``: keep the cropped size).
        crop: ``(left, top, right, bottom)`` as fractions of the page (e.g. :data:`GRID_BOX`).
        gray: return luminance instead of RGB.

    Large JPEGs are decoded at a reduced scale first (``Image.draft``), which makes reading the
    2213 × 1572 pages several times faster when a small ``size`` is asked for.

    Raises:
        FileNotFoundError: no such file.
        ImageFormatError: not decodable (e.g. truncated), a mode other than RGB/L, or a side below
            :data:`MIN_SIDE` pixels; the message names the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            if im.mode not in ("RGB", "L"):
                raise ImageFormatError(f"{path}: mode {im.mode!r}; ECG page scans are RGB (or grayscale L) images")
            w0, h0 = im.size
            if min(w0, h0) < MIN_SIDE:
                raise ImageFormatError(f"{path}: {w0}×{h0} px is too small for an ECG page (at least "
                                       f"{MIN_SIDE} px a side)")
            box = None
            if crop is not None:
                left, top, right, bottom = crop
                if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
                    raise ValueError(f"crop must be fractions (left, top, right, bottom) inside [0, 1], got {crop}")
                box = (left, top, right, bottom)
            if size is not None and im.format == "JPEG":
                fx = (box[2] - box[0]) if box else 1.0
                fy = (box[3] - box[1]) if box else 1.0
                im.draft(im.mode, (int(size[1] / fx) + 1, int(size[0] / fy) + 1))  # DCT-domain downscale
            im.load()
            if box is not None:
                w, h = im.size
                im = im.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
            im = im.convert("L" if gray else "RGB")
            if size is not None and im.size != (size[1], size[0]):
                big = im.size[0] >= size[1] and im.size[1] >= size[0]
                im = im.resize((size[1], size[0]), Image.Resampling.BOX if big else Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageFormatError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    return arr


def load(root: str | os.PathLike[str], *, size: tuple[int, int] = (224, 224),
         crop: tuple[float, float, float, float] | None = GRID_BOX, gray: bool = False,
         max_per_class: int | None = None, seed: int = 0) -> EcgImageData:
    """Read the dataset from its real layout.

    Args:
        root: the folder holding the four class folders (or its parent).
        size: ``(height, width)`` every page is resized to (after cropping).
        crop: fractions of the page kept (default :data:`GRID_BOX`, the lead grid; ``None``: the whole page).
        gray: luminance instead of RGB.
        max_per_class: read at most this many files per class, a random subset drawn with ``seed``.
        seed: seeds the subset.

    Returns:
        :class:`EcgImageData`; ``groups`` marks byte-identical files (see the module docstring).

    Raises:
        FileNotFoundError, ImageFormatError: see :func:`list_files` and :func:`read_image`.
    """
    paths, labels = list_files(root)
    if max_per_class is not None:
        rng = np.random.default_rng(seed)
        keep = np.concatenate([np.sort(rng.permutation(np.flatnonzero(labels == k))[:max_per_class])
                               for k in range(len(CLASSES))])
        paths, labels = [paths[i] for i in keep], labels[keep]
    images = np.stack([read_image(p, size, crop, gray) for p in paths])
    return EcgImageData(images, labels, content_groups(paths), list(paths))


# --------------------------------------------------------------------------------------------- writing
def write(root: str | os.PathLike[str], pages: np.ndarray, labels: Sequence[int], *,
          copies: Sequence[int] | None = None, quality: int = 90) -> Path:
    """Write grayscale page images ``(N, H, W)`` in [0, 1] as ``root/<class folder>/<Prefix>(i).jpg``.

    Pages are printed in ECG-paper colours (:func:`medrepro.viz.ecg_image.to_rgb`) as RGB JPEGs and numbered from 1 per
    class, in order. ``copies[i] > 1`` writes that page again under the next numbers, byte for byte (the
    real dataset holds such exact duplicates). Each file is written under a temporary name and renamed,
    so an interrupted run leaves no truncated JPEG. Returns ``root``.
    """
    from PIL import Image

    pages = np.asarray(pages)
    labels = np.asarray(labels, dtype=np.int64)
    if pages.ndim != 3 or len(pages) != len(labels):
        raise ValueError(f"pages must be (N, H, W) with one label each, got {pages.shape} and {labels.shape}")
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(CLASSES):
        raise ValueError(f"labels must be in 0..{len(CLASSES) - 1}")
    copies = np.ones(len(pages), dtype=int) if copies is None else np.asarray(copies, dtype=int)
    root = Path(root)
    for spec in CLASSES:
        (root / spec.folder).mkdir(parents=True, exist_ok=True)
    from ...viz.ecg_image import to_rgb

    rgb = to_rgb(pages)
    counters = [0] * len(CLASSES)
    for img, k, c in zip(rgb, labels, copies):
        spec = CLASSES[k]
        for j in range(max(1, int(c))):
            counters[k] += 1
            path = root / spec.folder / f"{spec.prefix}({counters[k]}).jpg"
            if j == 0:
                tmp = path.with_name(path.name + ".partial")
                Image.fromarray(img).save(tmp, format="JPEG", quality=quality)
                tmp.replace(path)
                first = path
            else:
                shutil.copyfile(first, path)
    return root


# ------------------------------------------------------------------------------------- simulated pages
def class_configs() -> list:
    """The simulator settings (``medrepro.sim.ecg.SimConfig``) that stand in for each class, in label order.

    - normal: no finding; borderline rates, voltages, mild ST shifts and incomplete BBB stay in (unlabelled);
    - myocardial infarction (acute): ST elevation in a territory, with hyperacute T waves;
    - history of MI: pathological Q waves of an old infarct, half of them with persistent T inversion (STD);
    - abnormal heartbeat: atrial fibrillation or premature beats, or a sinus rate outside 60–100 bpm.
    Every class keeps a few unrelated findings (bundle branch block, LVH, first-degree AV block).
    """
    from ...sim.ecg import SimConfig

    base = dict(p_afib=0.0, p_ectopy=0.0, p_ste=0.0, p_std=0.0, p_qmi=0.0, p_bbb=0.06, p_lvh=0.05, p_avb1=0.05,
                p_brady=0.0, p_tachy=0.0, p_rate_borderline=0.2, p_std_given_lvh=0.0)
    return [
        SimConfig(**base),
        SimConfig(**{**base, "p_ste": 1.0}),
        SimConfig(**{**base, "p_qmi": 1.0, "p_std": 0.5}),
        SimConfig(**{**base, "p_afib": 0.4, "p_ectopy": 0.5, "ectopic_beat_rate": 0.2, "p_brady": 0.35,
                     "p_tachy": 0.35, "p_rate_borderline": 0.1}),
    ]


def device_filter(signals: np.ndarray, fs: float, band: tuple[float, float] = (0.5, 35.0), order: int = 2
                  ) -> np.ndarray:
    """Zero-phase band-pass along time, as ECG machines filter before printing.

    The gain is that of a forward-backward Butterworth filter of the given order,
    :math:`|H(f)|^2 = [1 + (f_{lo}/f)^{2n}]^{-1} [1 + (f/f_{hi})^{2n}]^{-1}`, applied in the frequency
    domain after reflecting one second of signal at each end (vectorised over records and leads; several
    times faster than ``scipy.signal.sosfiltfilt``). ``signals`` is ``(n, samples, leads)`` or
    ``(samples, leads)``; returns float32 of the same shape.
    """
    import torch

    x = np.asarray(signals, dtype=np.float32)
    single = x.ndim == 2
    xt = torch.from_numpy(np.ascontiguousarray((x[None] if single else x).transpose(0, 2, 1)))  # (n, leads, T)
    T = xt.shape[-1]
    pad = min(T - 1, int(round(fs)))
    xp = torch.nn.functional.pad(xt, (pad, pad), mode="reflect")
    f = torch.fft.rfftfreq(xp.shape[-1], 1.0 / fs, dtype=torch.float64)
    gain = 1.0 / (1.0 + (band[0] / f) ** (2 * order)) / (1.0 + (f / band[1]) ** (2 * order))  # f = 0 → gain 0
    y = torch.fft.irfft(torch.fft.rfft(xp, dim=-1) * gain.to(torch.float32), n=xp.shape[-1], dim=-1)
    out = y[..., pad:pad + T].transpose(1, 2).numpy()
    return np.ascontiguousarray(out[0] if single else out, dtype=np.float32)


@dataclass
class SimulatedPrintouts:
    """Filtered 12-lead signals ``(n, samples, 12)`` in mV, their class labels and the simulator batch truths."""

    signals: np.ndarray
    fs: float
    labels: np.ndarray
    findings: np.ndarray  # (n, 10) multi-labels of medrepro.sim.ecg.FINDINGS
    hr_bpm: np.ndarray


def simulate_classes(n_per_class: int, *, seed: int = 0, fs: float = 100.0, seconds: float = 10.0,
                     noise_scale: float = 1.0, band: tuple[float, float] = (0.5, 35.0)) -> SimulatedPrintouts:
    """Simulate ``n_per_class`` records of each class (:func:`class_configs`), device-filtered, classes interleaved.

    One ``simulate_12lead`` call per class (vectorised over its records); seeds ``seed * 101 + k``.
    """
    from ...sim.ecg import NoiseSpec, simulate_12lead

    sigs, labs, finds, hrs = [], [], [], []
    for k, cfg in enumerate(class_configs()):
        b = simulate_12lead(n_per_class, fs=fs, seconds=seconds, seed=seed * 101 + k, config=cfg,
                            noise=NoiseSpec(scale=noise_scale))
        sigs.append(b.signals)
        labs.append(np.full(n_per_class, k))
        finds.append(b.labels)
        hrs.append(b.intervals["hr_bpm"])
    order = np.arange(n_per_class * len(sigs)).reshape(len(sigs), n_per_class).T.ravel()  # k0, k1, k2, k3, k0...
    signals = device_filter(np.concatenate(sigs), fs, band)[order]
    return SimulatedPrintouts(signals, float(fs), np.concatenate(labs)[order], np.concatenate(finds)[order],
                              np.concatenate(hrs)[order])


def render_pages(signals: np.ndarray, fs: float, *, grid_size: tuple[int, int] = (128, 256),
                 mv_per_row: float | None = 2.0, noise_sd: float = 0.03, seed: int = 0) -> np.ndarray:
    """Render records as whole report pages: the lead grid (3 × 4 + rhythm strip) inside header and footer bands.

    The grid is rendered at ``grid_size`` (height, width) and placed at :data:`GRID_BOX` of a page whose
    proportions follow the real scans, so ``read_image(..., crop=GRID_BOX)`` recovers it. The header and
    footer carry random text-like marks that say nothing about the class; ``noise_sd`` adds pixel noise to
    the grid (JPEG compression adds its own artefacts when the pages are written). Returns grayscale pages
    ``(n, H, W)`` in [0, 1].
    """
    from ...sim.ecg import LEADS
    from ...viz.ecg_image import INK, PAPER, render_ecg_images

    gh, gw = grid_size
    grids = render_ecg_images(signals, fs, LEADS, height=gh, width=gw, mv_per_row=mv_per_row)
    grids = grids[None] if grids.ndim == 2 else grids
    rng = np.random.default_rng(seed)
    if noise_sd > 0:  # pixel noise only: the renderer's noise option also jitters each row's baseline,
        # which these pages (and the notebook's calibration) do not have
        grids += rng.standard_normal(grids.shape, dtype=np.float32) * np.float32(noise_sd)
        np.clip(grids, 0.0, 1.0, out=grids)
    left, top, right, bottom = GRID_BOX
    ph, pw = int(round(gh / (bottom - top))), int(round(gw / (right - left)))
    y0, x0 = int(round(top * ph)), int(round(left * pw))
    n = len(grids)
    pages = np.full((n, ph, pw), PAPER, dtype=np.float32)
    pages[:, y0:y0 + gh, x0:x0 + gw] = grids
    line_h = max(1, ph // 60)
    for band_top, band_bottom, n_lines in ((0, y0, 4), (y0 + gh, ph, 1)):  # header, footer
        for j in range(n_lines):
            y = band_top + int((j + 0.5) * (band_bottom - band_top) / n_lines)
            if y + line_h > band_bottom:
                continue
            starts = rng.integers(x0, pw // 2, size=n)  # one "text line" per page and row, random length
            lengths = rng.integers(pw // 8, pw // 3, size=n)
            cols = np.arange(pw)[None, :]
            ink = (cols >= starts[:, None]) & (cols < (starts + lengths)[:, None]) & (cols % 3 != 2)  # letter gaps
            pages[:, y:y + line_h, :][np.repeat(ink[:, None, :], line_h, axis=1)] = INK
    return pages


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_per_class: int = 6) -> Path:
    """Write a miniature of the real layout (four class folders, ``<Prefix>(i).jpg``) with simulated pages.

    Like the real set, some pages are stored twice under different numbers (exact duplicates). Returns
    ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    root = Path(root)
    sim = simulate_classes(n_per_class, seed=seed)
    pages = render_pages(sim.signals, sim.fs, grid_size=(96, 192), seed=seed)
    copies = np.where(np.arange(len(pages)) % 5 == 0, 2, 1)  # every fifth page twice
    write(root, pages, sim.labels, copies=copies)
    mark_fixture(root, "ecg_images")
    return root
