"""Simulated P3 oddball recordings of a clinical cohort: single-trial ERPs whose components carry age and depression.

A designed stand-in for the private clinical EEG of Honke et al. (2020): each subject has an age and a depression
flag; each trial's event-related potential (ERP) at Pz is a sum of Gaussian components whose amplitudes and
latencies depend on the subject and vary from trial to trial, buried in background EEG. The noise-free ERP of
every trial is returned, so a denoiser can be scored exactly.

Components (target trials; non-target trials carry the same N1/N2 and a P3 scaled by ``nontarget_p3``):

- N1 at ~100 ms, fixed amplitude;
- N2 at ~220 ms, amplitude lowered by depression (``depression_n2_drop``);
- P3 (P300) peaking at ``p3_latency_s + latency_per_year_s · (age − 20)``: later with age, and its amplitude lowered
  by depression (``depression_p3_drop``). Per subject the amplitude and latency vary around those means
  (``subject_amp_cv``, ``subject_latency_sd_s``); per trial again (``trial_amp_cv``, ``trial_latency_sd_s``).

Noise (continuous, per subject, vectorised): 1/f^β background (:func:`medrepro.sim.eeg.aperiodic_noise`), alpha
(8–12 Hz) in bursts — a narrow-band rhythm under a slowly varying envelope — and white sensor noise; a common-mode
drift that every electrode shares (the recording is reference-free, as BioSemi records), which re-referencing to
the mastoid-like pair P9/P10 removes.

Realistic: the P3's latency rising and its amplitude falling with age and depression in the directions reported in
the ERP literature, single-trial latency jitter and amplitude variability of the order seen in oddball data,
1/f background with alpha bursts at single-trial SNR below 1, stimulus triggers ahead of the screen by a fixed
delay (ERP CORE measured 26 ms). Not modelled: scalp topography beyond three midline channels and the reference
pair (no head model), eye blinks and movements, muscle artefacts, habituation over the session, response-locked
activity, the effect sizes of any real cohort — the age and depression effects here are chosen, not fitted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .eeg import aperiodic_noise, oscillation

#: channels the smoke files hold: three midline sites and the mastoid-like reference pair of ERP CORE's P3 pipeline
ERP_CHANNELS: tuple[str, ...] = ("Fz", "Cz", "Pz", "P9", "P10")
#: how much of the Pz ERP each midline channel sees (a crude stand-in for the P3's parietal maximum)
_CHANNEL_GAIN: dict[str, float] = {"Fz": 0.35, "Cz": 0.7, "Pz": 1.0, "P9": 0.0, "P10": 0.0}


@dataclass
class ErpCohortSpec:
    """Knobs of :func:`simulate_cohort` (amplitudes in µV at Pz, times in s)."""

    fs: float = 128.0
    tmin: float = -0.2
    n_times: int = 128
    trigger_delay_s: float = 0.026
    soa_s: tuple[float, float] = (1.4, 1.6)
    age_range: tuple[float, float] = (18.0, 70.0)
    p_depressed: float = 0.5
    n1_uv: float = -3.0
    n1_latency_s: float = 0.10
    n1_width_s: float = 0.02
    n2_uv: float = -4.0
    n2_latency_s: float = 0.22
    n2_width_s: float = 0.03
    p3_uv: float = 10.0
    p3_latency_s: float = 0.32
    p3_width_s: float = 0.07
    latency_per_year_s: float = 0.0015
    depression_p3_drop: float = 0.35
    depression_n2_drop: float = 0.3
    nontarget_p3: float = 0.3
    subject_amp_cv: float = 0.15
    subject_latency_sd_s: float = 0.015
    trial_amp_cv: float = 0.3
    trial_latency_sd_s: float = 0.03
    background_uv: float = 8.0
    background_exponent: float = 1.0
    alpha_uv: float = 5.0
    white_uv: float = 1.5
    drift_uv: float = 20.0
    extra: dict = field(default_factory=dict)


@dataclass
class ErpSubject:
    """One simulated subject: a continuous recording with its triggers, and the ground truth of every trial."""

    subject: int
    age: float
    depressed: bool
    signals_uv: np.ndarray          # (channels, samples), reference-free (common-mode drift included)
    ch_names: tuple[str, ...]
    fs: float
    trigger_samples: np.ndarray     # 0-based sample of each stimulus trigger
    target: np.ndarray              # bool per trial
    clean_uv: np.ndarray            # (trials, n_times): the noise-free ERP at Pz, window tmin .. tmin + n_times/fs
    factors: dict[str, np.ndarray]  # per trial: p3_uv, p3_latency_s, n2_uv (the generative factors)


def erp_times(spec: ErpCohortSpec) -> np.ndarray:
    """Times (s, from the stimulus on the screen) of the epoch samples."""
    start = int(round(spec.tmin * spec.fs))
    return (start + np.arange(spec.n_times)) / spec.fs


def erp_waveform(times: np.ndarray, *, n1: np.ndarray | float, n2: np.ndarray | float, p3: np.ndarray | float,
                 p3_latency: np.ndarray | float, spec: ErpCohortSpec) -> np.ndarray:
    """Noise-free ERP (µV) at ``times`` for per-trial component amplitudes and P3 latency; shape (trials, times)."""
    t = np.asarray(times, float)[None, :]
    col = lambda v: np.atleast_1d(np.asarray(v, float))[:, None]
    g = lambda lat, width: np.exp(-0.5 * ((t - lat) / width) ** 2)
    return (col(n1) * g(spec.n1_latency_s, spec.n1_width_s) + col(n2) * g(spec.n2_latency_s, spec.n2_width_s)
            + col(p3) * g(col(p3_latency), spec.p3_width_s))


def simulate_cohort(n_subjects: int, *, n_targets: int = 40, n_nontargets: int = 20, spec: ErpCohortSpec | None = None,
                    seed: int = 0) -> list[ErpSubject]:
    """Simulate ``n_subjects`` P3 oddball recordings (ages, depression flags, continuous signals, ground truth).

    Trials come in random order (targets among non-targets), one every ``soa_s`` seconds; the stimulus reaches the
    screen ``trigger_delay_s`` after its trigger and the ERP is locked to the screen. ``clean_uv`` is the noise-free
    Pz ERP over the epoch a loader cuts at ``trigger + round(trigger_delay_s·fs) + round(tmin·fs)``.
    """
    spec = spec or ErpCohortSpec()
    rng = np.random.default_rng(seed)
    times = erp_times(spec)
    pre, delay = int(round(spec.tmin * spec.fs)), int(round(spec.trigger_delay_s * spec.fs))
    out = []
    for s in range(n_subjects):
        age = float(rng.uniform(*spec.age_range))
        dep = bool(rng.random() < spec.p_depressed)
        n = n_targets + n_nontargets
        target = np.zeros(n, bool)
        target[rng.permutation(n)[:n_targets]] = True
        soa = rng.uniform(*spec.soa_s, n)
        triggers = (np.round((1.0 + np.concatenate([[0.0], np.cumsum(soa[:-1])])) * spec.fs)).astype(np.int64)
        length = int(triggers[-1] + delay + pre + spec.n_times + spec.fs)
        # subject means, then trial draws around them
        p3_mean = spec.p3_uv * (1 - spec.depression_p3_drop * dep) * max(0.3, 1 + spec.subject_amp_cv * rng.standard_normal())
        lat_mean = (spec.p3_latency_s + spec.latency_per_year_s * (age - 20.0)
                    + spec.subject_latency_sd_s * rng.standard_normal())
        n2_mean = spec.n2_uv * (1 - spec.depression_n2_drop * dep) * max(0.3, 1 + spec.subject_amp_cv * rng.standard_normal())
        p3 = p3_mean * np.clip(1 + spec.trial_amp_cv * rng.standard_normal(n), 0.05, None) * np.where(target, 1.0, spec.nontarget_p3)
        p3_lat = lat_mean + spec.trial_latency_sd_s * rng.standard_normal(n)
        n2 = n2_mean * np.clip(1 + spec.trial_amp_cv * rng.standard_normal(n), 0.05, None)
        n1 = spec.n1_uv * np.clip(1 + spec.trial_amp_cv * rng.standard_normal(n), 0.05, None)
        clean = erp_waveform(times, n1=n1, n2=n2, p3=p3, p3_latency=p3_lat, spec=spec)
        erp = np.zeros(length)
        starts = triggers + delay + pre
        idx = starts[:, None] + np.arange(spec.n_times)[None, :]
        erp[idx] = clean                                                    # epochs do not overlap (SOA > epoch)
        # background, alpha bursts, sensor noise (per channel), common-mode drift (all channels)
        bg = aperiodic_noise(1, length, exponent=spec.background_exponent, fs=spec.fs, rng=rng)[0] * spec.background_uv
        env = aperiodic_noise(1, length, exponent=3.0, fs=spec.fs, f_min=0.2, rng=rng)[0]
        burst = np.clip(env, 0, None) * 1.6                                 # bursts: alpha on half of the time
        alpha = oscillation(1, length, rng.uniform(8.5, 11.5), bandwidth=1.0, fs=spec.fs, rng=rng)[0] * burst * spec.alpha_uv
        drift = aperiodic_noise(1, length, exponent=2.0, fs=spec.fs, f_min=0.05, rng=rng)[0] * spec.drift_uv
        chans = []
        for ch in ERP_CHANNELS:
            g = _CHANNEL_GAIN[ch]
            sig = drift + spec.white_uv * rng.standard_normal(length)
            if g:
                sig = sig + g * (erp + bg + alpha)
            chans.append(sig)
        out.append(ErpSubject(subject=s + 1, age=age, depressed=dep, signals_uv=np.stack(chans).astype(np.float32),
                              ch_names=ERP_CHANNELS, fs=spec.fs, trigger_samples=triggers, target=target,
                              clean_uv=clean.astype(np.float32),
                              factors=dict(p3_uv=p3, p3_latency_s=p3_lat, n2_uv=n2)))
    return out


__all__ = ["ERP_CHANNELS", "ErpCohortSpec", "ErpSubject", "erp_times", "erp_waveform", "simulate_cohort"]
