"""CADICA: invasive coronary angiography videos with lesion boxes and stenosis grades (Jiménez-Partinen et al., 2024).

Mendeley Data, doi:10.17632/p9bpx9ctcv.2 (version 2). The archive's layout was **not** seen here; it is read as
third-party code that loads CADICA describes it (two repositories of one author, github.com/MarioPasc:
``Coronary_Angiography_Detection`` and ``CA-MTL-YOLOv8``, whose readers agree)::

    <root>/selectedVideos/                      (root may also be <folder>/CADICA or <folder>/CADICA/CADICA)
      p<k>/                                     one folder per patient (p1 … p42)
        lesionVideos.txt  nonlesionVideos.txt   the patient's video folders, one name a line (v1, v3, …)
        v<j>/
          p<k>_v<j>_selectedFrames.txt          the frames kept for classification, one stem a line (p1_v3_00021)
          input/p<k>_v<j>_<nnnnn>.png           every frame of the video (512 × 512 PNG per that code)
          groundtruth/p<k>_v<j>_<nnnnn>.txt     lesion videos only: one box a line, ``x y w h label``
                                                (top-left corner, width, height in pixels; label p0_20 … p100)

A selected frame is a **lesion** frame when its ground-truth file exists and holds at least one box (how the
third-party readers label frames; the paper's own rule was not confirmed), and a non-lesion frame otherwise.
Patient metadata (``metadata/*.xlsx`` per one of those sources) is not read.

Bad input raises an error naming the file: a missing list or image, a box line that is not five fields or whose
numbers do not parse (file and line number), an image that cannot be decoded. :func:`make_fixture` writes a
miniature of this layout from :mod:`medrepro.sim.angiogram` frames with PIL and plain text files.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import mark_fixture

#: CADICA's stenosis-severity labels (percent diameter reduction), in increasing order.
SEVERITY_LABELS: tuple[str, ...] = ("p0_20", "p20_50", "p50_70", "p70_90", "p90_98", "p99", "p100")


class CadicaLayoutError(ValueError):
    """The folder does not hold the CADICA layout, or a file in it is malformed (the message names the file)."""


@dataclass(frozen=True)
class Box:
    """One lesion box: top-left corner ``(x, y)``, width ``w``, height ``h`` in pixels, and its severity label."""

    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass
class CadicaData:
    """Selected frames ``(N, size, size)`` float32 in [0, 1] with, per frame, its patient, video, lesion label,
    boxes (rescaled to ``size``), worst severity label ('' for none) and file path."""

    images: np.ndarray
    lesion: np.ndarray
    patient: np.ndarray
    video: np.ndarray
    frame: np.ndarray
    severity: list[str]
    boxes: list[list[Box]]
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]


def find_root(root: str | os.PathLike[str]) -> Path:
    """The folder holding ``selectedVideos``: ``root`` itself, ``root/CADICA`` or ``root/CADICA/CADICA``.

    Raises:
        FileNotFoundError: no ``selectedVideos`` folder there.
    """
    root = Path(root)
    for cand in (root, root / "CADICA", root / "CADICA" / "CADICA"):
        if (cand / "selectedVideos").is_dir():
            return cand
    raise FileNotFoundError(f"no CADICA 'selectedVideos' folder in {root}, {root / 'CADICA'} or "
                            f"{root / 'CADICA' / 'CADICA'}")


def read_list(path: str | os.PathLike[str]) -> list[str]:
    """The non-empty lines of a list file (video names, frame stems), stripped.

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CADICA list file not found")
    return [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]


def read_boxes(path: str | os.PathLike[str]) -> list[Box]:
    """The boxes of one ground-truth file, one ``x y w h label`` line each (blank lines skipped).

    Raises:
        CadicaLayoutError: a line without exactly five fields, coordinates that are not numbers, a negative width
            or height, or an unknown label — the message names the file and the line number.
    """
    path = Path(path)
    boxes = []
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise CadicaLayoutError(f"{path}, line {i}: expected 'x y w h label' (5 fields), got {line.strip()!r}")
        try:
            x, y, w, h = (float(v) for v in parts[:4])
        except ValueError:
            raise CadicaLayoutError(f"{path}, line {i}: box coordinates are not numbers: {line.strip()!r}") from None
        if w < 0 or h < 0:
            raise CadicaLayoutError(f"{path}, line {i}: negative box width or height: {line.strip()!r}")
        if parts[4] not in SEVERITY_LABELS:
            raise CadicaLayoutError(f"{path}, line {i}: unknown severity label {parts[4]!r} "
                                    f"(expected one of {', '.join(SEVERITY_LABELS)})")
        boxes.append(Box(x, y, w, h, parts[4]))
    return boxes


