"""12-lead ECG figures: the standard 3 × 4 grid (plus a rhythm strip) on ECG paper."""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: The print layout: four columns of three leads, each column 2.5 s of the record.
GRID_LAYOUT: tuple[tuple[str, ...], ...] = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"),
                                            ("III", "aVF", "V3", "V6"))


def _find(leads: Sequence[str], name: str) -> int:
    up = [s.upper() for s in leads]
    if name.upper() not in up:
        raise ValueError(f"lead {name!r} not in the record's leads {list(leads)}")
    return up.index(name.upper())


def plot_12lead(signal: np.ndarray, fs: float, leads: Sequence[str], *, ax=None, title: str = "",
                rhythm_lead: str | None = "II", column_s: float = 2.5, paper: bool = True,
                color: str = "black", linewidth: float = 0.7):
    """Draw a 12-lead ECG as printed: 3 rows × 4 columns of leads (2.5 s each) and a rhythm strip.

    Args:
        signal: (samples, leads) in mV.
        fs: sampling rate in Hz.
        leads: lead names of the columns of ``signal`` (any case; ``AVR`` matches ``aVR``).
        ax: a matplotlib axes to draw into (a new figure when None).
        title: the axes title.
        rhythm_lead: lead shown over the full width below the grid (None: no strip).
        column_s: seconds per column; records shorter than 4 × column_s use ``len / 4`` per column.
        paper: draw the ECG-paper grid (1 mm = 40 ms × 0.1 mV, bold every 5 mm).

    Returns:
        The axes. Time runs in seconds along x, voltage in mV along y (rows are offset by 3 mV).
    """
    import matplotlib.pyplot as plt

    signal = np.asarray(signal, dtype=float)
    if signal.ndim != 2 or signal.shape[1] != len(leads):
        raise ValueError(f"signal must be (samples, {len(leads)}), got {signal.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 5.5))
    n = signal.shape[0]
    col = min(column_s, n / fs / 4)
    step = int(round(col * fs))
    offset = 3.0
    rows = list(GRID_LAYOUT) + ([(rhythm_lead,)] if rhythm_lead else [])
    for r, row in enumerate(rows):
        base = -r * offset
        if len(row) == 1:
            x = signal[: 4 * step, _find(leads, row[0])]
            t = np.arange(len(x)) / fs
            ax.plot(t, x - np.median(x) + base, color=color, lw=linewidth)
            ax.text(0.02, base + 0.9, row[0], fontsize=8, fontweight="bold")
            continue
        for c, name in enumerate(row):
            x = signal[c * step:(c + 1) * step, _find(leads, name)]
            t = c * col + np.arange(len(x)) / fs
            ax.plot(t, x - np.median(signal[:, _find(leads, name)]) + base, color=color, lw=linewidth)
            ax.text(c * col + 0.02, base + 0.9, name, fontsize=8, fontweight="bold")
            if c:
                ax.plot([c * col] * 2, [base - 0.4, base + 0.4], color=color, lw=0.8)
    top, bottom = 1.5, -offset * (len(rows) - 1) - 1.5
    if paper:  # ECG paper: thin lines every 40 ms / 0.1 mV, bold every 200 ms / 0.5 mV (two line collections: fast)
        from matplotlib.collections import LineCollection

        xs = np.arange(0, 4 * col + 1e-9, 0.04)
        ys = np.arange(np.ceil(bottom * 10) / 10, top + 1e-9, 0.1)
        for bold in (False, True):
            vx = [x for x in xs if (abs(x / 0.2 - round(x / 0.2)) < 1e-6) == bold]
            hy = [y for y in ys if (abs(y / 0.5 - round(y / 0.5)) < 1e-6) == bold]
            segs = [((x, bottom), (x, top)) for x in vx] + [((0, y), (4 * col, y)) for y in hy]
            ax.add_collection(LineCollection(segs, colors="#e8a0a0" if bold else "#f6dada",
                                             linewidths=0.6 if bold else 0.3, zorder=0))
    ax.set_xlim(0, 4 * col)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("time (s); paper: 1 small square = 40 ms × 0.1 mV")
    ax.set_ylabel("voltage (mV), rows offset by 3 mV")
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_leads(signal: np.ndarray, fs: float, leads: Sequence[str], *, seconds: float | None = None,
               title: str = "", axes=None):
    """One small panel per lead (12 stacked traces), for comparing records without the print layout.

    Returns the array of axes; x is time in s, y is voltage in mV.
    """
    import matplotlib.pyplot as plt

    signal = np.asarray(signal, dtype=float)
    n = signal.shape[0] if seconds is None else min(signal.shape[0], int(seconds * fs))
    if axes is None:
        _, axes = plt.subplots(len(leads), 1, figsize=(6, 1.0 * len(leads)), sharex=True)
    t = np.arange(n) / fs
    for i, (ax, name) in enumerate(zip(np.ravel(axes), leads)):
        ax.plot(t, signal[:n, i], lw=0.7, color="black")
        ax.set_ylabel(f"{name}\n(mV)", rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
    np.ravel(axes)[-1].set_xlabel("time (s)")
    if title:
        np.ravel(axes)[0].set_title(title)
    return axes
