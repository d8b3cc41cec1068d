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


def morlet_cwt(sig: np.ndarray, fs: float, freqs: np.ndarray, w0: float = 6.0, device: str | None = None) -> np.ndarray:
    """Magnitude of the Morlet CWT (the scalogram) of ``sig`` at the given frequencies.

    Args:
        sig: (..., T) real signal(s); the transform runs along the last axis (circularly: pad the
            signal first if its ends must not wrap around).
        fs: sampling rate in Hz.
        freqs: frequencies in Hz (each > 0 and below fs / 2) at which to evaluate the transform.
        w0: the wavelet's centre frequency in rad (6 is the usual time–frequency compromise).
        device: torch device for the FFTs (e.g. ``"cuda"``); the result comes back as a numpy array. Large
            batches: call it on chunks of records, the complex intermediate is (..., len(freqs), T).

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
    kernel = torch.from_numpy((psi_hat * np.sqrt(scales * fs)[:, None]).astype(np.complex64)).to(device)  # √s ψ̂(sω)
    x = torch.from_numpy(np.ascontiguousarray(sig, dtype=np.float32)).to(device)
    spectrum = torch.fft.fft(x, dim=-1)[..., None, :]
    return torch.fft.ifft(spectrum * kernel, dim=-1).abs().cpu().numpy()  # |W(s, t)|


def segment_scalograms(sig: np.ndarray, fs: float, freqs: np.ndarray, seg_len: int, *, pad: int | None = None,
                       w0: float = 6.0, device: str | None = None, chunk: int = 256,
                       pool: int = 1) -> np.ndarray:
    """Scalograms of consecutive segments, computed on the whole record and then cropped.

    A 1-s window cannot hold a 1-Hz wavelet: a CWT run on each short window alone (circularly) gives rows
    below about ``2 · fs / seg_len`` Hz that barely change in time. Here the transform runs on the whole
    record, reflected by ``pad`` samples at both ends (default: one wavelet of the lowest frequency, ``w0 / (2π
    f_min)`` seconds, at most the record's length), and each segment is cut from it, so every segment sees
    the context its lowest scales need.

    Args:
        sig: (records, ..., T) signals; T must be a multiple of ``seg_len``.
        fs, freqs, w0, device: as in :func:`morlet_cwt`.
        seg_len: samples per segment.
        chunk: records transformed at a time (bounds the complex intermediate).
        pool: average this many samples into one column (``seg_len`` must be a multiple).

    Returns:
        float32 (records, T // seg_len, ..., len(freqs), seg_len // pool).
    """
    sig = np.asarray(sig, dtype=np.float32)
    t_len = sig.shape[-1]
    if t_len % seg_len or seg_len % pool:
        raise ValueError(f"segment_scalograms: T={t_len} must be a multiple of seg_len={seg_len}, "
                         f"and seg_len a multiple of pool={pool}")
    if pad is None:
        pad = int(np.ceil(w0 / (2 * np.pi * np.min(freqs)) * fs))
    pad = min(pad, t_len - 1)
    n_seg = t_len // seg_len
    out = None
    for a in range(0, len(sig), chunk):
        x = np.pad(sig[a:a + chunk], [(0, 0)] * (sig.ndim - 1) + [(pad, pad)], mode="reflect")
        w = morlet_cwt(x, fs, freqs, w0=w0, device=device)[..., pad:pad + t_len]      # (c, ..., F, T)
        w = w.reshape(*w.shape[:-1], n_seg, seg_len // pool, pool).mean(-1)           # (c, ..., F, n_seg, cols)
        w = np.moveaxis(w, -2, 1)                                                     # (c, n_seg, ..., F, cols)
        if out is None:
            out = np.empty((len(sig),) + w.shape[1:], dtype=np.float32)
        out[a:a + chunk] = w
    return out
