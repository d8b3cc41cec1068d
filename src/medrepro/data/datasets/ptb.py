"""PTB Diagnostic ECG Database 1.0.0 (PhysioNet): loader for its real layout, a writer, ``make_fixture``.

The real layout (``data_manifests/ptb.yaml``; 549 records of 290 subjects, one to five records each;
subjects 124, 132, 134 and 161 do not exist)::

    RECORDS                          the record names, one per line: patient001/s0010_re, patient001/s0014lre, …
    patient001/s0010_re.hea          WFDB header: 15 signals at 1000 Hz, format 16, 2000 adu/mV (0.5 µV/LSB);
                                     signals 1–12 (i, ii, iii, avr, avl, avf, v1 … v6) are stored in
                                     s0010_re.dat, signals 13–15 (the Frank leads vx, vy, vz) in s0010_re.xyz;
                                     the clinical summary follows as comment lines ("# age: 81",
                                     "# sex: female", "# Diagnose:", "# Reason for admission: Myocardial
                                     infarction", "# Acute infarction (localization): ...", ...)
    patient001/s0010_re.dat / .xyz   16-bit little-endian samples, interleaved by signal

Record names end in ``_re``, ``lre``, ``are``, ... after a four-digit number; the patient is the folder.
The diagnosis used by COMET (MI vs healthy control) is the "Reason for admission" comment; about two dozen
records have no clinical summary (reason "n/a" or absent) and are skipped by :func:`load` unless asked for.

Reading: :func:`read_record` reads both signal files through :func:`medrepro.data.io.read_wfdb16` (signal
count, file sizes, the per-signal WFDB checksum, leads, rate); it is about 20× faster than ``wfdb.rdrecord``
for these two-file records, which matters for the smoke budget. The tests check that ``wfdb.rdrecord`` reads
the files written here identically, and that this reader reads the real header of ``patient001/s0010_re``
(and files written by ``wfdb``) as ``wfdb`` does. :func:`write_record` writes
the same two-file layout (smoke runs simulate ECGs, write them here and read them back through
:func:`load`); :func:`write_simulated` writes simulated MI and healthy patients with several records each,
and :func:`make_fixture` a miniature copy for the tests.

Simulated content (:func:`write_simulated`, used by smoke runs and fixtures). Realistic: per-patient
morphology, heart axis and electrode placement shared by a patient's records (``medrepro.sim.ecg``); per-record
heart rate, noise, baseline wander and occasional ectopic beats; one to several records per patient; an infarct
that is a property of the patient (territory, Q-wave amplitude) with an ST elevation that changes between
records; reciprocal ST depression in the opposite leads. Not modelled: infarct evolution beyond the ST
amplitude, T-wave inversion, the other PTB diagnoses, the real Frank lead network (the three orthogonal leads
are derived from the 12 leads, :func:`frank_like`), the PTB recorder's bandwidth and noise, record lengths of
32–120 s (smoke records are shorter).

Preprocessing helper for beat-level models (the COMET paper's PTB pipeline): :func:`heartbeats` (beats
centred on their R peak, half a median RR interval on either side, zero-padded to a fixed length); the R
peaks come from :func:`medrepro.measure.detect_r_peaks`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..io import FormatError, WfdbHeaderError, read_wfdb16
from . import mark_fixture

FS = 1000.0
#: Signal names as written in the real headers: the 12 standard leads, then the 3 Frank leads.
LEADS: tuple[str, ...] = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6",
                          "vx", "vy", "vz")
STANDARD_LEADS = LEADS[:12]
FRANK_LEADS = LEADS[12:]
GAIN = 2000.0  # adu per mV in every real header (16-bit, 0.5 µV per step)
#: Paths under the dataset root that the loader needs (the manifest's ``layout``).
LAYOUT = ["RECORDS", "patient001/s0010_re.hea", "patient001/s0010_re.dat", "patient001/s0010_re.xyz"]
MI = "Myocardial infarction"
HEALTHY = "Healthy control"
#: The two diagnoses of the COMET task, with their labels (1 = MI).
COMET_CLASSES: dict[str, int] = {HEALTHY: 0, MI: 1}
_NAME = re.compile(r"^patient(\d{3})/s(\d{4})[_a-z]re$")


@dataclass
class PtbRecord:
    """One record: ``signal`` (samples × leads, mV) with its patient and clinical summary."""

    name: str
    patient: int
    signal: np.ndarray
    fs: float
    leads: list[str]
    reason: str  # "Reason for admission" (the diagnosis), "" when absent
    age: float  # NaN when not recorded
    sex: str
    summary: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- reading
def list_records(root: str | os.PathLike[str]) -> list[str]:
    """The record names listed in ``<root>/RECORDS`` (``patient001/s0010_re``, ...).

    Raises:
        FileNotFoundError: no RECORDS file (the path is named).
        FormatError: a line that is not a PTB record name.
    """
    path = Path(root) / "RECORDS"
    if not path.is_file():
        raise FileNotFoundError(f"PTB index not found: {path} (is {root} the extracted ptbdb folder?)")
    names = [ln.strip().rstrip("/") for ln in path.read_text().splitlines() if ln.strip()]
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise FormatError(f"{path}: not PTB record names: {bad[:3]} (expected e.g. patient001/s0010_re)")
    return names


def parse_summary(comments: Sequence[str]) -> dict[str, str]:
    """The ``key: value`` comment lines of a PTB header as a dict (keys as written, values stripped)."""
    out: dict[str, str] = {}
    for c in comments:
        key, sep, value = c.partition(":")
        if sep and key.strip() and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def _parse_header(hea: Path) -> tuple[float, int, list[list[str]], list[str]]:
    if not hea.is_file():
        raise FileNotFoundError(f"WFDB header not found: {hea}")
    text = hea.read_text(errors="replace").splitlines()
    lines = [ln for ln in text if ln.strip() and not ln.lstrip().startswith("#")]
    comments = [ln.lstrip()[1:].strip() for ln in text if ln.lstrip().startswith("#")]
    try:
        head = lines[0].split()
        n_sig, fs, n_samp = int(head[1]), float(head[2].split("/")[0]), int(head[3])
    except (IndexError, ValueError) as exc:
        raise WfdbHeaderError(f"{hea}: unreadable WFDB record line {lines[0] if lines else ''!r} ({exc})") from exc
    sig = [ln.split(maxsplit=8) for ln in lines[1:1 + n_sig]]
    if len(sig) != n_sig or any(len(s) < 9 for s in sig):
        raise WfdbHeaderError(f"{hea} declares {n_sig} signals but describes {len(sig)} completely")
    return fs, n_samp, sig, comments


def read_header(root: str | os.PathLike[str], name: str) -> dict[str, str]:
    """The clinical summary of one record (its comment lines), without reading the signals."""
    return parse_summary(_parse_header(Path(root) / f"{name}.hea")[3])


def read_record(root: str | os.PathLike[str], name: str, *, expect_fs: float | None = FS) -> PtbRecord:
    """Read ``<root>/<name>.hea`` and its signal files (``.dat`` and ``.xyz``) and validate them.

    Reads through :func:`medrepro.data.io.read_wfdb16`, whose format-16 fast path handles the two signal
    files (any other WFDB variant goes through ``wfdb``): header fields, file sizes (truncated, or holding
    more than declared), the per-signal WFDB checksums (the real headers store them signed), the rate.

    Raises:
        FileNotFoundError: the header or a signal file is missing (the path is named).
        WfdbHeaderError: malformed header, a truncated or too long signal file, a checksum mismatch, or a
            sampling rate other than ``expect_fs``.
    """
    rec = read_wfdb16(Path(root) / name, expect_fs=expect_fs)
    summary = parse_summary(rec.comments)
    age = summary.get("age", "")
    match = _NAME.match(name)
    return PtbRecord(name=name, patient=int(match.group(1)) if match else -1, signal=rec.signal, fs=rec.fs,
                     leads=list(rec.lead_names), reason=summary.get("Reason for admission", ""),
                     age=float(age) if age.replace(".", "", 1).isdigit() else float("nan"),
                     sex=summary.get("sex", ""), summary=summary)


def iter_records(root: str | os.PathLike[str], reasons: Sequence[str] | None = (MI, HEALTHY),
                 records: Sequence[str] | None = None) -> Iterator[PtbRecord]:
    """Yield the records of ``RECORDS`` (or of ``records``) whose reason for admission is in ``reasons``.

    One record at a time (the whole database at 1000 Hz is about 1.5 GB as float32). Headers are read
    first, so records of other diagnoses are never loaded; ``reasons=None`` keeps all. The 15 signals are
    checked against :data:`LEADS` (case-insensitively).

    Raises:
        FileNotFoundError, WfdbHeaderError: as :func:`read_record`.
        FormatError: a record whose signals are not the 15 PTB leads.
    """
    for name in (records if records is not None else list_records(root)):
        if reasons is not None and read_header(root, name).get("Reason for admission", "") not in reasons:
            continue
        rec = read_record(root, name)
        if [s.lower() for s in rec.leads] != list(LEADS):
            raise FormatError(f"{Path(root) / name}.hea: signals {rec.leads}, expected the 15 PTB leads {list(LEADS)}")
        yield rec


def load(root: str | os.PathLike[str], reasons: Sequence[str] | None = (MI, HEALTHY),
         records: Sequence[str] | None = None) -> list[PtbRecord]:
    """All records selected by :func:`iter_records`, as a list (fine for fixtures and smoke data)."""
    return list(iter_records(root, reasons, records))


# ------------------------------------------------------------------------------------------- writing
def write_record(root: str | os.PathLike[str], name: str, signal: np.ndarray, comments: Sequence[str] = (),
                 fs: float = FS) -> Path:
    """Write one record in the PTB layout: ``<name>.hea``, ``<name>.dat`` (12 leads), ``<name>.xyz`` (3 leads).

    ``signal`` is (samples, 15) in mV, leads in :data:`LEADS` order; it is stored at 2000 adu/mV and
    clipped to the 16-bit range (±16.4 mV), with the header fields (initial value, checksum) that WFDB
    readers verify. ``comments`` become ``# ...`` lines after the signal lines, as in the real headers.
    """
    x = np.asarray(signal, dtype=np.float32)  # float32 is exact enough for 16-bit storage and twice as fast
    if x.ndim != 2 or x.shape[1] != len(LEADS):
        raise ValueError(f"signal must be (samples, {len(LEADS)}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: signal has NaN or inf values")
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a PTB record name (patientNNN/sNNNN_re, ...lre, ...)")
    stem = Path(root) / name
    stem.parent.mkdir(parents=True, exist_ok=True)
    d = np.clip(np.rint(x * np.float32(GAIN)), -32767, 32767).astype("<i2")
    base = stem.name
    lines = [f"{base} {len(LEADS)} {fs:g} {len(d)}"]
    for ext, cols in ((".dat", slice(0, 12)), (".xyz", slice(12, 15))):
        part = np.ascontiguousarray(d[:, cols])
        part.tofile(stem.with_name(base + ext))
        checks = ((part.astype(np.int64).sum(0) + 32768) % 65536) - 32768  # signed, as the real headers
        for k, lead in enumerate(LEADS[cols]):
            lines.append(f"{base}{ext} 16 {GAIN:g} 16 0 {int(part[0, k])} {int(checks[k])} 0 {lead}")
    lines += [f"# {c}" for c in comments]
    stem.with_name(base + ".hea").write_text("\n".join(lines) + "\n")
    return stem


def summary_comments(reason: str, age: int | None = None, sex: str = "male") -> list[str]:
    """The first comment lines of a PTB header, in the real order (age, sex, ECG date, Diagnose:, reason)."""
    return [f"age: {age if age is not None else 'n/a'}", f"sex: {sex}", "ECG date: n/a", "Diagnose:",
            f"Reason for admission: {reason}", "Additional diagnoses: n/a"]


def record_names(patients: Sequence[int], first: int = 10) -> list[str]:
    """PTB-style record names for a list of patient numbers (one entry per record, in order).

    Record numbers increase from ``first`` (``s0010``); the first record of each patient ends in ``_re``,
    later ones in ``lre`` — the two suffixes of the real ``patient001``.
    """
    names, seen = [], set()
    for k, p in enumerate(patients):
        names.append(f"patient{int(p):03d}/s{first + k:04d}{'l' if p in seen else '_'}re")
        seen.add(p)
    return names


@dataclass
class SimulatedPtb:
    """What :func:`write_simulated` wrote, with the simulator's ground truth per record."""

    root: Path
    names: list[str]
    patient: np.ndarray  # (records,) patient number (1, 2, …)
    label: np.ndarray  # (records,) 1 = MI, 0 = healthy control
    r_peaks: np.ndarray  # (records, beats) R-peak samples at the written rate, padded with −1
    territory: np.ndarray  # (records,) infarct territory of the patient: 0 none, 1 anterior, 2 inferior, 3 lateral
    q_mV: np.ndarray  # (records,) Q-wave dipole amplitude of the patient's infarct (0 for controls)
    st_mV: np.ndarray  # (records,) ST-elevation dipole amplitude in this record (0 for controls)


