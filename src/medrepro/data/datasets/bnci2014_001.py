"""BNCI 2014-001 (BCI Competition IV, data set 2a) — four-class motor imagery EEG, 9 subjects, 2 sessions.

Real on-disk layout, as served by the BNCI Horizon 2020 database (``http://bnci-horizon-2020.eu/database/
data-sets/001-2014/``) and as MOABB downloads it. The dataset root holds one MATLAB file per subject and session::

    A01T.mat   A01E.mat   …   A09T.mat   A09E.mat      (T: first session, "training"; E: second session)

Each file holds one variable ``data``: a 1×N cell array of runs (N = 9 for most files: three runs without trials
for the EOG calibration, then six runs of 48 trials). Each run is a struct with the fields

    X          samples × 25, double, µV: 22 EEG channels (:data:`EEG_CHANNELS`) then 3 EOG channels
    trial      trial starts, 1-based sample indices (empty in the calibration runs)
    y          class of each trial: 1 left hand, 2 right hand, 3 both feet, 4 tongue
    fs         250 (Hz)
    classes    the four class names
    artifacts  1 for trials an expert marked as artefactual
    gender, age

:func:`load_session` reads a file with ``scipy.io.loadmat(struct_as_record=False, squeeze_me=True)``, as MOABB's
BNCI loader does, and validates it; :func:`epochs` band-pass filters each run and cuts trials at fixed times after
their start (the cue appears at 2 s; MOABB's interval for this dataset is 2–6 s). :func:`write_session` writes
runs in the same layout with ``scipy.io.savemat`` (MATLAB 5 format, what scipy and MOABB read) — used by the smoke
runs and by :func:`make_fixture`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

DATASET = "bnci2014_001"
EEG_CHANNELS: tuple[str, ...] = ("Fz", "FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4",
                                 "C6", "CP3", "CP1", "CPz", "CP2", "CP4", "P1", "Pz", "P2", "POz")
EOG_CHANNELS: tuple[str, ...] = ("EOG1", "EOG2", "EOG3")
CLASSES: dict[int, str] = {1: "left hand", 2: "right hand", 3: "feet", 4: "tongue"}
SUBJECTS: tuple[int, ...] = tuple(range(1, 10))
SESSIONS: tuple[str, ...] = ("T", "E")
FS = 250.0


class BnciFormatError(FormatError):
    """A BNCI 2014-001 file is malformed; the message names the file."""


@dataclass
class Run:
    """One run: ``X`` (samples, 25) in µV, 0-based ``starts`` of its trials, their classes ``y``, ``artifacts``."""

    X: np.ndarray
    starts: np.ndarray
    y: np.ndarray
    fs: float
    artifacts: np.ndarray


def filename(subject: int, session: str) -> str:
    """``A01T.mat`` for subject 1, session T."""
    if subject not in SUBJECTS or session not in SESSIONS:
        raise ValueError(f"BNCI 2014-001 has subjects 1-9 and sessions T, E; got {subject}, {session!r}")
    return f"A{subject:02d}{session}.mat"


def _field(run, name: str, path: Path, i: int):
    if not hasattr(run, name):
        raise BnciFormatError(f"{path}: run {i + 1} has no field '{name}' (fields: {getattr(run, '_fieldnames', '?')})")
    return getattr(run, name)


def load_session(path: str | os.PathLike[str]) -> list[Run]:
    """Read one ``A0xT.mat`` / ``A0xE.mat`` file into its runs (calibration runs included, with no trials)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BNCI 2014-001 file not found: {path}")
    try:
        mat = loadmat(path, struct_as_record=False, squeeze_me=True)
    except (ValueError, OSError, NotImplementedError, MatReadError) as exc:
        raise BnciFormatError(f"{path}: not a MATLAB 5 file that scipy can read ({exc})") from exc
    if "data" not in mat:
        raise BnciFormatError(f"{path}: no variable 'data' (variables: {[k for k in mat if not k.startswith('__')]})")
    data = mat["data"]
    runs_in = list(np.atleast_1d(data)) if isinstance(data, np.ndarray) else [data]
    runs = []
    for i, run in enumerate(runs_in):
        X = np.asarray(_field(run, "X", path, i), float)
        if X.ndim != 2 or X.shape[1] != len(EEG_CHANNELS) + len(EOG_CHANNELS):
            raise BnciFormatError(f"{path}: run {i + 1}: X has shape {X.shape}, expected (samples, 25)")
        trial = np.atleast_1d(np.asarray(_field(run, "trial", path, i))).astype(np.int64)
        y = np.atleast_1d(np.asarray(_field(run, "y", path, i))).astype(np.int64)
        fs = float(_field(run, "fs", path, i))
        art = np.atleast_1d(np.asarray(getattr(run, "artifacts", np.zeros(len(trial))))).astype(np.int64)
        if len(trial) != len(y):
            raise BnciFormatError(f"{path}: run {i + 1}: {len(trial)} trial starts but {len(y)} labels")
        if len(trial) and (trial.min() < 1 or trial.max() > len(X)):
            raise BnciFormatError(f"{path}: run {i + 1}: trial starts outside 1..{len(X)} (1-based sample indices)")
        if len(y) and not set(np.unique(y)) <= set(CLASSES):
            raise BnciFormatError(f"{path}: run {i + 1}: labels {sorted(set(np.unique(y)))}, expected 1-4")
        runs.append(Run(X, trial - 1, y, fs, art if len(art) == len(trial) else np.zeros(len(trial), np.int64)))
    return runs


