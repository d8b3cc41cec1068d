"""ERP CORE, P3 (active visual oddball) — BIDS EEG in EEGLAB format, 40 neurotypical young adults.

Kappenman, Farrens, Zhang, Stewart & Luck (2021), NeuroImage 225:117465; data on OSF (https://osf.io/thsqg/, the
P3 folder "P3 Raw Data BIDS-Compatible"), CC BY 4.0. Layout of that folder, as MOABB's ``ErpCore2021_P3`` reads it
(``moabb/datasets/erpcore2021.py``, through mne-bids)::

    participants.tsv                                 participant_id, age, ... (one row per subject)
    sub-001/eeg/sub-001_task-P3_eeg.set              EEGLAB dataset (MATLAB struct; data in the .fdt next to it
    sub-001/eeg/sub-001_task-P3_eeg.fdt              or embedded in the .set — both are read)
    sub-001/eeg/sub-001_task-P3_events.tsv           onset, duration, trial_type, value, sample
    ...     sub-040/...

Recording (the dataset description quoted by MOABB): BioSemi ActiveTwo, 30 scalp electrodes (FP1 ... O2, with P9
and P10) plus HEOG_left, HEOG_right, VEOG_lower, 1024 Hz, reference-free (referenced offline). Event values
(MOABB's encoding): stimuli 11, 22, 33, 44, 55 are targets (the block's target letter), the other two-digit codes
non-targets, 201/202 responses; rows with ``trial_type`` "STATUS" are not events. The stimulus reached the screen
26 ms after its trigger (ERP CORE's photosensor measurement; MOABB shifts the onsets by it).

:func:`load_subject` reads one subject's .set/.fdt (``scipy.io.loadmat`` for MATLAB 5 files; ``mne`` for MATLAB 7.3
files, which scipy cannot read) and its events.tsv; :func:`epochs` re-references to the mean of P9 and P10 (ERP
CORE's P3 reference), high-passes, resamples to ``fs_out`` and cuts baseline-corrected single-trial epochs at one
channel (Pz, where the P3 is measured). :func:`write_subject` writes the same layout — the .set as a MATLAB 5
struct with ``scipy.io.savemat`` in EEGLAB's conventions (the struct nested as ``EEG``, 1-based event latencies,
data as float32 µV in a channel-fastest .fdt) — which ``mne.io.read_raw_eeglab`` reads
(``tests/test_fixtures_reference.py`` checks that it reads what this loader returns). Smoke runs may add a
``depression`` column to participants.tsv (simulated labels: the real ERP CORE has no clinical labels).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

DATASET = "erp_core"
TASK = "P3"
FS = 1024.0
EEG_CHANNELS: tuple[str, ...] = ("FP1", "F3", "F7", "FC3", "C3", "C5", "P3", "P7", "P9", "PO7", "PO3", "O1", "Oz",
                                 "Pz", "CPz", "FP2", "Fz", "F4", "F8", "FC4", "FCz", "Cz", "C4", "C6", "P4", "P8",
                                 "P10", "PO8", "PO4", "O2")
EOG_CHANNELS: tuple[str, ...] = ("HEOG_left", "HEOG_right", "VEOG_lower")
TARGET_CODES: tuple[int, ...] = (11, 22, 33, 44, 55)
RESPONSE_CODES: tuple[int, ...] = (201, 202)
TRIGGER_DELAY_S = 0.026
REFERENCE: tuple[str, str] = ("P9", "P10")


class ErpCoreFormatError(FormatError):
    """An ERP CORE file is malformed; the message names the file."""


@dataclass
class Recording:
    """One subject's continuous recording: ``data`` (channels, samples) in µV, channel names, rate, stimulus events."""

    path: Path
    data: np.ndarray
    ch_names: tuple[str, ...]
    fs: float
    event_samples: np.ndarray      # 0-based trigger sample of each stimulus event
    event_values: np.ndarray       # its code (11 ... 55)


def subject_dir(root: str | os.PathLike[str], subject: int) -> Path:
    return Path(root) / f"sub-{subject:03d}" / "eeg"


def set_path(root: str | os.PathLike[str], subject: int) -> Path:
    """``<root>/sub-001/eeg/sub-001_task-P3_eeg.set`` for subject 1."""
    return subject_dir(root, subject) / f"sub-{subject:03d}_task-{TASK}_eeg.set"


