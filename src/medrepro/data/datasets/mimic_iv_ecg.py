"""MIMIC-IV-ECG (PhysioNet, open access): diagnostic 12-lead ECGs with machine reports, linked to MIMIC-IV.

The real layout (MIMIC-IV-ECG: Diagnostic Electrocardiogram Matched Subset, version 1.0, ``data_manifests/
mimic_iv_ecg.yaml``)::

    record_list.csv            subject_id, study_id, file_name, ecg_time, path   (one row per ECG)
    machine_measurements.csv   subject_id, study_id, cart_id, ecg_time, report_0 ... report_17, bandwidth,
                               filtering, rr_interval, p_onset, p_end, qrs_onset, qrs_end, t_end, p_axis,
                               qrs_axis, t_axis   (the machine's statements, one per ``report_k`` column)
    files/p1000/p10000032/s40689238/40689238.hea   WFDB header: 12 signals, 500 Hz, 5,000 samples (10 s)
    files/p1000/p10000032/s40689238/40689238.dat   the samples, format 16

The folder ``pXXXX`` is the first four digits of the subject id; ``path`` in ``record_list.csv`` is the record
path relative to the root, without extension. ``subject_id`` is MIMIC-IV's patient id, so an ECG links to the
same patient's chest radiographs in MIMIC-CXR (:func:`link_nearest`); dates are shifted per patient, consistently
across the MIMIC-IV modules. The lead order of the real headers is not assumed: :func:`read_signals` reorders
the leads by their names into :data:`LEADS`.

:func:`read_index` reads the two tables (no waveforms: the release has about 800,000 records);
:func:`read_signals` reads the waveforms of chosen records through :func:`medrepro.data.io.read_wfdb16` and
resamples them to the rate the caller asks for (block means, for integer ratios); :func:`write_layout` writes
the same layout from arrays (smoke runs write simulated records and read them back); :func:`make_fixture` writes
a miniature copy through the reference library (``wfdb.wrsamp``).
"""
from __future__ import annotations

import csv
import re
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import folder_holding, mark_fixture

RECORD_LIST = "record_list.csv"
MEASUREMENTS = "machine_measurements.csv"
RECORD_COLUMNS: tuple[str, ...] = ("subject_id", "study_id", "file_name", "ecg_time", "path")
N_REPORT = 18
MEASUREMENT_COLUMNS: tuple[str, ...] = (("subject_id", "study_id", "cart_id", "ecg_time")
                                        + tuple(f"report_{k}" for k in range(N_REPORT))
                                        + ("bandwidth", "filtering", "rr_interval", "p_onset", "p_end", "qrs_onset",
                                           "qrs_end", "t_end", "p_axis", "qrs_axis", "t_axis"))
#: The 12 leads in the order :func:`read_signals` returns them.
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: The lead order the smoke writer and the fixture use (aVF before aVL, as reported for the real headers).
FILE_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")
_TIME = "%Y-%m-%d %H:%M:%S"


class MimicIvEcgFormatError(FormatError):
    """A MIMIC-IV-ECG file that does not have the published layout; the message names the file."""


@dataclass
class EcgIndex:
    """The rows of ``record_list.csv`` with the machine report of each record (row-aligned arrays)."""

    subject: np.ndarray       # (n,) int
    study: np.ndarray         # (n,) int
    time: np.ndarray          # (n,) datetime64[s]
    path: list[str]           # record paths relative to the root, no extension
    reports: list[str]        # report_0 ... report_17 joined with ". " ("" when the table has no row)

    def __len__(self) -> int:
        return len(self.subject)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "EcgIndex":
        rows = np.asarray(rows, dtype=int)
        return EcgIndex(self.subject[rows], self.study[rows], self.time[rows], [self.path[i] for i in rows],
                        [self.reports[i] for i in rows])


