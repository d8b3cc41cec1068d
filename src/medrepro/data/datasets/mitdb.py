"""MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet): loader for its real layout, a writer, ``make_fixture``.

The real layout (``data_manifests/mitdb.yaml``; 48 half-hour two-lead ambulatory records of 47 subjects)::

    RECORDS              the record names, one per line: 100 … 234
    100.hea / 100.dat    WFDB, 360 Hz, format 212 (11-bit), two signals; in 45 records the first is MLII,
                         the second V1 (or V2, V4, V5); record 114 has them the other way round
    100.atr              reference beat annotations (``wfdb.rdann``): one symbol per beat (N, L, R, A, V, ...)
                         plus non-beat annotations (rhythm changes ``+``, noise ``~``, ...)

:func:`read_record` reads one record with its annotations; :func:`load_beats` returns, per record, the MLII
signal, the beat R-peak samples and the beats' AAMI classes (:data:`AAMI`: N, S, V, F, Q; non-beat
annotations are dropped). :data:`DS1` / :data:`DS2` are the inter-patient split of de Chazal et al. (2004),
which leaves out the four paced records (:data:`PACED`). :func:`write_record` writes the same layout
(format 212 signals and an ``.atr`` file); :func:`write_simulated` writes ``medrepro.sim.ecg_beats`` output
as MIT-BIH records and :func:`make_fixture` a miniature copy for the tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, check_annotation_span, read_wfdb, read_wfdb_annotation
from . import mark_fixture

FS = 360.0
#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["RECORDS", "100.hea", "100.dat", "100.atr"]
#: The 48 records.
RECORDS: tuple[str, ...] = tuple(str(r) for r in (
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 111, 112, 113, 114, 115, 116, 117, 118, 119, 121, 122, 123,
    124, 200, 201, 202, 203, 205, 207, 208, 209, 210, 212, 213, 214, 215, 217, 219, 220, 221, 222, 223, 228, 230,
    231, 232, 233, 234))
#: Records with paced beats, excluded from the inter-patient protocol.
PACED: tuple[str, ...] = ("102", "104", "107", "217")
#: de Chazal et al. (2004) inter-patient split: training set DS1 and test set DS2 (22 records each).
DS1: tuple[str, ...] = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201",
                        "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2: tuple[str, ...] = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213",
                        "214", "219", "221", "222", "228", "231", "232", "233", "234")
#: Records of one subject: 201 and 202 come from the same man (the database's directory, "48 records of 47
#: subjects"), so de Chazal's DS1/DS2 split puts one subject on both sides.
SAME_SUBJECT: dict[str, str] = {"202": "201"}


def subject_of(record: str) -> str:
    """The subject of an MIT-BIH record, named by its first record (``"202"`` → ``"201"``, others unchanged)."""
    return SAME_SUBJECT.get(str(record), str(record))


def subject_disjoint(train: Sequence[str], test: Sequence[str]) -> list[str]:
    """``test`` without the records whose subject also has a record in ``train`` (202 when 201 trains).

    The inter-patient protocol must never see one subject on both sides; de Chazal's DS2 holds 202, whose
    subject is DS1's 201, so ``subject_disjoint(DS1, DS2)`` is DS2 less 202.
    """
    seen = {subject_of(r) for r in train}
    return [r for r in test if subject_of(r) not in seen]
#: AAMI EC57 beat classes and the MIT-BIH symbols that map to them.
AAMI: dict[str, tuple[str, ...]] = {
    "N": ("N", "L", "R", "e", "j"), "S": ("A", "a", "J", "S"), "V": ("V", "E"), "F": ("F",), "Q": ("/", "f", "Q"),
}
AAMI_CLASSES: tuple[str, ...] = tuple(AAMI)
_SYMBOL_TO_CLASS = {s: i for i, cls in enumerate(AAMI_CLASSES) for s in AAMI[cls]}


@dataclass
class MitdbRecord:
    """One record: ``signal`` (samples × 2, mV), its leads, and the annotation samples and symbols."""

    name: str
    signal: np.ndarray
    fs: float
    leads: list[str]
    ann_sample: np.ndarray
    ann_symbol: list[str]

    def lead(self, name: str = "MLII") -> np.ndarray:
        """One lead by name (MIT-BIH record 114 stores MLII second)."""
        if name not in self.leads:
            raise FormatError(f"record {self.name}: no lead {name!r} (leads {self.leads})")
        return self.signal[:, self.leads.index(name)]


def aami_class(symbols: Sequence[str]) -> np.ndarray:
    """AAMI class index (into :data:`AAMI_CLASSES`) of each annotation symbol; −1 for non-beat annotations."""
    return np.array([_SYMBOL_TO_CLASS.get(s, -1) for s in symbols], dtype=np.int64)


def read_record(root: str | os.PathLike[str], name: str) -> MitdbRecord:
    """Read ``<root>/<name>.hea/.dat`` and the reference annotations ``<name>.atr`` (missing samples are NaN).

    Raises:
        FileNotFoundError: a file of the record is missing (the message names it).
        FormatError: the header or annotation file is unreadable, or the rate is not 360 Hz.
            An empty annotation file, or annotations outside the signal, are errors too.
    """
    stem = Path(root) / name
    rec = read_wfdb(stem, expect_fs=FS)
    ann_sample, ann_symbol = read_wfdb_annotation(stem, "atr")
    check_annotation_span(stem, "atr", ann_sample, len(rec.signal))
    return MitdbRecord(name=name, signal=rec.signal, fs=rec.fs, leads=list(rec.lead_names),
                       ann_sample=ann_sample, ann_symbol=ann_symbol)


def list_records(root: str | os.PathLike[str]) -> list[str]:
    """The record names listed in ``<root>/RECORDS``."""
    path = Path(root) / "RECORDS"
    if not path.is_file():
        raise FileNotFoundError(f"MIT-BIH index not found: {path} (is {root} the extracted mitdb folder?)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def load_beats(root: str | os.PathLike[str], records: Sequence[str] | None = None, lead: str = "MLII"
               ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per record: ``(signal of `lead` (samples,), beat R-peak samples, AAMI class of each beat)``.

    ``records`` defaults to every record in ``RECORDS``; records not on disk raise FileNotFoundError.
    """
    out = {}
    for name in (records if records is not None else list_records(root)):
        rec = read_record(root, name)
        cls = aami_class(rec.ann_symbol)
        beat = cls >= 0
        out[name] = (rec.lead(lead), rec.ann_sample[beat], cls[beat])
    return out


