"""UBFC-rPPG, DATASET_2 ("realistic situations"): loader for its real layout, writers, ``make_fixture``.

The real layout (``data_manifests/ubfc-rppg.yaml``; about 42 subjects filmed for 1–2 minutes at 30 frames/s,
640 × 480, with a CMS50E finger pulse oximeter as ground truth)::

    DATASET_2/
      subject1/vid.avi            the facial video (uncompressed 8-bit RGB AVI, per the dataset page)
      subject1/ground_truth.txt   three lines: PPG signal; heart rate (bpm); time stamps (s, scientific notation)
      subject3/ …

Videos are read by :class:`AviVideo`, a small RIFF/AVI reader written for this project (no video library is
needed): it walks the RIFF chunks — OpenDML ``AVIX`` extensions of files above 1 GB included — indexes the
frames of the first video stream, and decodes uncompressed 24/32-bit frames with numpy, or MJPEG frames with
Pillow. Frames are read lazily from a memory map, so a 3 GB video can be reduced to region means frame chunk
by frame chunk (:meth:`AviVideo.region_means`). :func:`write_avi` writes uncompressed 24-bit AVI (the format
of the real videos) — smoke runs simulate clips (:mod:`medrepro.sim.face_video`), write them in this layout
and read them back through the same loader — and :func:`make_fixture` writes a miniature copy for the tests.
"""
from __future__ import annotations

import io as _io
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["subject1/vid.avi", "subject1/ground_truth.txt"]
VIDEO, GROUND_TRUTH = "vid.avi", "ground_truth.txt"
_SUBJECT = re.compile(r"^subject(\d+)$")


class AviError(FormatError):
    """An AVI file is malformed, truncated or uses an unsupported codec; the message names the file."""


# ------------------------------------------------------------------------------------------- AVI reading
def _u32(buf, pos: int) -> int:
    return struct.unpack_from("<I", buf, pos)[0]


