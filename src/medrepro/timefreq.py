"""Time–frequency representations of biosignals: the Morlet continuous wavelet transform (scalograms).

``scipy.signal.cwt`` was removed from SciPy and PyWavelets is not a dependency, so the transform is
written here once, with the FFT (used by the stacked-scalogram ECG notebook; reusable for PPG, EEG and
Doppler traces).

The CWT of x(t) at scale s is W(s, t) = ∫ x(τ) s^(−1/2) ψ*((τ − t)/s) dτ. For the analytic Morlet wavelet
with centre frequency ω₀, ψ̂(ω) = π^(−1/4) exp(−(ω − ω₀)²/2) for ω > 0 (0 otherwise), so in the frequency
domain Ŵ(s, ω) = √s x̂(ω) ψ̂(sω); scale s looks at frequency f = ω₀ / (2π s).
"""
from __future__ import annotations

import numpy as np


def morlet_cwt(sig: np.ndarray, fs: float, freqs: np.ndarray, w0: float = 6.0) -> np.ndarray:
    """Magnitude of the Morlet CWT (the scalogram) of ``sig`` at the given frequencies.

    Args:
        sig: (..., T) real signal(s); the transform runs along the last axis (circularly: pad the
            signal first if its ends must not wrap around).
        fs: sampling rate in Hz.
        freqs: frequencies in Hz (each > 0 and below fs / 2) at which to evaluate the transform.
        w0: the wavelet's centre frequency in rad (6 is the usual time–frequency compromise).

    Returns:
        |W(s, t)| as float32 of shape (..., len(freqs), T). A sinusoid peaks in the row of its own
        frequency; with the √s normalisation, rows of lower frequency carry larger magnitudes for the same
        amplitude, so compare a row across time or signals rather than rows with each other.

    Raises:
        ValueError: on a frequency that is not in (0, fs / 2).
    """
    import torch

    freqs = np.asarray(freqs, dtype=np.float64)
    if (freqs <= 0).any() or (freqs >= fs / 2).any():
        raise ValueError(f"morlet_cwt: frequencies must lie in (0, {fs / 2:g}) Hz, got {freqs.min():g}–{freqs.max():g}")
    t_len = sig.shape[-1]
    omega = 2 * np.pi * np.fft.fftfreq(t_len, d=1 / fs)  # ω of each FFT bin (rad/s)
    scales = w0 / (2 * np.pi * freqs)  # s = ω0 / (2π f)
    so = scales[:, None] * omega[None]  # s·ω
    psi_hat = np.pi ** -0.25 * np.exp(-0.5 * (so - w0) ** 2) * (omega > 0)  # ψ̂(sω), analytic Morlet
    kernel = torch.from_numpy((psi_hat * np.sqrt(scales * fs)[:, None]).astype(np.complex64))  # √s ψ̂(sω), s in samples
    spectrum = torch.fft.fft(torch.from_numpy(np.ascontiguousarray(sig, dtype=np.float32)), dim=-1)[..., None, :]
    return torch.fft.ifft(spectrum * kernel, dim=-1).abs().numpy()  # |W(s, t)|
