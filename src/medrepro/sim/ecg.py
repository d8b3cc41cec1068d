"""Simulated 12-lead ECGs with rhythm and morphology findings, ground-truth intervals and noise.

The shared ECG simulator of the ECG notebooks. Each beat is a sum of Gaussian waves (P, Q, R, S, a
late R', an ST-segment hump, T; ECGSYN-inspired, McSharry et al. 2003), but instead of integrating
ECGSYN's ODE per record, every wave is evaluated in closed form as a function of the time since the
previous R peak (waves after R) or until the next R peak (waves before R). Each wave carries a 3-D
dipole vector; a per-patient lead field projects the dipoles onto the 12 standard leads, so Einthoven's
and Goldberger's relations hold exactly (III = II − I, aVR = −(I + II)/2, ...). Everything is vectorised
over records (chunks of records, no per-record or per-beat Python loop): about 2,000 ten-second 12-lead
records per second at 500 Hz and 9,000 at 100 Hz on one core (CPU time on the development VM;
``python -m medrepro.sim.ecg`` measures the wall-clock rate on your machine).

Findings (multi-label, ``FINDINGS``): NORM (none of the others), AFIB, SBRAD (sinus, HR < 60 bpm),
STACH (sinus, HR > 100 bpm), AVB1 (PR > 200 ms), BBB (complete bundle branch block, QRS ≥ 120 ms,
right- or left-type), STE (ST elevation ≥ 0.1 mV in a territory), STD (ST depression / T inversion),
QMI (pathological Q waves of an old infarct), LVH (voltage criteria, optionally with strain).

Realistic:
    - intervals drawn around published adult norms, with ground truth per record: RR (mean), HR,
      PR, QRS, QT (Bazett-scaled per beat with the preceding RR) and QTc; R-peak sample indices;
    - per-patient morphology: wave amplitudes, widths and timing jitter, heart rotation (electrical axis),
      electrode placement (precordial angle and gain), records of the same patient share it;
    - overlapping class features, so labels are not trivially separable: heart rates concentrated near
      the 60 / 100 bpm cut-offs, sinus arrhythmia and premature atrial/ventricular beats (irregular RR
      without AF), AF with low RR variability, incomplete bundle branch block (QRS 100–119 ms, unlabelled),
      mild ST changes below the label cut-off, borderline voltage, PR near 200 ms, LVH strain that mimics
      ST depression, co-occurring findings (e.g. LVH with STD, AF with BBB);
    - baseline wander (respiration-like, 0.05–0.6 Hz), EMG-like broadband noise (four white-noise sources
      with uniform amplitude, mixed into the 12 leads), powerline interference (only where the sampling rate
      can carry it), short electrode-motion bursts (random walks) in a few leads of ~5 % of the records;
    - the recorder's derived leads: III, aVR, aVL and aVF are computed from I and II after the noise, as an
      electrocardiograph does, so the relations hold for the noisy record too.
Not modelled:
    - the body as a volume conductor (a fixed dipole lead field instead), Gaussian-shaped EMG amplitudes,
      beat-to-beat morphology variation other than ectopy, P-wave or T-wave asymmetry, U waves, pacing,
      flutter, AV block above first degree, pre-excitation, QT-prolonging drugs, electrolytes, lead
      reversal, device filters;
    - randomness depends on ``chunk`` as well as ``seed`` (keep the default for reproducible records).
    - the exact statistics of any real database: prevalences and difficulty are knobs (``SimConfig``,
      ``NoiseSpec``), calibrated per notebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

#: The 12 standard leads, in the usual order.
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: Findings (label columns) in the order of ``EcgBatch.labels``.
FINDINGS: tuple[str, ...] = ("NORM", "AFIB", "SBRAD", "STACH", "AVB1", "BBB", "STE", "STD", "QMI", "LVH")
#: Plain-language names of the findings.
FINDING_NAMES: dict[str, str] = {
    "NORM": "normal ECG", "AFIB": "atrial fibrillation", "SBRAD": "sinus bradycardia",
    "STACH": "sinus tachycardia", "AVB1": "first-degree AV block", "BBB": "bundle branch block",
    "STE": "ST elevation", "STD": "ST depression", "QMI": "old myocardial infarction",
    "LVH": "left ventricular hypertrophy",
}

# Wave slots (columns of the per-beat parameter tables).
_P, _Q, _R, _S, _R2, _ST, _T, _VQRS, _VT = range(9)
_N_WAVES = 9
_N_EMG = 4  # independent EMG sources mixed into the 12 leads
_AFTER = np.array([_R, _S, _R2, _ST, _T, _VQRS, _VT])  # evaluated against the previous R peak
_BEFORE = np.array([_P, _Q, _R, _VQRS])  # evaluated against the next R peak (their left tails)


@dataclass
class SimConfig:
    """Prevalences and the overlap knobs of the findings.

    Prevalences are per record and drawn independently, except where noted (AVB1 needs sinus rhythm;
    LVH raises the chance of STD). ``hr_*`` set the heart-rate mixture; the borderline fractions put
    that share of records just around a label cut-off, unlabelled side included.
    """

    p_afib: float = 0.15
    p_brady: float = 0.18  # share of sinus records drawn from the bradycardia band
    p_tachy: float = 0.18  # share of sinus records drawn from the tachycardia band
    p_rate_borderline: float = 0.3  # share of sinus records drawn from 55–65 or 95–105 bpm
    p_avb1: float = 0.12
    p_pr_borderline: float = 0.2  # normal PR drawn from 185–200 ms
    p_bbb: float = 0.15
    p_incomplete_bbb: float = 0.12  # QRS 100–119 ms with BBB morphology, not labelled
    p_ste: float = 0.12
    p_std: float = 0.12
    p_st_mild: float = 0.15  # ST shift below the label cut-off, not labelled
    p_qmi: float = 0.10
    p_lvh: float = 0.10
    p_lvh_borderline: float = 0.12  # voltage × 1.2–1.5, not labelled
    p_std_given_lvh: float = 0.35  # co-occurrence: strain pattern labelled as ST depression too
    p_ectopy: float = 0.12  # records with premature beats
    ectopic_beat_rate: float = 0.12  # share of beats that are premature in those records
    sinus_arrhythmia: float = 0.04  # respiratory RR modulation amplitude (fraction of RR), up to
    af_rr_cv: tuple[float, float] = (0.08, 0.30)  # coefficient of variation of RR in AF
    morph_jitter: float = 0.2  # log-normal sd of per-patient wave amplitudes
    axis_sd_deg: float = 25.0  # sd of the per-patient heart rotation in the frontal plane
    electrode_sd_deg: float = 8.0  # sd of precordial electrode angle
    electrode_gain_sd: float = 0.12  # sd of precordial lead gain


@dataclass
class NoiseSpec:
    """Noise and artefacts, amplitudes in mV. ``scale`` multiplies all of them."""

    baseline_mV: float = 0.15  # baseline wander (per-record amplitude up to twice this)
    emg_mV: float = 0.025  # broadband muscle noise sd (log-normal across records)
    powerline_mV: float = 0.02  # 50/60 Hz hum, only when fs > 2 × line frequency
    burst_prob: float = 0.05  # chance of one electrode-motion burst per record
    burst_mV: float = 0.4
    scale: float = 1.0


@dataclass
class EcgBatch:
    """A batch of simulated records.

    Attributes:
        signals: (n, samples, 12) float32 in mV, leads in ``LEADS`` order.
        fs: sampling rate in Hz.
        labels: (n, len(FINDINGS)) bool, columns in ``FINDINGS`` order.
        intervals: per-record ground truth in ms (``rr_ms``, ``pr_ms`` (NaN in AF), ``qrs_ms``, ``qt_ms``,
            ``qtc_ms``) and ``hr_bpm``.
        r_peaks: (n, max_beats) R-peak sample indices inside the record, padded with −1.
        patient_id: (n,) int patient of each record (records of a patient share morphology).
        meta: other per-record truths (``bbb_type`` 0 none / 1 right / 2 left, ``bbb_incomplete``,
            ``st_mV`` (signed), ``st_territory`` 0 none / 1 anterior / 2 inferior / 3 lateral,
            ``qmi_territory``, ``lvh_factor``, ``axis_deg``, ``ectopic_beats``, ``noise_sd_mV``,
            ``baseline_mV``, ``burst``).
    """

    signals: np.ndarray
    fs: float
    labels: np.ndarray
    intervals: dict[str, np.ndarray]
    r_peaks: np.ndarray
    patient_id: np.ndarray
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    findings: tuple[str, ...] = FINDINGS
    leads: tuple[str, ...] = LEADS

    def __len__(self) -> int:
        return len(self.signals)

    def label(self, name: str) -> np.ndarray:
        """The boolean column of one finding."""
        return self.labels[:, self.findings.index(name)]

    def subset(self, idx: np.ndarray | Sequence[int]) -> "EcgBatch":
        """The records at ``idx`` (a new batch)."""
        idx = np.asarray(idx)
        return replace(self, signals=self.signals[idx], labels=self.labels[idx],
                       intervals={k: v[idx] for k, v in self.intervals.items()}, r_peaks=self.r_peaks[idx],
                       patient_id=self.patient_id[idx], meta={k: v[idx] for k, v in self.meta.items()})


def lead_field(n: int, rng: np.random.Generator, axis_sd_deg: float = 25.0, electrode_sd_deg: float = 8.0,
               electrode_gain_sd: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """Per-record 3 × 12 matrices projecting a dipole (x left, y inferior, z anterior; mV) onto the leads.

    Limb leads follow Einthoven and Goldberger exactly; precordial leads lie in the transverse plane
    from V1 (115°, right-anterior) to V6 (0°, left), with per-record electrode angle and gain jitter.
    The heart's rotation (the electrical axis) is folded in here. Returns (matrices, axis rotation in °).
    """
    alpha = np.deg2rad(rng.normal(0.0, axis_sd_deg, n))  # frontal-plane rotation (axis shift)
    beta = np.deg2rad(rng.normal(0.0, 10.0, n))  # transverse-plane rotation
    rot = np.zeros((n, 3, 3))
    ca, sa, cb, sb = np.cos(alpha), np.sin(alpha), np.cos(beta), np.sin(beta)
    # R = R_y(beta) @ R_z(alpha): rotate in the x–y (frontal) plane, then in the x–z (transverse) plane
    rz = np.zeros((n, 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = ca, -sa, sa, ca, 1.0
    ry = np.zeros((n, 3, 3))
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 2, 0], ry[:, 2, 2], ry[:, 1, 1] = cb, -sb, sb, cb, 1.0
    rot = ry @ rz
    lead_i = np.array([1.0, 0.0, 0.0])
    lead_ii = np.array([0.5, np.sqrt(3) / 2, 0.0])
    limb = np.stack([lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2,
                     lead_ii - lead_i / 2])  # I, II, III, aVR, aVL, aVF
    ang = np.deg2rad(np.array([115.0, 90.0, 75.0, 60.0, 30.0, 0.0]))[None, :] \
        + np.deg2rad(rng.normal(0.0, electrode_sd_deg, (n, 6)))
    gain = 1.4 * np.exp(rng.normal(0.0, electrode_gain_sd, (n, 6)))
    prec = np.stack([np.cos(ang), np.full_like(ang, 0.1), np.sin(ang)], axis=-1) * gain[..., None]  # (n, 6, 3)
    leads = np.concatenate([np.broadcast_to(limb, (n, 6, 3)), prec], axis=1)  # (n, 12, 3)
    # a dipole d in heart coordinates appears as rot @ d in body coordinates: V = leads @ rot @ d
    return np.transpose(leads @ rot, (0, 2, 1)), np.rad2deg(alpha)  # (n, 3, 12)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _draw_findings(n: int, cfg: SimConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-record truths (vectorised)."""
    u = lambda: rng.random(n)  # noqa: E731
    af = u() < cfg.p_afib
    # heart rate: a mixture with extra mass just around the cut-offs
    band = rng.choice(4, n, p=[1 - cfg.p_brady - cfg.p_tachy - cfg.p_rate_borderline, cfg.p_brady, cfg.p_tachy,
                               cfg.p_rate_borderline])
    hr = np.where(band == 0, rng.uniform(62, 98, n), 0.0)
    hr = np.where(band == 1, rng.uniform(40, 58, n), hr)
    hr = np.where(band == 2, rng.uniform(102, 150, n), hr)
    border = np.where(u() < 0.5, rng.uniform(55, 65, n), rng.uniform(95, 105, n))
    hr = np.where(band == 3, border, hr)
    hr = np.where(af, rng.uniform(55, 150, n), hr)
    # PR
    avb1 = (u() < cfg.p_avb1) & ~af
    pr = np.where(u() < cfg.p_pr_borderline, rng.uniform(185, 200, n), np.clip(rng.normal(155, 18, n), 115, 199))
    pr = np.where(avb1, rng.uniform(205, 320, n), pr)
    # QRS and bundle branch block
    bbb = u() < cfg.p_bbb
    inc = (~bbb) & (u() < cfg.p_incomplete_bbb)
    qrs = np.clip(rng.normal(90, 8, n), 72, 108)
    qrs = np.where(inc, rng.uniform(100, 119, n), qrs)
    qrs = np.where(bbb, rng.uniform(120, 170, n), qrs)
    bbb_type = np.where(bbb | inc, np.where(u() < 0.55, 1, 2), 0)
    # ST/T
    ste = u() < cfg.p_ste
    lvh = u() < cfg.p_lvh
    std = (u() < cfg.p_std) | (lvh & (u() < cfg.p_std_given_lvh))
    std &= ~ste  # a record shows either elevation or depression as its primary ST finding
    mild = (~ste) & (~std) & (u() < cfg.p_st_mild)
    st = np.where(ste, rng.uniform(0.1, 0.35, n), 0.0)
    st = np.where(std, -rng.uniform(0.05, 0.2, n), st)
    st = np.where(mild, rng.choice([-1.0, 1.0], n) * rng.uniform(0.02, 0.07, n), st)
    st_terr = np.where(st != 0, rng.integers(1, 4, n), 0)
    qmi = u() < cfg.p_qmi
    qmi_terr = np.where(qmi, rng.integers(1, 3, n), 0)  # 1 anterior, 2 inferior
    lvh_factor = np.where(lvh, rng.uniform(1.6, 2.3, n), 1.0)
    lvh_factor = np.where((~lvh) & (u() < cfg.p_lvh_borderline), rng.uniform(1.2, 1.5, n), lvh_factor)
    strain = lvh & (std | (u() < 0.3))
    ectopy = u() < cfg.p_ectopy
    qtc = np.clip(rng.normal(410, 22, n), 360, 480)
    return dict(af=af, hr=hr, avb1=avb1, pr=pr, bbb=bbb, inc=inc, qrs=qrs, bbb_type=bbb_type, ste=ste, std=std,
                st=st, st_terr=st_terr, qmi=qmi, qmi_terr=qmi_terr, lvh=lvh, lvh_factor=lvh_factor,
                strain=strain, ectopy=ectopy, qtc=qtc)


