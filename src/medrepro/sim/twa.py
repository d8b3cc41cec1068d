"""T-wave alternans (TWA): add beat-to-beat ABAB alternation of the T wave to simulated or real ECGs.

T-wave alternans is a change of the T wave's amplitude that repeats every other beat (A B A B ...), often only
a few microvolts to ~100 µV, far below what the eye sees at standard scale. :func:`add_alternans` adds it to any
multi-lead signal given its R peaks: beat ``k`` gets ``(−1)^k · a/2`` times a Gaussian T-wave bump at a
per-record delay after R, so that the A−B difference of the T-wave peak is ``a``. It works on the output of
``medrepro.sim.ecg`` (artificial training ECGs), ``medrepro.sim.ecg_beats`` and on real records (the bump is
added on top of the existing T wave). :func:`beat_stacks` turns a record into the input of the classifiers of
``notebooks/ecg/synthetic-twa-pretraining.ipynb``: groups of consecutive ST–T windows, one row per beat.

Realistic:
    - the alternation is phase-locked to the beats (ABAB), whatever the RR variability, and its phase (whether
      the first beat is an A or a B beat) is a per-record argument: a detector must not rely on which beat
      of its input comes first;
    - per-record T-wave delay and width, and a per-lead projection (alternans is larger in some leads);
    - amplitudes in µV that sit below the noise of a single beat and need many beats to be seen.
Not modelled:
    - heart-rate dependence (alternans that appears above a patient-specific rate), phase reversals,
      alternans of the ST segment or QRS, non-stationary alternans that comes and goes within a record.
"""
from __future__ import annotations

import numpy as np


def add_alternans(signals: np.ndarray, r_peaks: np.ndarray, fs: float, amp_mV: np.ndarray,
                  t_offset_s: np.ndarray | float = 0.28, t_width_s: np.ndarray | float = 0.05,
                  lead_gain: np.ndarray | None = None, phase: np.ndarray | int = 0) -> np.ndarray:
    """Return a copy of ``signals`` (records, samples, leads; mV) with ABAB T-wave alternans added.

    Args:
        signals: (n, T, L) signals in mV.
        r_peaks: (n, B) R-peak samples, padded with −1.
        fs: sampling rate in Hz.
        amp_mV: (n,) alternans amplitude a (A−B difference of the T-wave peak) in mV; 0: none.
        t_offset_s / t_width_s: T-wave delay after R and Gaussian width, scalars or (n,).
        lead_gain: (n, L) projection of the alternans onto each lead (default 1 in every lead).
        phase: (n,) or scalar, 0 or 1: with 1 the first beat is a B beat (the signs are flipped). Draw it at
            random per record so that the sign of the alternans carries no label.

    Returns:
        The signals with ``(−1)^(k + phase) a/2 · exp(−(t − r_k − offset)² / 2w²)`` added per beat ``k``
        (vectorised).
    """
    sig = np.array(signals, dtype=np.float32, copy=True)
    n, T, L = sig.shape
    r = np.asarray(r_peaks, dtype=np.int64)
    amp = np.broadcast_to(np.asarray(amp_mV, dtype=np.float64), (n,))
    off = np.broadcast_to(np.asarray(t_offset_s, dtype=np.float64), (n,))
    wid = np.broadcast_to(np.asarray(t_width_s, dtype=np.float64), (n,))
    gain = np.ones((n, L)) if lead_gain is None else np.asarray(lead_gain, dtype=np.float64)
    ph = np.broadcast_to(np.asarray(phase), (n,))
    if not np.isin(ph, (0, 1)).all():
        raise ValueError(f"add_alternans: phase must be 0 or 1 per record, got {np.unique(ph)}")
    o = np.arange(int(-0.2 * fs), int(0.2 * fs) + 1)                       # samples around the T peak
    centre = r + np.round(off * fs).astype(np.int64)[:, None]               # (n, B)
    sign = np.where((np.arange(r.shape[1])[None] + ph[:, None]) % 2 == 0, 0.5, -0.5)   # ABAB: ±a/2, (n, B)
    bump = np.exp(-0.5 * (o[None] / (wid[:, None] * fs)) ** 2)              # (n, O)
    vals = (amp[:, None] * sign)[..., None] * bump[:, None]                 # (n, B, O)
    pos = centre[..., None] + o
    ok = (r[..., None] >= 0) & (pos >= 0) & (pos < T)
    flat = (np.arange(n)[:, None, None] * T + np.clip(pos, 0, T - 1))[ok]
    add = np.bincount(flat, weights=vals[ok], minlength=n * T).reshape(n, T)
    sig += (add[..., None] * gain[:, None, :]).astype(np.float32)
    return sig


def beat_stacks(signal: np.ndarray, r_peaks: np.ndarray, fs: float, k: int = 16, start_s: float = 0.06,
                stop_s: float = 0.5, out_len: int = 44) -> np.ndarray:
    """Groups of ``k`` consecutive ST–T windows of one lead: (groups, k, out_len), median-removed per window.

    Each window runs from ``start_s`` to ``stop_s`` after its R peak and is averaged down to ``out_len`` samples.
    The groups do not overlap and start on even beats of ``r_peaks``: whether row 0 is an A or a B beat is
    the record's alternans phase (``add_alternans(phase=)``), which a detector must not rely on.
    """
    signal = np.asarray(signal, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=np.int64)
    a, b = int(round(start_s * fs)), int(round(stop_s * fs))
    r = r[(r + a >= 0) & (r + b <= len(signal))]
    g = len(r) // k
    if g == 0:
        return np.zeros((0, k, out_len), dtype=np.float32)
    idx = r[: g * k, None] + np.arange(a, b)[None]
    w = signal[idx]                                                          # (g·k, b − a)
    edges = np.linspace(0, b - a, out_len + 1).astype(int)
    w = np.add.reduceat(w, edges[:-1], axis=1) / np.diff(edges)[None]       # average down to out_len
    w = w - np.median(w, axis=1, keepdims=True)
    return w.reshape(g, k, out_len).astype(np.float32)
