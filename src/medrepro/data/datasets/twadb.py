"""T-Wave Alternans Challenge Database 1.0.0 (PhysioNet, 2008): loader for its real layout, ``make_fixture``.

The real layout (``data_manifests/twadb.yaml``; 100 records of about two minutes, 500 Hz, 16-bit over ±32 mV;
most records hold the 12 standard leads, a few only 2 or 3)::

    RECORDS              the record names, one per line: twa00 … twa99
    twa00.hea / .dat     WFDB header and format-16 signal file
    twa00.qrs            QRS annotations (``wfdb.rdann(..., "qrs")``): every beat marked as if normal

The reference TWA rankings of the 2008 challenge live in a separate PhysioNet project (challenge-2008) and are
not read here. :func:`read_record` reads one record and its beats; :func:`load` returns one lead and the QRS
samples per record; :func:`write_record` writes the same layout and :func:`make_fixture` a miniature copy with
simulated two-lead content (``medrepro.sim.ecg_beats``; leads named ``II`` and ``V1``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, check_annotation_span, read_wfdb, read_wfdb_annotation, write_wfdb
from . import mark_fixture

FS = 500.0
#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["RECORDS", "twa00.hea", "twa00.dat", "twa00.qrs"]
#: The 100 record names.
RECORDS: tuple[str, ...] = tuple(f"twa{i:02d}" for i in range(100))


@dataclass
class TwaRecord:
    """One record: ``signal`` (samples × leads, mV), lead names and the QRS annotation samples."""

    name: str
    signal: np.ndarray
    fs: float
    leads: list[str]
    qrs: np.ndarray

    def lead(self, name: str = "II") -> np.ndarray:
        """One lead by name."""
        if name not in self.leads:
            raise FormatError(f"record {self.name}: no lead {name!r} (leads {self.leads})")
        return self.signal[:, self.leads.index(name)]


def list_records(root: str | os.PathLike[str]) -> list[str]:
    """The record names listed in ``<root>/RECORDS``."""
    path = Path(root) / "RECORDS"
    if not path.is_file():
        raise FileNotFoundError(f"twadb index not found: {path} (is {root} the extracted twadb folder?)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_record(root: str | os.PathLike[str], name: str) -> TwaRecord:
    """Read ``<root>/<name>.hea/.dat`` and its QRS annotations ``<name>.qrs`` (missing samples are NaN).

    Raises:
        FileNotFoundError: a file of the record is missing (the message names it).
        FormatError: an unreadable header or annotation file, or a rate other than 500 Hz.
            An empty annotation file, or annotations outside the signal, are errors too.
    """
    stem = Path(root) / name
    rec = read_wfdb(stem, expect_fs=FS)
    qrs, _ = read_wfdb_annotation(stem, "qrs")
    check_annotation_span(stem, "qrs", qrs, len(rec.signal))
    return TwaRecord(name=name, signal=rec.signal, fs=rec.fs, leads=list(rec.lead_names),
                     qrs=qrs)


def load(root: str | os.PathLike[str], records: Sequence[str] | None = None, lead: str = "II"
         ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per record: ``(signal of `lead` (samples,) in mV, QRS samples)``; records without `lead` are skipped."""
    out = {}
    for name in (records if records is not None else list_records(root)):
        rec = read_record(root, name)
        if lead in rec.leads:
            out[name] = (rec.lead(lead), rec.qrs)
    return out


def write_record(root: str | os.PathLike[str], name: str, signal: np.ndarray, leads: Sequence[str],
                 qrs: np.ndarray, fs: float = FS) -> Path:
    """Write one record in the twadb layout: format-16 ``.hea/.dat`` and a ``.qrs`` file (all beats ``N``)."""
    import wfdb

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_wfdb(root / name, np.asarray(signal, dtype=np.float64), fs, list(leads))
    qrs = np.asarray(qrs, dtype=np.int64)
    wfdb.wrann(name, "qrs", qrs, symbol=["N"] * len(qrs), write_dir=str(root))
    return root / name


def write_records(root: str | os.PathLike[str], signals: np.ndarray, r_peaks: np.ndarray, names: Sequence[str],
                  leads: Sequence[str] = ("II", "V1"), fs: float = FS) -> Path:
    """Write (records, samples, leads) signals with padded R peaks (−1) as twadb records plus ``RECORDS``."""
    root = Path(root)
    if len(names) != len(signals):
        raise ValueError(f"{len(signals)} signals but {len(names)} record names")
    for i, name in enumerate(names):
        write_record(root, name, signals[i], leads, r_peaks[i][r_peaks[i] >= 0], fs)
    (root / "RECORDS").write_text("".join(f"{n}\n" for n in names))
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_records: int = 8, seconds: float = 40.0) -> Path:
    """A miniature twadb: ``n_records`` simulated two-lead records (``twa00`` …) of ``seconds`` at 500 Hz."""
    from ...sim.ecg_beats import BeatConfig, simulate_beat_records

    sim = simulate_beat_records(n_records, seconds=seconds, fs=FS, seed=seed,
                                config=BeatConfig(p_has_v=0.1, p_has_s=0.1, p_bbb=0.1))
    write_records(root, sim.signals, sim.r_peaks, list(RECORDS[:n_records]), fs=FS)
    mark_fixture(root, "twadb")
    return Path(root)
