"""Simulated photoplethysmograms (PPG) of participants with persistent traits, vectorised over records.

The shared PPG simulator of the wearable and rPPG notebooks. A participant (:func:`sample_participants`)
carries traits that do not change between recordings — age, sex, height, BMI, resting blood pressure,
arterial stiffness (pulse-wave velocity, PWV), resting heart rate, heart-rate variability, perfusion and
pulse morphology. A record (:func:`simulate_ppg`) is one recording session of one participant: it adds a
session state (heart rate above rest, blood pressure, respiration, perfusion, probe contact) and artefacts.

Each beat is the sum of three Gaussian waves of the time since the beat's onset (the foot of the pulse):
the forward systolic wave (peak at the crest time), the reflected wave (delayed by ΔT = height / PWV, the
"stiffness index" relation: a late diastolic peak in young, compliant arteries, a late-systolic shoulder in
old, stiff ones) and the dicrotic wave just after aortic-valve closure (ejection time shortens with heart rate);
the dicrotic notch is the dip before it. Every wave is evaluated in closed form for the current and the two
previous beats (no per-beat loop, no ODE), vectorised over records: about 10,000 ten-second records at 64 Hz
per second on one core (``python -m medrepro.sim.ppg`` measures it).

Blood pressure is linked to the pulse: PWV rises with age and pressure (Moens–Korteweg with an exponential
elastic modulus, PWV ∝ exp(α·MAP/2)), so a record's blood pressure moves the reflected-wave timing and the
transit delay between two measurement sites (``site_distance_m``: a pulse measured further along the
arterial tree arrives later by distance / PWV — the "phase shift" of two-site rPPG).

Realistic:
    - trait correlations drawn around published adult trends: blood pressure rising with age and BMI,
      PWV rising with age and pressure (≈ 6 m/s at 20–30 y, ≈ 11 m/s at 70–80 y), crest time lengthening and
      the dicrotic wave fading with age, HRV falling with age, women's resting heart rate ≈ 3 bpm higher;
    - beat-to-beat RR variability (respiratory sinus arrhythmia, a 0.1 Hz Mayer component, white jitter);
    - session states that vary within a participant (heart rate, pressure, perfusion, probe contact), so two
      records of one participant differ more than two views of one record;
    - respiratory baseline and amplitude modulation, slow baseline drift, broadband sensor noise, motion
      bursts whose spectrum overlaps the heart-rate band.
Not modelled:
    - arrhythmias and ectopic beats, vasoactive drugs, venous pulsation, the optical path (wavelength,
      skin tone, SpO2), sensor saturation and clipping, device filters, the exponential diastolic run-off
      (three Gaussians approximate the whole beat);
    - any real population: trait distributions and effect sizes are knobs (``TraitSpec``, ``StateSpec``,
      ``PpgNoise``), calibrated per notebook, and do not come from a cohort.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import Sequence

import numpy as np

_ALPHA_MMHG = 0.018  # exponent of the elastic modulus E = E0·exp(α·P) (1/mmHg): PWV ∝ exp(α·P/2)


@dataclass
class TraitSpec:
    """Distributions of the participant traits (knobs of :func:`sample_participants`).

    The ``*_sd`` fields are the unexplained spread of each trait around its trend; the ``*_per_*`` fields
    are the trends. Shrinking the spreads makes traits easier to read from the pulse.
    """

    age_range: tuple[float, float] = (20.0, 80.0)
    p_female: float = 0.5
    bmi_median: float = 26.0
    bmi_log_sd: float = 0.16
    sbp_sd: float = 10.0  # mmHg
    dbp_sd: float = 6.0
    sbp_per_year: float = 0.45
    sbp_per_bmi: float = 0.7
    pwv_per_year: float = 0.085  # m/s per year
    pwv_per_mmhg: float = 0.05
    pwv_sd: float = 0.7
    hr_sd: float = 7.0  # bpm
    female_hr_offset: float = 3.0
    crest_time_per_year: float = 0.0015  # s per year
    refl_per_year: float = 0.006  # reflected-wave amplitude (relative to systole) per year
    dicrotic_decay_per_year: float = 0.018  # the dicrotic wave fades as exp(−rate · (age − 20))
    morph_sd: float = 0.12  # log-normal sd of per-participant wave amplitudes
    timing_sd: float = 0.012  # s, sd of per-participant crest-time and notch-timing offsets


@dataclass
class StateSpec:
    """How a recording session differs from the participant's resting state."""

    hr_above_rest: float = 8.0  # mean of the exponential heart-rate excess over rest (bpm)
    hr_range: tuple[float, float] = (40.0, 160.0)
    sbp_per_bpm: float = 0.4  # pressure rises with the session heart rate
    bp_sd: float = 5.0  # mmHg, session pressure noise
    resp_rate_range: tuple[float, float] = (10.0, 22.0)  # breaths per minute
    perfusion_log_sd: float = 0.25
    contact_sd: float = 0.10  # log-normal sd of per-session wave-amplitude changes (probe contact pressure)
    timing_sd: float = 0.006  # s, per-session jitter of the wave timings