def events_path(root: str | os.PathLike[str], subject: int) -> Path:
    return subject_dir(root, subject) / f"sub-{subject:03d}_task-{TASK}_events.tsv"


def subjects_present(root: str | os.PathLike[str]) -> list[int]:
    """Subjects whose .set and events.tsv are both in ``root``."""
    root = Path(root)
    subs = sorted(int(p.name[4:]) for p in root.glob("sub-*") if p.is_dir() and p.name[4:].isdigit())
    return [s for s in subs if set_path(root, s).is_file() and events_path(root, s).is_file()]


def participants(root: str | os.PathLike[str]) -> dict[int, dict[str, str]]:
    """Rows of ``participants.tsv`` keyed by subject number (empty when the file is absent)."""
    path = Path(root) / "participants.tsv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and "participant_id" not in rows[0]:
        raise ErpCoreFormatError(f"{path}: no 'participant_id' column (columns: {list(rows[0])})")
    return {int(r["participant_id"].removeprefix("sub-")): r for r in rows}


def _read_set(path: Path) -> tuple[np.ndarray, tuple[str, ...], float]:
    """(data µV (channels, samples), channel names, rate) of a continuous EEGLAB .set (+ .fdt)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(path, struct_as_record=False, squeeze_me=True)
    except NotImplementedError:                                          # MATLAB 7.3 (HDF5): let mne read it
        import mne

        raw = mne.io.read_raw_eeglab(path, preload=True, verbose="error")
        return raw.get_data() * 1e6, tuple(raw.ch_names), float(raw.info["sfreq"])
    except (ValueError, OSError, MatReadError) as exc:
        raise ErpCoreFormatError(f"{path}: not an EEGLAB .set file that scipy can read ({exc})") from exc
    eeg = mat.get("EEG", None)
    if eeg is None:                                                      # fields saved at the top level
        keys = [k for k in mat if not k.startswith("__")]
        if not {"nbchan", "pnts", "srate", "data"} <= set(keys):
            raise ErpCoreFormatError(f"{path}: no EEG struct (variables: {keys})")
        get = lambda name: mat[name]
    else:
        get = lambda name: getattr(eeg, name)
    try:
        nbchan, pnts, srate = int(get("nbchan")), int(get("pnts")), float(get("srate"))
        trials, data, chanlocs = int(np.asarray(get("trials")).squeeze() or 1), get("data"), get("chanlocs")
    except AttributeError as exc:
        raise ErpCoreFormatError(f"{path}: EEG struct lacks a field ({exc})") from exc
    if trials != 1:
        raise ErpCoreFormatError(f"{path}: {trials} trials; expected a continuous recording (trials = 1)")
    names = tuple(str(c.labels) for c in np.atleast_1d(chanlocs))
    if len(names) != nbchan:
        raise ErpCoreFormatError(f"{path}: {len(names)} channel labels for nbchan = {nbchan}")
    if isinstance(data, str):
        fdt = path.parent / data
        if not fdt.is_file():
            fdt = path.with_suffix(".fdt")
        if not fdt.is_file():
            raise FileNotFoundError(f"ERP CORE data file not found: {path.parent / data} (named in {path.name})")
        x = np.fromfile(fdt, dtype="<f4")
        if x.size != nbchan * pnts:
            raise ErpCoreFormatError(f"{fdt}: {x.size} float32 values, expected nbchan × pnts = {nbchan} × {pnts}")
        x = x.reshape(pnts, nbchan).T                                    # channel-fastest (MATLAB column order)
    else:
        x = np.asarray(data, float).reshape(nbchan, -1)
        if x.shape[1] != pnts:
            raise ErpCoreFormatError(f"{path}: embedded data has {x.shape[1]} samples, pnts = {pnts}")
    return x.astype(np.float64), names, srate


def _read_events(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"ERP CORE events file not found: {path}")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and not {"sample", "value"} <= set(rows[0]):
        raise ErpCoreFormatError(f"{path}: needs columns 'sample' and 'value' (columns: {list(rows[0])})")
    keep = [r for r in rows if r.get("trial_type", "") != "STATUS" and r["value"] not in ("", "n/a")]
    try:
        samples = np.array([int(float(r["sample"])) for r in keep], np.int64)
        values = np.array([int(float(r["value"])) for r in keep], np.int64)
    except ValueError as exc:
        raise ErpCoreFormatError(f"{path}: non-numeric sample or value ({exc})") from exc
    stim = ~np.isin(values, RESPONSE_CODES)
    return samples[stim], values[stim]


def load_subject(root: str | os.PathLike[str], subject: int) -> Recording:
    """One subject's recording and stimulus events."""
    path = set_path(root, subject)
    if not path.is_file():
        raise FileNotFoundError(f"ERP CORE file not found: {path}")
    data, names, fs = _read_set(path)
    samples, values = _read_events(events_path(root, subject))
    if len(samples) and (samples.min() < 0 or samples.max() >= data.shape[1]):
        raise ErpCoreFormatError(f"{events_path(root, subject)}: event samples outside 0..{data.shape[1] - 1}")
    return Recording(path, data, names, fs, samples, values)