def record_path(subject: int, study: int) -> str:
    """``files/pXXXX/p<subject>/s<study>/<study>`` (XXXX: the first four digits of the subject id)."""
    s = str(int(subject))
    return f"files/p{s[:4]}/p{s}/s{int(study)}/{int(study)}"


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds ``record_list.csv`` (``path`` itself or one of its children)."""
    return folder_holding(path, RECORD_LIST, "mimic_iv_ecg")


def _rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found in {path.parent}: is this the MIMIC-IV-ECG folder?")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise MimicIvEcgFormatError(f"{path}: columns {missing} missing (header: {reader.fieldnames})")
        return list(reader)


def join_report(row: dict[str, str]) -> str:
    """The machine statements ``report_0`` ... ``report_17`` of one row, non-empty ones joined with ". "."""
    parts = [(row.get(f"report_{k}") or "").strip() for k in range(N_REPORT)]
    return ". ".join(p.rstrip(".") for p in parts if p)


def read_index(root: str | os.PathLike[str], *, subjects: Sequence[int] | None = None) -> EcgIndex:
    """Read ``record_list.csv`` and the reports of ``machine_measurements.csv`` (optionally only ``subjects``)."""
    root = find_root(root)
    keep = None if subjects is None else {int(s) for s in subjects}
    recs = _rows(root / RECORD_LIST, RECORD_COLUMNS)
    meas = _rows(root / MEASUREMENTS, ("subject_id", "study_id", "report_0"))
    reports = {int(r["study_id"]): join_report(r) for r in meas if keep is None or int(r["subject_id"]) in keep}
    sub, stu, when, paths = [], [], [], []
    for k, r in enumerate(recs):
        try:
            s, st = int(r["subject_id"]), int(r["study_id"])
            t = np.datetime64(r["ecg_time"].strip().replace(" ", "T"), "s")
        except ValueError as exc:
            raise MimicIvEcgFormatError(f"{root / RECORD_LIST}: row {k + 2} has an unreadable subject_id, study_id "
                                        f"or ecg_time ({exc})") from exc
        if keep is not None and s not in keep:
            continue
        sub.append(s), stu.append(st), when.append(t), paths.append(r["path"].strip())
    return EcgIndex(np.array(sub, dtype=np.int64), np.array(stu, dtype=np.int64),
                    np.array(when, dtype="datetime64[s]"), paths, [reports.get(s, "") for s in stu])


def read_signals(root: str | os.PathLike[str], paths: Sequence[str], *, fs: float = 100.0,
                 seconds: float = 10.0) -> np.ndarray:
    """The records at ``paths`` as ``(n, 12, fs * seconds)`` float32 in mV, leads in :data:`LEADS` order.

    A record sampled at ``k × fs`` (integer ``k``) is resampled by means over blocks of ``k`` samples; missing
    samples (WFDB "no sample") become 0. Raises naming the record when a lead is missing, the rate is not an
    integer multiple of ``fs``, or the record is shorter than ``seconds``.
    """
    from ..io import read_wfdb16

    root = find_root(root)
    n_out = int(round(fs * seconds))
    out = np.empty((len(paths), len(LEADS), n_out), dtype=np.float32)
    for i, p in enumerate(paths):
        rec = read_wfdb16(root / p)
        names = list(rec.lead_names)
        missing = [ld for ld in LEADS if ld not in names]
        if missing:
            raise MimicIvEcgFormatError(f"{root / p}.hea: leads {missing} missing (has {names})")
        k = rec.fs / fs
        if abs(k - round(k)) > 1e-6 or round(k) < 1:
            raise MimicIvEcgFormatError(f"{root / p}.hea: rate {rec.fs:g} Hz is not an integer multiple of {fs:g} Hz")
        k = int(round(k))
        if rec.signal.shape[0] < n_out * k:
            raise MimicIvEcgFormatError(f"{root / p}.hea: {rec.signal.shape[0]} samples, fewer than {seconds:g} s "
                                        f"at {rec.fs:g} Hz")
        x = np.nan_to_num(rec.signal[: n_out * k, [names.index(ld) for ld in LEADS]], nan=0.0)
        out[i] = x.reshape(n_out, k, len(LEADS)).mean(1).T
    return out


def link_nearest(cxr_subject: np.ndarray, cxr_time: np.ndarray, index: EcgIndex, *,
                 max_days: float = 60.0) -> np.ndarray:
    """For each radiograph, the row of ``index`` of the same patient's ECG nearest in time; -1 if none within
    ``max_days`` (MoRE's preprocessing keeps CXR–ECG pairs of one subject at most 60 days apart)."""
    t_ecg = index.time.astype("datetime64[s]").astype(np.int64)
    t_cxr = np.asarray(cxr_time).astype("datetime64[s]").astype(np.int64)
    rows: dict[int, np.ndarray] = {}
    for j, s in enumerate(index.subject):
        rows.setdefault(int(s), []).append(j)  # type: ignore[union-attr]
    out = np.full(len(cxr_subject), -1, dtype=int)
    for i, s in enumerate(cxr_subject):
        cand = np.asarray(rows.get(int(s), []), dtype=int)
        if len(cand):
            gap = np.abs(t_ecg[cand] - t_cxr[i])
            j = int(np.argmin(gap))
            if gap[j] <= max_days * 86400:
                out[i] = int(cand[j])
    return out


def cxr_times(study_datetime: np.ndarray) -> np.ndarray:
    """MIMIC-CXR ``StudyDate``+``StudyTime`` integers (YYYYMMDDHHMMSS, -1 missing) as datetime64[s] (NaT missing)."""
    out = np.full(len(study_datetime), np.datetime64("NaT"), dtype="datetime64[s]")
    for i, v in enumerate(np.asarray(study_datetime, dtype=np.int64)):
        if v >= 0:
            s = f"{v:014d}"
            out[i] = np.datetime64(f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}:{s[12:14]}", "s")
    return out


# ------------------------------------------------------------------------------------------------ write
def write_layout(root: str | os.PathLike[str], signals: np.ndarray, fs: float, subject: Sequence[int],
                 study: Sequence[int], ecg_time: Sequence[str], reports: Sequence[Sequence[str]], *,
                 leads: Sequence[str] = LEADS, reference: bool = False) -> Path:
    """Write records ``(n, samples, 12)`` in mV (columns in ``leads`` order) with their tables under ``root``.

    Files keep :data:`FILE_LEADS` order. ``reports`` holds each record's machine statements (at most 18, one per
    ``report_k`` column). ``reference=True`` writes the WFDB files with ``wfdb.wrsamp`` (fixtures); otherwise
    with the fast :func:`medrepro.data.io.write_wfdb16` (same format-16 layout, gain 200 adu/mV).
    """
    from ..io import write_wfdb, write_wfdb16

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != len(leads):
        raise ValueError(f"signals must be (n, samples, {len(leads)}), got {x.shape}")
    order = [list(leads).index(ld) for ld in FILE_LEADS]
    rec_rows, meas_rows = [], []
    for i in range(len(x)):
        rel = record_path(subject[i], study[i])
        if reference:
            write_wfdb(root / rel, x[i][:, order], fs, FILE_LEADS)
        else:
            write_wfdb16(root / rel, x[i][:, order], fs, FILE_LEADS, gain=200.0)
        rec_rows.append([int(subject[i]), int(study[i]), int(study[i]), ecg_time[i], rel])
        statements = list(reports[i])[:N_REPORT]
        meas_rows.append([int(subject[i]), int(study[i]), 6848, ecg_time[i]]
                         + statements + [""] * (N_REPORT - len(statements))
                         + ["0.5-150 Hz", "60 Hz notch Baseline filter"] + [""] * 9)
    for name, header, rows in ((RECORD_LIST, RECORD_COLUMNS, rec_rows), (MEASUREMENTS, MEASUREMENT_COLUMNS, meas_rows)):
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 16, seconds: float = 10.0) -> Path:
    """A miniature MIMIC-IV-ECG: one 500 Hz record per subject (subjects 10000000 + i, as the ``mimic_cxr``
    fixture), dated within 30 days of that fixture's films, written with ``wfdb.wrsamp``, with its two tables."""
    from ...sim.ecg import SimConfig, simulate_12lead
    from ...sim.reports import generate_reports

    root = Path(root)
    rng = np.random.default_rng(seed)
    batch = simulate_12lead(n_subjects, fs=500.0, seconds=seconds, seed=seed, config=SimConfig(p_lvh=0.4, p_afib=0.3))
    reps = generate_reports(batch, seed=seed + 1)
    subject = 10000000 + np.arange(n_subjects)
    study = 40000000 + np.arange(n_subjects)
    # the mimic_cxr fixture dates the current film of patient i on 2181-01-(1 + i % 28)
    day = np.datetime64("2181-01-01") + (np.arange(n_subjects) % 28) + rng.integers(-30, 31, n_subjects)
    times = [f"{d} {int(h):02d}:{int(m):02d}:00" for d, h, m in zip(day.astype(str), rng.integers(0, 24, n_subjects),
                                                                    rng.integers(0, 60, n_subjects))]
    write_layout(root, batch.signals, 500.0, subject, study, times, [re.split(r"[.;,] ", r) for r in reps], reference=True)
    mark_fixture(root, "mimic_iv_ecg")
    return root
