"""Simulated scalp EEG on a real forward model: motor imagery, event-related potentials and resting EEG.

No real EEG recording ships inside any installed package, so the EEG notebooks simulate it. The volume
conduction is physical: MNE's bundled ``standard_1020`` electrode positions, a three-layer spherical head
fitted to them (``mne.make_sphere_model``), a volume source space inside it and the EEG forward solution
(``mne.make_forward_solution``). A source is a current dipole at a position of that source space with an
orientation; its scalp pattern is the forward solution's column for that dipole, so every source reaches
every electrode with the weights that physics gives, and neighbouring electrodes see correlated signals.
The head model is computed once per process and channel list (:func:`head_model`, about 0.3 s).

Source time courses (vectorised over sources; no per-sample Python loop):

- background: ``n_background`` dipoles at random positions and orientations, each a 1/f^β ("pink",
  aperiodic) noise process (:func:`aperiodic_noise`);
- rhythms: narrow-band oscillations by spectral shaping (:func:`oscillation`) — occipital alpha, and the
  sensorimotor mu rhythm (with a weaker beta harmonic) under C3 and C4;
- motor imagery (:func:`simulate_motor_imagery`): event-related desynchronisation (ERD) — the mu amplitude of the
  hemisphere opposite the imagined hand drops during imagery — and, as a designed knob, a lagged coupling of the
  two sensorimotor rhythms whose direction depends on the imagined hand (the contralateral hemisphere leads by
  ``lag_ms``). The coupling leaves the zero-lag covariance of the two sources the same in both classes (by
  symmetry), so it is invisible to a plain spatial covariance and visible to lagged (temporal) statistics;
- event-related potentials (:func:`simulate_erp`): P1, N1 and P3 components as Gaussian waveforms at occipital
  and parietal dipoles, with trial-to-trial latency jitter and amplitude variation;
- artefacts: eye blinks (a frontal field decaying with distance from the eyes, on EEG and EOG channels),
  line noise (50 Hz by default, common to all channels, with per-channel gain) and white sensor noise.

Realistic: volume conduction through a layered head (the lead field), 1/f background, ~10 Hz alpha and mu peaks,
ERD during imagery, per-subject source positions, orientations and rhythm frequencies, per-session channel gains,
blink and line-noise artefacts, µV amplitudes of the usual order.
Not modelled: a realistic head shape (the fsaverage BEM is not bundled; the head is a sphere), the skull's
anisotropy, eye movements and muscle artefacts (EMG), electrode drifts and pops, the reference electrode (signals
are average-free sensor potentials as the forward solution gives them), non-stationary brain states (fatigue,
attention), bursts of the mu rhythm, cross-frequency coupling, any real subject population. The lagged
inter-hemispheric coupling is a *designed* class difference, not a published property of motor imagery.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.fft import irfft, next_fast_len

#: the 22 EEG channels of BNCI 2014-001 (BCI Competition IV 2a), in file order
BNCI_EEG: tuple[str, ...] = ("Fz", "FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
                             "CP3", "CP1", "CPz", "CP2", "CP4", "P1", "Pz", "P2", "POz")
#: a 10-20 set for resting-state and ERP figures (21 scalp electrodes)
STANDARD_1020_21: tuple[str, ...] = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
                                     "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2", "POz")
MI_CLASSES: dict[int, str] = {1: "left hand", 2: "right hand", 3: "feet", 4: "tongue"}


# ------------------------------------------------------------------------------------------------ head model
@dataclass(frozen=True)
class HeadModel:
    """An EEG forward model: gain ``(n_channels, n_sources, 3)`` in V per A·m, positions in m (head frame)."""

    ch_names: tuple[str, ...]
    gain: np.ndarray
    src_pos: np.ndarray
    ch_pos: np.ndarray
    r0: np.ndarray
    montage_pos: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def dipole(self, point: np.ndarray, orientation: np.ndarray) -> np.ndarray:
        """Scalp pattern (n_channels,) of a unit dipole (1 A·m) at the source nearest ``point``."""
        i = int(np.argmin(((self.src_pos - point) ** 2).sum(1)))
        ori = orientation / np.linalg.norm(orientation)
        return self.gain[:, i, :] @ ori

    def under(self, electrode: str, depth: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
        """A cortical point below an electrode (``depth``: fraction of the way to the sphere's centre) and the
        radial (outward) direction there."""
        e = self.montage_pos[electrode]
        radial = (e - self.r0) / np.linalg.norm(e - self.r0)
        return e - depth * (e - self.r0), radial


def _standard_1020():
    """MNE's bundled ``standard_1020`` montage (MNE >= 1.13 warns that the name will change: silenced here)."""
    import warnings

    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return mne.channels.make_standard_montage("standard_1020")


@functools.lru_cache(maxsize=8)
def head_model(ch_names: tuple[str, ...] = BNCI_EEG, spacing_mm: float = 15.0) -> HeadModel:
    """The EEG forward model for these channels of MNE's ``standard_1020`` montage, cached per process.

    A three-layer sphere (brain, skull, scalp) is fitted to the montage's positions; sources lie on a grid of
    ``spacing_mm`` inside the inner layer. Unknown channel names raise ``ValueError``.
    """
    import mne

    montage = _standard_1020()
    unknown = [c for c in ch_names if c not in montage.ch_names]
    if unknown:
        raise ValueError(f"channels not in MNE's standard_1020 montage: {unknown}")
    with mne.utils.use_log_level("ERROR"):
        info = mne.create_info(list(ch_names), 250.0, "eeg")
        info.set_montage(montage)
        sphere = mne.make_sphere_model("auto", "auto", info)
        src = mne.setup_volume_source_space(sphere=sphere, pos=float(spacing_mm))
        fwd = mne.make_forward_solution(info, trans=None, src=src, bem=sphere, eeg=True, meg=False)
    gain = fwd["sol"]["data"].reshape(len(ch_names), -1, 3)
    pos = montage.get_positions()["ch_pos"]
    return HeadModel(tuple(ch_names), gain, fwd["source_rr"].copy(), np.array([pos[c] for c in ch_names]),
                     np.asarray(sphere["r0"], float), {k: np.asarray(v, float) for k, v in pos.items()})


# ------------------------------------------------------------------------------------------ source processes
def _complex_normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Complex Gaussian white spectrum in single precision (the simulators' hot loop)."""
    z = rng.standard_normal((2,) + shape, dtype=np.float32)
    return z[0] + 1j * z[1]


def aperiodic_noise(n: int, length: int, *, exponent: float = 1.0, fs: float = 250.0, f_min: float = 0.5,
                    rng: np.random.Generator) -> np.ndarray:
    """``n`` unit-variance noise series with power ∝ 1/f^exponent above ``f_min`` (flat below), shape (n, length)."""
    m = next_fast_len(length)
    f = np.fft.rfftfreq(m, 1.0 / fs)
    amp = np.maximum(f, f_min) ** (-exponent / 2.0)
    spec = _complex_normal(rng, (n, f.size)) * amp.astype(np.float32)
    spec[:, 0] = 0.0
    x = irfft(spec, n=m, axis=1)[:, :length]
    return x / x.std(axis=1, keepdims=True)


def oscillation(n: int, length: int, freq: float | np.ndarray, *, bandwidth: float = 1.5, fs: float = 250.0,
                rng: np.random.Generator) -> np.ndarray:
    """``n`` unit-variance narrow-band rhythms: Gaussian spectral peaks at ``freq`` (Hz, scalar or one per row)
    with standard deviation ``bandwidth`` (Hz) — amplitude waxes and wanes like a real rhythm. Shape (n, length)."""
    m = next_fast_len(length)
    f = np.fft.rfftfreq(m, 1.0 / fs)
    f0 = np.broadcast_to(np.asarray(freq, float), (n,))[:, None]
    amp = np.exp(-0.25 * ((f[None, :] - f0) / bandwidth) ** 2)           # sqrt of a Gaussian power peak
    spec = _complex_normal(rng, (n, f.size)) * amp.astype(np.float32)
    x = irfft(spec, n=m, axis=1)[:, :length]
    return x / x.std(axis=1, keepdims=True)


def _rms_scale(pattern: np.ndarray, target_uv: float) -> float:
    """Factor that makes a unit-variance source with this scalp pattern reach ``target_uv`` RMS over channels."""
    return target_uv * 1e-6 / (np.sqrt(np.mean(pattern ** 2)) + 1e-30)


def _blink_field(model: HeadModel) -> np.ndarray:
    """Relative blink amplitude on each channel: exp(-distance to the eyes / 4 cm) (a frontal, decaying field)."""
    eyes = (model.montage_pos["Fp1"] + model.montage_pos["Fp2"]) / 2 + np.array([0.0, 0.02, -0.02])
    d = np.linalg.norm(model.ch_pos - eyes, axis=1)
    return np.exp(-d / 0.04)


def _blinks(length: int, fs: float, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A blink time course (unit peak): Gaussian-shaped 0.2-0.4 s bumps at Poisson times."""
    x = np.zeros(length)
    n = rng.poisson(rate_hz * length / fs)
    if n == 0:
        return x
    t = np.arange(length) / fs
    for onset, width in zip(rng.uniform(0, length / fs, n), rng.uniform(0.05, 0.09, n)):   # few blinks: loop is cheap
        lo, hi = int(max(0, (onset - 4 * width) * fs)), int(min(length, (onset + 4 * width) * fs))
        x[lo:hi] += np.exp(-0.5 * ((t[lo:hi] - onset) / width) ** 2)
    return x


@dataclass
class ArtefactSpec:
    """Artefacts shared by all simulations (amplitudes in µV)."""

    sensor_noise_uv: float = 1.5     # white amplifier/electrode noise per channel
    line_uv: float = 2.0             # mains interference, common to all channels with per-channel gain
    line_freq: float = 50.0
    blink_rate_hz: float = 0.15      # about 9 blinks a minute
    blink_uv: float = 100.0          # blink peak at the frontal pole (Fp1/Fp2)


def _artefacts(model: HeadModel, length: int, fs: float, spec: ArtefactSpec, rng: np.random.Generator,
               n_eog: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(EEG artefacts (n_ch, length), EOG channels (n_eog, length)), in volts."""
    n_ch = len(model.ch_names)
    t = np.arange(length) / fs
    blink = _blinks(length, fs, spec.blink_rate_hz, rng) * spec.blink_uv * 1e-6
    line = np.sin(2 * np.pi * spec.line_freq * t + rng.uniform(0, 2 * np.pi)) * spec.line_uv * 1e-6
    eeg = (np.outer(_blink_field(model), blink) + np.outer(rng.uniform(0.5, 1.5, n_ch), line)
           + rng.standard_normal((n_ch, length)) * spec.sensor_noise_uv * 1e-6)
    eog = (np.outer(rng.uniform(0.6, 1.2, n_eog), blink)
           + rng.standard_normal((n_eog, length)) * spec.sensor_noise_uv * 1e-6)
    return eeg, eog


def _background_patterns(model: HeadModel, n_sources: int, rng: np.random.Generator) -> np.ndarray:
    """Scalp patterns (n_ch, n_sources) of ``n_sources`` dipoles at random source points, random orientations."""
    idx = rng.choice(len(model.src_pos), size=n_sources, replace=False)
    ori = rng.standard_normal((n_sources, 3))
    ori /= np.linalg.norm(ori, axis=1, keepdims=True)
    return np.einsum("csk,sk->cs", model.gain[:, idx, :], ori)


def _background(model: HeadModel, length: int, fs: float, n_sources: int, uv: float, exponent: float,
                rng: np.random.Generator) -> np.ndarray:
    """Aperiodic background from ``n_sources`` random dipoles, scaled to ``uv`` RMS over channels (volts)."""
    patterns = _background_patterns(model, n_sources, rng)                  # (n_ch, n_sources)
    x = patterns @ aperiodic_noise(n_sources, length, exponent=exponent, fs=fs, rng=rng)
    return x * (uv * 1e-6 / x.std())


# ---------------------------------------------------------------------------------------------- motor imagery
@dataclass
class MotorImagerySpec:
    """Knobs of :func:`simulate_motor_imagery` (timing as in BNCI 2014-001: cue at 2 s, imagery to 6 s)."""

    fs: float = 250.0
    cue_s: float = 2.0               # the cue appears this long after the trial starts
    imagery_end_s: float = 6.0       # the fixation cross disappears
    trial_s: float = 7.5             # trial start to trial start (BNCI: 6 s + a short break)
    mu_uv: float = 5.0               # mu rhythm RMS over channels, per hemisphere
    mu_freq: tuple[float, float] = (9.0, 12.0)     # per-subject mu peak frequency range (Hz)
    beta_share: float = 0.3          # amplitude of the beta harmonic (2 × mu) relative to mu
    erd: float = 0.25                # mean fractional drop of the contralateral mu amplitude during imagery
    erd_sd: float = 0.15             # its trial-to-trial SD (and subjects differ by ±50 %)
    coupling: float = 0.5            # designed: share of mu variance common to both hemispheres, lagged by class
    lag_ms: float = 20.0             # designed: the contralateral hemisphere leads by this much (±30 % per subject)
    background_uv: float = 10.0
    background_exponent: float = 1.2
    n_background: int = 20
    alpha_uv: float = 4.0            # posterior alpha (eyes open, reduced)
    session_gain_sd: float = 0.1     # per-session, per-channel amplitude gain (electrode impedance)
    artefacts: ArtefactSpec = field(default_factory=ArtefactSpec)


@dataclass
class MotorImageryRun:
    """One continuous recording (a run) in BNCI 2014-001's conventions.

    ``eeg`` (n_channels, n_samples) and ``eog`` (3, n_samples) in µV; ``trial`` holds 1-based sample indices of
    the trial starts (MATLAB convention, as in the BNCI files); ``y`` the class codes (1 left hand, 2 right hand,
    3 feet, 4 tongue).
    """

    eeg: np.ndarray
    eog: np.ndarray
    fs: float
    trial: np.ndarray
    y: np.ndarray
    ch_names: tuple[str, ...]
    subject: int
    session: str


def _ramp(length: int, fs: float, starts: np.ndarray, cue: float, end: float,
          ramp_s: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: (imagery window, 1 from cue to end after a trial start with cosine ramps; index of the trial
    the sample belongs to, -1 before the first). Trials must not overlap."""
    k = np.searchsorted(starts, np.arange(length), side="right") - 1
    rel = (np.arange(length) - starts[np.maximum(k, 0)]) / fs
    w = np.minimum(np.clip((rel - cue) / ramp_s, 0, 1), np.clip((end - rel) / ramp_s, 0, 1))
    return np.where(k >= 0, 0.5 - 0.5 * np.cos(np.pi * w), 0.0), k


def simulate_motor_imagery(n_subjects: int, *, sessions: Sequence[str] = ("T", "E"), trials_per_class: int = 24,
                           classes: Sequence[int] = (1, 2), ch_names: Sequence[str] = BNCI_EEG,
                           spec: MotorImagerySpec | None = None, seed: int = 0) -> list[list[MotorImageryRun]]:
    """Simulate motor-imagery sessions: ``runs[subject][session]``, one continuous run per session.

    Each subject has its own sensorimotor dipoles (under C3 and C4, position and orientation jittered), mu
    frequency, ERD depth, coupling and lag; each session its own channel gains and noise. Trials of the listed
    ``classes`` come in random order. Left-hand imagery (1) desynchronises the right hemisphere's mu and lets the
    right hemisphere lead; right-hand imagery (2) the reverse; feet (3) and tongue (4) leave both hemispheres
    unchanged and uncoupled in time.
    """
    spec = spec or MotorImagerySpec()
    rng = np.random.default_rng(seed)
    model = head_model(tuple(ch_names))
    fs = spec.fs
    n_trials = trials_per_class * len(classes)
    length = int(round(n_trials * spec.trial_s * fs)) + int(2 * fs)
    out: list[list[MotorImageryRun]] = []
    for s in range(n_subjects):
        srng = np.random.default_rng([seed, s])
        patterns = []
        for electrode in ("C3", "C4"):                                   # hand areas, jittered per subject
            point, radial = model.under(electrode, depth=srng.uniform(0.22, 0.32))
            point = point + srng.normal(0, 0.006, 3)
            patterns.append(model.dipole(point, radial + srng.normal(0, 0.35, 3)))
        patterns = np.stack(patterns, 1)                                   # (n_ch, 2): left, right hemisphere
        alpha_pat = np.stack([model.dipole(*model.under(e, 0.3)) for e in ("O1", "O2")], 1)
        f_mu = srng.uniform(*spec.mu_freq)
        lag = int(round(spec.lag_ms * srng.uniform(0.7, 1.3) * fs / 1000))
        coupling = float(np.clip(spec.coupling * srng.uniform(0.7, 1.3), 0, 1))
        erd_subject = spec.erd * srng.uniform(0.5, 1.5)
        runs = []
        for sess in sessions:
            rrng = np.random.default_rng([seed, s, sum(map(ord, sess))])
            y = rrng.permutation(np.repeat(np.asarray(classes), trials_per_class))
            starts = (np.arange(n_trials) * spec.trial_s * fs + fs).astype(int)  # 0-based sample of each start
            win, k = _ramp(length, fs, starts, spec.cue_s, spec.imagery_end_s)  # imagery window, trial index
            y_t = np.where(k >= 0, y[np.maximum(k, 0)], 0)                  # class of each sample's trial
            # own rhythms of each hemisphere and the common driver (mu + its beta harmonic)
            own = oscillation(2, length, f_mu, fs=fs, rng=rrng) + spec.beta_share * oscillation(
                2, length, 2 * f_mu, bandwidth=2.5, fs=fs, rng=rrng)
            drive = oscillation(1, length + lag, f_mu, fs=fs, rng=rrng)[0] + spec.beta_share * oscillation(
                1, length + lag, 2 * f_mu, bandwidth=2.5, fs=fs, rng=rrng)[0]
            now, late = drive[lag:], drive[:length]                         # late(t) = drive(t - lag)
            # which hemisphere lags during each sample: +1 left lags (left-hand imagery: right leads)
            lead_l = win * (y_t == 1)                                      # 0..1: right hemisphere leads
            lead_r = win * (y_t == 2)                                      # 0..1: left hemisphere leads
            rest = 1 - lead_l - lead_r
            common_l = lead_l * late + lead_r * now + rest * now
            common_r = lead_l * now + lead_r * late + rest * now
            src = np.sqrt(1 - coupling) * own + np.sqrt(coupling) * np.stack([common_l, common_r])
            # event-related desynchronisation of the hemisphere opposite the imagined hand
            depth = np.clip(erd_subject + spec.erd_sd * rrng.standard_normal(n_trials), 0, 0.95)
            d_t = np.where(k >= 0, depth[np.maximum(k, 0)], 0.0) * win
            src[0] *= 1 - d_t * (y_t == 2)                                 # right hand -> left hemisphere
            src[1] *= 1 - d_t * (y_t == 1)                                 # left hand -> right hemisphere
            scale = np.array([_rms_scale(patterns[:, k], spec.mu_uv) for k in range(2)])
            eeg = patterns @ (src * scale[:, None])
            alpha = oscillation(2, length, rrng.uniform(9.0, 11.0), fs=fs, rng=rrng)
            eeg += alpha_pat @ (alpha * np.array([_rms_scale(alpha_pat[:, k], spec.alpha_uv) for k in range(2)])[:, None])
            eeg += _background(model, length, fs, spec.n_background, spec.background_uv,
                               spec.background_exponent, rrng)
            art, eog = _artefacts(model, length, fs, spec.artefacts, rrng, n_eog=3)
            eeg = (eeg + art) * (1 + spec.session_gain_sd * rrng.standard_normal(len(ch_names)))[:, None]
            runs.append(MotorImageryRun((eeg * 1e6).astype(np.float32), (eog * 1e6).astype(np.float32), fs,
                                        starts + 1, y.astype(np.int64), tuple(ch_names), s + 1, sess))
        out.append(runs)
    return out


# ---------------------------------------------------------------------------------------------- resting, ERP
@dataclass
class RestingSpec:
    """Knobs of :func:`simulate_resting` (µV, Hz)."""

    fs: float = 250.0
    alpha_uv: float = 12.0           # posterior alpha, eyes closed
    alpha_freq: tuple[float, float] = (9.0, 11.0)
    background_uv: float = 10.0
    background_exponent: float = 1.2
    n_background: int = 30
    artefacts: ArtefactSpec = field(default_factory=ArtefactSpec)


def simulate_resting(n_records: int, seconds: float = 20.0, *, ch_names: Sequence[str] = STANDARD_1020_21,
                     spec: RestingSpec | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Resting EEG with posterior alpha: (signals (n_records, n_ch, n_samples) in µV, alpha frequency per record)."""
    spec = spec or RestingSpec()
    rng = np.random.default_rng(seed)
    model = head_model(tuple(ch_names))
    length = int(round(seconds * spec.fs))
    alpha_pat = np.stack([model.dipole(*model.under(e, 0.3)) for e in ("O1", "O2")], 1)
    out = np.empty((n_records, len(ch_names), length), np.float32)
    freqs = rng.uniform(*spec.alpha_freq, n_records)
    for i in range(n_records):
        a = oscillation(2, length, freqs[i], fs=spec.fs, rng=rng)
        x = alpha_pat @ (a * np.array([_rms_scale(alpha_pat[:, k], spec.alpha_uv) for k in range(2)])[:, None])
        x += _background(model, length, spec.fs, spec.n_background, spec.background_uv, spec.background_exponent,
                         rng)
        x += _artefacts(model, length, spec.fs, spec.artefacts, rng)[0]
        out[i] = x * 1e6
    return out, freqs


@dataclass
class ErpSpec:
    """ERP components: name -> (electrode the dipole lies under, latency s, width s, peak µV at that electrode)."""

    fs: float = 250.0
    components: dict[str, tuple[str, float, float, float]] = field(default_factory=lambda: {
        "P1": ("Oz", 0.100, 0.015, 4.0), "N1": ("POz", 0.170, 0.020, -5.0), "P3": ("Pz", 0.350, 0.070, 8.0)})
    latency_jitter_s: float = 0.015
    amplitude_cv: float = 0.3
    tmin: float = -0.2
    tmax: float = 0.8
    background_uv: float = 10.0
    background_exponent: float = 1.2
    n_background: int = 30
    alpha_uv: float = 5.0
    artefacts: ArtefactSpec = field(default_factory=lambda: ArtefactSpec(blink_rate_hz=0.0))


def simulate_erp(n_trials: int, *, ch_names: Sequence[str] = STANDARD_1020_21, spec: ErpSpec | None = None,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Single-trial ERP epochs: (epochs (n_trials, n_ch, n_times) in µV, times in s from the stimulus)."""
    spec = spec or ErpSpec()
    rng = np.random.default_rng(seed)
    model = head_model(tuple(ch_names))
    times = np.arange(int(round(spec.tmin * spec.fs)), int(round(spec.tmax * spec.fs)) + 1) / spec.fs
    length = n_trials * times.size
    evoked = np.zeros((n_trials, len(ch_names), times.size))
    for electrode, lat, width, peak in spec.components.values():
        point, radial = model.under(electrode, 0.3)
        pattern = model.dipole(point, radial)
        pattern = pattern * (peak * 1e-6 / pattern[list(ch_names).index(electrode)]) if electrode in ch_names \
            else pattern * (abs(peak) * 1e-6 / np.abs(pattern).max())
        lat_i = lat + spec.latency_jitter_s * rng.standard_normal(n_trials)
        amp_i = np.clip(1 + spec.amplitude_cv * rng.standard_normal(n_trials), 0, None)
        wave = amp_i[:, None] * np.exp(-0.5 * ((times[None, :] - lat_i[:, None]) / width) ** 2)
        evoked += wave[:, None, :] * pattern[None, :, None]
    noise = _background(model, length, spec.fs, spec.n_background, spec.background_uv, spec.background_exponent,
                        rng)
    alpha_pat = np.stack([model.dipole(*model.under(e, 0.3)) for e in ("O1", "O2")], 1)
    a = oscillation(2, length, rng.uniform(9, 11), fs=spec.fs, rng=rng)
    noise += alpha_pat @ (a * np.array([_rms_scale(alpha_pat[:, k], spec.alpha_uv) for k in range(2)])[:, None])
    noise += _artefacts(model, length, spec.fs, spec.artefacts, rng)[0]
    noise = noise.reshape(len(ch_names), n_trials, times.size).transpose(1, 0, 2)
    return ((evoked + noise) * 1e6).astype(np.float32), times


# ----------------------------------------------------------------------------------------------- EDF / FIF
def to_raw(signals_uv: np.ndarray, ch_names: Sequence[str], fs: float, ch_types: str | Sequence[str] = "eeg"):
    """An ``mne.io.RawArray`` (volts) with the standard_1020 positions of the EEG channels."""
    import mne

    info = mne.create_info(list(ch_names), float(fs), ch_types)
    with mne.utils.use_log_level("ERROR"):
        raw = mne.io.RawArray(np.asarray(signals_uv, float) * 1e-6, info)
        raw.set_montage(_standard_1020(), on_missing="ignore")
    return raw


def write_edf(path: str | Path, signals_uv: np.ndarray, ch_names: Sequence[str], fs: float) -> Path:
    """Write (n_ch, n_samples) µV signals as EDF with MNE's exporter (edfio); refuses to overwrite."""
    import mne

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; medrepro does not overwrite EEG files")
    raw = to_raw(signals_uv, ch_names, fs)
    tmp = path.with_name(path.stem + ".part.edf")
    try:
        with mne.utils.use_log_level("ERROR"):
            mne.export.export_raw(tmp, raw, fmt="edf", physical_range="auto", overwrite=True)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_edf(path: str | Path) -> tuple[np.ndarray, tuple[str, ...], float]:
    """Read an EDF file with ``mne.io.read_raw_edf``: (signals (n_ch, n_samples) in µV, channel names, fs)."""
    import mne

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"EDF file not found: {path}")
    try:
        with mne.utils.use_log_level("ERROR"):
            raw = mne.io.read_raw_edf(path, preload=True)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ValueError(f"{path}: not a readable EDF file ({exc})") from exc
    return raw.get_data() * 1e6, tuple(raw.ch_names), float(raw.info["sfreq"])


__all__ = ["BNCI_EEG", "STANDARD_1020_21", "MI_CLASSES", "HeadModel", "head_model", "aperiodic_noise",
           "oscillation", "ArtefactSpec", "MotorImagerySpec", "MotorImageryRun", "simulate_motor_imagery",
           "RestingSpec", "simulate_resting", "ErpSpec", "simulate_erp", "to_raw", "write_edf", "read_edf"]

if __name__ == "__main__":  # pragma: no cover - a quick timing
    import time

    t0 = time.perf_counter()
    head_model()
    t1 = time.perf_counter()
    simulate_motor_imagery(9, trials_per_class=24, spec=replace(MotorImagerySpec(), fs=125.0))
    print(f"head model {t1 - t0:.2f} s; 9 subjects x 2 sessions {time.perf_counter() - t1:.2f} s")
