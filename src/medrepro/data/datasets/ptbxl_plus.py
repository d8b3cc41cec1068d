"""PTB-XL+ 1.0.1 (PhysioNet): measured ECG features joined to PTB-XL by ``ecg_id``; writer and ``make_fixture``.

PTB-XL+ adds to PTB-XL the features that three ECG analysis programs measured on every record: GE
Marquette 12SL, the University of Glasgow program (Uni-G) and the open-source ECGDeli, in harmonised
column names. The real layout (``data_manifests/ptbxl_plus.yaml``), as unpacked from the PhysioNet zip::

    ptb-xl-a-comprehensive-electrocardiographic-feature-dataset-1.0.1/
        features/12sl_features.csv      one row per ecg_id; ``ecg_id`` is a column, not necessarily the first
        features/unig_features.csv      the same harmonised names (Uni-G's subset)
        features/ecgdeli_features.csv   median over beats plus ``<name>_iqr`` and ``<name>_count`` columns
        features/feature_description.csv, labels/, median_beats/, fiducial_points/   (not read here)

Global interval columns (ms; heart rate in bpm): ``PR_Int_Global``, ``QRS_Dur_Global``, ``QT_Int_Global``,
``RR_Mean_Global``; ``HR__Global`` (two underscores) in 12SL and Uni-G. ECGDeli has no heart-rate column:
the rate is 60,000 / ``RR_Mean_Global`` there. Missing measurements are empty cells (NaN), e.g. the PR
interval in atrial fibrillation.

PTB-XL itself is a separate download (``data_manifests/ptbxl.yaml``, loader
:mod:`medrepro.data.datasets.ptbxl`). A user unpacks both PhysioNet zips side by side in one folder, and
that folder is the ``DATA_DIR`` of a notebook::

    DATA_DIR/
        ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.3/     (PTB-XL)
        ptb-xl-a-comprehensive-electrocardiographic-feature-dataset-1.0.1/       (PTB-XL+)

:func:`locate_pair` finds both there (or downloads each into the cache); :func:`load_intervals` reads
the four global intervals of one program, validating the file; :func:`join` attaches them to PTB-XL's
database. :func:`write_features` writes the feature files in the real layout from known intervals,
:func:`write_simulated` writes a simulated batch as PTB-XL + PTB-XL+ (smoke runs read it back through the
same loaders), and :func:`make_fixture` writes a marked miniature of both for the tests. The fixture's
feature files hold a subset of the real columns (the global intervals the loader reads, plus a few
neighbours), with the simulator's ground-truth intervals as the "measured" values.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

#: Folder names of the two PhysioNet zips once unpacked (the manifests' ``root``).
PTBXL_DIR = "ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.3"
PLUS_DIR = "ptb-xl-a-comprehensive-electrocardiographic-feature-dataset-1.0.1"
#: Feature file of each measuring program, relative to the PTB-XL+ root.
ALGORITHMS: dict[str, str] = {"12sl": "features/12sl_features.csv", "unig": "features/unig_features.csv",
                              "ecgdeli": "features/ecgdeli_features.csv"}
ALGORITHM_NAMES: dict[str, str] = {"12sl": "GE Marquette 12SL", "unig": "University of Glasgow (Uni-G)",
                                   "ecgdeli": "ECGDeli (open source)"}
#: Paths under the PTB-XL+ root that full mode needs (the manifest's ``layout``).
LAYOUT = list(ALGORITHMS.values())
#: The global intervals read here: our name → the harmonised PTB-XL+ column (units ms, heart rate bpm).
INTERVALS: dict[str, str] = {"pr_ms": "PR_Int_Global", "qrs_ms": "QRS_Dur_Global", "qt_ms": "QT_Int_Global",
                             "hr_bpm": "HR__Global"}
RR_COLUMN = "RR_Mean_Global"
#: Plausible ranges; values outside are treated as failed measurements (NaN) by :func:`load_intervals`.
PLAUSIBLE: dict[str, tuple[float, float]] = {"pr_ms": (40.0, 600.0), "qrs_ms": (30.0, 300.0),
                                             "qt_ms": (150.0, 800.0), "hr_bpm": (15.0, 300.0)}


# ------------------------------------------------------------------------------------------- reading
def feature_path(root: str | os.PathLike[str], algorithm: str = "12sl") -> Path:
    """Path of one program's feature file under the PTB-XL+ root."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown PTB-XL+ algorithm {algorithm!r}; choose one of {sorted(ALGORITHMS)}")
    return Path(root) / ALGORITHMS[algorithm]