@dataclass
class PpgNoise:
    """Artefacts, in units of a typical pulse amplitude (≈ 1). ``scale`` multiplies all of them."""

    white: float = 0.03  # broadband sensor noise sd
    drift: float = 0.3  # slow baseline drift (0.01–0.12 Hz), amplitude
    resp_baseline: float = 0.1  # respiratory baseline modulation (RIIV)
    resp_amplitude: float = 0.1  # respiratory amplitude modulation (RIAV), fraction
    motion_prob: float = 0.3  # chance that a record carries motion bursts
    motion_amp: float = 1.0  # amplitude of a motion burst
    motion_bursts: int = 2  # at most this many bursts per affected record
    scale: float = 1.0


@dataclass
class Participants:
    """Traits of ``n`` simulated participants (one entry per participant, SI-like units).

    Attributes:
        age: years; female: 0/1; height_m; bmi: kg/m²; sbp, dbp: resting blood pressure (mmHg);
        pwv: aortic pulse-wave velocity at rest (m/s); hr_rest: bpm; hrv: beat-to-beat RR variability
        (fraction of RR); perfusion: pulse amplitude (a.u.); crest_time: onset-to-systolic-peak time (s);
        refl_index: reflected-wave amplitude relative to the systolic wave; dicrotic: dicrotic-wave amplitude;
        notch_offset: participant offset of the dicrotic timing (s).
    """

    age: np.ndarray
    female: np.ndarray
    height_m: np.ndarray
    bmi: np.ndarray
    sbp: np.ndarray
    dbp: np.ndarray
    pwv: np.ndarray
    hr_rest: np.ndarray
    hrv: np.ndarray
    perfusion: np.ndarray
    crest_time: np.ndarray
    refl_index: np.ndarray
    dicrotic: np.ndarray
    notch_offset: np.ndarray

    def __len__(self) -> int:
        return len(self.age)

    @property
    def hypertensive(self) -> np.ndarray:
        """Resting SBP ≥ 140 or DBP ≥ 90 mmHg."""
        return (self.sbp >= 140) | (self.dbp >= 90)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every trait as a column (for a DataFrame)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def subset(self, idx: np.ndarray | Sequence[int]) -> "Participants":
        """The participants at ``idx``."""
        idx = np.asarray(idx)
        return Participants(**{k: v[idx] for k, v in self.as_dict().items()})


@dataclass
class PpgBatch:
    """A batch of simulated PPG records.

    Attributes:
        signal: (n, sites, samples) float32 PPG in a.u. (blood-volume convention: systole up).
        fs: sampling rate in Hz.
        participant: (n,) index into ``traits`` of each record's participant.
        traits: the participants.
        state: per-record truths: ``hr_bpm`` (mean over the record's beats), ``sbp``, ``dbp``, ``map``,
            ``pwv`` (m/s), ``resp_rate`` (breaths/min), ``perfusion``, ``motion`` (bool), ``delay_s``
            (n, sites) transit delay of each site.
        beat_onsets: (n, max_beats) onset times (s) at site 0 inside the record, NaN-padded.
    """

    signal: np.ndarray
    fs: float
    participant: np.ndarray
    traits: Participants
    state: dict[str, np.ndarray] = field(default_factory=dict)
    beat_onsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.signal)

    @property
    def ppg(self) -> np.ndarray:
        """(n, samples) the first site."""
        return self.signal[:, 0]

    def record_traits(self, name: str) -> np.ndarray:
        """A participant trait repeated for each record (e.g. ``batch.record_traits("age")``)."""
        return getattr(self.traits, name)[self.participant]

    def subset(self, idx: np.ndarray | Sequence[int]) -> "PpgBatch":
        """The records at ``idx`` (participants are kept whole)."""
        idx = np.asarray(idx)
        return replace(self, signal=self.signal[idx], participant=self.participant[idx],
                       state={k: v[idx] for k, v in self.state.items()},
                       beat_onsets=None if self.beat_onsets is None else self.beat_onsets[idx])