class AviVideo:
    """A lazily read AVI video: frame ``k`` is decoded only when asked for.

    Attributes:
        path, fps, width, height, codec (``"DIB"`` for uncompressed, ``"MJPG"``), bit_count, n_frames.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"video not found: {self.path}")
        self._mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        buf = self._mm
        size = len(buf)
        if size < 12 or bytes(buf[0:4]) != b"RIFF" or bytes(buf[8:12]) != b"AVI ":
            raise AviError(f"{self.path}: not an AVI file (no RIFF 'AVI ' header)")
        self.fps = 0.0
        self.width = self.height = self.bit_count = 0
        self.codec = ""
        self._stream = None
        self._n_streams = 0
        offsets: list[int] = []
        lengths: list[int] = []
        pos = 0
        while pos + 12 <= size:  # top level: RIFF 'AVI ', then optional RIFF 'AVIX' (OpenDML)
            if bytes(buf[pos:pos + 4]) != b"RIFF":
                break
            end = min(pos + 8 + _u32(buf, pos + 4), size)
            self._walk(buf, pos + 12, end, offsets, lengths)
            pos = pos + 8 + _u32(buf, pos + 4)
            pos += pos & 1
        if self._stream is None or not self.width:
            raise AviError(f"{self.path}: no video stream header (strh 'vids' + strf) found")
        if not offsets:
            raise AviError(f"{self.path}: no video frames found in the 'movi' list")
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._lengths = np.asarray(lengths, dtype=np.int64)
        if self._offsets[-1] + self._lengths[-1] > size:
            raise AviError(f"{self.path}: frame {len(offsets) - 1} ends at byte {self._offsets[-1] + self._lengths[-1]}"
                           f" but the file has {size} bytes: truncated")
        self.n_frames = len(offsets)
        if self.codec == "DIB":
            stride = ((self.width * self.bit_count // 8) + 3) // 4 * 4
            self._frame_bytes = stride * abs(self.height)
            self._stride = stride
            short = np.flatnonzero(self._lengths < self._frame_bytes)
            if len(short):
                raise AviError(f"{self.path}: frame {short[0]} holds {self._lengths[short[0]]} bytes, "
                               f"expected {self._frame_bytes} for {self.width}×{abs(self.height)}×{self.bit_count} bit")

    def _walk(self, buf, start: int, end: int, offsets: list[int], lengths: list[int], in_movi: bool = False) -> None:
        pos = start
        while pos + 8 <= end:
            cid = bytes(buf[pos:pos + 4])
            size = _u32(buf, pos + 4)
            data = pos + 8
            if cid == b"LIST":
                kind = bytes(buf[data:data + 4])
                self._walk(buf, data + 4, min(data + size, end), offsets, lengths,
                           in_movi=in_movi or kind in (b"movi", b"rec "))
            elif cid == b"strh":
                self._n_streams += 1
                if bytes(buf[data:data + 4]) == b"vids" and self._stream is None:
                    self._stream = self._n_streams - 1
                    scale, rate = _u32(buf, data + 20), _u32(buf, data + 24)
                    self.fps = rate / scale if scale else 0.0
            elif cid == b"strf" and self._stream == self._n_streams - 1 and not self.width:
                self.width = struct.unpack_from("<i", buf, data + 4)[0]
                self.height = struct.unpack_from("<i", buf, data + 8)[0]
                self.bit_count = struct.unpack_from("<H", buf, data + 14)[0]
                comp = bytes(buf[data + 16:data + 20])
                self.codec = "DIB" if comp in (b"\x00\x00\x00\x00", b"DIB ", b"RGB ") else comp.decode("latin-1").strip()
            elif cid == b"avih" and not self.fps:
                us = _u32(buf, data)
                self.fps = 1e6 / us if us else 0.0
            elif in_movi and self._stream is not None and cid[2:] in (b"db", b"dc") \
                    and cid[:2] == f"{self._stream:02d}".encode() and size > 0:
                offsets.append(data)
                lengths.append(size)
            pos = data + size + (size & 1)

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        return (f"AviVideo({self.path.name}: {self.n_frames} frames, {self.width}×{abs(self.height)}, "
                f"{self.fps:g} fps, {self.codec})")

    def _decode(self, k: int) -> np.ndarray:
        raw = self._mm[self._offsets[k]:self._offsets[k] + self._lengths[k]]
        if self.codec == "DIB":
            h, w = abs(self.height), self.width
            ch = self.bit_count // 8
            if ch not in (3, 4):
                raise AviError(f"{self.path}: {self.bit_count}-bit uncompressed frames are not supported")
            img = np.asarray(raw[:self._frame_bytes]).reshape(h, self._stride)[:, :w * ch].reshape(h, w, ch)
            img = img[:, :, 2::-1]  # BGR(A) → RGB
            return img[::-1] if self.height > 0 else img  # positive height: rows stored bottom-up
        if self.codec.upper() in ("MJPG", "JPEG"):
            from PIL import Image

            with Image.open(_io.BytesIO(bytes(raw))) as im:
                return np.asarray(im.convert("RGB"))
        raise AviError(f"{self.path}: codec {self.codec!r} is not supported (uncompressed or MJPEG only); "
                       "convert the file, e.g. `ffmpeg -i vid.avi -c:v rawvideo -pix_fmt bgr24 out.avi`")

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start`` … ``stop − 1`` as (n, H, W, 3) uint8 RGB."""
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        if start >= stop:
            return np.empty((0, abs(self.height), self.width, 3), dtype=np.uint8)
        steps = np.diff(self._offsets[start:stop])
        if self.codec == "DIB" and self.bit_count == 24 and (len(steps) == 0 or np.all(steps == steps[0])):
            h, w, n = abs(self.height), self.width, stop - start  # fast path: evenly spaced frames, one strided view
            step = int(steps[0]) if len(steps) else self._frame_bytes
            view = np.lib.stride_tricks.as_strided(self._mm[self._offsets[start]:], shape=(n, self._frame_bytes),
                                                   strides=(step, 1), writeable=False)
            arr = view.reshape(n, h, self._stride)[:, :, :w * 3].reshape(n, h, w, 3)[..., ::-1]
            return np.ascontiguousarray(arr[:, ::-1] if self.height > 0 else arr)
        return np.stack([self._decode(k) for k in range(start, stop)])

    def chunks(self, size: int = 256) -> Iterator[np.ndarray]:
        """Consecutive blocks of at most ``size`` frames (bounded memory for long videos)."""
        for s in range(0, self.n_frames, size):
            yield self.read(s, s + size)

    def region_means(self, masks: np.ndarray, chunk: int = 256) -> np.ndarray:
        """(frames, regions, 3) mean RGB of each boolean (H, W) mask in ``masks`` (regions, H, W)."""
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim == 2:
            masks = masks[None]
        if masks.shape[1:] != (abs(self.height), self.width):
            raise ValueError(f"masks are {masks.shape[1:]}, frames are {(abs(self.height), self.width)}")
        weights = masks.reshape(len(masks), -1).astype(np.float32)
        weights /= np.maximum(weights.sum(1, keepdims=True), 1.0)
        out = []
        for block in self.chunks(chunk):
            flat = block.reshape(len(block), -1, 3).astype(np.float32)  # (t, pixels, 3)
            out.append(np.einsum("rp,tpc->trc", weights, flat))
        return np.concatenate(out)


