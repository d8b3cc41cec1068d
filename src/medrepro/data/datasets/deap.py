"""DEAP — a database for emotion analysis using physiological signals (Koelstra et al., 2012), preprocessed release.

Real on-disk layout of the "data_preprocessed_python" release (``data_preprocessed_python.zip``, obtained after
signing DEAP's end-user licence agreement), as torcheeg's ``DEAPDataset`` reads it::

    s01.dat   s02.dat   …   s32.dat          one pickled Python dict per participant

Each file holds ``{"labels": array (40, 4), "data": array (40, 40, 8064)}``: 40 trials (music-video excerpts);
ratings valence, arousal, dominance, liking (1-9); 40 channels (32 EEG in the Geneva order,
:data:`medrepro.sim.eeg_affect.DEAP_EEG`, then 8 peripheral: hEOG, vEOG, zEMG, tEMG, GSR, respiration,
plethysmograph, temperature); 8064 samples = 63 s at 128 Hz, of which the first 3 s are the pre-trial baseline.
The files were pickled by Python 2, so Python 3 reads them with ``encoding="latin1"`` (torcheeg passes
``"iso-8859-1"``, the same codec).

**Reading a pickle can execute code.** :func:`load_subject` reads only files the user placed there and unpickles
them with a restricted unpickler that allows numpy arrays and nothing else
(:class:`medrepro.data.io.ArrayOnlyUnpickler`), so a tampered file raises :class:`DeapFormatError` instead of
running what it holds. Still: only use DEAP files you downloaded from the publisher yourself.

:func:`windows` cuts trials as torcheeg does for its EEG models: drop the 3-s baseline, then non-overlapping
``chunk``-sample windows (torcheeg's default chunk is 128 samples, 1 s); :func:`categories` turns the ratings into
classes as the official watermarking code does (each chosen rating binarised at ``>= 5``, the bits read as a
binary number with the first rating most significant — torcheeg's ``Binary(5.0)`` then ``BinariesToCategory``).
:func:`write_subject` writes the same layout (pickle protocol 2, as Python 2 wrote) for the smoke runs and
:func:`make_fixture`.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, load_array_pickle
from . import mark_fixture

DATASET = "deap"
FS = 128.0
N_CHANNELS = 40
N_EEG = 32
BASELINE_S = 3.0
RATINGS: tuple[str, ...] = ("valence", "arousal", "dominance", "liking")


class DeapFormatError(FormatError):
    """A DEAP file is malformed (or holds something other than numpy arrays); the message names the file."""



def filename(subject: int) -> str:
    """``s01.dat`` for participant 1."""
    if not 1 <= int(subject) <= 99:
        raise ValueError(f"DEAP participants are numbered 1-32, got {subject}")
    return f"s{int(subject):02d}.dat"


def subjects_present(root: str | os.PathLike[str]) -> list[int]:
    """Participants whose ``sXX.dat`` file is in ``root``, in order."""
    root = Path(root)
    return sorted(int(p.stem[1:]) for p in root.glob("s[0-9][0-9].dat") if p.is_file())


def load_subject(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``sXX.dat`` file: ``(data (trials, 40, samples) float32 µV, labels (trials, 4) ratings)``.

    Raises :class:`DeapFormatError` naming the file when it is not a pickled dict with ``data`` and ``labels`` of
    the shapes above (any number of trials and samples, at least the 3-s baseline), or holds anything but arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DEAP file not found: {path}")
    try:
        with open(path, "rb") as fh:
            obj = load_array_pickle(fh)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DeapFormatError(f"{path}: not a DEAP preprocessed-python file ({exc})") from exc
    if not isinstance(obj, dict) or not {"data", "labels"} <= set(obj):
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise DeapFormatError(f"{path}: expected a dict with keys 'data' and 'labels', found {keys}")
    data, labels = np.asarray(obj["data"]), np.asarray(obj["labels"])
    if data.ndim != 3 or data.shape[1] != N_CHANNELS or data.shape[2] < int(BASELINE_S * FS):
        raise DeapFormatError(f"{path}: 'data' has shape {data.shape}, expected (trials, {N_CHANNELS}, samples) "
                              f"with at least {int(BASELINE_S * FS)} samples (the 3-s baseline at 128 Hz)")
    if labels.shape != (data.shape[0], len(RATINGS)):
        raise DeapFormatError(f"{path}: 'labels' has shape {labels.shape}, expected ({data.shape[0]}, 4) "
                              "(valence, arousal, dominance, liking per trial)")
    if not np.isfinite(labels).all() or labels.min() < 1 or labels.max() > 9:
        raise DeapFormatError(f"{path}: ratings must lie in 1-9, found {labels.min()}..{labels.max()}")
    return data.astype(np.float32, copy=False), labels.astype(np.float64, copy=False)


def windows(data: np.ndarray, *, chunk: int = 128, channels: int = N_EEG,
            baseline_s: float = BASELINE_S) -> tuple[np.ndarray, np.ndarray]:
    """Cut every trial after its baseline into non-overlapping ``chunk``-sample windows of the first ``channels``.

    Returns ``(X (n_windows, channels, chunk), trial index of each window)``; torcheeg's ``DEAPDataset`` cuts the
    same windows (``chunk_size``, ``overlap=0``, start after ``num_baseline * baseline_chunk_size`` samples).
    """
    start = int(round(baseline_s * FS))
    n = (data.shape[2] - start) // chunk
    if n < 1:
        raise ValueError(f"trials of {data.shape[2]} samples hold no {chunk}-sample window after the baseline")
    x = data[:, :channels, start:start + n * chunk].reshape(data.shape[0], channels, n, chunk)
    return np.ascontiguousarray(x.transpose(0, 2, 1, 3).reshape(-1, channels, chunk)), np.repeat(
        np.arange(data.shape[0]), n)


def categories(labels: np.ndarray, ratings: Sequence[str] = RATINGS, threshold: float = 5.0) -> np.ndarray:
    """Classes from ratings: each chosen rating ``>= threshold`` is a bit, the first chosen rating the most
    significant (4 ratings: 16 classes, as the official code; valence and arousal: 4 classes)."""
    cols = [RATINGS.index(r) for r in ratings]
    bits = (np.asarray(labels)[:, cols] >= threshold).astype(np.int64)
    return (bits * (2 ** np.arange(len(cols))[::-1])).sum(1)


def write_subject(path: str | os.PathLike[str], data: np.ndarray, labels: np.ndarray) -> Path:
    """Write one participant in the DEAP layout (pickle protocol 2; refuses to overwrite; atomic)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            pickle.dump({"labels": np.asarray(labels, np.float64), "data": np.asarray(data, np.float32)}, fh,
                        protocol=2)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_simulated(root: str | os.PathLike[str], recordings) -> Path:
    """Write :func:`medrepro.sim.eeg_affect.simulate_affect` output as ``sXX.dat`` files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for rec in recordings:
        write_subject(root / filename(rec.subject), rec.data, rec.labels)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 3) -> Path:
    """A miniature of the layout: ``n_subjects`` files of 8 trials, each 3 s baseline + 4 s (not 60 s)."""
    from ...sim.eeg_affect import AffectSpec, simulate_affect

    root = Path(root)
    write_simulated(root, simulate_affect(n_subjects, 8, spec=AffectSpec(trial_s=4.0), seed=seed))
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "FS", "N_CHANNELS", "N_EEG", "BASELINE_S", "RATINGS", "DeapFormatError", "filename",
           "subjects_present", "load_subject", "windows", "categories", "write_subject", "write_simulated",
           "make_fixture"]