#: Unit dipole directions (x left, y inferior, z anterior) of the infarct territories 1–3.
TERRITORIES: dict[int, tuple[str, tuple[float, float, float]]] = {
    1: ("anterior", (0.15, 0.0, 1.0)), 2: ("inferior", (0.1, 1.0, 0.0)), 3: ("lateral", (1.0, -0.2, 0.3))}


def frank_like(signals: np.ndarray) -> np.ndarray:
    """Three orthogonal-lead signals (vx, vy, vz) derived from simulated 12-lead ECGs (…, samples, 12).

    The simulator's lead field makes lead I the left–right dipole component and aVF 0.87 × the
    head–foot component; V2 is dominated by the front–back component (gain 1.4). vx = I, vy = aVF/0.87,
    vz = −V2/1.4 (pointing backwards). This approximates the dipole, not Frank's electrode network:
    signs and gains are not calibrated against real Frank leads.
    """
    i, avf, v2 = signals[..., 0], signals[..., 5], signals[..., 7]
    return np.stack([i, avf / 0.866, -v2 / 1.4], axis=-1)


def add_infarction(signals: np.ndarray, r_peaks: np.ndarray, fs: float, lead_fields: np.ndarray,
                   territory: np.ndarray, q_mV: np.ndarray, st_mV: np.ndarray) -> np.ndarray:
    """Add an infarct signature to every beat of 12-lead records (n, samples, 12), in place; returns them.

    A pathological Q wave (a dipole pointing away from the territory, 12 ms wide, 35 ms before each R
    peak) and an ST elevation (a dipole towards the territory, a 60-ms-wide hump 160 ms after R, so
    reciprocal depression appears in the opposite leads), projected through ``lead_fields`` (n, 3, 12).
    ``territory`` (n,) indexes :data:`TERRITORIES` (0: nothing added); ``q_mV`` and ``st_mV`` (n,) are the
    dipole amplitudes. Vectorised: an impulse train per record convolved with each wave's kernel.
    """
    from scipy.signal import fftconvolve

    n, t, _ = signals.shape
    direction = np.zeros((n, 3))
    for k, (_, u) in TERRITORIES.items():
        direction[territory == k] = np.asarray(u) / np.linalg.norm(u)
    if not direction.any():
        return signals
    impulses = np.zeros((n, t), dtype=np.float32)
    rows, cols = np.nonzero(r_peaks >= 0)
    impulses[rows, np.clip(r_peaks[rows, cols], 0, t - 1)] = 1.0
    half = int(0.4 * fs)
    lag = np.arange(-half, half + 1) / fs
    q_kernel = np.exp(-0.5 * ((lag + 0.035) / 0.012) ** 2)
    st_kernel = np.exp(-0.5 * ((lag - 0.16) / 0.06) ** 2)
    q_course = fftconvolve(impulses, q_kernel[None, :].astype(np.float32), mode="same", axes=1)
    st_course = fftconvolve(impulses, st_kernel[None, :].astype(np.float32), mode="same", axes=1)
    q_leads = np.einsum("nd,ndl->nl", -direction * q_mV[:, None], lead_fields)  # Q: away from the infarct
    st_leads = np.einsum("nd,ndl->nl", direction * st_mV[:, None], lead_fields)  # ST: towards it
    signals += (q_course[..., None] * q_leads[:, None, :] + st_course[..., None] * st_leads[:, None, :]
                ).astype(signals.dtype)
    return signals


