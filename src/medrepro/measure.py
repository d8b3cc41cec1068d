"""ECG measurements: R peaks, heart rate and the PR, QRS and QT intervals of a record's median beat.

Simple, readable algorithms (not a clinical-grade delineator):

- **R peaks** — Pan & Tompkins (1985) in spirit: band-pass 5–15 Hz, derivative, square, 150 ms moving
  integration; peaks of the integrated energy above a fraction of its robust maximum, at least 250 ms apart,
  each moved to the largest absolute deflection of the band-passed signal nearby.
- **Intervals** — on the median beat (aligned at the R peaks, median across beats, so ectopy and noise
  average out) of the spatial magnitude ``sqrt(sum over leads of the slope²)``: QRS onset and offset where
  that slope falls below a fraction of its QRS maximum; every lead re-referenced to the PR segment; the
  T-wave end by the tangent method on the lead with the largest T wave (the steepest slope after the T
  peak, extended to the baseline); the P-wave onset where the spatial amplitude of the largest bump in the
  300 ms before the QRS falls to 20 % of its peak. PR = QRS onset − P onset, QT = T end − QRS onset.

Measured against the simulator's ground truth in the ECG-simulator guide of the book. Not handled: paced
rhythms, AF (no P wave: PR is returned but meaningless — mask it by rhythm), very low-amplitude T waves.
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps


def _bandpass(x: np.ndarray, fs: float, lo: float, hi: float, order: int = 2) -> np.ndarray:
    sos = sps.butter(order, [lo, min(hi, 0.45 * fs)], btype="band", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=0)


def detect_r_peaks(ecg: np.ndarray, fs: float, *, threshold: float = 0.3, refractory_s: float = 0.25) -> np.ndarray:
    """R-peak sample indices of one record.

    Args:
        ecg: (samples,) one lead, or (samples, leads): the leads' energies are summed.
        fs: sampling rate in Hz.
        threshold: share of the 98th percentile of the integrated energy a peak must exceed.
        refractory_s: the shortest RR interval allowed, in seconds.

    Returns:
        Sorted int array of R-peak indices.

    Raises:
        ValueError: on a record shorter than 2 s or with non-finite samples.
    """
    x = np.asarray(ecg, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] < 2 * fs:
        raise ValueError(f"detect_r_peaks needs (samples,) or (samples, leads) of at least 2 s, got {np.shape(ecg)}")
    if not np.isfinite(x).all():
        raise ValueError("detect_r_peaks: the record has NaN or infinite samples")
    band = _bandpass(x - np.median(x, axis=0), fs, 5.0, 15.0)
    energy = (np.diff(band, axis=0, prepend=band[:1]) ** 2).sum(axis=1)
    win = max(1, int(0.15 * fs))
    integrated = np.convolve(energy, np.ones(win) / win, mode="same")
    peaks, _ = sps.find_peaks(integrated, height=threshold * np.percentile(integrated, 98),
                              distance=int(refractory_s * fs))
    # The integrated energy peaks inside the QRS; move each to the largest deflection within ±75 ms.
    half = int(0.075 * fs)
    mag = np.abs(band).sum(axis=1)
    out = []
    for p in peaks:
        a, b = max(0, p - half), min(len(mag), p + half + 1)
        out.append(a + int(np.argmax(mag[a:b])))
    return np.unique(np.asarray(out, dtype=int))


def heart_rate(r_peaks: np.ndarray, fs: float) -> float:
    """Mean heart rate in bpm from R-peak indices (NaN with fewer than two peaks)."""
    r = np.asarray(r_peaks)
    return float(60.0 * fs / np.mean(np.diff(r))) if len(r) >= 2 else float("nan")


def median_beat(ecg: np.ndarray, fs: float, r_peaks: np.ndarray, *, before_s: float = 0.4,
                after_s: float = 0.6) -> np.ndarray:
    """Median beat (window × leads) across the beats that fit in the record, aligned at their R peaks."""
    x = np.asarray(ecg, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    b, a = int(before_s * fs), int(after_s * fs)
    r = np.asarray(r_peaks)
    r = r[(r - b >= 0) & (r + a <= len(x))]
    if len(r) == 0:
        raise ValueError("median_beat: no beat window fits inside the record")
    windows = np.stack([x[p - b:p + a] for p in r])
    beat = np.median(windows, axis=0)
    return beat - np.median(beat[: int(0.05 * fs)], axis=0)  # baseline: the start of the window


def measure_intervals(ecg: np.ndarray, fs: float, r_peaks: np.ndarray | None = None) -> dict[str, float]:
    """PR, QRS and QT (ms) of the median beat, and the heart rate (bpm) of the record.

    Args:
        ecg: (samples, leads) or (samples,) in mV.
        fs: sampling rate in Hz (≥ 100 Hz; 250 Hz or more gives millisecond-level precision).
        r_peaks: R-peak indices; detected with ``detect_r_peaks`` when omitted.

    Returns:
        ``{"hr_bpm", "pr_ms", "qrs_ms", "qt_ms"}``; a value is NaN when its fiducial point was not found.
    """
    x = np.asarray(ecg, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    r = detect_r_peaks(x, fs) if r_peaks is None else np.asarray(r_peaks)
    beat = median_beat(_bandpass(x, fs, 0.5, 40.0), fs, r)
    b = int(0.4 * fs)  # the R peak's index in the window
    slope = np.sqrt((np.gradient(beat, axis=0) ** 2).sum(axis=1)) * fs  # mV/s, spatial magnitude
    smooth = np.convolve(slope, np.ones(max(1, int(0.01 * fs))) / max(1, int(0.01 * fs)), mode="same")
    qrs_max = smooth[b - int(0.06 * fs): b + int(0.06 * fs)].max()
    quiet = 0.08 * qrs_max
    # QRS onset: walk left from R until the slope stays quiet; offset: walk right likewise.
    left = np.where(smooth[: b][::-1] < quiet)[0]
    right = np.where(smooth[b:] < quiet)[0]
    onset = b - int(left[0]) if len(left) else np.nan
    offset = b + int(right[0]) if len(right) else np.nan
    out = {"hr_bpm": heart_rate(r, fs), "pr_ms": np.nan, "qrs_ms": np.nan, "qt_ms": np.nan}
    if np.isnan(onset) or np.isnan(offset):
        return out
    onset, offset = int(onset), int(offset)
    out["qrs_ms"] = 1000.0 * (offset - onset) / fs
    # Re-reference every lead to the isoelectric point just before the QRS (the end of the PR segment).
    iso = beat[max(0, onset - int(0.015 * fs))]
    beat = beat - iso
    # T end, tangent method on the lead with the largest T wave: the steepest slope after the T peak,
    # extended to the baseline.
    rr = fs * 60.0 / out["hr_bpm"] if np.isfinite(out["hr_bpm"]) else fs
    # search up to 650 ms after the QRS onset, but not into the next beat's P wave (280 ms before its R)
    stop = max(onset + int(0.25 * fs), b + int(rr - 0.28 * fs))
    t0, t1 = offset + int(0.06 * fs), min(len(beat) - 2, onset + int(0.65 * fs), stop)
    if t1 > t0 + 4:
        lead = int(np.argmax(np.abs(beat[t0:t1]).max(axis=0)))
        tw = beat[:, lead] * np.sign(beat[t0 + int(np.argmax(np.abs(beat[t0:t1, lead]))), lead])
        t_peak = t0 + int(np.argmax(tw[t0:t1]))
        d = np.gradient(tw)
        down = t_peak + int(np.argmin(d[t_peak:t1 + 1])) if t1 > t_peak else t_peak
        if d[down] < 0 and tw[t_peak] > 0:
            t_end = down - tw[down] / d[down]  # where the tangent meets the baseline
            if t_end < len(tw):
                out["qt_ms"] = 1000.0 * (t_end - onset) / fs
    # P onset: the largest bump of the spatial amplitude in the window before the QRS (at most 300 ms, and
    # not back into the previous beat's T wave); its onset is where the amplitude falls to 20 % of the bump.
    p0 = max(1, onset - int(min(0.3 * fs, 0.45 * rr)))
    amp = np.sqrt((beat[p0:onset - int(0.01 * fs)] ** 2).sum(axis=1))
    if len(amp) > 5:
        p_peak = int(np.argmax(amp))
        below = np.where(amp[:p_peak + 1][::-1] < 0.2 * amp[p_peak])[0]
        if len(below) and amp[p_peak] > 0.03:  # a P wave of at least 0.03 mV
            out["pr_ms"] = 1000.0 * (onset - (p0 + p_peak - int(below[0]))) / fs
    return out
