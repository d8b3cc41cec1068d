"""Long ambulatory-style ECG records with beat-level labels (normal, supraventricular, ventricular ectopic).

``medrepro.sim.ecg`` draws 10-s 12-lead records with record-level findings; it places premature beats but does
not say which beat is which. Beat classification (MIT-BIH-style, AAMI classes) needs a label per beat and
minutes of signal per patient, so this module draws, per patient, a few minutes of two-lead ECG (MLII and V1,
as in most MIT-BIH records) with an annotation per beat. It reuses ``medrepro.sim.ecg.lead_field`` (the
per-patient dipole-to-lead projection, including the heart's axis and electrode jitter) and the same
sum-of-Gaussians beat model. Each beat adds a per-patient, per-class template at its R peak; everything is
vectorised over patients and beats (one ``np.bincount`` per lead, no Python loop over beats).

Realistic:
    - per-patient morphology: wave amplitudes and directions, axis, QRS width; a share of patients conduct
      with a bundle branch block (wide normal beats, 120–150 ms, with a late R'), which a population model
      can mistake for ventricular ectopy;
    - per-patient ectopic foci: each patient's premature ventricular contractions (PVCs) have their own
      direction, width and polarity, so a PVC of one patient can look like a normal beat of another;
    - premature atrial contractions (PACs): a normal QRS, an altered P wave, a short preceding RR and no
      compensatory pause; PVCs come early and are followed by a compensatory pause;
    - per-patient ectopy burden (many patients have none), heart rate, sinus arrhythmia, beat-to-beat
      amplitude jitter, baseline wander and muscle noise of per-patient level.
Not modelled:
    - fusion beats (AAMI F), paced beats (Q), runs of ectopy, bigeminy, AF and flutter, rate-dependent QT,
      morphology drift within a record, electrode-motion artefacts, missed or misplaced R-peak annotations;
    - the statistics of MIT-BIH itself: burdens and difficulty are knobs (:class:`BeatConfig`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ecg import lead_field

#: Beat classes (AAMI groups drawn here) in the order of ``BeatRecords.beat_class``.
BEAT_CLASSES: tuple[str, ...] = ("N", "S", "V")
#: The MIT-BIH annotation symbol written for each class (normal, atrial premature, PVC).
BEAT_SYMBOLS: tuple[str, ...] = ("N", "A", "V")
#: The two leads drawn, as in most MIT-BIH records.
LEADS: tuple[str, ...] = ("MLII", "V1")
_LEAD_IDX = (1, 6)  # lead II and V1 in medrepro.sim.ecg.LEADS order


@dataclass
class BeatConfig:
    """Knobs of the beat simulator (shares per patient, times in s, amplitudes in mV)."""

    p_bbb: float = 0.25  # patients whose normal beats are conducted with a bundle branch block
    p_has_v: float = 0.6  # patients with any PVCs
    v_burden: tuple[float, float] = (0.03, 0.25)  # share of beats that are PVCs in those patients
    p_has_s: float = 0.4  # patients with any PACs
    s_burden: tuple[float, float] = (0.03, 0.15)
    hr_bpm: tuple[float, float] = (55.0, 100.0)
    s_prematurity: tuple[float, float] = (0.65, 0.88)  # RR before a PAC as a share of the running RR
    v_prematurity: tuple[float, float] = (0.6, 0.8)
    v_width_s: tuple[float, float] = (0.022, 0.045)  # Gaussian width of the PVC's QRS lobe
    sinus_arrhythmia: float = 0.08  # up to this share of RR, respiratory modulation
    morph_jitter: float = 0.25  # log-normal sd of per-patient wave amplitudes
    beat_jitter: float = 0.06  # sd of beat-to-beat amplitude scaling
    baseline_mV: float = 0.2  # baseline wander amplitude, up to
    emg_mV: float = 0.03  # median muscle-noise sd (log-normal across patients)
    axis_sd_deg: float = 30.0


@dataclass
class BeatRecords:
    """One long record per patient with a label per beat.

    Attributes:
        signals: (patients, samples, 2) float32 in mV, leads ``LEADS``.
        fs: sampling rate in Hz.
        r_peaks: (patients, max_beats) R-peak sample indices, padded with −1.
        beat_class: (patients, max_beats) int8 index into ``BEAT_CLASSES``, −1 where padded.
        patient_id: (patients,) int.
        meta: per-patient truths: ``hr_bpm``, ``qrs_ms`` (normal beats), ``bbb`` (bool), ``v_burden``,
            ``s_burden``, ``noise_sd_mV``.
    """

    signals: np.ndarray
    fs: float
    r_peaks: np.ndarray
    beat_class: np.ndarray
    patient_id: np.ndarray
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    leads: tuple[str, ...] = LEADS

    def __len__(self) -> int:
        return len(self.signals)

    def beats(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """R-peak samples and class indices of patient ``i`` (padding removed)."""
        keep = self.r_peaks[i] >= 0
        return self.r_peaks[i][keep], self.beat_class[i][keep]

    def symbols(self, i: int) -> list[str]:
        """MIT-BIH annotation symbols of patient ``i``'s beats."""
        return [BEAT_SYMBOLS[c] for c in self.beats(i)[1]]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def simulate_beat_records(n_patients: int, *, seconds: float = 180.0, fs: float = 360.0, seed: int = 0,
                          config: BeatConfig | None = None, noise_scale: float = 1.0) -> BeatRecords:
    """Simulate one ``seconds``-long two-lead record per patient with per-beat labels (N, S, V).

    Args:
        n_patients: number of patients (records).
        seconds: record length in s.
        fs: sampling rate in Hz (MIT-BIH: 360).
        seed: seeds everything.
        config: morphology, burden and noise knobs (:class:`BeatConfig`).
        noise_scale: multiplies the baseline-wander and muscle-noise amplitudes.

    Returns:
        A :class:`BeatRecords`.
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be ≥ 1, got {n_patients}")
    if fs <= 0 or seconds < 5:
        raise ValueError(f"need fs > 0 and seconds ≥ 5, got fs={fs}, seconds={seconds}")
    c = config or BeatConfig()
    rng = np.random.default_rng(seed)
    P, T = int(n_patients), int(round(seconds * fs))
    L, _ = lead_field(P, rng, c.axis_sd_deg)  # (P, 3, 12)
    L = L[:, :, list(_LEAD_IDX)]  # (P, 3, 2): MLII, V1

    # ---- per-patient morphology: waves × (centre θ, width b, dipole d) for the classes N, S, V ----
    W = 6  # P, Q, R, S, R' (BBB) / second PVC lobe, T
    bbb = rng.random(P) < c.p_bbb
    qrs = np.where(bbb, rng.uniform(0.12, 0.15, P), rng.uniform(0.08, 0.105, P))
    pr = rng.uniform(0.13, 0.2, P)
    t_c = rng.uniform(0.24, 0.32, P)
    theta = np.zeros((P, 3, W))
    width = np.ones((P, 3, W))
    d = np.zeros((P, 3, W, 3))
    amp = np.exp(rng.normal(0.0, c.morph_jitter, (P, W)))
    base = np.array([[0.5, 0.85, 0.15], [-0.6, 0.2, 0.75], [0.75, 0.55, -0.35], [-0.3, -0.45, -0.85],
                     [-0.55, 0.0, 0.85], [0.6, 0.6, 0.45]])
    mag = np.array([0.15, 0.12, 1.3, 0.45, 0.9, 0.32])
    dn = _unit(base[None] + rng.normal(0.0, 0.2, (P, W, 3))) * (mag * amp)[..., None]
    dn[:, 4] *= bbb[:, None]  # R' only with a bundle branch block
    dn[:, 1] *= ~bbb[:, None]
    for k in (0, 1):  # N and S share the ventricular waves
        theta[:, k] = np.stack([-pr + 0.04, -0.35 * qrs, 0 * qrs, 0.3 * qrs, 0.35 * qrs, t_c], 1)
        width[:, k] = np.stack([np.full(P, 0.02), 0.08 * qrs, 0.12 * qrs, 0.1 * qrs, 0.14 * qrs, np.full(P, 0.05)], 1)
        d[:, k] = dn
    # PACs: an ectopic P wave (other direction, amplitude) that comes a little closer to the QRS
    d[:, 1, 0] = _unit(rng.normal(0, 1, (P, 3)) + base[0]) * (0.15 * rng.uniform(0.4, 1.2, P))[:, None]
    theta[:, 1, 0] = -pr * rng.uniform(0.7, 0.95, P) + 0.04
    # PVCs: one wide lobe per focus plus a notch, discordant T, no P
    v_dir = _unit(rng.normal(0, 1, (P, 3)))
    vw = rng.uniform(*c.v_width_s, P)
    theta[:, 2] = np.stack([np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P), 1.3 * vw, t_c + 0.04], 1)
    width[:, 2] = np.stack([np.full(P, 0.02), np.full(P, 0.02), vw, np.full(P, 0.02), 0.7 * vw, np.full(P, 0.06)], 1)
    d[:, 2, 2] = v_dir * rng.uniform(1.0, 2.0, P)[:, None]
    d[:, 2, 4] = _unit(rng.normal(0, 1, (P, 3))) * rng.uniform(0.2, 0.6, P)[:, None]
    d[:, 2, 5] = -v_dir * rng.uniform(0.25, 0.5, P)[:, None]

    # templates (P, 3 classes, 2 leads, offsets) on a window around R
    off = np.arange(int(-0.4 * fs), int(0.6 * fs)) / fs
    amp_lead = d @ L[:, None]  # (P, 3, W, 2): each wave's amplitude in each lead
    g = np.exp(-0.5 * ((off[None, None, None] - theta[..., None]) / width[..., None]) ** 2)  # (P, 3, W, O)
    templ = np.einsum("pcwl,pcwo->pclo", amp_lead, g).astype(np.float32)

    # ---- beat sequence: classes, RR intervals (prematurity and compensatory pause) -----------------
    hr = rng.uniform(*c.hr_bpm, P)
    rr0 = 60.0 / hr
    B = int(np.ceil(seconds / (0.55 * rr0.min()))) + 4
    pv = np.where(rng.random(P) < c.p_has_v, rng.uniform(*c.v_burden, P), 0.0)
    ps = np.where(rng.random(P) < c.p_has_s, rng.uniform(*c.s_burden, P), 0.0)
    u = rng.random((P, B))
    cls = np.where(u < pv[:, None], 2, np.where(u < (pv + ps)[:, None], 1, 0)).astype(np.int8)
    cls[:, :2] = 0
    cls[:, 1:][(cls[:, 1:] > 0) & (cls[:, :-1] > 0)] = 0  # no couplets: an ectopic beat follows a normal one
    k = np.arange(B)[None]
    sa = rng.uniform(0, c.sinus_arrhythmia, P)[:, None]
    rr = rr0[:, None] * (1 + sa * np.sin(2 * np.pi * rng.uniform(0.15, 0.3, P)[:, None] * k * rr0[:, None]
                                         + rng.uniform(0, 2 * np.pi, P)[:, None]) + 0.02 * rng.standard_normal((P, B)))
    prem = np.where(cls == 2, rng.uniform(*c.v_prematurity, (P, B)), rng.uniform(*c.s_prematurity, (P, B)))
    rr = np.where(cls > 0, rr * prem, rr)  # rr[:, k] ends at beat k
    after_v = np.zeros_like(cls, dtype=bool)
    after_v[:, 1:] = cls[:, :-1] == 2
    rr = np.where(after_v, rr * (2.0 - np.roll(prem, 1, axis=1)), rr)  # compensatory pause after a PVC
    r_t = 0.5 + np.cumsum(rr, axis=1) - rr[:, :1]
    inside = r_t < seconds - 0.7

    # ---- synthesis: add each beat's template at its R peak (one bincount per lead) ----------------
    r_idx = np.round(r_t * fs).astype(np.int64)
    scale = (1 + c.beat_jitter * rng.standard_normal((P, B))).astype(np.float32) * inside
    o_idx = np.round(off * fs).astype(np.int64)
    pos = r_idx[..., None] + o_idx  # (P, B, O)
    ok = inside[..., None] & (pos >= 0) & (pos < T)
    flat = (np.arange(P)[:, None, None] * T + np.clip(pos, 0, T - 1))[ok]
    sig = np.empty((P, T, 2), dtype=np.float32)
    t = np.arange(T) / fs
    bw_amp = rng.uniform(0, c.baseline_mV * noise_scale, (P, 1))
    bw_f = rng.uniform(0.1, 0.4, (P, 1))
    emg = c.emg_mV * noise_scale * np.exp(rng.normal(0, 0.5, P))
    for lead in range(2):
        vals = templ[np.arange(P)[:, None], cls, lead] * scale[..., None]  # (P, B, O)
        clean = np.bincount(flat, weights=vals[ok], minlength=P * T).reshape(P, T)
        wander = bw_amp * np.sin(2 * np.pi * bw_f * t[None] + rng.uniform(0, 2 * np.pi, (P, 1)))
        sig[..., lead] = clean + wander + emg[:, None] * rng.standard_normal((P, T), dtype=np.float32)

    n_in = int(inside.sum(1).max())
    r_peaks = np.where(inside, r_idx, -1)[:, :n_in]
    beat_class = np.where(inside, cls, -1).astype(np.int8)[:, :n_in]
    meta = {"hr_bpm": hr, "qrs_ms": 1000 * qrs, "bbb": bbb, "v_burden": pv, "s_burden": ps, "noise_sd_mV": emg}
    return BeatRecords(signals=sig, fs=float(fs), r_peaks=r_peaks, beat_class=beat_class,
                       patient_id=np.arange(P), meta=meta)


def beat_windows(signal: np.ndarray, r_peaks: np.ndarray, before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut fixed windows ``[r − before, r + after)`` around R peaks of one 1-D signal.

    Returns ``(windows (beats, before + after), kept)``: beats too close to either end are dropped and
    ``kept`` is the boolean mask over ``r_peaks`` of the beats returned.
    """
    signal = np.asarray(signal)
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    kept = (r_peaks - before >= 0) & (r_peaks + after <= len(signal))
    idx = r_peaks[kept][:, None] + np.arange(-before, after)[None]
    return signal[idx], kept


def rr_features(r_peaks: np.ndarray, fs: float, local: int = 10) -> np.ndarray:
    """Per-beat RR features (de Chazal-style): (beats, 2) = pre-RR and post-RR over the local mean RR.

    The local mean is the mean of the ``local`` preceding RR intervals (a running patient average, no
    look-ahead beyond the next beat). The first and last beats reuse their neighbour's interval.
    """
    r = np.asarray(r_peaks, dtype=np.float64) / fs
    if len(r) < 3:
        return np.ones((len(r), 2), dtype=np.float32)
    rr = np.diff(r)
    pre = np.r_[rr[0], rr]
    post = np.r_[rr, rr[-1]]
    csum = np.r_[0.0, np.cumsum(pre)]
    i = np.arange(len(pre))
    lo = np.maximum(0, i - local)
    mean = (csum[i + 1] - csum[lo]) / (i + 1 - lo)
    return np.stack([pre / mean, post / mean], 1).astype(np.float32)
