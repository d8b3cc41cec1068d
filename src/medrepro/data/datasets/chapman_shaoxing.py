"""Chapman University – Shaoxing People's Hospital 12-lead ECG database (PhysioNet ``ecg-arrhythmia`` 1.0.0).

The real layout (``data_manifests/chapman-shaoxing.yaml``; 45,152 ten-second 12-lead ECGs at 500 Hz)::

    WFDBRecords/01/010/JS00001.hea   WFDB header: 12 signals, 500 Hz, 5000 samples; the signal file is the
    WFDBRecords/01/010/JS00001.mat   MATLAB v4 file ``JS00001.mat`` read as WFDB format 16 with a 24-byte
                                     offset (``JS00001.mat 16+24 1000/mV ...``); header comments carry
                                     ``#Age:``, ``#Sex:`` and ``#Dx:`` (comma-separated SNOMED CT codes)
    ConditionNames_SNOMED-CT.csv     the names of the SNOMED CT codes                       — not read here

:func:`load` walks ``WFDBRecords/*/*/*.hea``, reads the signals (12 leads × 5000 samples, mV) and the
diagnosis codes; :func:`rhythm_group` maps the codes to the four rhythm groups of Zheng et al. (2020):
SB (sinus bradycardia), SR (sinus rhythm, sinus irregularity), AFIB (atrial fibrillation, atrial flutter),
GSVT (supraventricular tachycardias incl. sinus tachycardia). :func:`write_record` writes the same format
(MAT v4 ``val`` int16, 1 µV per unit, plus the header), and :func:`make_fixture` a miniature copy.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, read_wfdb16
from . import mark_fixture

FS = 500.0
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LAYOUT = ["WFDBRecords/"]
GROUPS: tuple[str, ...] = ("SB", "SR", "AFIB", "GSVT")
#: SNOMED CT codes of each rhythm group (Zheng et al. 2020 merge; codes as used in the database headers).
GROUP_CODES: dict[str, tuple[str, ...]] = {
    "SB": ("426177001",),                      # sinus bradycardia
    "SR": ("426783006", "427393009"),          # sinus rhythm, sinus irregularity
    "AFIB": ("164889003", "164890007"),        # atrial fibrillation, atrial flutter
    "GSVT": ("427084000", "426761007", "713422000", "233896004", "233897008", "195101003"),
    # sinus tachycardia, SVT, atrial tachycardia, AVNRT, AVRT, sinus-atrium-to-atrial wandering rhythm
}
_PRIORITY = ("AFIB", "GSVT", "SB", "SR")  # a record with several rhythm codes takes the first group listed here


@dataclass
class ChapmanData:
    """Signals (records, 5000, 12) float32 mV, record names, SNOMED codes per record, age and sex."""

    signals: np.ndarray
    records: list[str]
    dx: list[list[str]]
    age: np.ndarray
    male: np.ndarray
    fs: float = FS


def rhythm_group(dx: Sequence[str]) -> int:
    """Index into :data:`GROUPS` of a record's SNOMED codes, or −1 when none of the rhythm codes is present."""
    for g in _PRIORITY:
        if any(c in GROUP_CODES[g] for c in dx):
            return GROUPS.index(g)
    return -1


def _comment(comments: Sequence[str], key: str) -> str:
    for c in comments:
        if c.strip().lower().startswith(key.lower() + ":"):
            return c.split(":", 1)[1].strip()
    return ""


def list_headers(root: str | os.PathLike[str]) -> list[Path]:
    """Every ``WFDBRecords/<xx>/<xxx>/*.hea`` under ``root``, sorted."""
    base = Path(root) / "WFDBRecords"
    if not base.is_dir():
        raise FileNotFoundError(f"Chapman-Shaoxing folder not found: {base} (is {root} the extracted database?)")
    return sorted(base.glob("*/*/*.hea"))


