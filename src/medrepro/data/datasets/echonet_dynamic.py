"""EchoNet-Dynamic: loader for its real layout, a writer for simulated studies in that layout, ``make_fixture``.

The real layout (``data_manifests/echonet-dynamic.yaml``; 10,030 apical four-chamber videos of 10,030 patients,
112 × 112 px, Stanford research-use agreement)::

    EchoNet-Dynamic/
      FileList.csv          one row per video: FileName (no extension), EF, ESV, EDV, FrameHeight, FrameWidth,
                            FPS, NumberOfFrames, Split (TRAIN / VAL / TEST)
      VolumeTracings.csv    FileName (with .avi), X1, Y1, X2, Y2, Frame: the LV traced by experts at end diastole
                            and end systole, as chords of the cavity (one row per chord)
      Videos/<FileName>.avi the echo cine

The column names and the ``Videos/`` folder are those the official code (``echonet/dynamic``,
``echonet/datasets/echo.py``) reads: it appends ``.avi`` to a FileName without one and asserts the tracing
header ``FileName,X1,Y1,X2,Y2,Frame``; of a video's traced frames, the one with the larger traced area is end
diastole. Videos are read by :class:`medrepro.data.datasets.ubfc_rppg.AviVideo` (uncompressed or MJPEG AVI);
which codec the released files use was not confirmed here — a file in another codec gives an error that names
it and says how to convert it.

Multi-view studies (an extension, not part of the real dataset): each real video is its own one-video study of
view ``A4C``. A FileList may carry two further columns, ``Study`` and ``View``, grouping videos into studies of
several views; the smoke runs of the EchoPrime notebook write their simulated studies that way (one AVI per
video) and read them back through :func:`load` — the loader full mode uses on the real files.
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
from .ubfc_rppg import read_avi, write_avi

#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["FileList.csv", "VolumeTracings.csv", "Videos/"]
FILELIST_COLUMNS = ("FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split")
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")


class EchoNetError(FormatError):
    """A FileList, tracing file or video does not match the EchoNet-Dynamic layout; the message names it."""


@dataclass
class EchoNetVideos:
    """Videos of an EchoNet-Dynamic-layout folder, with their labels.

    Attributes:
        frames: list of (T, H, W) uint8 grey videos (the first channel of the AVI's RGB frames), or, with
            ``keyframes=True``, (2, H, W): end diastole then end systole (from the tracings).
        names: FileName of each video (no extension).
        ef, esv, edv: (n,) float from FileList.csv.
        split: (n,) str, TRAIN / VAL / TEST.
        study: (n,) str, the study each video belongs to (the FileName itself when FileList has no Study column).
        view: (n,) str (``A4C`` when FileList has no View column).
        extra: further FileList columns (name → array of str), e.g. a simulated study's report.
    """

    frames: list[np.ndarray]
    names: list[str]
    ef: np.ndarray
    esv: np.ndarray
    edv: np.ndarray
    split: np.ndarray
    study: np.ndarray
    view: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def read_filelist(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of ``FileList.csv`` as dicts; raises :class:`EchoNetError` naming the file and a missing column."""
    path = Path(path)
    if not path.is_file():
        raise EchoNetError(f"{path}: FileList.csv not found (expected at the dataset root)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in FILELIST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise EchoNetError(f"{path}: columns {missing} missing; found {reader.fieldnames}")
        return list(reader)


def read_tracings(path: str | os.PathLike[str]) -> dict[str, dict[int, np.ndarray]]:
    """``VolumeTracings.csv`` as {FileName with .avi: {frame: (chords, 4) array of X1, Y1, X2, Y2}}."""
    path = Path(path)
    if not path.is_file():
        raise EchoNetError(f"{path}: VolumeTracings.csv not found (expected at the dataset root)")
    out: dict[str, dict[int, list]] = {}
    with open(path, newline="") as fh:
        header = fh.readline().strip().split(",")
        if header != list(TRACING_COLUMNS):
            raise EchoNetError(f"{path}: header {header}, expected {list(TRACING_COLUMNS)}")
        for k, line in enumerate(fh, start=2):
            parts = line.strip().split(",")
            if len(parts) != 6:
                raise EchoNetError(f"{path}, line {k}: {len(parts)} fields, expected 6")
            name, x1, y1, x2, y2, frame = parts
            out.setdefault(name, {}).setdefault(int(frame), []).append((float(x1), float(y1), float(x2), float(y2)))
    return {n: {f: np.asarray(v) for f, v in d.items()} for n, d in out.items()}


def traced_area(chords: np.ndarray) -> float:
    """Area (px²) of the polygon the official code draws from one frame's chords (first chord = the long axis)."""
    x = np.concatenate([chords[1:, 0], chords[1:, 2][::-1]])
    y = np.concatenate([chords[1:, 1], chords[1:, 3][::-1]])
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def load(root: str | os.PathLike[str], *, split: str | None = None, keyframes: bool = False,
         max_videos: int | None = None) -> EchoNetVideos:
    """Read the videos of an EchoNet-Dynamic-layout folder (FileList order), optionally one split only.

    With ``keyframes=True`` each video is reduced to its two traced frames, end diastole (larger traced area)
    then end systole, and videos with fewer than two traced frames are left out, as the official loader does.
    """
    root = Path(root)
    rows = read_filelist(root / "FileList.csv")
    if split is not None:
        rows = [r for r in rows if r["Split"].upper() == split.upper()]
    if max_videos is not None:
        rows = rows[:max_videos]
    traces = read_tracings(root / "VolumeTracings.csv") if keyframes else {}
    frames, keep = [], []
    for r in rows:
        fname = r["FileName"] if os.path.splitext(r["FileName"])[1] else r["FileName"] + ".avi"
        path = root / "Videos" / fname
        if not path.is_file():
            raise EchoNetError(f"{path}: listed in FileList.csv but not found")
        video = read_avi(path)
        if keyframes:
            tr = traces.get(fname, {})
            if len(tr) < 2:
                continue
            order = sorted(tr, key=lambda f: traced_area(tr[f]), reverse=True)[:2]   # end diastole first
            if max(order) >= len(video):
                raise EchoNetError(f"{path}: traced frame {max(order)} beyond its {len(video)} frames")
            clip = np.stack([video.read(f, f + 1)[0] for f in order])
        else:
            clip = video.read()
        frames.append(np.ascontiguousarray(clip[..., 0]))
        keep.append(r)
    col = lambda c, default=None: np.array([r.get(c) if r.get(c) not in (None, "") else default(r) for r in keep])  # noqa: E731
    extra_cols = [c for c in (keep[0].keys() if keep else []) if c not in FILELIST_COLUMNS + ("Study", "View")]
    return EchoNetVideos(
        frames=frames, names=[r["FileName"] for r in keep],
        ef=np.array([float(r["EF"]) for r in keep]), esv=np.array([float(r["ESV"]) for r in keep]),
        edv=np.array([float(r["EDV"]) for r in keep]), split=np.array([r["Split"].upper() for r in keep]),
        study=col("Study", lambda r: r["FileName"]), view=col("View", lambda r: "A4C"),
        extra={c: np.array([r[c] for r in keep]) for c in extra_cols})


def write(root: str | os.PathLike[str], videos: Sequence[np.ndarray], names: Sequence[str], *,
          ef: Sequence[float], esv: Sequence[float] | None = None, edv: Sequence[float] | None = None,
          split: Sequence[str], fps: float = 50.0, tracings: dict[str, dict[int, np.ndarray]] | None = None,
          extra: dict[str, Sequence[str]] | None = None) -> Path:
    """Write (T, H, W) uint8 grey videos in the EchoNet-Dynamic layout (uncompressed AVI, FileList, tracings).

    ``extra`` adds FileList columns after the real ones (e.g. ``Study`` and ``View`` for multi-view studies).
    ``tracings`` maps a FileName (no extension) to {frame: (chords, 4)}; absent videos get no tracing rows.
    """
    root = Path(root)
    (root / "Videos").mkdir(parents=True, exist_ok=True)
    n = len(names)
    esv = np.zeros(n) if esv is None else esv
    edv = np.zeros(n) if edv is None else edv
    extra = extra or {}
    with open(root / "FileList.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(FILELIST_COLUMNS) + list(extra))
        for i, (v, name) in enumerate(zip(videos, names)):
            v = np.asarray(v)
            if v.ndim != 3 or v.dtype != np.uint8:
                raise ValueError(f"video {name}: expected (T, H, W) uint8, got {v.shape} {v.dtype}")
            write_avi(root / "Videos" / f"{name}.avi", np.repeat(v[..., None], 3, axis=-1), fps)
            w.writerow([name, f"{ef[i]:.6g}", f"{esv[i]:.6g}", f"{edv[i]:.6g}", v.shape[1], v.shape[2], f"{fps:g}",
                        len(v), split[i]] + [extra[c][i] for c in extra])
    with open(root / "VolumeTracings.csv", "w", newline="") as fh:
        fh.write(",".join(TRACING_COLUMNS) + "\n")
        for name, frames in (tracings or {}).items():
            for f, chords in frames.items():
                for x1, y1, x2, y2 in np.asarray(chords, float):
                    fh.write(f"{name}.avi,{x1:.4f},{y1:.4f},{x2:.4f},{y2:.4f},{f}\n")
    return root


def mask_chords(mask: np.ndarray) -> np.ndarray:
    """Chords of a binary LV mask in the tracings' form: the long axis (top to bottom) first, then one
    horizontal chord per row (X1, Y1, X2, Y2 in pixels, pixel centres)."""
    rows = np.flatnonzero(mask.any(1))
    if len(rows) == 0:
        raise ValueError("empty mask: nothing to trace")
    x1 = np.array([np.flatnonzero(mask[r])[0] for r in rows], float)
    x2 = np.array([np.flatnonzero(mask[r])[-1] for r in rows], float)
    cx = float((x1 + x2).mean() / 2)
    axis = np.array([[cx, rows[0], cx, rows[-1]]], float)
    return np.concatenate([axis, np.stack([x1, rows.astype(float), x2, rows.astype(float)], 1)])


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_videos: int = 8, size: int = 112,
                 seconds: float = 1.0) -> Path:
    """A miniature of the real layout: apical cines from :mod:`medrepro.sim.echo` with their true EF (%) and
    volumes (ml), written as AVIs with a FileList and LV tracings (chords of the simulator's LV cavity label) at
    end diastole (largest volume) and end systole (smallest).

    Returns ``root`` (pass it as ``DATA_DIR``); ``root`` carries the fixture marker.
    """
    from ...sim.echo import EchoSpec, simulate_cines

    root = Path(root)
    c = simulate_cines(n_videos, EchoSpec(size=size, seconds=seconds), seed=seed)
    videos = [np.clip(np.rint(v * 255), 0, 255).astype(np.uint8) for v in c.frames]
    names = [f"0X{seed:02X}{i:014X}" for i in range(n_videos)]
    k = np.arange(n_videos) % 4
    splits = np.where(k == 3, "TEST", np.where(k == 2, "VAL", "TRAIN"))
    tracings = {}
    for i, name in enumerate(names):
        ed, es = int(np.argmax(c.volume[i])), int(np.argmin(c.volume[i]))
        tracings[name] = {f: mask_chords(c.labels[i, f] == 1) for f in (es, ed)}   # ED last, as the official loader expects
    write(root, videos, names, ef=100 * c.ef, esv=c.volume.min(1), edv=c.volume.max(1), split=splits,
          fps=c.fps, tracings=tracings)
    mark_fixture(root, "echonet-dynamic")
    return root