def load_features(root: str | os.PathLike[str], algorithm: str = "12sl",
                  columns: Sequence[str] | None = None) -> "pd.DataFrame":  # noqa: F821
    """One program's feature table indexed by ``ecg_id`` (all columns, or ``columns``).

    Raises:
        FileNotFoundError: the feature file is missing (its path is named).
        FormatError: no ``ecg_id`` column, duplicate or non-integer ids, requested columns missing, or a
            requested column that is not numeric (the file and the columns are named).
    """
    import pandas as pd

    path = feature_path(root, algorithm)
    if not path.is_file():
        raise FileNotFoundError(f"PTB-XL+ feature file not found: {path} (is {Path(root)} the PTB-XL+ root, "
                                f"the folder that holds features/?)")
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if "ecg_id" not in header:
        raise FormatError(f"{path}: no 'ecg_id' column (found {len(header)} columns: {header[:6]}...); "
                          "is this a PTB-XL+ feature file?")
    if columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise FormatError(f"{path}: missing columns {missing}")
    table = pd.read_csv(path, usecols=None if columns is None else ["ecg_id", *columns])
    ids = pd.to_numeric(table["ecg_id"], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any():
        bad = table.loc[ids.isna() | (ids % 1 != 0), "ecg_id"].iloc[0]
        raise FormatError(f"{path}: ecg_id {bad!r} is not an integer")
    table["ecg_id"] = ids.astype(np.int64)
    if table["ecg_id"].duplicated().any():
        dup = int(table.loc[table["ecg_id"].duplicated(), "ecg_id"].iloc[0])
        raise FormatError(f"{path}: ecg_id {dup} appears more than once")
    table = table.set_index("ecg_id")
    for c in columns or ():
        values = pd.to_numeric(table[c], errors="coerce")
        bad = values.isna() & table[c].notna()
        if bad.any():
            raise FormatError(f"{path}: column {c} holds a non-numeric value {table.loc[bad, c].iloc[0]!r} "
                              f"(ecg_id {int(table.index[bad][0])})")
        table[c] = values.astype(float)
    return table


def load_intervals(root: str | os.PathLike[str], algorithm: str = "12sl", *, plausible: bool = True
                   ) -> "pd.DataFrame":  # noqa: F821
    """The global PR, QRS and QT intervals (ms) and heart rate (bpm) one program measured, by ``ecg_id``.

    Columns ``pr_ms``, ``qrs_ms``, ``qt_ms``, ``hr_bpm`` (NaN where the program gave no value). For ECGDeli,
    which has no heart-rate column, ``hr_bpm`` = 60,000 / ``RR_Mean_Global``. With ``plausible``, values
    outside :data:`PLAUSIBLE` become NaN (failed measurements, not physiology).
    """
    wanted = [INTERVALS[k] for k in ("pr_ms", "qrs_ms", "qt_ms")]
    wanted += [RR_COLUMN] if algorithm == "ecgdeli" else [INTERVALS["hr_bpm"]]
    table = load_features(root, algorithm, wanted)
    out = table[wanted[:3]].rename(columns={v: k for k, v in INTERVALS.items()})
    if algorithm == "ecgdeli":
        rr = table[RR_COLUMN]
        out["hr_bpm"] = 60000.0 / rr.where(rr > 0)
    else:
        out["hr_bpm"] = table[INTERVALS["hr_bpm"]]
    if plausible:
        for k, (lo, hi) in PLAUSIBLE.items():
            out[k] = out[k].where((out[k] >= lo) & (out[k] <= hi))
    return out[list(INTERVALS)]


def join(db, intervals) -> "pd.DataFrame":  # noqa: F821
    """PTB-XL's database (index ``ecg_id``) with the interval columns attached (NaN where PTB-XL+ has no row)."""
    clash = [c for c in intervals.columns if c in db.columns]
    if clash:
        raise ValueError(f"the database already has columns {clash}")
    return db.join(intervals, how="left")


def locate_pair(data_dir: str | os.PathLike[str] | None = None, *, download_ok: bool = True) -> tuple[Path, Path]:
    """``(ptbxl_root, ptbxl_plus_root)``: both unpacked side by side in ``data_dir``, or each downloaded.

    Uses :func:`medrepro.data.manifest.locate` with the manifests ``ptbxl`` and ``ptbxl_plus``; each looks in
    ``data_dir`` and ``data_dir/<its root folder>`` first.
    """
    from ..manifest import locate

    return (locate("ptbxl", data_dir, download_ok=download_ok),
            locate("ptbxl_plus", data_dir, download_ok=download_ok))


# ------------------------------------------------------------------------------------------- writing
def write_features(root: str | os.PathLike[str], ecg_ids: Sequence[int], intervals: Mapping[str, np.ndarray], *,
                   algorithms: Sequence[str] = tuple(ALGORITHMS), measurement_sd: float = 0.0,
                   n_beats: Sequence[int] | None = None, seed: int = 0) -> Path:
    """Write PTB-XL+ feature files (``features/<algorithm>_features.csv``) under ``root`` from known intervals.

    Args:
        ecg_ids: one id per record (the PTB-XL ``ecg_id``).
        intervals: arrays ``pr_ms`` (NaN: not measurable, e.g. in AF), ``qrs_ms``, ``qt_ms``, ``hr_bpm``, and
            optionally ``qtc_ms`` (written as ``QT_IntBazett_Global``).
        measurement_sd: sd (ms; bpm for the rate) of independent Gaussian error added per program, so the
            programs disagree as real ones do; 0 writes the given values.
        n_beats: beats per record, for ECGDeli's ``_count`` columns (default: from the heart rate, 10 s).

    12SL and Uni-G values are written in whole milliseconds (bpm); ECGDeli's as medians with one decimal,
    with an ``_iqr`` and a ``_count`` column each. 12SL's ``ecg_id`` column is not the first, as in the
    real file, so readers must find it by name.
    """
    import pandas as pd

    root = Path(root)
    (root / "features").mkdir(parents=True, exist_ok=True)
    ids = np.asarray(ecg_ids, dtype=np.int64)
    n = len(ids)
    iv = {k: np.asarray(intervals[k], dtype=float) for k in INTERVALS}
    if any(len(v) != n for v in iv.values()):
        raise ValueError("every interval array needs one value per ecg_id")
    qtc = np.asarray(intervals.get("qtc_ms", iv["qt_ms"] / np.sqrt(60.0 / iv["hr_bpm"])), dtype=float)
    beats = (np.asarray(n_beats) if n_beats is not None else np.maximum(1, np.round(iv["hr_bpm"] / 6.0))).astype(int)
    rng = np.random.default_rng(seed)
    for alg in algorithms:
        if alg not in ALGORITHMS:
            raise ValueError(f"unknown PTB-XL+ algorithm {alg!r}; choose one of {sorted(ALGORITHMS)}")
        m = {k: v + (rng.normal(0.0, measurement_sd, n) if measurement_sd > 0 else 0.0) for k, v in iv.items()}
        rr = 60000.0 / m["hr_bpm"]
        if alg == "ecgdeli":
            cols: dict[str, np.ndarray] = {"ecg_id": ids}
            for key, col in (("pr_ms", "PR_Int_Global"), ("qrs_ms", "QRS_Dur_Global"), ("qt_ms", "QT_Int_Global")):
                cols[col] = np.round(m[key], 1)
                cols[col + "_iqr"] = np.where(np.isnan(m[key]), np.nan, np.round(rng.uniform(2.0, 12.0, n), 1))
                cols[col + "_count"] = np.where(np.isnan(m[key]), 0, beats)
            cols[RR_COLUMN] = np.round(rr, 1)
            cols[RR_COLUMN + "_iqr"] = np.round(rng.uniform(5.0, 60.0, n), 1)
            cols[RR_COLUMN + "_count"] = np.maximum(beats - 1, 0)
        else:
            head = {"HR__Global": np.round(m["hr_bpm"]), RR_COLUMN: np.round(rr)}
            rest = {"PR_Int_Global": np.round(m["pr_ms"]), "QRS_Dur_Global": np.round(m["qrs_ms"]),
                    "QT_Int_Global": np.round(m["qt_ms"]), "QT_IntBazett_Global": np.round(qtc)}
            cols = {**head, "ecg_id": ids, **rest} if alg == "12sl" else {"ecg_id": ids, **head, **rest}
        pd.DataFrame(cols).to_csv(root / ALGORITHMS[alg], index=False, float_format="%.10g")
    return root


def write_simulated(data_dir: str | os.PathLike[str], batch, reports: Sequence[str], *, strat_fold: Sequence[int],
                    rates: Sequence[int] = (100,), measurement_sd: float = 0.0, seed: int = 0) -> tuple[Path, Path]:
    """Write a simulated batch (``medrepro.sim.ecg.EcgBatch``) as PTB-XL and PTB-XL+, side by side.

    PTB-XL goes to ``data_dir/``:data:`PTBXL_DIR` (records, database, statements; via
    :func:`medrepro.data.datasets.ptbxl.write_simulated`), the feature files to ``data_dir/``:data:`PLUS_DIR`,
    with the simulator's ground-truth intervals as the measured values. Returns ``(ptbxl_root, plus_root)``.
    """
    from . import ptbxl

    data_dir = Path(data_dir)
    ptb_root = ptbxl.write_simulated(data_dir / PTBXL_DIR, batch, reports, strat_fold=strat_fold, rates=rates,
                                     seed=seed)
    ids = np.arange(1, len(batch) + 1)  # ptbxl.write_dataset numbers records 1..N
    n_beats = (np.asarray(batch.r_peaks) >= 0).sum(1)
    plus_root = write_features(data_dir / PLUS_DIR, ids, batch.intervals, measurement_sd=measurement_sd,
                               n_beats=n_beats, seed=seed)
    return ptb_root, plus_root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: int = 60, seconds: float = 10.0) -> Path:
    """Write a miniature PTB-XL (both rates) and PTB-XL+ (three feature files) side by side; mark it a fixture.

    Returns ``root``, the folder a notebook receives as ``DATA_DIR``.
    """
    from ...sim.ecg import simulate_12lead
    from ...sim.reports import generate_reports

    batch = simulate_12lead(n, fs=500.0, seconds=seconds, seed=seed)
    reports = generate_reports(batch, seed=seed)
    folds = np.arange(n) % 10 + 1  # every fold present, fold 10 included
    root = Path(root)
    write_simulated(root, batch, reports, strat_fold=folds, rates=(100, 500), seed=seed)
    mark_fixture(root, "ptbxl_plus")
    return root
