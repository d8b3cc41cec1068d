"""Simulated affective EEG in the shape of DEAP's preprocessed recordings (32 EEG channels, 128 Hz).

No affective EEG ships inside any installed package, so the affect notebooks simulate it on the same physical head
model as :mod:`medrepro.sim.eeg` (MNE's ``standard_1020`` positions, a three-layer spherical head, the EEG forward
solution). Each participant watches ``n_trials`` clips and rates each on valence, arousal, dominance and liking
(1-9, as in DEAP); each trial starts with a 3-s pre-stimulus baseline, as DEAP's preprocessed trials do.

Class information (designed, after published group-level findings, much stronger and cleaner here than in real
data):

- **valence** — frontal alpha asymmetry: the alpha amplitude of a left-frontal source (under F3) falls and that of a
  right-frontal source (under F4) rises with the valence rating (the "approach" pattern of Davidson's model);
- **arousal** — posterior alpha falls and a fronto-central beta rhythm (18-26 Hz) rises with the arousal rating.

The effect of a rating on the sources is proportional to its distance from the scale's midpoint, ``(r - 5) / 4``,
so trials rated near 5 carry almost no information about their class: like real ratings, the binarised labels are
noisy near the threshold. Dominance and liking are drawn correlated with valence and leave the EEG unchanged.

Realistic: volume conduction (the lead field), 1/f background from random dipoles, per-subject alpha frequency,
source positions, frontal-asymmetry offset (a trait that differs between people and confounds the state effect)
and channel gains, trial-to-trial amplitude variability, blinks on the frontal channels and the EOG channels,
no affect effect during the baseline.
Not modelled: DEAP's preprocessing in detail (its 4-45 Hz band-pass, EOG removal, common average reference, the
reordering of Twente recordings to the Geneva channel order), muscle artefacts, the peripheral signals' physiology
(GSR, respiration, plethysmograph and temperature are plain low-pass noise here), habituation across trials, any
real population. The size of every effect is a knob, not a published number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .eeg import _background_patterns, _blink_field, _blinks, _rms_scale, aperiodic_noise, head_model, oscillation

#: DEAP's 32 EEG channels in the Geneva order of the preprocessed files (torcheeg's ``DEAP_CHANNEL_LIST``)
DEAP_EEG: tuple[str, ...] = ("Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3",
                             "O1", "Oz", "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6",
                             "CP2", "P4", "P8", "PO4", "O2")
#: the 8 peripheral channels that follow (channels 33-40 of the preprocessed files)
DEAP_PERIPHERAL: tuple[str, ...] = ("hEOG", "vEOG", "zEMG", "tEMG", "GSR", "Respiration belt", "Plethysmograph",
                                    "Temperature")
RATINGS: tuple[str, ...] = ("valence", "arousal", "dominance", "liking")


@dataclass
class AffectSpec:
    """Knobs of :func:`simulate_affect` (µV, Hz, s)."""

    fs: float = 128.0
    baseline_s: float = 3.0          # pre-stimulus baseline at the start of each trial (DEAP: 3 s)
    trial_s: float = 6.0             # stimulus part of each trial (DEAP: 60 s)
    alpha_uv: float = 6.0            # frontal alpha RMS over channels, per hemisphere
    posterior_alpha_uv: float = 8.0
    beta_uv: float = 3.0             # fronto-central beta RMS over channels
    asymmetry: float = 0.35          # valence effect: fractional change of frontal alpha per unit (r - 5) / 4
    asymmetry_trait_sd: float = 0.15 # per-subject offset of the frontal asymmetry (a trait, not the state)
    arousal_alpha: float = 0.3       # arousal effect on posterior alpha, per unit (r - 5) / 4
    arousal_beta: float = 0.5        # arousal effect on beta, per unit (r - 5) / 4
    trial_sd: float = 0.2            # trial-to-trial lognormal SD of every rhythm's amplitude
    effect_sd: float = 0.3           # per-subject multiplicative spread of the effect sizes
    background_uv: float = 10.0
    background_exponent: float = 1.3
    n_background: int = 16
    sensor_noise_uv: float = 1.5
    blink_rate_hz: float = 0.2
    blink_uv: float = 60.0           # after DEAP's EOG removal blinks are small; a residue is kept
    gain_sd: float = 0.1             # per-subject, per-channel amplitude gain


@dataclass
class AffectRecording:
    """One participant: ``data`` (n_trials, 40, n_samples) µV (32 EEG then 8 peripheral channels) and ``labels``
    (n_trials, 4) ratings (valence, arousal, dominance, liking), as DEAP's preprocessed files hold them."""

    data: np.ndarray
    labels: np.ndarray
    fs: float
    subject: int
    ch_names: tuple[str, ...] = field(default=DEAP_EEG + DEAP_PERIPHERAL)