def write_record(root: str | os.PathLike[str], name: str, signal: np.ndarray, leads: Sequence[str],
                 samples: np.ndarray, symbols: Sequence[str], fs: float = FS) -> Path:
    """Write one record in the MIT-BIH layout: format-212 ``.hea/.dat`` and an ``.atr`` annotation file.

    As in the real headers, 200 adu/mV, 11-bit resolution and a baseline (ADC zero) of 1024; values beyond
    the 11-bit range (about −5 to +5 mV) are clipped.
    """
    import wfdb

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != len(leads) or not np.isfinite(signal).all():
        raise ValueError(f"signal must be finite, shape (samples, {len(leads)}); got {signal.shape}")
    d_signal = np.clip(np.round(signal * 200.0) + 1024, 0, 2047).astype(np.int32)
    n = signal.shape[1]
    rec = wfdb.Record(record_name=name, n_sig=n, fs=float(fs), sig_len=len(d_signal), file_name=[f"{name}.dat"] * n,
                      fmt=["212"] * n, adc_gain=[200.0] * n, baseline=[1024] * n, units=["mV"] * n,
                      adc_res=[11] * n, adc_zero=[1024] * n, sig_name=list(leads), d_signal=d_signal,
                      init_value=[int(v) for v in d_signal[0]], block_size=[0] * n)
    rec.set_d_features(do_adc=False)
    rec.wrsamp(write_dir=str(root))
    wfdb.wrann(name, "atr", np.asarray(samples, dtype=np.int64), symbol=list(symbols), write_dir=str(root))
    return root / name


def write_simulated(root: str | os.PathLike[str], sim, names: Sequence[str]) -> Path:
    """Write a :class:`medrepro.sim.ecg_beats.BeatRecords` (one patient per name) as MIT-BIH records."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if len(names) != len(sim):
        raise ValueError(f"{len(sim)} simulated patients but {len(names)} record names")
    for i, name in enumerate(names):
        r, _ = sim.beats(i)
        write_record(root, name, sim.signals[i], sim.leads, r, sim.symbols(i), fs=sim.fs)
    (root / "RECORDS").write_text("".join(f"{n}\n" for n in names))
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_records: int = 6, seconds: float = 60.0) -> Path:
    """A miniature MIT-BIH (``n_records`` records of DS1 and DS2, ``seconds`` long) with simulated beats."""
    from ...sim.ecg_beats import simulate_beat_records

    half = max(1, n_records // 2)
    names = list(DS1[:half]) + list(DS2[:n_records - half])
    sim = simulate_beat_records(len(names), seconds=seconds, fs=FS, seed=seed)
    write_simulated(root, sim, names)
    mark_fixture(root, "mitdb")
    return Path(root)
