"""12-lead ECGs rendered to images, as printed on ECG paper: the 3 × 4 layout plus a lead-II rhythm strip.

Image-based ECG models (ECG printouts classified by vision transformers, multimodal models that read the
printout beside the signal) need many images fast. Matplotlib takes ~50 ms per figure; this module
rasterises whole batches with numpy instead (about 1 ms per 256 × 256 image on one core).

Layout (the conventional print, 25 mm/s and 10 mm/mV by default):

    row 0:  I    | aVR | V1 | V4       each column shows 2.5 s of its lead,
    row 1:  II   | aVL | V2 | V5       column c covering [2.5 c, 2.5 (c + 1)) s
    row 2:  III  | aVF | V3 | V6
    row 3:  II (rhythm strip, the whole 10 s)

with a 1 mV × 0.2 s calibration pulse at the left of every row and 5 mm grid boxes (1 mm boxes too when
the image is large enough to show them).

Realistic: the print layout and scales, trace continuity (a vertical stroke joins consecutive samples, so
QRS complexes are solid), clipping at the row edges, optional scanner-like degradation (blur-free pixel
noise, contrast, a small vertical offset per row).
Not modelled: lead labels and header text, rotation or perspective of photographed printouts, paper
colour gradients, handwriting, folds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .ecg import GRID_LAYOUT, _find

#: Paper speed and gain of the conventional print.
MM_PER_S = 25.0
MM_PER_MV = 10.0
#: Grey levels of the grayscale image: background, 1 mm grid, 5 mm grid, trace.
PAPER, MINOR, MAJOR, INK = 1.0, 0.9, 0.72, 0.0


def _resample_panel(signal: np.ndarray, start: int, stop: int, n_points: int) -> np.ndarray:
    """Linear interpolation of ``signal[:, start:stop]`` (records × samples) at ``n_points`` even times."""
    t = np.linspace(start, stop - 1, n_points)
    i0 = np.clip(np.floor(t).astype(int), 0, signal.shape[1] - 2)
    frac = (t - i0)[None, :]
    return signal[:, i0] * (1 - frac) + signal[:, i0 + 1] * frac


def _strokes(values: np.ndarray, width: int, per_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest value each pixel column's stroke must cover (records × width).

    Each column covers its own samples and the last sample of the column before, so the trace is
    continuous however steep it is.
    """
    v = values.reshape(values.shape[0], width, per_px)
    lo, hi = v.min(-1), v.max(-1)
    prev = np.concatenate([v[:, :1, 0], v[:, :-1, -1]], axis=1)
    return np.minimum(lo, prev), np.maximum(hi, prev)