def _ratings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Ratings 1-9: valence and arousal balanced high/low per participant, dominance/liking follow valence."""
    hi = np.stack([rng.permutation(np.arange(n) % 2), rng.permutation((np.arange(n) // 2) % 2)], 1)
    va = np.where(hi == 1, rng.uniform(5.0, 9.0, (n, 2)), rng.uniform(1.0, 4.99, (n, 2)))
    dom = np.clip(5 + 0.5 * (va[:, 0] - 5) + rng.normal(0, 1.5, n), 1, 9)
    lik = np.clip(5 + 0.7 * (va[:, 0] - 5) + rng.normal(0, 1.5, n), 1, 9)
    return np.round(np.c_[va, dom, lik], 2)


def simulate_affect(n_subjects: int, n_trials: int = 40, *, spec: AffectSpec | None = None,
                    seed: int = 0) -> list[AffectRecording]:
    """Simulate ``n_subjects`` DEAP-like participants, vectorised over trials (see the module docstring)."""
    spec = spec or AffectSpec()
    model = head_model(DEAP_EEG)
    fs = spec.fs
    base, length = int(round(spec.baseline_s * fs)), int(round((spec.baseline_s + spec.trial_s) * fs))
    stim = (np.arange(length) >= base).astype(np.float32)                       # affect acts after the baseline
    out = []
    for s in range(n_subjects):
        rng = np.random.default_rng([seed, s])
        labels = _ratings(n_trials, rng)
        v, a = (labels[:, 0] - 5) / 4, (labels[:, 1] - 5) / 4                  # in [-1, 1]
        eff = np.exp(spec.effect_sd * rng.standard_normal(3))                   # this subject's effect sizes
        trait = spec.asymmetry_trait_sd * rng.standard_normal()

        def source(electrode: str, depth: float = 0.28) -> np.ndarray:
            point, radial = model.under(electrode, depth=depth + rng.uniform(-0.04, 0.04))
            return model.dipole(point + rng.normal(0, 0.005, 3), radial + rng.normal(0, 0.3, 3))

        pats = np.stack([source(e) for e in ("F3", "F4", "O1", "O2", "FC1", "FC2")], 1)   # (32, 6)
        target = np.array([spec.alpha_uv] * 2 + [spec.posterior_alpha_uv] * 2 + [spec.beta_uv] * 2)
        scale = np.array([_rms_scale(pats[:, k], target[k]) for k in range(6)])
        f_alpha = rng.uniform(8.5, 11.5)
        f_beta = rng.uniform(18.0, 26.0)
        rhythms = np.concatenate([
            oscillation(4 * n_trials, length, f_alpha, fs=fs, rng=rng),
            oscillation(2 * n_trials, length, f_beta, bandwidth=3.0, fs=fs, rng=rng)]).reshape(6, n_trials, length)
        # per trial and source: amplitude = trial variability x affect modulation (after the baseline only)
        amp = np.exp(spec.trial_sd * rng.standard_normal((6, n_trials)))
        mod = np.ones((6, n_trials))
        mod[0] = 1 - (spec.asymmetry * eff[0] * v + trait)                          # left frontal alpha
        mod[1] = 1 + (spec.asymmetry * eff[0] * v + trait)                          # right frontal alpha
        mod[2:4] = 1 - spec.arousal_alpha * eff[1] * a                              # posterior alpha
        mod[4:6] = 1 + spec.arousal_beta * eff[2] * a                               # fronto-central beta
        mod = np.clip(mod, 0.05, None)
        gain_t = amp[:, :, None] * (1 + (mod[:, :, None] - 1) * stim)               # (6, n_trials, length)
        src = rhythms * gain_t * scale[:, None, None]
        eeg = np.einsum("cs,snt->nct", pats, src)                                   # (n_trials, 32, length)
        # background: dipoles at random places, 1/f, independent per trial
        bg_pat = _background_patterns(model, spec.n_background, rng)
        bg = aperiodic_noise(spec.n_background * n_trials, length, exponent=spec.background_exponent, fs=fs,
                             rng=rng).reshape(spec.n_background, n_trials, length)
        bg = np.einsum("cs,snt->nct", bg_pat, bg)
        eeg += bg * (spec.background_uv * 1e-6 / bg.std())
        blink = np.stack([_blinks(length, fs, spec.blink_rate_hz, rng) for _ in range(n_trials)]) * spec.blink_uv * 1e-6
        eeg += _blink_field(model)[None, :, None] * blink[:, None, :]
        eeg += rng.standard_normal(eeg.shape) * spec.sensor_noise_uv * 1e-6
        eeg *= (1 + spec.gain_sd * rng.standard_normal(len(DEAP_EEG)))[None, :, None]
        periph = np.cumsum(rng.standard_normal((n_trials, 8, length)), -1) * 0.05    # slow drifts (not modelled)
        periph[:, :2] += blink[:, None, :] * 1e6 * rng.uniform(0.6, 1.2, 2)[None, :, None]
        data = np.concatenate([eeg * 1e6, periph], 1).astype(np.float32)
        out.append(AffectRecording(data, labels, fs, s + 1))
    return out


__all__ = ["DEAP_EEG", "DEAP_PERIPHERAL", "RATINGS", "AffectSpec", "AffectRecording", "simulate_affect"]
