"""Simulated stimulus-locked EEG to images (a miniature of THINGS-EEG2's rapid serial visual presentation).

Each image (a "concept") drives a few cortical sources: the image's latent visual features are read by
``n_sources`` dipoles in occipital, parietal and occipito-temporal cortex, each with its own ERP time course
(a Gaussian bump at a source-specific latency in the ``window``), and the dipoles reach the electrodes through
the physical forward model of :mod:`medrepro.sim.eeg` (MNE's spherical head, the 10-20 positions). On top sits a
large stimulus-general visual evoked response (P1/N1, the same for every image), and every trial (one
presentation) has its own 1/f background from random dipoles, posterior alpha and white sensor noise. Like
THINGS-EEG2, training images are shown a few times and test images many times; analyses average the test
repetitions.

How an image reaches the sources (designed, not fitted to anything):

- latent features ``z`` (``n_latent`` per image) are a fixed random rotation of the image's first ``brain_pcs``
  principal components (whitened) — the brain "sees" the coarse image statistics that a pixel PCA also sees;
- source ``k``'s amplitude is a tuning curve of one latent feature: ``a_k = g(z_k)``, with ``g`` linear or
  rectified (``tuning="rectified"``: a population that fires for one sign of its feature only, softplus);
- ``latency_coding_s``: the feature also shifts the source's latency (``L_k + latency_coding_s · tanh(z_k)``),
  so a feature is carried partly by *when* its source peaks — a nonlinear code that a linear map reads only in
  part;
- per trial, all sources share a latency jitter (``latency_jitter_s``) and an amplitude gain (``gain_cv``);
  per subject, source positions and orientations differ (cortical folding), so topographies differ.

Realistic: volume conduction (a real lead field), the posterior topography and the 80–250 ms window in which
visual object information is decodable from EEG, a stimulus-general ERP much larger than the image-specific part,
single-trial SNR well below 1, 1/f background, alpha, trial-to-trial latency and amplitude variability, subjects
with different topographies. Not modelled: anything learnt from real EEG — the mapping from images to sources is
random, the "latent features" are pixel PCA, not semantics; no eye movements, blinks, muscle, adaptation across
the rapid stream (THINGS-EEG2 shows images every 200 ms, so responses overlap; here each trial is separate),
no MVNN whitening as in the released data (values are µV).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .eeg import _background_patterns, aperiodic_noise, head_model, oscillation

#: the 17 occipital and parietal channels of the THINGS-EEG2 preprocessed release (``^O`` or ``^P`` names), in
#: the order they have in the 63-channel list of the ATM preprocessing script
THINGS_EEG2_17: tuple[str, ...] = ("P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8", "PO7", "PO3", "POz",
                                   "PO4", "PO8", "O1", "Oz", "O2")
#: electrodes under which the image-driven sources sit (occipital, parietal, occipito-temporal)
_SOURCE_SITES: tuple[str, ...] = ("O1", "O2", "Oz", "PO7", "PO8", "P7", "P8", "PO3", "PO4", "Pz", "P5", "P6")


@dataclass
class VisualEegSpec:
    """Knobs of :func:`simulate_visual_eeg` (times in s, amplitudes in µV RMS over channels)."""

    fs: float = 100.0
    tmin: float = -0.2
    n_times: int = 100
    ch_names: tuple[str, ...] = THINGS_EEG2_17
    n_sources: int = 8                   # image-driven dipoles (= latent features read)
    window: tuple[float, float] = (0.08, 0.25)   # the sources' latencies lie in this window
    width_s: tuple[float, float] = (0.02, 0.035)  # Gaussian SD of each source's ERP
    source_uv: float = 1.0               # image-specific response per source (µV RMS over channels at unit feature)
    tuning: str = "linear"              # "linear" or "rectified" (softplus of the feature)
    latency_coding_s: float = 0.0        # feature-dependent latency shift (s at tanh(z) = 1)
    general_uv: float = 4.0              # stimulus-general P1/N1, identical for every image
    latency_jitter_s: float = 0.01       # per-trial latency jitter, shared by all sources
    gain_cv: float = 0.2                 # per-trial amplitude variation
    background_uv: float = 8.0
    background_exponent: float = 1.0
    n_background: int = 12
    alpha_uv: float = 3.0
    sensor_uv: float = 1.0
    subject_position_mm: float = 8.0     # per-subject displacement of each source (cortical folding)


@dataclass
class VisualEegSubject:
    """One simulated subject: trials ``(n_images, n_reps, n_channels, n_times)`` in µV, and the ground truth."""

    subject: int
    eeg: np.ndarray
    topographies: np.ndarray             # (n_channels, n_sources), µV at unit amplitude
    latencies: np.ndarray                # (n_sources,) s
    amplitudes: np.ndarray               # (n_images, n_sources): the noise-free image-specific amplitudes


def times(spec: VisualEegSpec) -> np.ndarray:
    """Epoch times (s from stimulus onset)."""
    return spec.tmin + np.arange(spec.n_times) / spec.fs


def pca_features(fit: np.ndarray, *others: np.ndarray, dim: int = 32,
                 whiten: bool = True) -> tuple[np.ndarray, ...]:
    """Principal-component coordinates of flattened images: fitted on ``fit``, applied to ``fit`` and ``others``.

    Returns one ``(n, dim)`` array per input; ``whiten`` divides each component by its SD on ``fit``. The
    stand-in for a pretrained image encoder in the smoke runs (no CLIP weights can be downloaded offline).
    """
    x = np.asarray(fit, np.float64).reshape(len(fit), -1)
    mu = x.mean(0)
    _, s, vt = np.linalg.svd(x - mu, full_matrices=False)
    if dim > len(s):
        raise ValueError(f"pca_features: {dim} components asked, only {len(s)} available")
    basis = vt[:dim].T
    sd = s[:dim] / np.sqrt(max(len(x) - 1, 1))
    out = []
    for arr in (fit, *others):
        c = (np.asarray(arr, np.float64).reshape(len(arr), -1) - mu) @ basis
        out.append(c / sd if whiten else c)
    return tuple(out)


def latent_features(pcs: np.ndarray, n_latent: int, brain_pcs: int = 12, seed: int = 12345) -> np.ndarray:
    """The features the simulated visual cortex reads: a fixed random rotation of the first ``brain_pcs`` whitened
    principal-component coordinates ``pcs`` of the images (:func:`pca_features`), ``(n_images, n_latent)``."""
    pcs = np.asarray(pcs, np.float64)
    if pcs.shape[1] < brain_pcs or n_latent > brain_pcs:
        raise ValueError(f"latent_features needs n_latent <= brain_pcs <= {pcs.shape[1]} components")
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((brain_pcs, brain_pcs)))
    return (pcs[:, :brain_pcs] @ q)[:, :n_latent]


def _source_layout(spec: VisualEegSpec, rng: np.random.Generator):
    """Population-level source sites, latencies and widths (shared by all subjects)."""
    sites = [_SOURCE_SITES[i % len(_SOURCE_SITES)] for i in range(spec.n_sources)]
    lat = np.sort(rng.uniform(*spec.window, spec.n_sources))
    width = rng.uniform(*spec.width_s, spec.n_sources)
    return sites, lat, width


def simulate_visual_eeg(latent: np.ndarray, n_reps: int, n_subjects: int, *, spec: VisualEegSpec | None = None,
                        image_slice: slice | None = None, seed: int = 0,
                        population_seed: int = 7) -> list[VisualEegSubject]:
    """Simulate ``n_reps`` presentations of every image for ``n_subjects`` subjects.

    ``latent`` ``(n_images, ≥ n_sources)``: each image's latent features (:func:`latent_features`). The source
    layout (sites, latencies, widths) comes from ``population_seed`` and is the same for every call, so the
    training and test sets of one experiment share it; subjects (positions, orientations) come from
    ``population_seed`` too, and the trials' noise from ``seed``. Vectorised over trials and sources.
    """
    spec = spec or VisualEegSpec()
    z = np.asarray(latent, np.float64)[:, :spec.n_sources]
    if z.shape[1] < spec.n_sources:
        raise ValueError(f"latent has {z.shape[1]} features, the spec reads {spec.n_sources}")
    model = head_model(tuple(spec.ch_names))
    prng = np.random.default_rng(population_seed)
    sites, lat0, width = _source_layout(spec, prng)
    t = times(spec)
    rng = np.random.default_rng(seed)
    n_img, n_ch, T = len(z), len(spec.ch_names), spec.n_times
    if spec.tuning == "linear":
        amp = z.copy()
    elif spec.tuning == "rectified":
        amp = np.logaddexp(0.0, 1.5 * z) - np.log(2.0)      # softplus, 0 at z = 0
    else:
        raise ValueError(f"tuning must be 'linear' or 'rectified', got {spec.tuning!r}")
    lat = lat0[None, :] + spec.latency_coding_s * np.tanh(z)  # (n_img, n_src)
    out = []
    for s in range(n_subjects):
        srng = np.random.default_rng([population_seed, s + 1])
        topo = np.empty((n_ch, spec.n_sources))
        for k, site in enumerate(sites):
            point, radial = model.under(site, 0.35)
            point = point + srng.normal(0, spec.subject_position_mm * 1e-3, 3)
            ori = radial + 0.6 * srng.standard_normal(3)
            p = model.dipole(point, ori)
            topo[:, k] = p * (spec.source_uv / np.sqrt(np.mean(p ** 2)))
        gpat = model.dipole(*model.under("Oz", 0.35))
        gpat = gpat * (spec.general_uv / np.sqrt(np.mean(gpat ** 2)))
        # per trial: latency jitter and gain, shared by the sources
        jit = spec.latency_jitter_s * rng.standard_normal((n_img, n_reps))
        gain = np.clip(1 + spec.gain_cv * rng.standard_normal((n_img, n_reps)), 0.1, None)
        tt = t[None, None, None, :] - jit[:, :, None, None]                         # (img, rep, 1, T)
        kern = np.exp(-0.5 * ((tt - lat[:, None, :, None]) / width[None, None, :, None]) ** 2)  # (img, rep, src, T)
        src = gain[:, :, None, None] * amp[:, None, :, None] * kern
        eeg = np.einsum("cs,irst->irct", topo, src, optimize=True)
        general = (np.exp(-0.5 * ((tt[..., 0, :] - 0.10) / 0.02) ** 2)
                   - 1.2 * np.exp(-0.5 * ((tt[..., 0, :] - 0.17) / 0.03) ** 2))          # P1 then N1, (img, rep, T)
        eeg += gain[:, :, None, None] * general[:, :, None, :] * gpat[None, None, :, None]
        # noise: 1/f dipoles, posterior alpha, sensor noise — independent per trial
        n_tr = n_img * n_reps
        bpat = _background_patterns(model, spec.n_background, srng)
        bpat *= spec.background_uv / np.sqrt(np.mean((bpat ** 2).sum(1)))
        bg = aperiodic_noise(n_tr * spec.n_background, T, exponent=spec.background_exponent, fs=spec.fs, rng=rng)
        eeg += np.einsum("cb,nbt->nct", bpat, bg.reshape(n_tr, spec.n_background, T),
                         optimize=True).reshape(n_img, n_reps, n_ch, T)
        apat = model.dipole(*model.under("Oz", 0.3))
        apat = apat * (spec.alpha_uv / np.sqrt(np.mean(apat ** 2)))
        al = oscillation(n_tr, T, rng.uniform(9, 11), fs=spec.fs, rng=rng).reshape(n_img, n_reps, 1, T)
        eeg += al * apat[None, None, :, None]
        eeg += spec.sensor_uv * rng.standard_normal(eeg.shape)
        out.append(VisualEegSubject(subject=s + 1, eeg=eeg.astype(np.float32), topographies=topo,
                                    latencies=lat0.copy(), amplitudes=amp))
    return out


__all__ = ["THINGS_EEG2_17", "VisualEegSpec", "VisualEegSubject", "times", "pca_features", "latent_features",
           "simulate_visual_eeg"]