def simulate_12lead(
    n: int,
    *,
    fs: float = 500.0,
    seconds: float = 10.0,
    seed: int = 0,
    config: SimConfig | None = None,
    noise: NoiseSpec | None = None,
    n_patients: int | None = None,
    chunk: int = 16,
) -> EcgBatch:
    """Simulate ``n`` 12-lead ECGs, vectorised over records; deterministic for a given ``seed``.

    Args:
        n: number of records.
        fs: sampling rate in Hz (signals are evaluated at this rate directly, no resampling).
        seconds: record length.
        seed: seeds everything (morphology, findings, noise).
        config: prevalences and overlap knobs (:class:`SimConfig`).
        noise: noise and artefact amplitudes (:class:`NoiseSpec`).
        n_patients: draw this many patients and assign records to them at random (records of a patient
            share morphology and lead field); default: one patient per record.
        chunk: records evaluated together (memory ≈ chunk × samples × 60 bytes).

    Returns:
        An :class:`EcgBatch` with signals in mV, multi-labels, ground-truth intervals and R peaks.
    """
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    if fs <= 0 or seconds <= 0:
        raise ValueError(f"fs and seconds must be positive, got fs={fs}, seconds={seconds}")
    cfg = config or SimConfig()
    nz = noise or NoiseSpec()
    rng = np.random.default_rng(seed)
    T = int(round(fs * seconds))

    # ---- patients: morphology and lead field --------------------------------------------------------
    n_pat = n if n_patients is None else int(n_patients)
    pid = np.arange(n) if n_patients is None else rng.integers(0, n_pat, n)
    L_pat, axis_pat = lead_field(n_pat, rng, cfg.axis_sd_deg, cfg.electrode_sd_deg, cfg.electrode_gain_sd)
    amp_pat = np.exp(rng.normal(0.0, cfg.morph_jitter, (n_pat, _N_WAVES)))
    width_pat = np.exp(rng.normal(0.0, 0.1, (n_pat, _N_WAVES)))
    dir_jit_pat = rng.normal(0.0, 0.15, (n_pat, _N_WAVES, 3))
    L, axis_deg = L_pat[pid], axis_pat[pid]
    amp_j, width_j, dir_j = amp_pat[pid], width_pat[pid], dir_jit_pat[pid]

    f = _draw_findings(n, cfg, rng)

    # ---- beat times ---------------------------------------------------------------------------------
    rr_mean = 60.0 / f["hr"]
    n_beats = int(np.ceil((seconds + 2.0) / (60.0 / 200.0 * 0.6))) + 4
    k = np.arange(n_beats)[None, :]
    resp = rng.uniform(0, cfg.sinus_arrhythmia, n)[:, None] * np.sin(
        2 * np.pi * rng.uniform(0.15, 0.35, n)[:, None] * k * rr_mean[:, None] + rng.uniform(0, 2 * np.pi, n)[:, None])
    rr = rr_mean[:, None] * (1.0 + resp + 0.015 * rng.standard_normal((n, n_beats)))
    cv = rng.uniform(*cfg.af_rr_cv, n)[:, None]
    rr_af = rr_mean[:, None] * np.exp(cv * rng.standard_normal((n, n_beats)) - cv**2 / 2)
    rr = np.where(f["af"][:, None], rr_af, rr)
    # premature beats: beat k comes early (0.6–0.75 RR), a PVC is followed by a compensatory pause
    early = f["ectopy"][:, None] & (rng.random((n, n_beats)) < cfg.ectopic_beat_rate)
    early[:, 0] = False
    pvc = early & (rng.random((n, n_beats)) < 0.5)
    prem = rng.uniform(0.6, 0.75, (n, n_beats))
    rr = np.where(early, rr * prem, rr)  # rr[:, k] is the interval that ends at beat k
    pause = np.zeros_like(early)
    pause[:, 1:] = pvc[:, :-1]
    rr = np.where(pause & ~early, rr * (2.0 - np.roll(prem, 1, axis=1)), rr)
    rr = np.clip(rr, 0.25, 2.5)
    t0 = -rng.uniform(0.3, 1.0, n)[:, None] * rr_mean[:, None] - 0.2
    r_t = t0 + np.cumsum(rr, axis=1) - rr[:, :1]  # R-peak times in s, first one before t = 0
    inside = (r_t >= 0) & (r_t < seconds)
    rr_in = np.where(inside[:, 1:] & inside[:, :-1], np.diff(r_t, axis=1), np.nan)
    hr_true = 60.0 / np.nanmean(np.where(np.isfinite(rr_in), rr_in, np.nan), axis=1)
    hr_true = np.where(np.isfinite(hr_true), hr_true, f["hr"])  # fewer than two beats: nominal rate

    # ---- wave parameters: centre θ (s, relative to R) and width b (s) per record; T and ST per beat ---
    qrs_s = f["qrs"] / 1000.0
    pr_s = f["pr"] / 1000.0
    qt_beat = f["qtc"][:, None] / 1000.0 * np.sqrt(np.clip(rr, 0.3, 2.0))  # Bazett with the preceding RR
    theta = np.zeros((n, _N_WAVES))
    width = np.zeros((n, _N_WAVES))
    onset = -0.5 * qrs_s  # QRS onset relative to the R peak
    lbbb = f["bbb_type"] == 2
    theta[:, _P], width[:, _P] = onset - pr_s + 0.05, 0.018
    theta[:, _Q], width[:, _Q] = onset + 0.15 * qrs_s, np.where(f["qmi"], 0.012, 0.06 * qrs_s)
    theta[:, _R], width[:, _R] = 0.0, np.where(lbbb, 0.16, 0.1) * qrs_s
    theta[:, _S], width[:, _S] = 0.28 * qrs_s, 0.09 * qrs_s
    theta[:, _R2], width[:, _R2] = np.where(lbbb, 0.22, 0.33) * qrs_s, 0.13 * qrs_s
    theta[:, _VQRS], width[:, _VQRS] = 0.0, rng.uniform(0.03, 0.04, n)
    theta[:, _VT], width[:, _VT] = rng.uniform(0.26, 0.34, n), 0.06
    width *= width_j
    t_width = rng.uniform(0.038, 0.055, n) * width_j[:, _T]
    theta_t = onset[:, None] + qt_beat - 2.3 * t_width[:, None]  # (n, B): T centre per beat
    width[:, _T], width[:, _ST] = t_width, 1.0  # the ST width follows each beat's T wave (below)
    j_point = 0.5 * qrs_s

    # ---- dipole vectors (n, W, 3) in mV: direction × amplitude ---------------------------------------
    d = np.zeros((n, _N_WAVES, 3))
    d[:, _P] = _unit(np.array([0.5, 0.85, 0.15])) * 0.15
    d[:, _Q] = _unit(np.array([-0.6, 0.2, 0.75])) * 0.12
    d[:, _R] = _unit(np.array([0.75, 0.55, -0.35])) * 1.3
    d[:, _S] = _unit(np.array([-0.3, -0.45, -0.85])) * 0.45
    d[:, _T] = _unit(np.array([0.6, 0.6, 0.45])) * 0.32
    d[:, _VQRS] = _unit(rng.normal(0, 1, (n, 3))) * rng.uniform(1.2, 2.2, n)[:, None]
    d[:, _VT] = -_unit(d[:, _VQRS]) * 0.4
    # right BBB: late rightward-anterior R' (rSR' in V1, broad S in I/V6), T inverted in V1–V3
    rbbb = f["bbb_type"] == 1
    bbb_any = f["bbb"] | f["inc"]
    depth = np.clip((f["qrs"] - 95.0) / 50.0, 0.2, 1.0)  # complete blocks look more abnormal
    d[:, _R2] = np.where((rbbb & bbb_any)[:, None], _unit(np.array([-0.55, 0.0, 0.85])) * (0.9 * depth)[:, None], 0.0)
    # left BBB: no septal q, broad notched leftward-posterior R, deep S in V1, discordant T
    lb = (f["bbb_type"] == 2) & bbb_any
    d[:, _R2] = np.where(lb[:, None], _unit(np.array([0.8, 0.1, -0.6])) * (0.9 * depth)[:, None], d[:, _R2])
    d[:, _Q] = np.where(lb[:, None], 0.0, d[:, _Q])
    d[:, _T] = np.where(lb[:, None] & f["bbb"][:, None], _unit(np.array([-0.6, -0.1, 0.8])) * 0.3, d[:, _T])
    d[:, _T] = np.where((rbbb & f["bbb"])[:, None], _unit(np.array([0.75, 0.55, -0.2])) * 0.3, d[:, _T])
    # LVH: more voltage, optional strain (T turned away from the lateral leads)
    d[:, _R] *= f["lvh_factor"][:, None]
    d[:, _S] *= f["lvh_factor"][:, None]
    d[:, _T] = np.where(f["strain"][:, None], _unit(np.array([-0.7, -0.2, 0.3])) * 0.25, d[:, _T])
    # old MI: pathological Q (anterior: posterior-pointing QS in V1–V3; inferior: superior-pointing)
    q_anterior = _unit(np.array([0.0, 0.0, -1.0])) * rng.uniform(0.3, 0.7, n)[:, None]
    q_inferior = _unit(np.array([0.0, -1.0, 0.1])) * rng.uniform(0.2, 0.5, n)[:, None]
    d[:, _Q] = np.where((f["qmi_terr"] == 1)[:, None], q_anterior, d[:, _Q])
    d[:, _Q] = np.where((f["qmi_terr"] == 2)[:, None], q_inferior, d[:, _Q])
    # ST shift: a hump between J point and T, pointing towards the territory (negative: away)
    terr = np.array([[0, 0, 0], [0.15, 0.0, 1.0], [0.1, 1.0, 0.0], [1.0, -0.2, 0.3]], dtype=float)
    st_dir = _unit(terr[f["st_terr"]] + 1e-9)
    st_leads = np.where(f["st_terr"] == 1, 1.4, 1.0)  # precordial leads see the anterior vector with more gain
    d[:, _ST] = st_dir * (f["st"] / st_leads)[:, None]
    d[:, _T] += np.where(f["ste"][:, None], st_dir * (0.6 * f["st"])[:, None], 0.0)  # hyperacute T
    d[:, _T] = np.where(f["std"][:, None] & ~f["strain"][:, None],
                        np.where(rng.random(n)[:, None] < 0.5, -0.4, 0.3) * d[:, _T], d[:, _T])
    d[:, _P] *= np.where(f["af"], 0.0, 1.0)[:, None]  # no P waves in AF
    # per-patient morphology
    d *= amp_j[..., None]
    d[:, [_P, _Q, _R, _S, _T]] += dir_j[:, [_P, _Q, _R, _S, _T]] * np.linalg.norm(
        d[:, [_P, _Q, _R, _S, _T]], axis=-1, keepdims=True)
    A = d @ L  # (n, W, 12): each wave's amplitude in each lead

    # ---- extra sources: AF f-waves, baseline wander, powerline (each a time course × lead weights) ---
    f_amp = np.where(f["af"], rng.uniform(0.02, 0.09, n), 0.0)
    f_freq = rng.uniform(4.0, 8.0, n)
    f_phase = rng.uniform(0, 2 * np.pi, n)
    f_lead = (_unit(np.array([0.3, 0.5, 0.8]))[None, :] @ L)[:, 0, :]  # strongest in V1 and the inferior leads
    s = nz.scale
    bw_amp = rng.uniform(0, 2 * nz.baseline_mV * s, n)
    bw_freq = rng.uniform(0.05, 0.6, (n, 2))
    bw_phase = rng.uniform(0, 2 * np.pi, (n, 2))
    bw_lead = 0.5 * (rng.normal(0, 1, (n, 1, 3)) @ L)[:, 0, :] + rng.normal(0, 0.5, (n, 12))
    line_f = np.where(rng.random(n) < 0.5, 50.0, 60.0)
    line_amp = np.where(fs > 2 * line_f, rng.uniform(0, nz.powerline_mV * s, n), 0.0)
    line_phase = rng.uniform(0, 2 * np.pi, n)
    line_lead = rng.uniform(0.3, 1.0, (n, 12))
    emg_sd = nz.emg_mV * s * np.exp(rng.normal(0, 0.6, n))
    # EMG: 4 independent broadband muscle sources, each seen by every lead with its own weight
    emg_mix = rng.normal(0, 1, (n, 12, _N_EMG))
    emg_mix *= (emg_sd / np.sqrt((emg_mix**2).sum(-1).mean(-1)))[:, None, None] / 73.9  # int8 sd is 73.9
    burst = rng.random(n) < nz.burst_prob
    b_start = rng.uniform(0, seconds, n)
    b_len = rng.uniform(0.2, 1.0, n)
    b_leads = rng.random((n, 12)) < 0.2
    # rows of the source matrix G (m, S, T) and their lead weights W (n, 12, S)
    n_src = _N_WAVES + 3 + _N_EMG
    W = np.zeros((n, 12, n_src), dtype=np.float32)
    W[:, :, :_N_WAVES] = np.transpose(A, (0, 2, 1))
    W[:, :, _N_WAVES] = f_lead * f_amp[:, None]
    W[:, :, _N_WAVES + 1] = bw_lead * bw_amp[:, None]
    W[:, :, _N_WAVES + 2] = line_lead * line_amp[:, None]
    W[:, :, _N_WAVES + 3:] = emg_mix

    # ---- evaluate in chunks: each wave is a Gaussian of the time since the previous R peak (waves after R)
    # ---- or until the next one (waves before R); R and the ventricular QRS use the nearer peak ----------
    lead_major = np.empty((n, 12, T), dtype=np.float32)  # exposed as the (n, T, 12) view `signals`
    t64 = np.arange(T) / fs
    t32 = t64.astype(np.float32)
    inv_w = (1.0 / width).astype(np.float32)
    th32 = theta.astype(np.float32)
    pvc32 = pvc.astype(np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        m = b - a
        rows = r_t[a:b]
        # index of the last R peak at or before each sample: a cumulative count of peaks on the sample grid
        first = np.clip(np.ceil(rows * fs), 0, T).astype(np.int64)  # first sample at or after each peak
        hist = np.zeros((m, T + 1), dtype=np.int32)
        np.add.at(hist, (np.arange(m)[:, None], first), 1)
        kprev = np.clip(np.cumsum(hist[:, :T], axis=1) - 1, 0, n_beats - 2)
        ri = np.arange(m)[:, None]
        dt_prev = (t64[None, :] - rows[ri, kprev]).astype(np.float32)
        dt_next = (t64[None, :] - rows[ri, kprev + 1]).astype(np.float32)
        near_prev = np.abs(dt_prev) <= np.abs(dt_next)
        dt_near = np.where(near_prev, dt_prev, dt_next)
        pv_prev, pv_next = pvc32[a + ri, kprev], pvc32[a + ri, kprev + 1]
        pv_near = np.where(near_prev, pv_prev, pv_next)
        th_t = theta_t[a + ri, kprev].astype(np.float32)  # T centre of the previous beat
        G = np.empty((m, n_src, T), dtype=np.float32)

        def gauss(w: int, dt: np.ndarray, centre, gate: np.ndarray | None, out: np.ndarray) -> None:
            # out = gate · exp(−½ ((dt − θ_w) / b_w)²)
            np.subtract(dt, centre, out=out)
            out *= inv_w[a:b, w, None]
            np.square(out, out=out)
            out *= np.float32(-0.5)
            np.exp(out, out=out)
            if gate is not None:
                out *= gate

        c = th32[a:b]
        gauss(_P, dt_next, c[:, _P, None], 1.0 - pv_next, G[:, _P])
        gauss(_Q, dt_next, c[:, _Q, None], 1.0 - pv_next, G[:, _Q])
        gauss(_R, dt_near, c[:, _R, None], 1.0 - pv_near, G[:, _R])
        gauss(_S, dt_prev, c[:, _S, None], 1.0 - pv_prev, G[:, _S])
        gauss(_R2, dt_prev, c[:, _R2, None], 1.0 - pv_prev, G[:, _R2])
        gauss(_T, dt_prev, th_t, 1.0 - pv_prev, G[:, _T])
        # ST hump between the J point and the T wave: centre and width follow the T wave of that beat
        jp = j_point[a:b, None].astype(np.float32)
        st_c = jp + np.float32(0.45) * (th_t - jp)
        st_w = np.maximum(np.float32(0.3) * (th_t - jp), np.float32(0.02))
        np.subtract(dt_prev, st_c, out=G[:, _ST])
        G[:, _ST] /= st_w
        np.square(G[:, _ST], out=G[:, _ST])
        G[:, _ST] *= np.float32(-0.5)
        np.exp(G[:, _ST], out=G[:, _ST])
        G[:, _ST] *= 1.0 - pv_prev
        gauss(_VQRS, dt_near, c[:, _VQRS, None], pv_near, G[:, _VQRS])
        gauss(_VT, dt_prev, c[:, _VT, None], pv_prev, G[:, _VT])
        # f-waves with a slowly wandering frequency, baseline wander, powerline hum
        w32 = lambda v: (2 * np.pi * v[a:b, None]).astype(np.float32)  # noqa: E731  angular frequency
        p32 = lambda v: v[a:b, None].astype(np.float32)  # noqa: E731  phase
        G[:, _N_WAVES] = np.sin(w32(f_freq) * t32 + p32(f_phase)
                                + 2.0 * np.sin(np.float32(2 * np.pi * 0.2) * t32 + p32(f_phase)))
        G[:, _N_WAVES + 1] = np.sin(w32(bw_freq[:, 0]) * t32 + p32(bw_phase[:, 0]))
        G[:, _N_WAVES + 1] += np.sin(w32(bw_freq[:, 1]) * t32 + p32(bw_phase[:, 1]))
        G[:, _N_WAVES + 2] = np.sin(w32(line_f) * t32 + p32(line_phase))
        # EMG-like sources: white noise of uniform amplitude (random bytes are far cheaper than Gaussian draws)
        G[:, _N_WAVES + 3:] = np.frombuffer(rng.bytes(m * _N_EMG * T), dtype=np.int8).reshape(m, _N_EMG, T)
        x = np.matmul(W[a:b], G, out=lead_major[a:b])  # (m, 12, T): every source projected onto every lead
        # electrode-motion bursts (random walks) in a few leads of a few records
        for i in np.flatnonzero(burst[a:b]):  # loops over the ~5 % of records with a burst, not over all
            on = (t64 >= b_start[a + i]) & (t64 < b_start[a + i] + b_len[a + i])
            walk = np.cumsum(rng.standard_normal((12, int(on.sum())), dtype=np.float32), axis=1)
            x[i][:, on] += walk * np.float32(0.05 * nz.burst_mV * s) * b_leads[a + i][:, None]
        # An electrocardiograph records I and II and computes III and the augmented leads from them, so the
        # noise of a real record obeys Einthoven's and Goldberger's relations too: derive them the same way.
        x[:, 2] = x[:, 1] - x[:, 0]
        x[:, 3] = -(x[:, 0] + x[:, 1]) / 2
        x[:, 4] = x[:, 0] - x[:, 1] / 2
        x[:, 5] = x[:, 1] - x[:, 0] / 2
    signals = np.transpose(lead_major, (0, 2, 1))

    # ---- labels and ground truth ---------------------------------------------------------------------
    sinus = ~f["af"]
    lab = {
        "AFIB": f["af"], "SBRAD": sinus & (hr_true < 60), "STACH": sinus & (hr_true > 100), "AVB1": f["avb1"],
        "BBB": f["bbb"], "STE": f["ste"], "STD": f["std"], "QMI": f["qmi"], "LVH": f["lvh"],
    }
    abnormal = np.any(np.stack(list(lab.values()), axis=1), axis=1)
    lab["NORM"] = ~abnormal
    labels = np.stack([lab[name] for name in FINDINGS], axis=1)
    r_idx = np.where(inside, np.round(r_t * fs), -1).astype(np.int64)
    order = np.argsort(r_idx < 0, axis=1, kind="stable")  # beats inside the record first
    r_peaks = np.take_along_axis(r_idx, order, axis=1)
    r_peaks = r_peaks[:, : max(1, int(inside.sum(1).max()))]
    qt_in = np.where(inside, qt_beat, np.nan)
    qt_ms = 1000 * np.nanmean(qt_in, axis=1)
    intervals = {
        "rr_ms": 60000.0 / hr_true, "hr_bpm": hr_true, "pr_ms": np.where(f["af"], np.nan, f["pr"]),
        "qrs_ms": f["qrs"], "qt_ms": qt_ms, "qtc_ms": qt_ms / np.sqrt(60.0 / hr_true),
    }
    meta = {
        "bbb_type": f["bbb_type"], "bbb_incomplete": f["inc"], "st_mV": f["st"], "st_territory": f["st_terr"],
        "qmi_territory": f["qmi_terr"], "lvh_factor": f["lvh_factor"], "lvh_strain": f["strain"],
        "axis_deg": axis_deg, "ectopic_beats": (early & inside).sum(1), "noise_sd_mV": emg_sd,
        "baseline_mV": bw_amp, "burst": burst,
    }
    return EcgBatch(signals=signals, fs=float(fs), labels=labels, intervals=intervals, r_peaks=r_peaks,
                    patient_id=pid, meta=meta)


def benchmark(n: int = 1000, fs: float = 500.0, seconds: float = 10.0) -> float:
    """Records per second of :func:`simulate_12lead` (one call, whatever threads numpy uses)."""
    import time

    simulate_12lead(16, fs=fs, seconds=seconds)  # warm-up
    start = time.perf_counter()
    simulate_12lead(n, fs=fs, seconds=seconds)
    return n / (time.perf_counter() - start)


if __name__ == "__main__":  # pragma: no cover
    for rate in (500.0, 100.0):
        print(f"{benchmark(fs=rate):.0f} ten-second 12-lead records per second at {rate:.0f} Hz")
