"""Thin, validating readers and writers for the real file formats: WFDB, NIfTI, DICOM.

Smoke mode writes simulated data through the writers and reads it back through the same readers that
full mode uses on the real datasets, so both paths are exercised on every run. Every reader checks what
it read and raises an error that names the file and says what is wrong.
"""
from __future__ import annotations

import io
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np


class FormatError(ValueError):
    """A file is malformed; the message names the file."""


class WfdbHeaderError(FormatError):
    """A WFDB header disagrees with its signal file, or is unreadable."""


class NiftiError(FormatError):
    """A NIfTI file has the wrong shape, NaNs, or cannot be read."""


class ImageFormatError(FormatError):
    """An image file (PNG, JPEG) cannot be decoded, or has an unexpected mode or size; the message names the file."""


class DicomError(FormatError):
    """A DICOM file lacks what the caller needs (e.g. pixel data)."""


# ----------------------------------------------------------------------------------------------- WFDB
@dataclass
class WfdbRecord:
    """A WFDB record: ``signal`` (samples × leads) in physical units, with its header facts."""

    signal: np.ndarray
    fs: float
    lead_names: list[str]
    units: list[str]
    comments: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def seconds(self) -> float:
        return self.signal.shape[0] / self.fs


def write_wfdb(path_stem: str | os.PathLike[str], signal: np.ndarray, fs: float, lead_names: Sequence[str],
               units: str | Sequence[str] = "mV", comments: Sequence[str] = (), fmt: str = "16") -> Path:
    """Write ``signal`` (samples × leads, physical units) as ``<stem>.hea`` + ``<stem>.dat``.

    The gain is chosen per lead so that 16-bit storage keeps ~1 µV resolution for ECG-range signals.
    """
    import wfdb

    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != len(lead_names):
        raise ValueError(f"signal must be (samples, {len(lead_names)}), got {signal.shape}")
    if not np.isfinite(signal).all():
        raise ValueError("signal has NaN or inf values; WFDB cannot store them faithfully")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    units = [units] * signal.shape[1] if isinstance(units, str) else list(units)
    peak = np.maximum(np.abs(signal).max(axis=0), 1e-3)
    gain = np.minimum(1000.0, np.floor(30000.0 / peak))  # 1000 adu/mV = 1 µV steps when the range allows
    d_signal = np.round(signal * gain).astype(np.int32)
    wfdb.wrsamp(stem.name, fs=float(fs), units=units, sig_name=list(lead_names), d_signal=d_signal,
                fmt=[fmt] * signal.shape[1], adc_gain=list(gain), baseline=[0] * signal.shape[1],
                comments=list(comments), write_dir=str(stem.parent))
    return stem


#: Bytes per sample of the WFDB storage formats whose files have a fixed size (``numerator / denominator``);
#: the FLAC formats (508, 516, 524) and the packed 310/311 are read without a file-size check.
_FMT_BYTES: dict[str, tuple[int, int]] = {"8": (1, 1), "16": (2, 1), "24": (3, 1), "32": (4, 1), "61": (2, 1),
                                          "80": (1, 1), "160": (2, 1), "212": (3, 2)}
#: The stored value that marks a missing sample ("no sample" in WFDB), per format (format 8 has none).
_INVALID: dict[str, int] = {"16": -2**15, "61": -2**15, "160": -2**15, "212": -2**11, "80": -2**7, "310": -2**9,
                            "311": -2**9, "24": -2**23, "32": -2**31, "508": -2**7, "516": -2**15, "524": -2**23}
_PLAIN_NUMBER = re.compile(r"^(\d+\.?\d*|\.\d+)$")
_WFDB_GAIN = re.compile(r"^([-+0-9.eE]+)(?:\((-?\d+)\))?(?:/(\S+))?$")
_WFDB_FORMAT = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")


@dataclass
class _RecordLine:
    """The facts of a WFDB header's record line (its first non-comment line)."""

    name: str
    n_sig: int
    fs: float
    n_samp: int | None  # None: not given, taken from the file size as WFDB does