def epochs(rec: Recording, *, channel: str = "Pz", kind: str = "target", tmin: float = -0.2, n_times: int = 128,
           fs_out: float = 128.0, highpass: float | None = 0.1, reference: Sequence[str] | None = REFERENCE,
           trigger_delay_s: float = TRIGGER_DELAY_S) -> np.ndarray:
    """Single-trial epochs (trials, n_times) in µV at ``channel``, baseline-corrected on the samples before 0 s.

    Re-referenced to the mean of ``reference``, high-passed (Butterworth order 2, zero phase) and resampled to
    ``fs_out`` (polyphase, anti-aliased) as a whole recording; then each stimulus of ``kind`` ("target",
    "nontarget" or "all") is cut at ``trigger + round(trigger_delay_s · fs_out) + round(tmin · fs_out)``.
    """
    from fractions import Fraction

    from scipy.signal import butter, resample_poly, sosfiltfilt

    names = list(rec.ch_names)
    for ch in [channel, *(reference or ())]:
        if ch not in names:
            raise ErpCoreFormatError(f"{rec.path}: no channel {ch!r} (channels: {names})")
    x = rec.data[names.index(channel)].astype(np.float64)
    if reference:
        x = x - rec.data[[names.index(c) for c in reference]].mean(0)
    if highpass:
        x = sosfiltfilt(butter(2, highpass, "highpass", fs=rec.fs, output="sos"), x)
    ratio = Fraction(fs_out / rec.fs).limit_denominator(1000)
    if ratio != 1:
        x = resample_poly(x, ratio.numerator, ratio.denominator)
    select = {"target": np.isin(rec.event_values, TARGET_CODES), "nontarget": ~np.isin(rec.event_values, TARGET_CODES),
              "all": np.ones(len(rec.event_values), bool)}
    if kind not in select:
        raise ValueError(f"kind must be 'target', 'nontarget' or 'all', got {kind!r}")
    trig = np.round(rec.event_samples[select[kind]] * fs_out / rec.fs).astype(np.int64)
    start = trig + int(round(trigger_delay_s * fs_out)) + int(round(tmin * fs_out))
    ok = (start >= 0) & (start + n_times <= len(x))
    idx = start[ok][:, None] + np.arange(n_times)[None, :]
    ep = x[idx]
    n_base = max(1, int(round(-tmin * fs_out)))
    return (ep - ep[:, :n_base].mean(1, keepdims=True)).astype(np.float32)