def load(root: str | os.PathLike[str], limit: int | None = None) -> ChapmanData:
    """Read the records (all, or the first ``limit`` in path order). Bad records raise with their path.

    Records are read by :func:`medrepro.data.io.read_wfdb16` (file size, WFDB checksums, leads, rate); samples
    WFDB marks as missing are NaN.
    """
    heads = list_headers(root)[:limit]
    sig, names, dx, age, male = [], [], [], [], []
    for h in heads:
        rec = read_wfdb16(h, expect_leads=LEADS, expect_fs=FS)  # format 16 at offset 24 in the .mat file
        if rec.signal.shape[0] != 5000:
            raise FormatError(f"{h}: {rec.signal.shape[0]} samples, expected 5000 (10 s at 500 Hz)")
        sig.append(rec.signal)
        names.append(h.stem)
        dx.append([c.strip() for c in _comment(rec.comments, "Dx").split(",") if c.strip()])
        a = _comment(rec.comments, "Age")
        age.append(float(a) if a.replace(".", "", 1).isdigit() else np.nan)
        male.append(_comment(rec.comments, "Sex").lower().startswith("m"))
    return ChapmanData(signals=np.stack(sig) if sig else np.zeros((0, 5000, 12), np.float32), records=names, dx=dx,
                       age=np.array(age), male=np.array(male))


def write_record(path_stem: str | os.PathLike[str], signal: np.ndarray, dx: Sequence[str], age: int = 60,
                 sex: str = "Male") -> Path:
    """Write ``<stem>.mat`` (MATLAB v4 ``val``, int16, 1 µV/unit) and ``<stem>.hea`` as the database does."""
    from scipy.io import savemat

    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    signal = np.asarray(signal)
    if signal.shape != (5000, 12) or not np.isfinite(signal).all():
        raise ValueError(f"signal must be finite, shape (5000, 12); got {signal.shape}")
    d = np.clip(np.round(signal * 1000.0), -32767, 32767).astype(np.int16)
    savemat(str(stem.with_suffix(".mat")), {"val": d.T}, format="4")  # column-major = interleaved format 16
    lines = [f"{stem.name} 12 500 5000"]
    for i, lead in enumerate(LEADS):
        cs = int(d[:, i].astype(np.int64).sum()) & 0xFFFF
        cs = cs - 65536 if cs > 32767 else cs
        lines.append(f"{stem.name}.mat 16+24 1000/mV 16 0 {int(d[0, i])} {cs} 0 {lead}")
    lines += [f"#Age: {age}", f"#Sex: {sex}", f"#Dx: {','.join(dx)}", "#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
    stem.with_suffix(".hea").write_text("\n".join(lines) + "\n")
    return stem


def record_stem(root: str | os.PathLike[str], i: int) -> Path:
    """The path stem of the i-th (0-based) record: ``WFDBRecords/01/010/JS00001`` ... (100 per sub-folder)."""
    n = i + 1
    return Path(root) / "WFDBRecords" / f"{(i // 1000) + 1:02d}" / f"{(i // 1000) + 1:02d}{(i // 100) % 10}" / f"JS{n:05d}"


def write_simulated(root: str | os.PathLike[str], signals: np.ndarray, groups: Sequence[int], seed: int = 0) -> Path:
    """Write simulated (n, 5000, 12) ECGs with one rhythm group each (its first SNOMED code) in the real layout."""
    rng = np.random.default_rng(seed)
    for i, (s, g) in enumerate(zip(signals, groups)):
        write_record(record_stem(root, i), s, [GROUP_CODES[GROUPS[g]][0]], age=int(rng.integers(20, 90)),
                     sex="Male" if rng.random() < 0.5 else "Female")
    return Path(root)


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n: int = 24) -> Path:
    """A miniature copy (``n`` records, the four rhythm groups in turn) with simulated content."""
    from ...sim.ecg import simulate_12lead

    sim = simulate_12lead(n, fs=FS, seconds=10.0, seed=seed)
    write_simulated(root, sim.signals, [i % 4 for i in range(n)], seed=seed)
    mark_fixture(root, "chapman-shaoxing")
    return Path(root)
    return Path(root)
