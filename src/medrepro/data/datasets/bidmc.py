"""BIDMC PPG and Respiration Dataset 1.0.0 (PhysioNet): loader for its real layout, a writer, ``make_fixture``.

The real layout (``data_manifests/bidmc.yaml``; 53 eight-minute recordings of adult ICU patients)::

    RECORDS                        the record names, one per line: bidmc01 … bidmc53
    bidmc01.hea / bidmc01.dat      WFDB, 125 Hz, signals RESP, PLETH, V, AVR, II (the real headers spell the
                                   names with a trailing comma: ``PLETH,``); PLETH is the fingertip PPG
    bidmc01n.hea / bidmc01n.dat    numerics at 1 Hz (HR, PULSE, RESP, SpO2)           — not read here
    bidmc01.breath                 manual breath annotations                          — not read here
    bidmc_csv/bidmc_01_Fix.txt     fixed parameters, one ``Key: value`` per line (Age, Gender, Location)
    bidmc_csv/bidmc_01_Signals.csv, _Numerics.csv, _Breaths.csv   CSV copies       — not read here

:func:`load` returns the PLETH channel of every record with the participant's age and sex, read from the
``Fix.txt`` file (or, failing that, from ``<age>:``/``<sex>:`` comments in the WFDB header). Records are
read by :func:`read_record`, a validating fast path for single-file format-16 WFDB records (any other
variant goes through :func:`medrepro.data.io.read_wfdb`). :func:`write_dataset` writes the same layout —
smoke runs simulate PPG, write it here and read it back through :func:`load` — and :func:`make_fixture`
writes a miniature copy with simulated content for the tests. The fixture writes the files the loader
reads (RECORDS, the WFDB signal records, the ``Fix.txt`` files); it does not write the numerics, the
breath annotations or the CSV copies of the signals.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, WfdbHeaderError, read_wfdb16, write_wfdb16
from . import mark_fixture

#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["RECORDS", "bidmc01.hea", "bidmc_csv/"]
#: Signal names of a BIDMC record, as spelled in the real headers.
SIGNALS: tuple[str, ...] = ("RESP,", "PLETH,", "V,", "AVR,", "II,")
UNITS: tuple[str, ...] = ("pm", "NU", "mV", "mV", "mV")
FS = 125.0
_RECORD = re.compile(r"^bidmc(\d+)$")


@dataclass
class BidmcData:
    """The PPG of each record with its participant's fixed parameters.

    Attributes:
        ppg: one 1-D float32 array per record (PLETH, in the file's units).
        fs: sampling rate (Hz), shared by all records.
        records: record names (``bidmc01`` …).
        age: (n,) years (``90+`` is read as 90); female: (n,) 0/1.
    """

    ppg: list[np.ndarray]
    fs: float
    records: list[str]
    age: np.ndarray
    female: np.ndarray

    def __len__(self) -> int:
        return len(self.records)


# ------------------------------------------------------------------------------------------- reading
def _clean(name: str) -> str:
    return name.strip().strip(",").strip().upper()


def list_records(root: str | os.PathLike[str]) -> list[str]:
    """The signal records of the dataset, from ``RECORDS`` (numerics records ``bidmcNNn`` are skipped).

    Raises:
        FileNotFoundError: the root or its ``RECORDS`` file is missing.
        FormatError: ``RECORDS`` names no ``bidmcNN`` record.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDMC root {root} is not a folder")
    path = root / "RECORDS"
    if not path.is_file():
        raise FileNotFoundError(f"BIDMC record list not found: {path}")
    names = [ln.strip().rstrip("/") for ln in path.read_text().splitlines() if ln.strip()]
    records = [n for n in names if _RECORD.match(Path(n).name)]
    if not records:
        raise FormatError(f"{path}: names no bidmcNN record (first lines: {names[:3]})")
    return records


def fix_path(root: str | os.PathLike[str], record: str) -> Path:
    """``bidmc_csv/bidmc_NN_Fix.txt`` of a record (``bidmc07`` → ``bidmc_07_Fix.txt``)."""
    m = _RECORD.match(Path(record).name)
    if not m:
        raise ValueError(f"not a BIDMC record name: {record!r}")
    return Path(root) / "bidmc_csv" / f"bidmc_{m.group(1)}_Fix.txt"


def _parse_age_sex(text: str) -> tuple[float | None, int | None]:
    age = sex = None
    for m in re.finditer(r"<?\b(age)\b>?\s*:\s*(\d+)", text, flags=re.I):
        age = float(m.group(2))
    for m in re.finditer(r"<?\b(gender|sex)\b>?\s*:\s*([MF])", text, flags=re.I):
        sex = int(m.group(2).upper() == "F")
    return age, sex


def read_fixed(root: str | os.PathLike[str], record: str) -> tuple[float, int]:
    """(age in years, female 0/1) of a record: from its ``Fix.txt``, else from its WFDB header comments.

    Raises:
        FormatError: neither file gives both the age and the sex (both files are named).
    """
    fix = fix_path(root, record)
    age = sex = None
    if fix.is_file():
        age, sex = _parse_age_sex(fix.read_text(errors="replace"))
    if age is None or sex is None:
        hea = Path(root) / f"{record}.hea"
        if hea.is_file():
            comments = "\n".join(ln for ln in hea.read_text(errors="replace").splitlines() if ln.startswith("#"))
            a2, s2 = _parse_age_sex(comments)
            age, sex = age if age is not None else a2, sex if sex is not None else s2
    if age is None or sex is None:
        raise FormatError(f"{fix} (or {record}.hea comments): no 'Age: <years>' and 'Gender: M|F' found")
    return age, sex


def read_record(path_stem: str | os.PathLike[str], *, expect_fs: float | None = None
                ) -> tuple[np.ndarray, float, list[str]]:
    """Read one WFDB record: ``(signal (samples, signals) float32 in physical units, fs, names)``.

    Uses the validating fast path :func:`medrepro.data.io.read_wfdb16` (gain, baseline, length, checksum);
    samples WFDB marks as missing are NaN.

    Raises:
        FileNotFoundError: header or signal file missing (the path is named).
        WfdbHeaderError: malformed header, wrong rate, truncated .dat file, checksum mismatch.
    """
    rec = read_wfdb16(path_stem, expect_fs=expect_fs)
    return rec.signal, rec.fs, list(rec.lead_names)


def _fill_gaps(x: np.ndarray) -> np.ndarray:
    """Replace NaN samples by linear interpolation (edges: the nearest valid sample)."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    if bad.all():
        return np.zeros_like(x)
    idx = np.arange(len(x))
    out = x.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], x[~bad])
    return out


def load(root: str | os.PathLike[str], records: Sequence[str] | None = None) -> BidmcData:
    """The PLETH channel, age and sex of every record (or of ``records``).

    Missing samples (NaN) are filled by linear interpolation.

    Raises:
        FileNotFoundError / FormatError / WfdbHeaderError: a missing or malformed file, named.
    """
    root = Path(root)
    records = list(records) if records is not None else list_records(root)
    ppg, ages, sexes, fs0 = [], [], [], None
    for rec in records:
        x, fs, names = read_record(root / rec)
        clean = [_clean(n) for n in names]
        if "PLETH" not in clean:
            raise FormatError(f"{root / rec}.hea: no PLETH signal (signals: {names})")
        if fs0 is None:
            fs0 = fs
        elif abs(fs - fs0) > 1e-6:
            raise FormatError(f"{root / rec}.hea: {fs:g} Hz, but earlier records have {fs0:g} Hz")
        ppg.append(_fill_gaps(x[:, clean.index("PLETH")].astype(np.float32)))
        a, s = read_fixed(root, rec)
        ages.append(a)
        sexes.append(s)
    return BidmcData(ppg=ppg, fs=float(fs0 or FS), records=[Path(r).name for r in records],
                     age=np.asarray(ages, float), female=np.asarray(sexes, np.int8))


# ------------------------------------------------------------------------------------------- writing
def write_record(path_stem: str | os.PathLike[str], signals: np.ndarray, fs: float,
                 names: Sequence[str] = SIGNALS, units: Sequence[str] = UNITS, comments: Sequence[str] = ()) -> Path:
    """Write (samples, signals) in physical units as a single-file format-16 WFDB record.

    The gain of each signal keeps its peak within ±30,000 adu (1000 adu per unit when the range allows).
    """
    if len(units) != len(names):
        raise ValueError(f"{len(names)} signals need {len(names)} units, got {len(units)}")
    return write_wfdb16(path_stem, signals, fs, names, units=units, comments=comments)


def write_dataset(root: str | os.PathLike[str], ppg: np.ndarray, fs: float, *, age: Sequence[float],
                  female: Sequence[int], resp: np.ndarray | None = None, location: str = "micu") -> Path:
    """Write records ``bidmc01``, ``bidmc02``, … in the BIDMC layout under ``root``.

    Args:
        ppg: (n, samples) PPG written as the PLETH signal.
        fs: sampling rate (BIDMC: 125 Hz).
        age, female: one per record, written to ``bidmc_csv/bidmc_NN_Fix.txt``.
        resp: (n, samples) respiration written as RESP; ``None`` writes a flat line. The ECG signals
            (V, AVR, II) are written as flat lines: they are not simulated.
    """
    root = Path(root)
    (root / "bidmc_csv").mkdir(parents=True, exist_ok=True)
    ppg = np.asarray(ppg, dtype=np.float64)
    n, t = ppg.shape
    if not (len(age) == len(female) == n):
        raise ValueError("ppg, age and female must have one entry per record")
    names = []
    for i in range(n):
        name = f"bidmc{i + 1:02d}"
        x = np.zeros((t, len(SIGNALS)))
        x[:, 1] = ppg[i]
        if resp is not None:
            x[:, 0] = resp[i]
        write_record(root / name, x, fs)
        sex = "F" if int(female[i]) else "M"
        fix_path(root, name).write_text(f"Age: {int(round(float(age[i])))}\nGender: {sex}\nLocation: {location}\n")
        names.append(name)
    (root / "RECORDS").write_text("\n".join(names) + "\n")
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: int = 6, seconds: float = 60.0) -> Path:
    """Write a miniature BIDMC (``n`` simulated records of ``seconds`` at 125 Hz) and mark it a fixture."""
    from ...sim.ppg import sample_participants, simulate_ppg

    people = sample_participants(n, seed=seed)
    people.female[:] = np.arange(n) % 2  # both sexes present, whatever the seed
    batch = simulate_ppg(people, np.arange(n), seconds=seconds, fs=FS, seed=seed + 1)
    t = np.arange(batch.ppg.shape[1]) / FS
    resp = np.sin(2 * np.pi * batch.state["resp_rate"][:, None] / 60.0 * t)
    root = write_dataset(root, batch.ppg, FS, age=people.age, female=people.female, resp=resp)
    mark_fixture(root, "bidmc")
    return root