def read_avi(path: str | os.PathLike[str]) -> AviVideo:
    """Open an AVI file (see :class:`AviVideo`); raises :class:`AviError` naming the file when it is malformed."""
    return AviVideo(path)


# ------------------------------------------------------------------------------------------- AVI writing
def write_avi(path: str | os.PathLike[str], frames: np.ndarray, fps: float) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames as an uncompressed 24-bit AVI (RIFF AVI 1.0 with an idx1 index)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    stride = (w * 3 + 3) // 4 * 4
    body = np.zeros((t, h, stride), dtype=np.uint8)
    body[:, :, :w * 3] = frames[:, ::-1, :, ::-1].reshape(t, h, w * 3)  # bottom-up rows, BGR
    frame_bytes = h * stride
    rate, scale = (int(round(fps)), 1) if abs(fps - round(fps)) < 1e-9 else (int(round(fps * 1000)), 1000)
    avih = struct.pack("<IIIIIIIIII4I", int(round(1e6 / fps)), int(frame_bytes * fps), 0, 0x10, t, 0, 1,
                       frame_bytes, w, h, 0, 0, 0, 0)
    strh = struct.pack("<4s4sIHHIIIIIIIIhhhh", b"vids", b"DIB ", 0, 0, 0, 0, scale, rate, 0, t, frame_bytes,
                       0xFFFFFFFF, 0, 0, 0, w, h)
    strf = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, frame_bytes, 0, 0, 0, 0)
    chunk = lambda cid, data: cid + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")  # noqa: E731
    strl = chunk(b"LIST", b"strl" + chunk(b"strh", strh) + chunk(b"strf", strf))
    hdrl = chunk(b"LIST", b"hdrl" + chunk(b"avih", avih) + strl)
    head = struct.pack("<4sI", b"00db", frame_bytes)
    pad = b"\x00" if frame_bytes & 1 else b""
    movi_size = 4 + t * (8 + frame_bytes + len(pad))
    idx = b"".join(struct.pack("<4sIII", b"00db", 0x10, 4 + k * (8 + frame_bytes + len(pad)), frame_bytes)
                   for k in range(t))
    riff_size = 4 + len(hdrl) + 8 + movi_size + 8 + len(idx)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<4sI4s", b"RIFF", riff_size, b"AVI "))
        fh.write(hdrl)
        fh.write(struct.pack("<4sI4s", b"LIST", movi_size, b"movi"))
        for k in range(t):  # one chunk per frame: the loop is over frames, each a contiguous block
            fh.write(head)
            fh.write(body[k].tobytes())
            fh.write(pad)
        fh.write(struct.pack("<4sI", b"idx1", len(idx)))
        fh.write(idx)
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------- ground truth
@dataclass
class GroundTruth:
    """The pulse-oximeter ground truth of one video: ``ppg`` (a.u.), ``hr`` (bpm) and ``time`` (s), one per sample."""

    ppg: np.ndarray
    hr: np.ndarray
    time: np.ndarray

    @property
    def fs(self) -> float:
        """Mean sampling rate of the ground truth (Hz)."""
        return float((len(self.time) - 1) / (self.time[-1] - self.time[0])) if len(self.time) > 1 else 0.0