def read_frame(path: str | os.PathLike[str], size: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """One frame as float32 grey levels in [0, 1], resized to ``size × size`` when given, and its original (W, H).

    Raises:
        FileNotFoundError: no such file. ImageFormatError: the file cannot be decoded (the message names it).
    """
    from PIL import Image

    from ..io import open_image

    im = open_image(path).convert("L")
    orig = im.size
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BOX if min(im.size) > size else Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0, orig


def _worst(boxes: Sequence[Box]) -> str:
    return max((b.label for b in boxes), key=SEVERITY_LABELS.index) if boxes else ""


def load(root: str | os.PathLike[str], *, size: int = 64, patients: Sequence[str] | None = None,
         max_frames_per_video: int | None = None) -> CadicaData:
    """Read CADICA's selected frames with their lesion labels, boxes and severities from the layout above.

    Args:
        root: the folder holding ``selectedVideos`` (or a parent, see :func:`find_root`).
        size: every frame is resized to ``size × size``; boxes are rescaled with it.
        patients: patient folders to read (default: all ``p<k>`` folders, in numeric order).
        max_frames_per_video: keep at most this many selected frames per video, evenly spaced over the list.

    Raises:
        FileNotFoundError, CadicaLayoutError, ImageFormatError — each naming the file.
    """
    base = find_root(root) / "selectedVideos"
    if patients is None:
        patients = sorted((p.name for p in base.iterdir() if p.is_dir() and re.fullmatch(r"p\d+", p.name)),
                          key=lambda n: int(n[1:]))
    if not patients:
        raise CadicaLayoutError(f"{base}: no patient folder (p1, p2, …)")
    images, lesion, pat, vid, frm, sev, boxes, paths = [], [], [], [], [], [], [], []
    for p in patients:
        pdir = base / p
        les_videos = read_list(pdir / "lesionVideos.txt")
        non_videos = read_list(pdir / "nonlesionVideos.txt")
        for v in les_videos + non_videos:
            vdir = pdir / v
            stems = read_list(vdir / f"{p}_{v}_selectedFrames.txt")
            if max_frames_per_video is not None and len(stems) > max_frames_per_video:
                stems = [stems[i] for i in np.linspace(0, len(stems) - 1, max_frames_per_video).round().astype(int)]
            for stem in stems:
                stem = stem if stem.startswith(f"{p}_{v}_") else f"{p}_{v}_{stem}"
                img_path = vdir / "input" / f"{stem}.png"
                img, (w0, h0) = read_frame(img_path, size)
                gt = vdir / "groundtruth" / f"{stem}.txt"
                bx = read_boxes(gt) if (v in les_videos and gt.is_file()) else []
                sx, sy = img.shape[1] / w0, img.shape[0] / h0
                bx = [Box(b.x * sx, b.y * sy, b.w * sx, b.h * sy, b.label) for b in bx]
                images.append(img); lesion.append(bool(bx)); pat.append(p); vid.append(f"{p}_{v}")
                frm.append(stem.rsplit("_", 1)[-1]); sev.append(_worst(bx)); boxes.append(bx); paths.append(img_path)
    if not images:
        raise CadicaLayoutError(f"{base}: no selected frame found in the patients' video lists")
    return CadicaData(np.stack(images), np.asarray(lesion), np.asarray(pat), np.asarray(vid), np.asarray(frm),
                      sev, boxes, paths)


def write(root: str | os.PathLike[str], frames: np.ndarray, patient: Sequence[int], video: Sequence[int],
          frame: Sequence[int], selected: Sequence[bool], boxes: Sequence[np.ndarray], labels: Sequence[str]) -> Path:
    """Write uint8 frames in CADICA's layout under ``root/selectedVideos`` (PIL for the PNGs, text for the lists).

    Patients are written ``p<patient + 1>``, videos ``v<video + 1>``, frames ``<nnnnn>`` (``frame + 1``, five
    digits). A video is listed in ``lesionVideos.txt`` when any of its frames has a box; a frame with boxes gets
    a ``groundtruth/<stem>.txt`` of ``x y w h label`` lines (integers) with ``labels[i]`` as its label. Returns
    ``root``.
    """
    from PIL import Image

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 3:
        raise ValueError(f"frames must be uint8 (N, H, W), got {frames.dtype} {frames.shape}")
    root = Path(root)
    base = root / "selectedVideos"
    patient, video, frame = np.asarray(patient), np.asarray(video), np.asarray(frame)
    for p in np.unique(patient):
        pname = f"p{int(p) + 1}"
        les_v, non_v = [], []
        for v in np.unique(video[patient == p]):
            vname = f"v{int(v) + 1}"
            vdir = base / pname / vname
            (vdir / "input").mkdir(parents=True, exist_ok=True)
            rows = np.flatnonzero((patient == p) & (video == v))
            rows = rows[np.argsort(frame[rows], kind="stable")]
            sel, has_box = [], False
            for i in rows:
                stem = f"{pname}_{vname}_{int(frame[i]) + 1:05d}"
                Image.fromarray(frames[i]).save(vdir / "input" / f"{stem}.png", format="PNG")
                if selected[i]:
                    sel.append(stem)
                if len(boxes[i]):
                    has_box = True
                    (vdir / "groundtruth").mkdir(exist_ok=True)
                    lines = [f"{int(round(b[0]))} {int(round(b[1]))} {int(round(b[2]))} {int(round(b[3]))} {labels[i]}"
                             for b in boxes[i]]
                    (vdir / "groundtruth" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
            (vdir / f"{pname}_{vname}_selectedFrames.txt").write_text("".join(f"{s}\n" for s in sel))
            (les_v if has_box else non_v).append(vname)
        (base / pname / "lesionVideos.txt").write_text("".join(f"{v}\n" for v in les_v))
        (base / pname / "nonlesionVideos.txt").write_text("".join(f"{v}\n" for v in non_v))
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 6, videos_per_patient: int = 4,
                 frames_per_video: int = 2, size: int = 64) -> Path:
    """A miniature of CADICA's layout: simulated patients' frames as PNG (PIL), lists and box files as text.

    Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    from ...sim.angiogram import AngioSpec, simulate_patients

    root = Path(root)
    s = simulate_patients(n_patients, AngioSpec(size=size, videos_per_patient=videos_per_patient,
                                                frames_per_video=frames_per_video), seed=seed)
    write(root, s.to_uint8(), s.patient, s.video, s.frame, s.selected, s.boxes, s.severity_labels())
    mark_fixture(root, "cadica")
    return root