def sample_participants(n: int, *, seed: int = 0, spec: TraitSpec = TraitSpec()) -> Participants:
    """Draw ``n`` participants with correlated traits (vectorised, deterministic by ``seed``)."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(*spec.age_range, n)
    female = (rng.random(n) < spec.p_female).astype(np.int8)
    height = 1.77 - 0.13 * female + rng.normal(0, 0.065, n)
    bmi = np.clip(np.exp(rng.normal(np.log(spec.bmi_median), spec.bmi_log_sd, n)) + 0.04 * (age - 50), 16, 50)
    sbp = 118 + spec.sbp_per_year * (age - 45) + spec.sbp_per_bmi * (bmi - 26) - 5 * female \
        + rng.normal(0, spec.sbp_sd, n)
    dbp = 76 + 0.15 * (age - 45) + 0.4 * (bmi - 26) - 2 * female + rng.normal(0, spec.dbp_sd, n)
    dbp = np.minimum(dbp, sbp - 20)
    pwv = np.clip(5.0 + spec.pwv_per_year * (age - 20) + spec.pwv_per_mmhg * (sbp - 120)
                  + rng.normal(0, spec.pwv_sd, n), 3.5, 16.0)
    hr_rest = np.clip(68 + spec.female_hr_offset * female + 0.35 * (bmi - 26) - 0.03 * (age - 45)
                      + rng.normal(0, spec.hr_sd, n), 45, 100)
    hrv = 0.05 * np.exp(-0.025 * (age - 20)) * np.exp(rng.normal(0, 0.35, n))
    perfusion = np.exp(rng.normal(0, 0.35, n)) * np.clip(1 - 0.012 * (bmi - 26), 0.5, 1.3)
    crest = np.clip(0.10 + spec.crest_time_per_year * (age - 20) + 0.004 * female
                    + rng.normal(0, spec.timing_sd, n), 0.07, 0.26)
    refl = np.clip(0.35 + spec.refl_per_year * (age - 20) + 0.01 * (pwv - 7), 0.15, 0.95) * np.exp(rng.normal(0, spec.morph_sd, n))
    dicrotic = 0.28 * np.exp(-spec.dicrotic_decay_per_year * (age - 20)) * np.exp(rng.normal(0, spec.morph_sd, n))
    notch = rng.normal(0, spec.timing_sd, n)
    return Participants(age=age, female=female, height_m=height, bmi=bmi, sbp=sbp, dbp=dbp, pwv=pwv, hr_rest=hr_rest,
                        hrv=hrv, perfusion=perfusion, crest_time=crest, refl_index=refl, dicrotic=dicrotic,
                        notch_offset=notch)


def _gauss(t: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((t - mu) / sigma) ** 2)


def simulate_ppg(
    participants: Participants,
    participant_index: np.ndarray | Sequence[int],
    *,
    seconds: float = 10.0,
    fs: float = 64.0,
    seed: int = 0,
    state: StateSpec = StateSpec(),
    noise: PpgNoise = PpgNoise(),
    site_distance_m: Sequence[float] = (0.0,),
    hr_bpm: np.ndarray | None = None,
    chunk: int = 2048,
) -> PpgBatch:
    """Simulate one PPG record per entry of ``participant_index`` (records of a participant share its traits).

    Args:
        participants: from :func:`sample_participants`.
        participant_index: (n,) participant of each record; repeat an index for several sessions.
        seconds, fs: duration and sampling rate of each record.
        seed: seeds the session states and artefacts (the traits were seeded by ``sample_participants``).
        state, noise: session variability and artefacts.
        site_distance_m: extra arterial path length of each measurement site (m); site ``s`` sees the pulse
            ``site_distance_m[s] / PWV`` seconds later (the two-site phase shift). One site by default.
        hr_bpm: (n,) session heart rates that override the drawn ones (e.g. to cover extreme rates).
        chunk: records simulated at a time (bounds the memory).

    Returns:
        A :class:`PpgBatch`; deterministic given ``participants``, ``participant_index`` and ``seed``.
    """
    idx = np.asarray(participant_index, dtype=np.int64)
    n = len(idx)
    rng = np.random.default_rng(seed)
    p = participants.subset(idx)
    n_samp = int(round(seconds * fs))
    sites = np.asarray(site_distance_m, dtype=float)
    # ---- session state (per record)
    if hr_bpm is None:
        hr = p.hr_rest + rng.exponential(state.hr_above_rest, n)
    else:
        hr = np.asarray(hr_bpm, dtype=float).copy()
        rng.exponential(1.0, n)  # keep the stream aligned with the default path
    hr = np.clip(hr, *state.hr_range)
    excess = hr - p.hr_rest
    sbp = p.sbp + state.sbp_per_bpm * excess + rng.normal(0, state.bp_sd, n)
    dbp = np.minimum(p.dbp + 0.25 * state.sbp_per_bpm * excess + rng.normal(0, 0.6 * state.bp_sd, n), sbp - 15)
    mean_ap = dbp + (sbp - dbp) / 3
    map_rest = p.dbp + (p.sbp - p.dbp) / 3
    pwv = p.pwv * np.exp(0.5 * _ALPHA_MMHG * (mean_ap - map_rest))  # Moens–Korteweg, E ∝ exp(α P)
    resp = rng.uniform(*state.resp_rate_range, n) / 60.0  # Hz
    perf = p.perfusion * np.exp(rng.normal(0, state.perfusion_log_sd, n))
    contact = np.exp(rng.normal(0, state.contact_sd, (n, 2)))
    jitter = rng.normal(0, state.timing_sd, (n, 3))
    delays = sites[None, :] / pwv[:, None]  # (n, sites)
    # ---- beat timing: RR_i = RR0 (1 + RSA + Mayer + white), onsets from a random phase before t = 0
    rr0 = 60.0 / hr
    max_delay = float(delays.max(initial=0.0))
    n_beats = int(np.ceil((seconds + max_delay) / (0.6 * rr0.min()))) + 6  # enough even at the shortest RR
    k = np.arange(n_beats)[None, :]
    t_nom = k * rr0[:, None]
    rsa = p.hrv[:, None] * 1.2 * np.sin(2 * np.pi * resp[:, None] * t_nom + rng.uniform(0, 2 * np.pi, (n, 1)))
    mayer = p.hrv[:, None] * 0.8 * np.sin(2 * np.pi * 0.1 * t_nom + rng.uniform(0, 2 * np.pi, (n, 1)))
    white = p.hrv[:, None] * 0.7 * rng.normal(size=(n, n_beats))
    rr = rr0[:, None] * np.clip(1 + rsa + mayer + white, 0.6, 1.5)
    first = -(rng.uniform(3.0, 3.7, n)[:, None] * rr0[:, None]) - max_delay  # ≥ 2 beats before the first sample
    onsets = first + np.concatenate([np.zeros((n, 1)), np.cumsum(rr[:, :-1], axis=1)], axis=1)  # (n, beats)
    # ---- wave parameters (per record): systolic, reflected, dicrotic
    lvet = np.clip(0.413 - 0.0017 * hr, 0.16, 0.36)  # left-ventricular ejection time (Weissler), s
    mu = np.stack([p.crest_time + jitter[:, 0],
                   p.crest_time + p.height_m / pwv + jitter[:, 1],  # ΔT = height / PWV
                   lvet + 0.06 + p.notch_offset + jitter[:, 2]], axis=1)
    sig = np.stack([0.45 * p.crest_time, 0.06 + 0.25 * p.height_m / pwv, np.full(n, 0.045)], axis=1)
    amp = np.stack([np.ones(n), p.refl_index * contact[:, 0], p.dicrotic * contact[:, 1]], axis=1)
    amp = amp / (1 + 0.5 * amp[:, 1:2])  # keep the peak height near 1 when the reflection merges into systole
    # ---- artefact parameters
    drift_f = rng.uniform(0.01, 0.12, (n, 3))
    drift_ph = rng.uniform(0, 2 * np.pi, (n, 3))
    drift_a = noise.drift * noise.scale * rng.uniform(0.2, 1.0, (n, 1)) * rng.normal(0, 1, (n, 3)) / np.sqrt(3)
    resp_ph = rng.uniform(0, 2 * np.pi, n)
    has_motion = rng.random(n) < noise.motion_prob
    n_b = max(int(noise.motion_bursts), 1)
    burst_on = (rng.random((n, n_b)) < 0.7) | (np.arange(n_b)[None, :] == 0)
    burst_on &= has_motion[:, None]
    burst_c = rng.uniform(0, seconds, (n, n_b))
    burst_w = rng.uniform(0.3, 1.5, (n, n_b))
    burst_a = noise.motion_amp * noise.scale * rng.uniform(0.5, 1.5, (n, n_b)) * burst_on
    mot_f = rng.uniform(0.3, 4.0, (n, 4))
    mot_ph = rng.uniform(0, 2 * np.pi, (n, 4))
    mot_w = rng.normal(0, 1, (n, 4)) / 2.0
    t = np.arange(n_samp) / fs
    out = np.empty((n, len(sites), n_samp), dtype=np.float32)
    white_sd = noise.white * noise.scale
    for c0 in range(0, n, chunk):
        c = slice(c0, min(n, c0 + chunk))
        m = c.stop - c.start
        # shared artefacts of the chunk (the same body movement and drift at every site)
        drift = np.einsum("rk,rkt->rt", drift_a[c], np.sin(2 * np.pi * drift_f[c][:, :, None] * t + drift_ph[c][:, :, None]))
        env = np.einsum("rb,rbt->rt", burst_a[c],
                        np.exp(-0.5 * ((t[None, None, :] - burst_c[c][:, :, None]) / burst_w[c][:, :, None]) ** 2))
        motion = env * np.einsum("rk,rkt->rt", mot_w[c], np.sin(2 * np.pi * mot_f[c][:, :, None] * t + mot_ph[c][:, :, None]))
        resp_wave = np.sin(2 * np.pi * resp[c][:, None] * t + resp_ph[c][:, None])
        # beat lookup: flatten rows with an offset so that one searchsorted serves every record
        shift = onsets[c].min()
        span = onsets[c].max() - shift + seconds + 10.0
        base = np.arange(m)[:, None] * span
        flat_on = (onsets[c] - shift + base).ravel()
        for s, d in enumerate(delays[c].T):
            ts = t[None, :] - d[:, None]  # (m, samples), time at the site's own clock
            j = np.searchsorted(flat_on, (ts - shift + base).ravel(), side="right").reshape(m, n_samp) - 1
            j = np.clip(j - np.arange(m)[:, None] * n_beats, 0, n_beats - 1)
            pulse = np.zeros((m, n_samp))
            for back in range(3):  # the current beat and the tails of the two before it
                jb = np.clip(j - back, 0, n_beats - 1)
                tau = ts - np.take_along_axis(onsets[c], jb, axis=1)
                for w in range(3):
                    pulse += amp[c, w, None] * _gauss(tau, mu[c, w, None], sig[c, w, None])
            pulse *= perf[c, None] * (1 + noise.resp_amplitude * noise.scale * resp_wave)
            x = pulse + noise.resp_baseline * noise.scale * perf[c, None] * resp_wave + drift + motion \
                + rng.normal(0, white_sd, (m, n_samp))
            out[c, s] = x.astype(np.float32)
    inside = (onsets >= 0) & (onsets < seconds)
    beat_onsets = np.where(inside, onsets, np.nan)
    width = max(int(inside.sum(axis=1).max(initial=1)), 1)
    order = np.argsort(~inside, axis=1, kind="stable")[:, :width]
    beat_onsets = np.take_along_axis(beat_onsets, order, axis=1)
    pair = inside[:, 1:] & inside[:, :-1]
    rr_sum = np.where(pair, np.diff(onsets, axis=1), 0.0).sum(axis=1)
    hr_meas = np.where(pair.any(axis=1), 60.0 * pair.sum(axis=1) / np.maximum(rr_sum, 1e-9), hr)
    st = {"hr_bpm": hr_meas, "sbp": sbp, "dbp": dbp, "map": mean_ap, "pwv": pwv, "resp_rate": resp * 60.0,
          "perfusion": perf, "motion": has_motion, "delay_s": delays}
    return PpgBatch(signal=out, fs=float(fs), participant=idx, traits=participants, state=st, beat_onsets=beat_onsets)


def benchmark(n: int = 2000, fs: float = 64.0, seconds: float = 10.0) -> float:
    """Records per second of :func:`simulate_ppg` on this machine (single process)."""
    people = sample_participants(max(n // 4, 1), seed=0)
    start = time.perf_counter()
    simulate_ppg(people, np.arange(n) % len(people), seconds=seconds, fs=fs, seed=0)
    return n / (time.perf_counter() - start)


if __name__ == "__main__":  # pragma: no cover
    print(f"{benchmark():.0f} ten-second records per second at 64 Hz")