def render_ecg_images(signals: np.ndarray, fs: float, leads: Sequence[str], *, height: int = 256,
                      width: int = 256, seconds: float | None = None, mv_per_row: float | None = None,
                      line_px: float = 1.0, grid: bool = True, calibration: bool = True,
                      noise_sd: float = 0.0, seed: int | None = None) -> np.ndarray:
    """Render records as grayscale ECG printouts.

    Args:
        signals: (n, samples, leads) in mV, or (samples, leads) for one record.
        fs: sampling rate in Hz.
        leads: lead names of the last axis (any order; the 12 standard leads must be present).
        height, width: image size in pixels. The page is 4 rows of ``mv_per_row`` mV and ``seconds``
            (10 s by default) plus a 0.4 s margin for the calibration pulse.
        seconds: how much of the record the rhythm strip shows (the record's length by default, at most it).
        mv_per_row: vertical extent of a row in mV. Defaults to the print gain: 10 mm/mV with the page
            height in mm set by the width at 25 mm/s (square pixels).
        line_px: stroke thickness in pixels.
        grid: draw the ECG-paper grid (5 mm boxes, and 1 mm boxes when they are ≥ 3 px apart).
        calibration: draw the 1 mV × 0.2 s calibration pulse at the left of every row.
        noise_sd: sd of additive pixel noise (scanner-like); 0 gives clean images.
        seed: seed of the noise and of the small per-row offsets that come with it.

    Returns:
        (n, height, width) float32 in [0, 1], dark trace on light paper (one image if the input was 2-D).

    Raises:
        ValueError: on a wrong shape, a missing standard lead, or an image too small for the layout.
    """
    single = signals.ndim == 2
    sig = np.asarray(signals, dtype=np.float64)[None] if single else np.asarray(signals, dtype=np.float64)
    if sig.ndim != 3 or sig.shape[2] != len(leads):
        raise ValueError(f"signals must be (n, samples, {len(leads)} leads), got shape {np.shape(signals)}")
    if width < 64 or height < 32:
        raise ValueError(f"image {height}×{width} px is too small for a 4-row, 4-column ECG print")
    n, n_samples, _ = sig.shape
    seconds = min(seconds or n_samples / fs, n_samples / fs)
    cal_s = 0.4 if calibration else 0.0
    px_per_s = width / (seconds + cal_s)
    cal_px = int(round(cal_s * px_per_s))
    trace_w = width - cal_px
    col_w = trace_w // 4
    trace_w = col_w * 4  # columns of equal width; leftover pixels stay blank on the right
    row_h = height // 4
    px_per_mm = px_per_s / MM_PER_S
    if mv_per_row is None:
        mv_per_row = row_h / (px_per_mm * MM_PER_MV)
    px_per_mv = row_h / mv_per_row
    rng = np.random.default_rng(seed)

    img = np.full((n, height, width), PAPER, dtype=np.float32)
    if grid:
        x_mm = np.arange(width) / px_per_mm
        y_mm = np.arange(height) / (px_per_mv / MM_PER_MV)
        if px_per_mm >= 3:
            img[:, :, (np.floor(x_mm) != np.floor(np.r_[-1, x_mm[:-1]]))] = MINOR
            img[:, (np.floor(y_mm) != np.floor(np.r_[-1, y_mm[:-1]])), :] = MINOR
        img[:, :, (np.floor(x_mm / 5) != np.floor(np.r_[-1, x_mm[:-1]] / 5))] = MAJOR
        img[:, (np.floor(y_mm / 5) != np.floor(np.r_[-1, y_mm[:-1]] / 5)), :] = MAJOR

    per_px = 4  # samples drawn per pixel column (enough for a continuous stroke)
    seg = int(round(seconds * fs / 4))  # samples per column of the 3 × 4 block
    half = line_px / 2
    offsets = rng.normal(0, 0.03 * row_h, size=(n, 4)) if noise_sd > 0 else np.zeros((n, 4))

    def draw(row: int, x0: int, values: np.ndarray) -> None:
        lo, hi = _strokes(values, values.shape[1] // per_px, per_px)
        base = row * row_h + row_h / 2 + offsets[:, row:row + 1]  # baseline pixel row of each record
        top = np.clip(np.floor(base - hi * px_per_mv - half + 0.5), row * row_h, (row + 1) * row_h - 1)
        bottom = np.clip(np.ceil(base - lo * px_per_mv + half - 0.5), row * row_h, (row + 1) * row_h - 1)
        rows = np.arange(row * row_h, (row + 1) * row_h)[None, :, None]
        ink = (rows >= top[:, None, :]) & (rows <= bottom[:, None, :])
        block = img[:, row * row_h:(row + 1) * row_h, x0:x0 + lo.shape[1]]
        block[ink] = INK

    for r, row_leads in enumerate(GRID_LAYOUT):
        for c, name in enumerate(row_leads):
            lead = sig[:, :, _find(leads, name)]
            draw(r, cal_px + c * col_w, _resample_panel(lead, c * seg, min((c + 1) * seg, n_samples) , col_w * per_px))
    strip = sig[:, :, _find(leads, "II")]
    draw(3, cal_px, _resample_panel(strip, 0, min(4 * seg, n_samples), trace_w * per_px))

    if calibration and cal_px >= 4:
        t = np.arange(cal_px * per_px) / (per_px * px_per_s)  # seconds across the margin
        pulse = np.where((t >= 0.1) & (t < 0.3), 1.0, 0.0)[None].repeat(n, 0)  # 1 mV for 0.2 s
        for r in range(4):
            draw(r, 0, pulse)

    if noise_sd > 0:  # drawn in float32: float64 noise costs ~4× more on a batch
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_sd)
        np.clip(img, 0, 1, out=img)
    return img[0] if single else img


def _paper_colours(g: np.ndarray) -> np.ndarray:
    """The colour of each grey level g in [0, 1]: dark is ink, mid-grey is grid (tinted red), white is paper."""
    g = g[..., None]
    paper = np.array([255, 246, 246], dtype=np.float32)
    ink = np.array([20, 20, 30], dtype=np.float32)
    grid_tint = np.array([235, 120, 120], dtype=np.float32)
    is_grid = (g > 0.5) & (g < 0.99)
    rgb = np.where(is_grid, paper + (grid_tint - paper) * (1 - g) / (1 - MAJOR), ink + (paper - ink) * g)
    return np.clip(rgb, 0, 255).astype(np.uint8)


#: One colour per 8-bit grey level: colouring a batch is then a single table lookup per pixel.
_PAPER_LUT = _paper_colours(np.arange(256, dtype=np.float32) / 255.0)


def to_rgb(images: np.ndarray) -> np.ndarray:
    """Grayscale printouts in [0, 1] → uint8 RGB on pink ECG paper (red grid, black trace), shape (..., 3).

    The grey levels are quantised to 8 bits first (as any image file would), then looked up in a table.
    """
    g = np.clip(np.rint(np.asarray(images, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    return _PAPER_LUT[g]


def save_image(image: np.ndarray, path: str | Path, *, rgb: bool = True, quality: int = 95) -> Path:
    """Write one rendered printout as PNG or JPEG (by suffix), atomically (temp file, then rename)."""
    from PIL import Image

    path = Path(path)
    if np.asarray(image).ndim != 2:
        raise ValueError(f"save_image takes one (height, width) image, got shape {np.shape(image)}")
    arr = to_rgb(image) if rgb else (np.clip(image, 0, 1) * 255).astype(np.uint8)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: use a .png, .jpg or .jpeg suffix")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    Image.fromarray(arr).save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    tmp.replace(path)
    return path