def write_subject(root: str | os.PathLike[str], subject: int, signals_uv: np.ndarray, ch_names: Sequence[str],
                  fs: float, event_samples: np.ndarray, event_values: np.ndarray) -> Path:
    """Write one subject's .set/.fdt and events.tsv in the ERP CORE layout (EEGLAB conventions, MATLAB 5)."""
    from scipy.io import savemat

    path = set_path(root, subject)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.asarray(signals_uv, np.float32)
    n_ch, pnts = x.shape
    fdt = path.with_suffix(".fdt")
    np.ascontiguousarray(x.T).astype("<f4").tofile(fdt)                  # channel-fastest, as EEGLAB writes
    chanlocs = np.zeros(n_ch, dtype=[("labels", object), ("type", object)])
    for i, c in enumerate(ch_names):
        chanlocs[i] = (c, "EOG" if c in EOG_CHANNELS else "EEG")
    events = np.zeros(len(event_samples), dtype=[("type", object), ("latency", float), ("duration", float)])
    for i, (s, v) in enumerate(zip(event_samples, event_values)):
        events[i] = (str(int(v)), float(s) + 1.0, 1.0)                    # EEGLAB latencies are 1-based
    eeg = {"setname": f"sub-{subject:03d} {TASK}", "filename": path.name, "filepath": "", "nbchan": float(n_ch),
           "trials": 1.0, "pnts": float(pnts), "srate": float(fs), "xmin": 0.0, "xmax": (pnts - 1) / fs,
           "data": fdt.name, "chanlocs": chanlocs, "event": events, "ref": "common", "icawinv": np.zeros((0, 0)),
           "icasphere": np.zeros((0, 0)), "icaweights": np.zeros((0, 0)), "icaact": np.zeros((0, 0))}
    savemat(path, {"EEG": eeg}, format="5", long_field_names=True, do_compression=False)
    with open(events_path(root, subject), "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["onset", "duration", "trial_type", "value", "sample"])
        for s, v in zip(event_samples, event_values):
            w.writerow([f"{s / fs:.6f}", "0", "response" if v in RESPONSE_CODES else "stimulus", int(v), int(s)])
    return path


def write_participants(root: str | os.PathLike[str], rows: Sequence[dict[str, object]]) -> Path:
    """``participants.tsv`` with the columns of the first row (``participant_id`` first)."""
    path = Path(root) / "participants.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0])
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] for c in cols])
    return path


def stimulus_codes(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """P3 event values for a sequence of target flags: block target letter t, stimulus letter s → code 10·t + s."""
    block = rng.integers(1, 6)
    other = rng.integers(1, 5, len(target))
    stim = np.where(target, block, np.where(other >= block, other + 1, other))
    return (10 * block + stim).astype(np.int64)


def write_simulated(root: str | os.PathLike[str], subjects, *, labels: bool = True, seed: int = 0) -> Path:
    """Write :func:`medrepro.sim.erp.simulate_cohort` subjects in the ERP CORE P3 layout (participants.tsv with
    ``depression`` when ``labels``)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for s in subjects:
        write_subject(root, s.subject, s.signals_uv, s.ch_names, s.fs, s.trigger_samples, stimulus_codes(s.target, rng))
        row = {"participant_id": f"sub-{s.subject:03d}", "age": f"{s.age:.0f}"}
        if labels:
            row["depression"] = int(s.depressed)
        rows.append(row)
    write_participants(root, rows)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 5) -> Path:
    """A miniature of the layout: ``n_subjects`` subjects at 1024 Hz with all 33 channels, 8 targets and 4
    non-targets each, responses after every stimulus, ages only in participants.tsv (as the real data)."""
    from ...sim.erp import ErpCohortSpec, simulate_cohort

    root = Path(root)
    rng = np.random.default_rng(seed + 1)
    subjects = simulate_cohort(n_subjects, n_targets=8, n_nontargets=4, spec=ErpCohortSpec(fs=FS, n_times=1024),
                               seed=seed)
    names = EEG_CHANNELS + EOG_CHANNELS
    rows = []
    for s in subjects:
        x = 2.0 * rng.standard_normal((len(names), s.signals_uv.shape[1])).astype(np.float32)
        for i, ch in enumerate(s.ch_names):
            x[names.index(ch)] = s.signals_uv[i]
        codes = stimulus_codes(s.target, rng)
        resp = s.trigger_samples + int(0.45 * FS)
        samples = np.concatenate([s.trigger_samples, resp])
        values = np.concatenate([codes, np.where(s.target, 201, 202)])
        order = np.argsort(samples, kind="stable")
        write_subject(root, s.subject, x, names, FS, samples[order], values[order])
        rows.append({"participant_id": f"sub-{s.subject:03d}", "age": f"{s.age:.0f}", "sex": "F", "handedness": "R"})
    write_participants(root, rows)
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "TASK", "FS", "EEG_CHANNELS", "EOG_CHANNELS", "TARGET_CODES", "RESPONSE_CODES",
           "TRIGGER_DELAY_S", "REFERENCE", "ErpCoreFormatError", "Recording", "set_path", "events_path",
           "subjects_present", "participants", "load_subject", "epochs", "write_subject", "write_participants",
           "stimulus_codes", "write_simulated", "make_fixture"]