def write_simulated(root: str | os.PathLike[str], n_mi: int, n_healthy: int, *, records_per_patient: float = 2.5,
                    seconds: float = 20.0, fs: float = FS, seed: int = 0, q_mV: tuple[float, float] = (0.1, 0.5),
                    st_mV: tuple[float, float] = (0.0, 0.3), noise_scale: float = 1.0, morph_jitter: float = 0.2,
                    axis_sd_deg: float = 25.0) -> SimulatedPtb:
    """Simulate MI patients and healthy controls with several records each and write them in the PTB layout.

    Built on :func:`medrepro.sim.ecg.simulate_12lead` (one call for all records, its own findings switched
    off except sub-threshold ST shifts and occasional ectopic beats): ``records_per_patient × patients``
    records are dealt to the patients at random, so patients have one to several records, as in PTB (a
    patient dealt none is dropped); a patient's records share its morphology and lead field, while heart
    rate, noise and baseline wander change from record to record. Patients numbered below ``n_mi`` have
    an infarct (:func:`add_infarction`) that is consistent across their records: one territory (anterior,
    inferior or lateral), one Q-wave amplitude drawn from ``q_mV``, and an ST elevation drawn from
    ``st_mV`` per patient and scaled by 0.5–1.2 per record (the ST segment evolves between recordings).
    The 3 Frank leads come from :func:`frank_like`.

    Returns a :class:`SimulatedPtb`; the RECORDS file lists the records in patient order.
    """
    from ...sim.ecg import NoiseSpec, SimConfig, lead_field, simulate_12lead

    root = Path(root)
    n_pat = n_mi + n_healthy
    if n_mi < 0 or n_healthy < 0 or n_pat < 1:
        raise ValueError(f"need at least one patient, got n_mi={n_mi}, n_healthy={n_healthy}")
    config = SimConfig(p_afib=0.0, p_avb1=0.0, p_bbb=0.0, p_incomplete_bbb=0.0, p_ste=0.0, p_std=0.0, p_qmi=0.0,
                       p_lvh=0.0, p_lvh_borderline=0.0, p_std_given_lvh=0.0, p_ectopy=0.05,
                       morph_jitter=morph_jitter, axis_sd_deg=axis_sd_deg)
    n_rec = max(n_pat, int(round(records_per_patient * n_pat)))
    batch = simulate_12lead(n_rec, fs=fs, seconds=seconds, seed=seed, config=config,
                            noise=NoiseSpec(scale=noise_scale), n_patients=n_pat)
    order = np.argsort(batch.patient_id, kind="stable")
    sim_pid = batch.patient_id[order]
    signals, r_peaks = np.ascontiguousarray(batch.signals[order]), batch.r_peaks[order]
    rng = np.random.default_rng([seed, 1])
    terr_p = np.where(np.arange(n_pat) < n_mi, rng.integers(1, 4, n_pat), 0)  # per patient
    q_p = np.where(terr_p > 0, rng.uniform(*q_mV, n_pat), 0.0)
    st_p = np.where(terr_p > 0, rng.uniform(*st_mV, n_pat), 0.0)
    fields, _ = lead_field(n_pat, rng, axis_sd_deg=0.0, electrode_sd_deg=0.0, electrode_gain_sd=0.0)
    st_rec = st_p[sim_pid] * rng.uniform(0.5, 1.2, n_rec)
    add_infarction(signals, r_peaks, fs, fields[sim_pid], terr_p[sim_pid], q_p[sim_pid], st_rec)
    signals = np.concatenate([signals, frank_like(signals)], axis=-1)
    _, patient = np.unique(sim_pid, return_inverse=True)  # patients 1, 2, … without gaps
    patient = patient + 1
    label = (terr_p[sim_pid] > 0).astype(np.int64)
    names = record_names(patient)
    ages = rng.integers(30, 80, n_pat)
    sexes = np.where(rng.random(n_pat) < 0.3, "female", "male")
    for k, name in enumerate(names):  # one header and two signal files per record, each a single numpy write
        write_record(root, name, signals[k], summary_comments(MI if label[k] else HEALTHY, int(ages[sim_pid[k]]),
                                                              str(sexes[sim_pid[k]])), fs)
    (root / "RECORDS").write_text("".join(f"{n}\n" for n in names))
    return SimulatedPtb(root=root, names=names, patient=patient, label=label, r_peaks=r_peaks,
                        territory=terr_p[sim_pid], q_mV=q_p[sim_pid], st_mV=st_rec)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 8, seconds: float = 12.0) -> Path:
    """A miniature PTB (``n_patients`` subjects, half MI, one to several records each) with simulated content.

    The first record is ``patient001/s0010_re``, as in the real database; RECORDS lists every record.
    """
    n_mi = max(1, n_patients // 2)
    write_simulated(root, n_mi, max(1, n_patients - n_mi), records_per_patient=2.0, seconds=seconds, seed=seed)
    mark_fixture(root, "ptb")
    return Path(root)


# ------------------------------------------------------------------------------------- preprocessing
def heartbeats(x: np.ndarray, r_peaks: np.ndarray, length: int) -> np.ndarray:
    """Beats (beats, length, leads) centred on their R peak, as in COMET's PTB preprocessing.

    Each beat spans half the record's median RR interval on either side of its R peak (cut at the record's
    ends) and is zero-padded on both sides to ``length`` samples. A record whose median RR interval exceeds
    ``length`` gives no beats (COMET drops those records as outliers), as does one with fewer than 2 peaks.
    """
    x = np.asarray(x, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=np.int64)
    if len(r) < 2:
        return np.zeros((0, length, x.shape[1]), dtype=np.float32)
    med = float(np.median(np.diff(r)))
    if med > length:
        return np.zeros((0, length, x.shape[1]), dtype=np.float32)
    half = int(med) // 2
    offs = np.arange(-half, half)
    idx = r[:, None] + offs[None, :]
    valid = (idx >= 0) & (idx < len(x))
    seg = np.where(valid[..., None], x[np.clip(idx, 0, len(x) - 1)], 0.0).astype(np.float32)
    left = (length - 2 * half) // 2
    out = np.zeros((len(r), length, x.shape[1]), dtype=np.float32)
    out[:, left:left + 2 * half] = seg
    return out