def epochs(runs: Iterable[Run], *, classes: Sequence[int] = (1, 2), tmin: float = 2.0, tmax: float = 6.0,
           band: tuple[float, float] | None = (8.0, 35.0), channels: Sequence[str] = EEG_CHANNELS,
           filter_order: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Trials of the given classes: (X (n, channels, samples) in µV, y).

    Each run is band-pass filtered as a whole (Butterworth, zero phase) before cutting, then samples
    ``[start + tmin·fs, start + tmax·fs)`` of each trial are kept.
    """
    from scipy.signal import butter, sosfiltfilt

    idx = [EEG_CHANNELS.index(c) for c in channels]
    xs, ys = [], []
    for run in runs:
        keep = np.isin(run.y, classes)
        if not keep.any():
            continue
        sig = run.X[:, idx].T
        if band is not None:
            sig = sosfiltfilt(butter(filter_order, band, "bandpass", fs=run.fs, output="sos"), sig, axis=-1)
        a, b = int(round(tmin * run.fs)), int(round(tmax * run.fs))
        starts = run.starts[keep]
        if (starts + b > sig.shape[1]).any():
            raise ValueError(f"a trial ends {tmax} s after its start, beyond the end of its run")
        xs.append(np.stack([sig[:, s + a: s + b] for s in starts]))
        ys.append(run.y[keep])
    if not xs:
        raise ValueError(f"no trial of classes {list(classes)} in these runs")
    return np.concatenate(xs), np.concatenate(ys)


def load_subject(root: str | os.PathLike[str], subject: int) -> dict[str, list[Run]]:
    """Both sessions of a subject: ``{"T": runs, "E": runs}``."""
    root = Path(root)
    return {s: load_session(root / filename(subject, s)) for s in SESSIONS}


def subjects_present(root: str | os.PathLike[str]) -> list[int]:
    """Subjects whose T and E files are both in ``root``."""
    root = Path(root)
    return [s for s in SUBJECTS if all((root / filename(s, k)).is_file() for k in SESSIONS)]


def write_session(path: str | os.PathLike[str], runs: Sequence[dict]) -> Path:
    """Write runs in the BNCI layout with ``scipy.io.savemat`` (refuses to overwrite; atomic).

    Each run is a dict with ``X`` (samples, 25) µV, ``trial`` (1-based starts), ``y``, ``fs`` and optionally
    ``artifacts``, ``gender``, ``age``; ``classes`` is filled in.
    """
    from scipy.io import savemat

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
    cell = np.empty((1, len(runs)), dtype=object)
    for i, r in enumerate(runs):
        n = len(r["trial"])
        cell[0, i] = {
            "X": np.asarray(r["X"], float),
            "trial": np.asarray(r["trial"], float).reshape(-1, 1),
            "y": np.asarray(r["y"], float).reshape(-1, 1),
            "fs": float(r["fs"]),
            "classes": np.array([[CLASSES[k] for k in sorted(CLASSES)]], dtype=object),
            "artifacts": np.asarray(r.get("artifacts", np.zeros(n)), float).reshape(-1, 1),
            "gender": r.get("gender", "f"),
            "age": float(r.get("age", 0)),
        }
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            savemat(fh, {"data": cell}, format="5", do_compression=False, oned_as="column")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_simulated(root: str | os.PathLike[str], runs_by_subject) -> Path:
    """Write ``medrepro.sim.eeg.simulate_motor_imagery`` output as ``A0xT.mat`` / ``A0xE.mat`` files.

    Each simulated session becomes one file holding an empty calibration run (as the real files start with
    three) and the run with trials.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for sessions in runs_by_subject:
        for run in sessions:
            if tuple(run.ch_names) != EEG_CHANNELS:
                raise ValueError("simulated runs must use the 22 BNCI 2014-001 EEG channels in file order")
            X = np.concatenate([run.eeg, run.eog], 0).T
            calib = {"X": X[: int(2 * run.fs)], "trial": np.zeros(0), "y": np.zeros(0), "fs": run.fs}
            write_session(root / filename(run.subject, run.session),
                          [calib, {"X": X, "trial": run.trial, "y": run.y, "fs": run.fs}])
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 3) -> Path:
    """A miniature of the layout: ``n_subjects`` subjects × T/E files, 8 trials per class, all four classes."""
    from ...sim.eeg import MotorImagerySpec, simulate_motor_imagery

    root = Path(root)
    runs = simulate_motor_imagery(n_subjects, trials_per_class=8, classes=(1, 2, 3, 4), spec=MotorImagerySpec(),
                                  seed=seed)
    write_simulated(root, runs)
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "EEG_CHANNELS", "EOG_CHANNELS", "CLASSES", "SUBJECTS", "SESSIONS", "FS", "Run",
           "BnciFormatError", "filename", "load_session", "epochs", "load_subject", "subjects_present",
           "write_session", "write_simulated", "make_fixture"]