def read_ground_truth(path: str | os.PathLike[str]) -> GroundTruth:
    """Read a DATASET_2 ``ground_truth.txt``: line 1 PPG, line 2 heart rate, line 3 time stamps (s).

    A file whose numbers are not split into three lines is split into three equal parts.

    Raises:
        FileNotFoundError: no such file.
        FormatError: unparsable numbers, unequal line lengths, non-finite values, or decreasing time stamps.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ground truth not found: {path}")
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    try:
        rows = [np.array(ln.replace(",", " ").split(), dtype=float) for ln in lines]
    except ValueError as exc:
        raise FormatError(f"{path}: not numeric ({exc})") from exc
    if len(rows) != 3:
        flat = np.concatenate(rows) if rows else np.empty(0)
        if len(flat) == 0 or len(flat) % 3:
            raise FormatError(f"{path}: expected three lines (PPG, HR, time), found {len(rows)} lines "
                              f"with {len(flat)} numbers")
        rows = np.split(flat, 3)
    if len({len(r) for r in rows}) != 1:
        raise FormatError(f"{path}: lines have {[len(r) for r in rows]} values; PPG, HR and time must match")
    ppg, hr, time = rows
    if not (np.isfinite(ppg).all() and np.isfinite(hr).all() and np.isfinite(time).all()):
        raise FormatError(f"{path}: contains NaN or inf")
    if len(time) > 1 and np.any(np.diff(time) < 0):
        raise FormatError(f"{path}: time stamps (line 3) decrease")
    return GroundTruth(ppg=ppg, hr=hr, time=time)


def write_ground_truth(path: str | os.PathLike[str], ppg: np.ndarray, hr: np.ndarray, time: np.ndarray) -> Path:
    """Write the three lines of a DATASET_2 ``ground_truth.txt`` in scientific notation."""
    rows = [np.asarray(r, dtype=float).ravel() for r in (ppg, hr, time)]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("ppg, hr and time must have the same length")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(" ".join(f"{v:.7e}" for v in r) for r in rows) + "\n")
    return path


# ------------------------------------------------------------------------------------------- dataset
def list_subjects(root: str | os.PathLike[str]) -> list[str]:
    """Subject folders (``subjectN`` holding a ``vid.avi``), in numeric order.

    Raises:
        FileNotFoundError: the root is missing or holds no subject folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"UBFC-rPPG root {root} is not a folder")
    subs = [p.name for p in root.iterdir() if p.is_dir() and _SUBJECT.match(p.name) and (p / VIDEO).is_file()]
    if not subs:
        raise FileNotFoundError(f"{root}: no subjectN/{VIDEO} folders (is this DATASET_2?)")
    return sorted(subs, key=lambda s: int(_SUBJECT.match(s).group(1)))


def load_subject(root: str | os.PathLike[str], subject: str) -> tuple[AviVideo, GroundTruth]:
    """The video (lazy) and the ground truth of one subject."""
    folder = Path(root) / subject
    return read_avi(folder / VIDEO), read_ground_truth(folder / GROUND_TRUTH)


def write_subject(root: str | os.PathLike[str], subject: str, frames: np.ndarray, fps: float, ppg: np.ndarray,
                  hr: np.ndarray) -> Path:
    """Write ``subject/vid.avi`` and ``subject/ground_truth.txt`` (ground truth sampled at the frame times)."""
    folder = Path(root) / subject
    write_avi(folder / VIDEO, frames, fps)
    write_ground_truth(folder / GROUND_TRUTH, ppg, hr, np.arange(len(frames)) / fps)
    return folder


def write_dataset(root: str | os.PathLike[str], batch, subjects: Sequence[str] | None = None) -> Path:
    """Write a simulated batch (:class:`medrepro.sim.face_video.FaceVideoBatch`) in the DATASET_2 layout.

    The ground-truth PPG is the batch's fingertip pulse (what the real dataset's oximeter records), its heart
    rate the instantaneous rate at each frame. Subjects are ``subject1`` … unless ``subjects`` names them.
    """
    names = list(subjects) if subjects is not None else [f"subject{i + 1}" for i in range(len(batch))]
    finger = batch.pulse[:, 2]
    for i, name in enumerate(names):
        write_subject(root, name, batch.frames[i], batch.fps, finger[i], batch.hr_track[i])
    return Path(root)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: int = 3, seconds: float = 10.0) -> Path:
    """Write a miniature DATASET_2 (``n`` simulated 32 × 32 clips) and mark it a fixture."""
    from ...sim.face_video import FaceVideoSpec, simulate_face_videos

    batch = simulate_face_videos(n, seed=seed, spec=FaceVideoSpec(seconds=seconds))
    root = write_dataset(root, batch)
    mark_fixture(root, "ubfc-rppg")
    return root