def _header_path(path_stem: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(stem, header path)`` for a record given by its stem or by its ``.hea`` path."""
    p = Path(path_stem)
    if p.suffix == ".hea":
        return p.with_name(p.name[:-4]), p
    return p, p.with_name(p.name + ".hea")


def _header_lines(hea: Path) -> tuple[list[str], list[str]]:
    """``(non-comment lines, comments)`` of a header, each stripped as WFDB does (blank lines dropped)."""
    if not hea.is_file():
        raise FileNotFoundError(f"WFDB header not found: {hea}")
    lines, comments = [], []
    for ln in hea.read_text(encoding="ascii", errors="replace").splitlines():
        ln = ln.strip()
        if ln.startswith("#"):
            comments.append(ln.strip(" \t#"))
        elif ln:
            lines.append(ln)
    if not lines:
        raise WfdbHeaderError(f"{hea}: no record line (the header is empty or holds only comments)")
    return lines, comments


def _parse_record_line(hea: Path, line: str) -> _RecordLine:
    """Parse and validate ``name[/segments] signals [fs[/counter[(base)]] [samples [time [date]]]]``.

    Raises:
        WfdbHeaderError: a multi-segment record (not supported), a signal count that is not a positive whole
            number, or a sampling rate or length that is not a plain positive number (the file is named).
            A length of 0, which WFDB reads as "unspecified", is refused too (the wfdb package cannot read it).
    """
    tok = line.split()
    if "/" in tok[0]:
        raise WfdbHeaderError(f"{hea}: {tok[0]!r} is a multi-segment record (its signals are in the segment "
                              "records it lists); medrepro reads single-segment records only: read each segment")
    if len(tok) < 2 or not tok[1].isdigit():
        raise WfdbHeaderError(f"{hea}: unreadable WFDB record line {line!r} (expected 'name signals [fs [samples]]')")
    n_sig = int(tok[1])
    if n_sig < 1:
        raise WfdbHeaderError(f"{hea}: the record line {line!r} declares no signals")
    fs = 250.0  # WFDB's default when the header gives no sampling frequency
    if len(tok) > 2:
        f = tok[2].split("/")[0]
        if not _PLAIN_NUMBER.match(f) or float(f) <= 0:
            raise WfdbHeaderError(f"{hea}: sampling frequency {f!r} in {line!r} is not a positive number")
        fs = float(f)
    n_samp = None
    if len(tok) > 3:
        if not tok[3].isdigit():
            raise WfdbHeaderError(f"{hea}: number of samples {tok[3]!r} in {line!r} is not a positive whole number")
        n_samp = int(tok[3])
        if n_samp == 0:  # WFDB reads 0 as "unspecified", the wfdb package cannot read such a header at all
            raise WfdbHeaderError(f"{hea}: the record line {line!r} declares 0 samples per signal; leave the "
                                  "field out to have the length taken from the signal file")
    return _RecordLine(name=tok[0], n_sig=n_sig, fs=fs, n_samp=n_samp)


def _frames_in_file(hea: Path, dat: Path, fmts: Sequence[str], offset: int, n_samp: int | None) -> int | None:
    """Check a signal file's size against the header and return its length in frames.

    ``fmts`` are the formats of the signals stored in ``dat`` (one sample each per frame). With ``n_samp``
    given, the file must hold exactly ``offset`` bytes plus ``n_samp`` frames: fewer is a truncated file,
    more means the header declares fewer signals or samples than the file holds. Without it, the length is
    the file size in whole frames, as WFDB defines it. Formats without a fixed size are not checked (None).
    """
    if not dat.is_file():
        raise FileNotFoundError(f"{hea} refers to signal file {dat.name}, which is missing ({dat})")
    if len(set(fmts)) != 1 or fmts[0] not in _FMT_BYTES:
        return n_samp
    num, den = _FMT_BYTES[fmts[0]]
    k = len(fmts)

    def size(n: int) -> int:
        return offset + -(-n * k * num // den)  # ceil: format 212 packs two samples in three bytes

    have = dat.stat().st_size
    if n_samp is None:
        n = max(0, (have - offset) * den // (k * num))
        if n == 0:
            raise WfdbHeaderError(f"{dat}: holds no samples ({have} bytes) and {hea.name} does not give the length")
        if size(n) != have:
            raise WfdbHeaderError(f"{dat}: {have} bytes are not a whole number of {k}-signal format-{fmts[0]} frames "
                                  f"(after a {offset}-byte offset); {hea.name} gives no length to check against")
        return n
    need = size(n_samp)
    if have < need:
        held = max(0, (have - offset) * den // (k * num))
        raise WfdbHeaderError(f"{hea} declares {k} signals × {n_samp} samples in {dat.name}, the file holds only "
                              f"{held}×{k} samples ({have} of {need} bytes): truncated")
    if have > need:
        raise WfdbHeaderError(f"{hea} declares {k} signals × {n_samp} samples in {dat.name} ({need} bytes), the "
                              f"file holds {have} bytes: the header declares fewer signals or samples than the "
                              "file holds, so its samples would be read scrambled")
    return n_samp


def _check_checksums(hea: Path, d: np.ndarray, checksums: Sequence[int | None], names: Sequence[str]) -> None:
    """Compare the WFDB checksums (16-bit sums of the stored samples) with the header, modulo 65536.

    C WFDB writes them as signed 16-bit values, wfdb-python (which wrote PTB-XL) as ``sum % 65536``: both
    are the same number modulo 65536. A signal line without a checksum is not checked, as in WFDB.
    """
    got = d.astype(np.int64).sum(axis=0) % 65536
    bad = [names[j] for j, c in enumerate(checksums) if c is not None and got[j] != int(c) % 65536]
    if bad:
        raise WfdbHeaderError(f"{hea}: checksum mismatch in signals {bad}: the signal file is corrupt or was "
                              "modified, or the header describes other samples than the file holds")


def _to_physical(d: np.ndarray, gains: Sequence[float], bases: Sequence[int], fmts: Sequence[str]) -> np.ndarray:
    """Stored samples (samples, signals) to physical units, float32; WFDB's "no sample" value becomes NaN."""
    x = (d.astype(np.float32) - np.asarray(bases, np.float32)) / np.asarray(gains, np.float32)
    for j, f in enumerate(fmts):
        bad = d[:, j] == _INVALID[f] if f in _INVALID else None
        if bad is not None and bad.any():
            x[bad, j] = np.nan
    return x


def _check_expected(hea: Path, names: Sequence[str], fs: float, expect_leads: Sequence[str] | None,
                    expect_fs: float | None) -> None:
    if expect_leads is not None and [s.upper() for s in names] != [s.upper() for s in expect_leads]:
        raise WfdbHeaderError(f"{hea}: leads {list(names)}, expected {list(expect_leads)}")
    if expect_fs is not None and abs(fs - expect_fs) > 1e-6:
        raise WfdbHeaderError(f"{hea}: sampling rate {fs:g} Hz, expected {expect_fs:g} Hz")


def read_wfdb(path_stem: str | os.PathLike[str], *, expect_leads: Sequence[str] | None = None,
              expect_fs: float | None = None) -> WfdbRecord:
    """Read a single-segment WFDB record with the ``wfdb`` package, and validate it.

    ``path_stem`` is the record's path without extension (or its ``.hea`` file). Checks: the record line
    (a positive sampling rate and length; a missing length is taken from the file size, as WFDB does), each
    signal file's size against the declared signals and samples (a truncated file, or one holding more than
    the header declares), the per-signal WFDB checksums (signed or unsigned, compared modulo 65536), and the
    leads and rate the caller expects. Samples WFDB marks as missing ("no sample") are NaN.
    :func:`read_wfdb16` reads the same files identically, faster.

    Raises:
        FileNotFoundError: the header or a signal file is missing (the path is named).
        WfdbHeaderError: the header cannot be parsed, is a multi-segment record or has several samples per
            frame or skew (not supported), disagrees with its signal files, or the leads or sampling rate
            differ from what the caller expects. Every message names the file.
    """
    import wfdb

    stem, hea = _header_path(path_stem)
    lines, _ = _header_lines(hea)
    rl = _parse_record_line(hea, lines[0])
    n_sig = rl.n_sig
    if len(lines) - 1 != n_sig:
        raise WfdbHeaderError(f"{hea} declares {n_sig} signals but describes {len(lines) - 1}")
    try:
        header = wfdb.rdheader(str(stem))
    except Exception as exc:  # wfdb raises plain Exceptions of several kinds on a bad header
        raise WfdbHeaderError(f"{hea}: unreadable WFDB header ({type(exc).__name__}: {exc})") from exc
    if header.n_sig != n_sig or len(header.file_name or []) != n_sig or abs(header.fs - rl.fs) > 1e-9 * rl.fs:
        raise WfdbHeaderError(f"{hea}: the header is malformed: the record line declares {n_sig} signals at "
                              f"{rl.fs:g} Hz, wfdb reads {len(header.file_name or [])} signal lines at {header.fs} Hz")
    names = [str(s) for s in header.sig_name]
    if any((s or 1) != 1 for s in header.samps_per_frame) or any(s for s in (header.skew or []) if s):
        raise WfdbHeaderError(f"{hea}: signals with several samples per frame or with skew are not supported")
    _check_expected(hea, names, rl.fs, expect_leads, expect_fs)
    offsets = [int(o or 0) for o in (header.byte_offset or [0] * n_sig)]
    n_samp = rl.n_samp
    lengths = set()
    for fname in dict.fromkeys(header.file_name):
        cols = [j for j in range(n_sig) if header.file_name[j] == fname]
        if len({offsets[j] for j in cols}) != 1:
            raise WfdbHeaderError(f"{hea}: the signals of {fname} give different byte offsets")
        lengths.add(_frames_in_file(hea, stem.parent / fname, [header.fmt[j] for j in cols], offsets[cols[0]],
                                    rl.n_samp))
    if rl.n_samp is None:
        lengths.discard(None)
        if len(lengths) > 1:
            raise WfdbHeaderError(f"{hea} gives no length and its signal files hold different numbers of samples "
                                  f"{sorted(lengths)}")
        n_samp = lengths.pop() if lengths else None
    try:
        rec = wfdb.rdrecord(str(stem), physical=False)  # without a length in the header, wfdb takes the file's
    except Exception as exc:
        raise WfdbHeaderError(f"{hea}: could not read the record ({type(exc).__name__}: {exc})") from exc
    d = rec.d_signal
    if d is None or d.ndim != 2 or d.shape[1] != n_sig or (n_samp is not None and d.shape[0] != n_samp):
        raise WfdbHeaderError(f"{hea} declares {n_sig} signals × {n_samp} samples, the data read has shape "
                              f"{None if d is None else d.shape}")
    _check_checksums(hea, d, header.checksum or [None] * n_sig, names)
    gains = [float(g) or 200.0 for g in header.adc_gain]  # WFDB: gain 0 means the default of 200 adu per unit
    x = _to_physical(d, gains, [int(b) for b in header.baseline], list(header.fmt))
    return WfdbRecord(signal=x, fs=rl.fs, lead_names=names, units=list(header.units),
                      comments=list(header.comments or []), path=stem)


def read_wfdb16(path_stem: str | os.PathLike[str], *, expect_leads: Sequence[str] | None = None,
                expect_fs: float | None = None) -> WfdbRecord:
    """Read a WFDB record through a validating fast path for format-16 records; identical to :func:`read_wfdb`.

    PhysioNet's 12-lead and PPG sets (PTB-XL, BIDMC, PTB, ...) store records in format 16 (PTB in two
    files, ``.dat`` and ``.xyz``); parsing the header here and reading the samples with numpy is ~25× faster
    than :func:`read_wfdb`, which matters for thousands of records. The same checks are made, with the same
    errors: record line, file sizes (truncation, or more samples than declared), the per-signal WFDB
    checksums (modulo 65536: C WFDB writes them signed, wfdb-python unsigned), leads and rate. WFDB's
    "no sample" value (−32768) becomes NaN. Any other WFDB variant (other formats, several samples per
    frame, signal lines without checksum or description) goes through :func:`read_wfdb`.

    Raises:
        FileNotFoundError: the header or a signal file is missing (the path is named).
        WfdbHeaderError: as :func:`read_wfdb`.
    """
    stem, hea = _header_path(path_stem)
    lines, comments = _header_lines(hea)
    rl = _parse_record_line(hea, lines[0])
    n_sig = rl.n_sig
    sig = [ln.split(maxsplit=8) for ln in lines[1:]]
    if len(sig) != n_sig:
        raise WfdbHeaderError(f"{hea} declares {n_sig} signals but describes {len(sig)}")
    fmt = [_WFDB_FORMAT.match(s[1]) if len(s) > 1 else None for s in sig]
    if (any(len(s) < 9 for s in sig) or any(m is None or m.group(1) != "16" or m.group(2) or m.group(3)
                                             for m in fmt)):
        return read_wfdb(hea, expect_leads=expect_leads, expect_fs=expect_fs)
    gains, bases, checks, names, units = [], [], [], [], []
    for s in sig:
        m = _WFDB_GAIN.match(s[2])
        if not m:
            raise WfdbHeaderError(f"{hea}: cannot parse gain field {s[2]!r}")
        try:
            gains.append(float(m.group(1)) or 200.0)  # WFDB: gain 0 means the default of 200 adu per unit
            bases.append(int(m.group(2)) if m.group(2) is not None else int(s[4]))
            checks.append(int(s[6]))
        except ValueError as exc:
            raise WfdbHeaderError(f"{hea}: unreadable signal line {' '.join(s)!r} ({exc})") from exc
        units.append(m.group(3) or "mV")
        names.append(s[8].strip())
    _check_expected(hea, names, rl.fs, expect_leads, expect_fs)
    files: dict[str, list[int]] = {}
    for j, s in enumerate(sig):
        files.setdefault(s[0], []).append(j)
    offsets = [int(m.group(4) or 0) for m in fmt]
    plan, lengths = [], set()
    for fname, cols in files.items():
        if len({offsets[j] for j in cols}) != 1:
            raise WfdbHeaderError(f"{hea}: the signals of {fname} give different byte offsets")
        dat = hea.parent / fname
        lengths.add(_frames_in_file(hea, dat, ["16"] * len(cols), offsets[cols[0]], rl.n_samp))
        plan.append((dat, cols, offsets[cols[0]]))
    if len(lengths) > 1:
        raise WfdbHeaderError(f"{hea} gives no length and its signal files hold different numbers of samples "
                              f"{sorted(lengths)}")
    n_samp = lengths.pop()
    d = np.empty((n_samp, n_sig), dtype="<i2")
    for dat, cols, offset in plan:
        d[:, cols] = np.fromfile(dat, dtype="<i2", count=n_samp * len(cols), offset=offset).reshape(n_samp, len(cols))
    _check_checksums(hea, d, checks, names)
    x = _to_physical(d, gains, bases, ["16"] * n_sig)
    return WfdbRecord(signal=x, fs=rl.fs, lead_names=names, units=units, comments=comments, path=stem)


def write_wfdb16(path_stem: str | os.PathLike[str], signal: np.ndarray, fs: float, lead_names: Sequence[str],
                 units: str | Sequence[str] = "mV", comments: Sequence[str] = (),
                 gain: float | Sequence[float] | None = None) -> Path:
    """Write (samples, signals) in physical units as one single-file format-16 record, fast (no wfdb call).

    ``gain`` (adu per unit) defaults, per signal, to 1000 when the range allows and otherwise to what keeps
    the peak within ±30,000 adu. The header carries the WFDB checksums that :func:`read_wfdb16` verifies.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(lead_names):
        raise ValueError(f"signal must be (samples, {len(lead_names)}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{path_stem}: signal has NaN or inf values")
    units = [units] * x.shape[1] if isinstance(units, str) else list(units)
    if gain is None:
        g = np.minimum(1000.0, np.floor(30000.0 / np.maximum(np.abs(x).max(axis=0), 1e-3)))
    else:
        g = np.broadcast_to(np.asarray(gain, dtype=np.float64), (x.shape[1],))
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    d = np.clip(np.round(x * g), -32767, 32767).astype("<i2")
    d.tofile(stem.with_name(stem.name + ".dat"))
    checks = ((d.astype(np.int64).sum(0) + 32768) % 65536) - 32768
    lines = [f"{stem.name} {len(lead_names)} {fs:g} {d.shape[0]}"]
    for j, (nm, un) in enumerate(zip(lead_names, units)):
        lines.append(f"{stem.name}.dat 16 {float(g[j])!r}(0)/{un} 16 0 {int(d[0, j])} {int(checks[j])} 0 {nm}")
    lines += [f"# {c}" for c in comments]
    stem.with_name(stem.name + ".hea").write_text("\n".join(lines) + "\n")
    return stem


def read_wfdb_annotation(path_stem: str | os.PathLike[str], extension: str) -> tuple[np.ndarray, list[str]]:
    """Read a WFDB annotation file ``<stem>.<extension>`` (e.g. ``atr``, ``qrs``): ``(sample indices, symbols)``.

    A WFDB annotation file ends with an end-of-file marker (two zero bytes), so an empty file, or one cut
    before its marker, is refused rather than read as a record without annotations.

    Raises:
        FileNotFoundError: the annotation file is missing (the path is named).
        FormatError: the file is empty, truncated (no end-of-file marker), or cannot be parsed.
    """
    import wfdb

    stem = Path(path_stem)
    ann_path = stem.with_name(f"{stem.name}.{extension}")
    if not ann_path.is_file():
        raise FileNotFoundError(f"WFDB annotation file not found: {ann_path}")
    size = ann_path.stat().st_size
    if size == 0:
        raise FormatError(f"{ann_path}: empty annotation file (0 bytes; even a file without annotations holds an "
                          "end-of-file marker): it was not written completely")
    with open(ann_path, "rb") as f:
        f.seek(max(0, size - 2))
        tail = f.read()
    if size % 2 or tail != b"\x00\x00":
        raise FormatError(f"{ann_path}: does not end with the WFDB end-of-file marker (two zero bytes): truncated")
    try:
        ann = wfdb.rdann(str(stem), extension)
    except Exception as exc:  # wfdb raises plain Exceptions on a corrupt annotation file
        raise FormatError(f"{ann_path}: unreadable WFDB annotation file ({type(exc).__name__}: {exc})") from exc
    return np.asarray(ann.sample, dtype=np.int64), list(ann.symbol)


# ---------------------------------------------------------------------------------------------- NIfTI
@dataclass
class NiftiImage:
    """A NIfTI volume (array in the file's voxel order) with its voxel spacing and affine."""

    array: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray
    path: Path | None = None


def check_annotation_span(path_stem: str | os.PathLike[str], extension: str, samples: np.ndarray,
                          n_samples: int) -> None:
    """Raise :class:`FormatError` when a record that must be annotated has no annotation, or one outside its signal.

    For databases whose every record is annotated (MIT-BIH, TWADB): an empty ``<stem>.<extension>`` or a sample
    index outside ``0..n_samples-1`` (the annotation file of another record) is an error naming the file.
    """
    stem = Path(path_stem)
    path = stem.with_name(f"{stem.name}.{extension}")
    if len(samples) == 0:
        raise FormatError(f"{path}: no annotations for a record of {n_samples} samples; every record of the "
                          "database has its beats annotated")
    if samples.min() < 0 or samples.max() >= n_samples:
        raise FormatError(f"{path}: annotations at samples {samples.min()}..{samples.max()}, outside the record's "
                          f"0..{n_samples - 1}: the annotation file belongs to another record")


def open_image(path: str | os.PathLike[str]):
    """Open and decode an image file (PNG, JPEG, BMP, ...) with PIL; returns the loaded ``PIL.Image.Image``.

    Raises:
        FileNotFoundError: no such file.
        ImageFormatError: PIL cannot decode it (the message names the file and PIL's error).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            return im
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageFormatError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc


def write_nifti(path: str | os.PathLike[str], array: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0),
                dtype: type | None = None) -> Path:
    """Save ``array`` as NIfTI-1 (``.nii`` or ``.nii.gz``) with a diagonal affine of ``spacing``.

    The file is written to a temporary name and renamed, so a crash never leaves a half-written volume.
    """
    import nibabel as nib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(array if dtype is None else np.asarray(array).astype(dtype))
    affine = np.eye(4)
    for i, s in enumerate(list(spacing)[:3]):
        affine[i, i] = s
    img = nib.Nifti1Image(arr, affine)
    img.header.set_zooms(tuple(list(spacing)[: arr.ndim]) + (1.0,) * max(0, arr.ndim - len(spacing)))
    tmp = path.with_name(".tmp-" + path.name)
    nib.save(img, str(tmp))
    os.replace(tmp, path)
    return path


def read_nifti(path: str | os.PathLike[str], *, ndim: int | Sequence[int] | None = None,
               allow_nan: bool = False, dtype: type = np.float32) -> NiftiImage:
    """Load a NIfTI file and validate it.

    Raises:
        FileNotFoundError: no such file.
        NiftiError: unreadable or truncated file, wrong number of dimensions, or NaN/inf values.
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    try:
        img = nib.load(str(path))
        arr = np.asarray(img.dataobj, dtype=dtype)
    except Exception as exc:  # nibabel raises several kinds for truncated or corrupt files
        raise NiftiError(f"{path}: cannot read NIfTI ({type(exc).__name__}: {exc})") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise NiftiError(f"{path}: has {arr.ndim} dimensions {arr.shape}, expected {' or '.join(map(str, allowed))}")
    if not allow_nan and not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise NiftiError(f"{path}: contains {n_bad} NaN/inf voxels")
    spacing = tuple(float(z) for z in img.header.get_zooms()[: arr.ndim])
    return NiftiImage(array=arr, spacing=spacing, affine=np.asarray(img.affine), path=path)


# ---------------------------------------------------------------------------------------------- DICOM
def read_dicom(path: str | os.PathLike[str]):
    """Read a DICOM file and return ``(pixels, dataset)``; MONOCHROME1 is inverted to display convention.

    The inversion is over the stored range (``2**BitsStored - 1 - value``; ``-1 - value`` for signed
    pixels), so an image stored as MONOCHROME1 reads as the same image stored as MONOCHROME2 would.

    Raises:
        FileNotFoundError: no such file.
        DicomError: not a DICOM file, or it has no pixel data.
    """
    import pydicom

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DICOM file not found: {path}")
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:
        raise DicomError(f"{path}: not a readable DICOM file ({exc})") from exc
    if "PixelData" not in ds:
        raise DicomError(f"{path}: has no pixel data (SOP class {getattr(ds, 'SOPClassUID', 'unknown')})")
    try:
        px = ds.pixel_array
    except Exception as exc:
        raise DicomError(f"{path}: pixel data cannot be decoded ({exc})") from exc
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        # invert within the stored range, not the image's own maximum, so every slice of a series (and the
        # same image stored as MONOCHROME2) reads the same
        bits = int(getattr(ds, "BitsStored", 0) or px.dtype.itemsize * 8)
        signed = int(getattr(ds, "PixelRepresentation", 0) or 0) == 1
        top = -1 if signed else 2 ** bits - 1  # signed: [min, max] maps onto [max, min]
        px = (top - px.astype(np.int64)).astype(px.dtype)  # stays within the stored range, so the dtype holds it
    return px, ds


def read_dicom_waveform(path: str | os.PathLike[str], group: int = 0) -> tuple[np.ndarray, float, list[str]]:
    """Read a DICOM waveform (e.g. a 12-lead ECG): ``(samples × channels in mV, fs, channel names)``.

    Raises:
        FileNotFoundError: no such file.
        DicomError: not a readable DICOM file, no waveform sequence or no group ``group`` in it, or waveform
            data that cannot be decoded (the message names the file).
    """
    import pydicom

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DICOM file not found: {path}")
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:  # pydicom raises several kinds on a file that is not DICOM or is cut short
        raise DicomError(f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
    if "WaveformSequence" not in ds:
        raise DicomError(f"{path}: has no WaveformSequence")
    n_groups = len(ds.WaveformSequence)
    if not 0 <= group < n_groups:
        raise DicomError(f"{path}: has {n_groups} waveform groups, group {group} was asked for")
    seq = ds.WaveformSequence[group]
    try:
        arr = ds.waveform_array(group).astype(np.float64)
        fs = float(seq.SamplingFrequency)
        channels = list(seq.ChannelDefinitionSequence)
    except Exception as exc:  # missing or inconsistent waveform attributes, truncated WaveformData
        raise DicomError(f"{path}: waveform group {group} cannot be decoded ({type(exc).__name__}: {exc})") from exc
    if arr.ndim != 2 or arr.shape[1] != len(channels) or not fs > 0:
        raise DicomError(f"{path}: waveform group {group} has data of shape {arr.shape} for {len(channels)} "
                         f"channels at {fs} Hz")
    names, scale = [], []
    for ch in channels:
        src = ch.ChannelSourceSequence[0].CodeMeaning if "ChannelSourceSequence" in ch else "?"
        names.append(str(src).replace("Lead ", "").replace(" (Einthoven)", "").replace(" (Goldberger)", "").strip())
        unit = ch.ChannelSensitivityUnitsSequence[0].CodeValue if "ChannelSensitivityUnitsSequence" in ch else "uV"
        scale.append(1e-3 if unit.lower() in ("uv", "µv") else 1.0)
    # waveform_array already applies sensitivity and baseline; convert µV → mV
    return arr * np.asarray(scale), fs, names


@dataclass
class DicomCine:
    """A multi-frame ultrasound cine read from DICOM.

    Attributes:
        frames: (T, H, W) grey levels (``gray=True``) or (T, H, W, 3) RGB, as stored (uint8 for 8-bit data).
        frame_time_ms: time between frames (Frame Time, else Frame Time Vector, else Cine Rate / Recommended
            Display Frame Rate); ``None`` when the file gives none.
        pixel_mm: (row, column) physical pixel size in mm from the first 2-D region of the Sequence of
            Ultrasound Regions (Physical Delta Y/X in cm), or ``None``.
        region: (x0, y0, x1, y1) pixel bounds of that region, or ``None``.
        frame_indices: the indices of the returned frames in the file.
        n_frames_in_file: Number of Frames of the file.
        path: the file read.
        dataset: the pydicom dataset (pixel data not decoded).
    """

    frames: np.ndarray
    frame_time_ms: float | None
    pixel_mm: tuple[float, float] | None
    region: tuple[int, int, int, int] | None
    frame_indices: np.ndarray
    n_frames_in_file: int
    path: Path
    dataset: Any = None

    @property
    def fps(self) -> float | None:
        return None if not self.frame_time_ms else 1000.0 / self.frame_time_ms


def _cine_frame_time(ds: Any) -> float | None:
    if "FrameTime" in ds and ds.FrameTime not in (None, ""):
        return float(ds.FrameTime)
    if "FrameTimeVector" in ds and ds.FrameTimeVector:
        v = [float(x) for x in ds.FrameTimeVector][1:]  # the first entry is 0 by definition
        return float(np.mean(v)) if v else None
    for key in ("CineRate", "RecommendedDisplayFrameRate"):
        if key in ds and ds.get(key) not in (None, "") and float(ds.get(key)) > 0:
            return 1000.0 / float(ds.get(key))
    return None


def read_dicom_cine(path: str | os.PathLike[str], *, frames: Sequence[int] | slice | None = None,
                    gray: bool = True) -> DicomCine:
    """Read a multi-frame (cine) DICOM, e.g. Ultrasound Multi-frame Image Storage, frame by frame.

    Decodes only the requested ``frames`` (indices or a slice; default all), so a long compressed loop can be
    sampled cheaply. Colour data (RGB, or YBR converted to RGB by pydicom, JPEG baseline through Pillow) is
    turned into grey levels with the ITU-R BT.601 luma weights when ``gray`` is true. A single-frame file reads
    as a cine of one frame.

    Raises:
        FileNotFoundError: no such file.
        DicomError: not a readable DICOM file, no pixel data, frame indices outside the file, or pixel data
            that cannot be decoded (the message names the file and the frame).
    """
    import pydicom
    from pydicom.pixels import iter_pixels, pixel_array

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DICOM file not found: {path}")
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=False)
    except Exception as exc:
        raise DicomError(f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
    if "PixelData" not in ds:
        raise DicomError(f"{path}: has no pixel data (SOP class {getattr(ds, 'SOPClassUID', 'unknown')})")
    n_file = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames is None:
        idx = np.arange(n_file)
    elif isinstance(frames, slice):
        idx = np.arange(n_file)[frames]
    else:
        idx = np.asarray(list(frames), dtype=int)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= n_file:
        raise DicomError(f"{path}: has {n_file} frames; frames {idx.tolist()[:8]} were asked for")
    want = np.unique(idx)
    got: dict[int, np.ndarray] = {}
    try:  # decode from the file, frame by frame (iter_pixels reads each frame's bytes only once)
        for i, px in zip(want, iter_pixels(str(path), indices=[int(i) for i in want]) if n_file > 1
                         else [pixel_array(str(path))]):
            got[int(i)] = px
    except Exception as exc:
        raise DicomError(f"{path}: frame {len(got) and int(want[len(got)])} cannot be decoded "
                         f"({type(exc).__name__}: {exc})") from exc
    out = [got[int(i)] for i in idx]
    if gray and out[0].ndim == 3:  # BT.601 luma in integer arithmetic: (299 R + 587 G + 114 B) / 1000, rounded
        w = np.array([299, 587, 114], np.uint32)
        out = [((f[..., :3].astype(np.uint32) @ w + 500) // 1000).astype(f.dtype) for f in out]
    arr = np.stack(out)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        bits = int(getattr(ds, "BitsStored", 0) or arr.dtype.itemsize * 8)
        arr = ((2 ** bits - 1) - arr.astype(np.int64)).astype(arr.dtype)
    pixel_mm = region = None
    for reg in getattr(ds, "SequenceOfUltrasoundRegions", []) or []:
        if int(getattr(reg, "RegionSpatialFormat", 0) or 0) == 1 and int(getattr(reg, "PhysicalUnitsXDirection", 0)) == 3:
            pixel_mm = (float(reg.PhysicalDeltaY) * 10.0, float(reg.PhysicalDeltaX) * 10.0)   # cm → mm
            region = (int(reg.RegionLocationMinX0), int(reg.RegionLocationMinY0),
                      int(reg.RegionLocationMaxX1), int(reg.RegionLocationMaxY1))
            break
    return DicomCine(frames=arr, frame_time_ms=_cine_frame_time(ds), pixel_mm=pixel_mm, region=region,
                     frame_indices=idx, n_frames_in_file=n_file, path=path, dataset=ds)


#: Ultrasound Multi-frame Image Storage
US_MULTIFRAME_SOP = "1.2.840.10008.5.1.4.1.1.3.1"


def write_dicom_cine(path: str | os.PathLike[str], frames: np.ndarray, *, fps: float, pixel_mm: float,
                     patient_id: str = "SIM", description: str = "simulated apical view", manufacturer: str = "medrepro",
                     model: str = "simulator") -> Path:
    """Write (T, H, W) uint8 grey levels as an uncompressed Ultrasound Multi-frame Image (MONOCHROME2) with pydicom.

    Frame Time and Cine Rate give the frame rate, a Sequence of Ultrasound Regions the pixel size (in cm, as
    scanners store it). The file is written to a temporary name and renamed, so a failure leaves no partial
    file.

    Raises:
        ValueError: frames not (T, H, W) uint8, or a non-positive fps or pixel size.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_dicom_cine needs (T, H, W) uint8 frames, got {frames.shape} {frames.dtype}")
    if not fps > 0 or not pixel_mm > 0:
        raise ValueError(f"fps and pixel_mm must be positive, got {fps}, {pixel_mm}")
    path = Path(path)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_MULTIFRAME_SOP
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = US_MULTIFRAME_SOP, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.Manufacturer, ds.ManufacturerModelName = "US", manufacturer, model
    ds.PatientID, ds.PatientName, ds.SeriesDescription = patient_id, "SIMULATED", description
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames = int(frames.shape[0])
    ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1063)
    ds.FrameTime = f"{1000.0 / fps:.3f}"
    ds.CineRate = int(round(fps))
    ds.Rows, ds.Columns = int(frames.shape[1]), int(frames.shape[2])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    region = pydicom.Dataset()
    region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = 1, 1, 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = int(frames.shape[2]) - 1, int(frames.shape[1]) - 1
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3   # cm
    region.PhysicalDeltaX = region.PhysicalDeltaY = float(pixel_mm) / 10.0
    ds.SequenceOfUltrasoundRegions = pydicom.Sequence([region])
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    return save_dicom_atomic(ds, path)


def save_dicom_atomic(ds, path: Path) -> Path:
    """Write ``ds`` to ``path`` through a ``.part`` file renamed into place, so no half-written DICOM is left."""
    tmp = path.with_name(path.name + ".part")
    try:
        ds.save_as(str(tmp), enforce_file_format=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays only — no other callable can be reached.

    Some datasets ship Python pickles (DEAP's ``sXX.dat``, THINGS-EEG2's ``.npy`` files holding a dict). A plain
    ``pickle.load`` or ``np.load(allow_pickle=True)`` can run any code the file names; this unpickler refuses every
    global but the few numpy needs to rebuild arrays.
    """

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are expected)")
        return super().find_class(module, name)


def load_array_pickle(fh: Any) -> Any:
    """Read one pickled object of arrays, dicts, lists and strings from an open binary file, refusing anything else.

    Python-2 pickles (DEAP) are read with ``latin1`` so their numpy buffers come back intact. Raises
    :class:`pickle.UnpicklingError` for a forbidden global.
    """
    return ArrayOnlyUnpickler(io.BufferedReader(fh), encoding="latin1").load()
