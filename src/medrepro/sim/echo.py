"""Simulated echocardiography cines: apical sector views of a beating left ventricle, driven by an ECG.

The shared echo simulator of Part II. Each cine is an apical four-chamber (``"a4c"``) or two-chamber
(``"a2c"``) sector view. The anatomy is analytic, in millimetres, with the transducer at the top centre:

- the left-ventricular (LV) cavity is a half-ellipse (a prolate "bullet") whose apex stays fixed while the
  mitral plane moves towards it in systole; the myocardium is a shell around it whose thickness keeps the
  wall area constant (it thickens as the cavity shrinks); the left atrium (LA) is an ellipse below the mitral
  plane that fills in systole and empties with the atrial kick; in ``"a4c"`` a right ventricle and atrium sit
  on the screen's left (unlabelled); a bright pericardial line surrounds the heart;
- the motion follows a 12-lead ECG from :mod:`medrepro.sim.ecg`: contraction starts at each R peak and ends
  at the end of the T wave (R + QT), so end-diastole (ED) and end-systole (ES) frames are known; early
  filling relaxes exponentially and the atrial kick empties the LA just before the next R peak;
- the true ejection fraction (EF) is drawn per patient; the short axis shortens so that the volume of the
  half-ellipsoid, ``V = (2/3) π a² L``, falls by exactly that fraction (``EchoCine.ef``).

Image formation (a B-mode chain, in polar coordinates of the sector, vectorised over records and frames):
echogenicity map × a complex Gaussian scatterer field that moves with the tissue (material coordinates) →
convolution with a Gaussian point-spread function along the beam (axial) and across beams (lateral) →
additive thermal noise → envelope ``|IQ|`` → log compression to a dynamic range with a gain → scan
conversion (bilinear) to a Cartesian image with square pixels. Clutter — near-field haze and reverberation
bands, quasi-static (they decorrelate slowly and barely move while the heart beats) — is added coherently
to the IQ signal before the envelope; the clutter-free cine of the same tissue and noise is returned too
(``EchoCine.clean``), the target of a clutter filter.

Realistic: Rayleigh speckle in fully developed regions (envelope SNR ≈ 1.91 before log compression); speckle
that grows laterally with depth (constant angular PSF width, as a phased array's); speckle that moves and
decorrelates with the tissue; dark blood pools; apex nearly still while the base moves; wall thickening;
ED/ES frames and the EF known exactly; per-patient anatomy, EF, heart rate (from the ECG) and texture;
two "vendor" presets (``VENDORS``) that differ in PSF, dynamic range, gain, sector and tissue contrast.
Not modelled: wave propagation (no diffraction, refraction, attenuation-dependent frequency shift, harmonic
imaging, side lobes or grating lobes), shadowing, valves and papillary muscles, the RV's real crescent
shape, out-of-plane motion, respiration, colour Doppler, the scanner's speckle reduction and persistence
filters; speckle sizes are set in samples of the polar grid, not from a transducer's frequency, so at the
small image sizes of the smoke runs speckle is coarser than on a real scanner (see
``book/guides/echo-simulator.ipynb`` for a measured comparison with a real cine).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import ndimage

#: Label values of ``EchoCine.labels`` (CAMUS uses the same numbering: 1 LV endocardium, 2 myocardium, 3 LA).
LABELS: dict[int, str] = {0: "background", 1: "LV cavity", 2: "LV myocardium", 3: "left atrium"}
VIEWS: tuple[str, ...] = ("a4c", "a2c")


@dataclass
class EchoSpec:
    """Geometry, image-formation and artefact knobs of a simulated cine.

    Distances are in mm, PSF widths in samples of the polar grid (``psf_axial`` along the beam,
    ``psf_lateral`` across beams), levels in dB relative to the mean myocardial echo.
    """

    size: int = 64                      # output image side in pixels (square image, square pixels)
    fps: float = 30.0                   # frames per second
    seconds: float = 2.0                # cine length
    view: str = "a4c"                   # "a4c" (four chambers) or "a2c" (two chambers: LV and LA only)
    depth_mm: float = 150.0             # imaging depth
    sector_deg: float = 75.0            # full opening angle of the sector
    polar_oversample: float = 1.25      # polar samples per output pixel (along the beam and across beams)
    psf_axial: float = 0.9              # Gaussian PSF sigma along the beam (polar samples)
    psf_lateral: float = 1.4            # Gaussian PSF sigma across beams (polar samples)
    gain_db: float = 0.0                # added to the log-compressed signal
    dynamic_range_db: float = 50.0      # displayed range: [top - DR, top] maps to [0, 1]
    noise_db: float = -38.0             # thermal noise level
    tgc_error_db: float = 0.0           # residual depth gain (dB from top to bottom of the sector, +: brighter deep)
    blood: float = 0.015                # blood echogenicity (amplitude, myocardium = 1)
    tissue: float = 0.45                # echogenicity of the surrounding tissue
    texture: float = 0.35               # log-amplitude sd of the smooth echogenicity texture
    clutter: float = 0.0                # near-field haze amplitude (myocardium = 1)
    clutter_depth_mm: float = 40.0      # e-folding depth of the haze
    reverberation: float = 0.0          # amplitude of the first reverberation band (myocardium = 1)
    reverb_spacing_mm: float = 25.0     # distance between reverberation bands
    clutter_decorrelation: float = 0.05 # clutter phase change per frame (rad): 0 = perfectly static
    ef_range: tuple[float, float] = (0.25, 0.70)   # true EF drawn uniformly in this range
    longitudinal_shortening: tuple[float, float] = (0.10, 0.20)  # fraction of LV length lost at ES

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")
        if self.size < 16 or self.fps <= 0 or self.seconds <= 0:
            raise ValueError(f"need size >= 16, fps > 0, seconds > 0; got {self.size}, {self.fps}, {self.seconds}")
        if not 0 < self.ef_range[0] <= self.ef_range[1] < 1:
            raise ValueError(f"ef_range must lie in (0, 1), got {self.ef_range}")
        if not 10 <= self.sector_deg <= 120:
            raise ValueError(f"sector_deg must lie in [10, 120], got {self.sector_deg}")

    @property
    def n_frames(self) -> int:
        return int(round(self.fps * self.seconds))

    @property
    def pixel_mm(self) -> float:
        """Side of a (square) output pixel in mm: the sector's width or its depth, whichever is larger."""
        half = np.deg2rad(self.sector_deg / 2)
        return max(self.depth_mm, 2 * self.depth_mm * np.sin(half)) / self.size


#: Two "vendor" presets for domain shift: sharper, high-contrast images (A) and smoother, brighter, lower-contrast
#: images with a narrower sector (B). Apply with :func:`vendor_spec`.
VENDORS: dict[str, dict[str, Any]] = {
    "A": dict(psf_axial=0.8, psf_lateral=1.2, dynamic_range_db=55.0, gain_db=0.0, sector_deg=75.0,
              blood=0.012, tissue=0.45, noise_db=-40.0),
    "B": dict(psf_axial=1.2, psf_lateral=2.0, dynamic_range_db=40.0, gain_db=5.0, sector_deg=64.0,
              blood=0.08, tissue=0.6, noise_db=-32.0, tgc_error_db=-6.0),
}


def vendor_spec(vendor: str, **overrides: Any) -> EchoSpec:
    """An :class:`EchoSpec` with a vendor preset (``"A"`` or ``"B"``) and any further overrides."""
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; presets: {sorted(VENDORS)}")
    return EchoSpec(**{**VENDORS[vendor], **overrides})


@dataclass
class EchoCine:
    """A batch of simulated cines.

    Attributes:
        frames: (n, T, H, W) float32 in [0, 1], the displayed B-mode (with clutter when the spec has any).
        clean: (n, T, H, W) float32, the same tissue, noise and settings without clutter or reverberation.
        labels: (n, T, H, W) uint8, ``LABELS`` (0 background, 1 LV cavity, 2 LV myocardium, 3 LA).
        sector: (H, W) bool, pixels inside the imaged sector.
        ef: (n,) true ejection fraction of the half-ellipsoid LV, ``1 − V_ES / V_ED``.
        volume: (n, T) LV volume in ml at each frame (half-ellipsoid ``(2/3) π a² L``).
        contraction: (n, T) cardiac phase variable: 0 at end-diastole, 1 at end-systole.
        ed_frames / es_frames: per record, the frame indices nearest to each R peak / end of T wave.
        ecg: (n, samples) lead II in mV, sampled at ``ecg_fs``, time-aligned with the cine (t = 0 at frame 0).
        r_peaks_s: per record, the R-peak times in seconds.
        fps, pixel_mm: frame rate and pixel size.
        spec: the settings used.
        meta: per-record anatomy (``lv_length_mm``, ``lv_radius_mm``, ``wall_mm``, ``hr_bpm``, ``qt_ms``...).
    """

    frames: np.ndarray
    clean: np.ndarray
    labels: np.ndarray
    sector: np.ndarray
    ef: np.ndarray
    volume: np.ndarray
    contraction: np.ndarray
    ed_frames: list[np.ndarray]
    es_frames: list[np.ndarray]
    ecg: np.ndarray
    ecg_fs: float
    r_peaks_s: list[np.ndarray]
    fps: float
    pixel_mm: float
    spec: EchoSpec
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def to_uint8(self, clean: bool = False) -> np.ndarray:
        """The cine as 8-bit grey levels (what a scanner stores), (n, T, H, W)."""
        x = self.clean if clean else self.frames
        return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------- motion
def contraction_curve(t: np.ndarray, r_peaks: np.ndarray, qt_s: float, *, tau_s: float = 0.07,
                      kick: float = 0.25, kick_s: float = 0.15) -> np.ndarray:
    """Cardiac phase c(t) in [0, 1] for times ``t`` (s) given the R-peak times of one record.

    Systole, from an R peak to the end of its T wave (R + QT): c = ½(1 − cos(π s / QT)) rises from 0 (ED) to
    1 (ES). Diastole: early filling relaxes c towards ``kick`` with time constant ``tau_s``; in the last
    ``kick_s`` seconds before the next R peak the atrial contraction brings c smoothly to 0 (ED).
    """
    r = np.asarray(r_peaks, float)
    rr = float(np.median(np.diff(r))) if len(r) > 1 else 1.0
    # pad one beat before and after, so every frame has a previous and a next R peak
    r = np.concatenate([[r[0] - rr], r, [r[-1] + rr]]) if len(r) else np.array([-rr, 0.0, rr])
    while r[-1] <= t.max():
        r = np.append(r, r[-1] + rr)
    while r[0] > t.min():
        r = np.insert(r, 0, r[0] - rr)
    k = np.searchsorted(r, t, side="right") - 1
    prev, nxt = r[k], r[k + 1]
    qt = np.minimum(qt_s, 0.8 * (nxt - prev))                # QT cannot outlast the beat
    s = t - prev
    systole = 0.5 * (1 - np.cos(np.pi * np.clip(s / qt, 0, 1)))
    u = np.clip(s - qt, 0, None)
    diastole = kick + (1 - kick) * np.exp(-u / tau_s)
    to_next = nxt - t
    ramp = np.clip(to_next / kick_s, 0, 1)
    diastole = diastole * (3 * ramp ** 2 - 2 * ramp ** 3) + 0.0 * (1 - ramp)   # smooth step down to 0 at R
    return np.where(s < qt, systole, diastole)


def _nearest_frames(times_s: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    idx = np.rint(np.asarray(times_s) * fps).astype(int)
    return np.unique(idx[(idx >= 0) & (idx < n_frames)])


# ------------------------------------------------------------------------------------------ rendering
def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Zero-mean, unit-sd smooth random field (Gaussian-filtered white noise) over the last two axes."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(0,) * (len(shape) - 2) + (sigma, sigma))
    f -= f.mean(axis=(-2, -1), keepdims=True)
    return f / (f.std(axis=(-2, -1), keepdims=True) + 1e-12)


def _ellipse(u: np.ndarray, v: np.ndarray, a_u: np.ndarray, a_v: np.ndarray) -> np.ndarray:
    """(u / a_u)² + (v / a_v)²: ≤ 1 inside the ellipse."""
    return (u / a_u) ** 2 + (v / a_v) ** 2


def _anatomy(x: np.ndarray, y: np.ndarray, p: dict[str, np.ndarray], c: np.ndarray, view: str) -> dict[str, np.ndarray]:
    """Region masks and the tissue's material coordinates at points (x, y) mm, phase c.

    Shapes: x, y broadcast against (n, T, 1, 1); p[...] are (n, 1, 1, 1); c is (n, T, 1, 1).
    Returns boolean masks ``lv``, ``myo``, ``la``, ``rv``, ``ra``, ``rv_wall``, ``la_wall``, ``peri`` and the material
    coordinates ``xm``, ``ym`` (where the tissue now at (x, y) was at end-diastole).
    """
    cos_t, sin_t = np.cos(p["tilt"]), np.sin(p["tilt"])
    # long-axis frame of the LV: w from the apex towards the base (mm), v across (mm)
    dx, dy = x - p["apex_x"], y - p["apex_y"]
    w = dx * sin_t + dy * cos_t
    v = dx * cos_t - dy * sin_t
    L = p["L"] * (1 - p["ls"] * c)                      # LV length: the base moves towards the fixed apex
    a = p["a"] * (1 - p["as_"] * c)                     # LV short-axis radius
    area = np.pi / 2 * ((p["L"] + p["t"]) * (p["a"] + p["t"]) - p["L"] * p["a"])   # half-annulus area at ED
    # wall thickness t keeping the half-annulus area: (π/2)[(L+t)(a+t) − L a] = area
    bq = L + a
    t = (-bq + np.sqrt(bq ** 2 + 4 * area * 2 / np.pi)) / 2
    base = L                                            # w of the mitral plane
    wb = base - w                                       # distance from the mitral plane towards the apex (>0 inside)
    cav = (_ellipse(wb, v, L, a) <= 1) & (wb >= 0)
    outer = (_ellipse(wb, v, L + t, a + t) <= 1) & (wb >= -0.5 * t)
    myo = outer & ~cav
    # left atrium below the mitral plane; it fills in systole (volume ∝ 1 + 0.25 c)
    la_scale = (1 + 0.25 * c) ** (1 / 2)
    la_r = p["la_r"] * la_scale
    la_h = p["la_h"] * la_scale
    wl = w - (base + la_h + 0.3 * t)                    # centre of the LA beyond the base
    la_q = _ellipse(wl, v - 0.15 * p["a"], la_h, la_r)
    la = (la_q <= 1) & ~outer
    la_wall = (la_q > 1) & (_ellipse(wl, v - 0.15 * p["a"], la_h + 2.0, la_r + 2.0) <= 1) & ~outer
    out = dict(lv=cav, myo=myo, la=la, la_wall=la_wall)
    heart_q = _ellipse(w - 0.55 * (base + 2 * la_h), v, 0.55 * (base + 2 * la_h) + 8, a + t + 6)
    if view == "a4c":
        # right heart on the screen's left (v < 0), sharing the septum with the LV
        v_r = v + (a + t + p["rv_r"] * (1 - 0.15 * c))
        rv_L = p["rv_L"] * (1 - 0.1 * c)
        rv_q = _ellipse(base - w, v_r, rv_L, p["rv_r"] * (1 - 0.15 * c))
        rv = (rv_q <= 1) & (base - w >= 0) & ~outer
        rv_wall = (_ellipse(base - w, v_r, rv_L + 3, p["rv_r"] * (1 - 0.15 * c) + 3) <= 1) & (base - w >= -2) & ~outer & ~rv
        ra_q = _ellipse(wl, v_r, la_h * 0.95, p["rv_r"] * 0.9)
        ra = (ra_q <= 1) & ~outer & ~la & ~la_wall
        out.update(rv=rv, ra=ra, rv_wall=rv_wall)
        heart_q = _ellipse(w - 0.55 * (base + 2 * la_h), v + 0.5 * (2 * p["rv_r"]),
                           0.55 * (base + 2 * la_h) + 8, a + t + p["rv_r"] + 12)
    out["peri"] = (heart_q > 0.9) & (heart_q <= 1.0)
    # material coordinates: undo the LV's scaling about the apex inside the heart, blend to identity outside
    wm = w * (p["L"] / L)
    vm = v * ((p["a"] + p["t"]) / (a + t))
    g = np.exp(-np.clip(heart_q - 1, 0, None) * 4)      # 1 inside the heart, → 0 away from it
    wm, vm = w + g * (wm - w), v + g * (vm - v)
    out["xm"] = p["apex_x"] + wm * sin_t + vm * cos_t
    out["ym"] = p["apex_y"] + wm * cos_t - vm * sin_t
    return out


def _bmode(iq: np.ndarray, spec: EchoSpec, ref: float, scan: tuple, sector: np.ndarray) -> np.ndarray:
    """Envelope, log compression and bilinear scan conversion of polar IQ data (…, n_r, n_th) → (…, H, W)."""
    env = np.abs(iq) / ref                                          # envelope; mean myocardium ≈ 1
    return compress_and_scan_convert(env, spec.gain_db, spec.dynamic_range_db, scan, sector).astype(np.float32)


def compress_and_scan_convert(env: np.ndarray, gain_db, dynamic_range_db: float, scan: tuple,
                              sector: np.ndarray) -> np.ndarray:
    """Log compression of a polar envelope (relative to the mean myocardial echo) and bilinear scan conversion.

    ``env`` (…, n_r, n_th); ``gain_db`` a number or an array broadcasting against ``env``; ``scan`` the
    ``(r0, t0, wr, wt)`` interpolation indices and weights of the output grid. Returns (…, H, W), 0 outside
    ``sector``. Shared by the cine simulator and the still views (:mod:`medrepro.sim.echo_views`).
    """
    r0, t0, wr, wt = scan
    db = 20 * np.log10(env + 1e-6) + gain_db                        # log compression
    disp = np.clip(0.7 + db / dynamic_range_db, 0, 1)               # 0 dB (myocardium) → 0.7; DR dB below → 0
    img = (disp[..., r0, t0] * (1 - wr) * (1 - wt) + disp[..., r0 + 1, t0] * wr * (1 - wt)
           + disp[..., r0, t0 + 1] * (1 - wr) * wt + disp[..., r0 + 1, t0 + 1] * wr * wt)
    return img * sector


def _draw_patients(n: int, spec: EchoSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    d = spec.depth_mm / 150.0                           # anatomy scales with the chosen depth setting
    ef = rng.uniform(*spec.ef_range, n)
    ls = rng.uniform(*spec.longitudinal_shortening, n)
    # (1 − as)² (1 − ls) = 1 − EF  ⇒  short-axis shortening
    as_ = 1 - np.sqrt((1 - ef) / (1 - ls))
    dilated = (0.70 - ef) / 0.45                        # lower EF tends to come with a larger ventricle
    p = dict(
        ef=ef, ls=ls, as_=as_,
        L=d * rng.normal(78, 6, n) * (1 + 0.15 * dilated),
        a=d * rng.normal(22, 2.5, n) * (1 + 0.2 * dilated),
        t=d * rng.normal(9, 1.2, n),
        tilt=np.deg2rad(rng.normal(10, 4, n)),            # long axis leaning towards the screen's right at the base
        apex_x=d * rng.normal(2, 3, n),
        apex_y=d * rng.normal(22, 3, n),
        la_r=d * rng.normal(19, 2, n), la_h=d * rng.normal(19, 2, n),
        rv_r=d * rng.normal(15, 2, n), rv_L=d * rng.normal(62, 5, n),
        myo_echo=rng.uniform(0.8, 1.2, n),
    )
    return {k: v.astype(np.float64) for k, v in p.items()}


def simulate_cines(n: int, spec: EchoSpec | None = None, *, seed: int = 0, ecg_fs: float = 250.0,
                   chunk: int = 8) -> EchoCine:
    """Simulate ``n`` cines (one patient each), vectorised over records and frames; deterministic by ``seed``.

    Args:
        n: number of cines.
        spec: geometry, image formation and artefacts (:class:`EchoSpec`; :func:`vendor_spec` for presets).
        seed: seeds anatomy, EF, ECG, scatterers, texture and clutter.
        ecg_fs: sampling rate of the returned ECG.
        chunk: records rendered together (memory ≈ chunk × frames × polar samples × 100 bytes).

    Returns:
        An :class:`EchoCine`: frames with and without clutter, labels, true EF, ED/ES frames and the ECG.
    """
    from .ecg import NoiseSpec, simulate_12lead

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    spec = spec or EchoSpec()
    rng = np.random.default_rng(seed)
    T = spec.n_frames
    times = np.arange(T) / spec.fps
    lead_in = 1.0                                       # the ECG starts 1 s before the cine and ends 1 s after it
    ecg = simulate_12lead(n, fs=ecg_fs, seconds=spec.seconds + 2 * lead_in, seed=int(rng.integers(2**31)),
                          noise=NoiseSpec(scale=0.5))
    i0 = int(round(lead_in * ecg_fs))
    lead_ii = ecg.signals[:, i0:i0 + int(round(spec.seconds * ecg_fs)), 1]
    qt_s = ecg.intervals["qt_ms"] / 1000.0
    r_peaks = [rp[rp >= 0] / ecg_fs - lead_in for rp in ecg.r_peaks]    # seconds from the first frame
    contraction = np.stack([contraction_curve(times, r, q) for r, q in zip(r_peaks, qt_s)])
    p = _draw_patients(n, spec, rng)

    # polar grid of the sector (beams × samples) and the Cartesian output grid
    half = np.deg2rad(spec.sector_deg / 2)
    n_r = int(round(spec.size * spec.polar_oversample * spec.depth_mm / (spec.pixel_mm * spec.size)))
    n_th = int(round(spec.size * spec.polar_oversample * 2 * spec.depth_mm * np.sin(half) / (spec.pixel_mm * spec.size)))
    n_r, n_th = max(n_r, 16), max(n_th, 16)
    r = (np.arange(n_r) + 0.5) / n_r * spec.depth_mm
    th = (np.arange(n_th) + 0.5) / n_th * 2 * half - half
    px, H = spec.pixel_mm, spec.size
    xc = (np.arange(H) + 0.5) * px - H * px / 2            # image x (mm), 0 at the transducer
    yc = (np.arange(H) + 0.5) * px                          # depth (mm)
    X, Y = np.meshgrid(xc, yc)
    R, TH = np.hypot(X, Y), np.arctan2(X, Y)
    sector = (R <= spec.depth_mm) & (np.abs(TH) <= half)
    # fractional polar indices of each output pixel, for the bilinear scan conversion
    fr = np.clip(R / spec.depth_mm * n_r - 0.5, 0, n_r - 1.0001)
    ft = np.clip((TH + half) / (2 * half) * n_th - 0.5, 0, n_th - 1.0001)
    r0, t0 = fr.astype(int), ft.astype(int)
    wr, wt = fr - r0, ft - t0

    # polar sample positions in mm
    PR, PT = np.meshgrid(r, th, indexing="ij")
    PX, PY = PR * np.sin(PT), PR * np.cos(PT)

    # reference amplitude: the PSF's gain on unit complex white noise, so myocardium sits near 0 dB
    ref = 1.0 / np.sqrt(4 * np.pi * spec.psf_axial * spec.psf_lateral)
    noise_amp = 10 ** (spec.noise_db / 20)
    tgc = 10 ** (spec.tgc_error_db / 20 * (r / spec.depth_mm))[:, None]      # (n_r, 1)

    # material grid of scatterers (finer than the polar samples at mid-depth), in mm
    dm = min(spec.depth_mm / n_r, spec.depth_mm * 2 * half / n_th * 0.5)
    ext = spec.depth_mm * 1.1
    gx = np.arange(-ext, ext, dm)
    gy = np.arange(-0.1 * ext, ext, dm)

    frames = np.empty((n, T, H, H), np.float32)
    clean = np.empty((n, T, H, H), np.float32)
    labels = np.zeros((n, T, H, H), np.uint8)
    sigma = (0, spec.psf_axial, spec.psf_lateral)
    for s0 in range(0, n, chunk):
        idx = np.arange(s0, min(n, s0 + chunk))
        m = len(idx)
        pc = {k: v[idx, None, None, None] for k, v in p.items()}
        cc = contraction[idx][:, :, None, None]
        # ---- labels on the Cartesian grid
        an = _anatomy(X[None, None], Y[None, None], pc, cc, spec.view)
        lab = np.zeros((m, T, H, H), np.uint8)
        lab[an["la"]] = 3
        lab[an["myo"]] = 2
        lab[an["lv"]] = 1
        labels[idx] = lab * sector
        # ---- echogenicity on the polar grid, in material coordinates
        ap = _anatomy(PX[None, None], PY[None, None], pc, cc, spec.view)
        tex = np.exp(spec.texture * _smooth_field(rng, (m, 1, len(gy), len(gx)), sigma=6.0 / dm))
        iy = np.clip(np.rint((ap["ym"] - gy[0]) / dm).astype(int), 0, len(gy) - 1)
        ix = np.clip(np.rint((ap["xm"] - gx[0]) / dm).astype(int), 0, len(gx) - 1)
        bidx = np.arange(m)[:, None, None, None]
        texture = tex[bidx, 0, iy, ix]
        echo = np.full(ap["lv"].shape, spec.tissue, np.float64) * texture
        echo = np.where(ap["peri"], 1.4 * texture, echo)
        for wall in ("la_wall", "rv_wall"):
            if wall in ap:
                echo = np.where(ap[wall], 0.8 * texture, echo)
        echo = np.where(ap["myo"], pc["myo_echo"] * texture, echo)
        blood = spec.blood * (1 + 0.5 * (texture - 1))
        for cavity in ("lv", "la", "rv", "ra"):
            if cavity in ap:
                echo = np.where(ap[cavity], blood, echo)
        # scatterers: one complex Gaussian field per patient, fixed in material coordinates
        scat = (rng.standard_normal((m, len(gy), len(gx))) + 1j * rng.standard_normal((m, len(gy), len(gx)))) / np.sqrt(2)
        z = scat[bidx, iy, ix]                             # the scatterer now at each polar sample
        tissue_iq = echo * z * tgc
        iq = ndimage.gaussian_filter(tissue_iq.real, sigma=(0,) + sigma) + \
            1j * ndimage.gaussian_filter(tissue_iq.imag, sigma=(0,) + sigma)
        noise = noise_amp * ref * (rng.standard_normal(iq.shape) + 1j * rng.standard_normal(iq.shape)) / np.sqrt(2)
        iq = iq + noise
        # ---- clutter: quasi-static coherent haze and reverberation bands (polar grid)
        if spec.clutter > 0 or spec.reverberation > 0:
            prof = spec.clutter * np.exp(-r / spec.clutter_depth_mm)[None, :, None] * \
                np.exp(0.5 * _smooth_field(rng, (m, 1, n_r, n_th), sigma=n_th / 8)[:, 0])
            if spec.reverberation > 0:
                off = rng.uniform(0.6, 1.0, (m, 1, 1)) * spec.reverb_spacing_mm
                band = sum(0.6 ** k * np.exp(-0.5 * ((r[None, :, None] - off - k * spec.reverb_spacing_mm) / 2.5) ** 2)
                           for k in range(4))
                centre = rng.uniform(-0.5, 0.5, (m, 1, 1)) * 2 * half
                width = rng.uniform(0.25, 0.5, (m, 1, 1)) * 2 * half
                lateral = np.exp(-0.5 * ((th[None, None, :] - centre) / (width / 2)) ** 4)
                prof = prof + spec.reverberation * band * lateral
            z1 = (rng.standard_normal((m, 1, n_r, n_th)) + 1j * rng.standard_normal((m, 1, n_r, n_th))) / np.sqrt(2)
            z2 = (rng.standard_normal((m, 1, n_r, n_th)) + 1j * rng.standard_normal((m, 1, n_r, n_th))) / np.sqrt(2)
            phi = spec.clutter_decorrelation * np.arange(T)[None, :, None, None]
            zc = np.cos(phi) * z1 + np.sin(phi) * z2        # unit variance at every frame, slowly decorrelating
            c_raw = prof[:, None] * zc
            c_iq = ndimage.gaussian_filter(c_raw.real, sigma=(0,) + sigma) + \
                1j * ndimage.gaussian_filter(c_raw.imag, sigma=(0,) + sigma)
            dirty = iq + c_iq
        else:
            dirty = iq
        clean[idx] = _bmode(iq, spec, ref, (r0, t0, wr, wt), sector)
        frames[idx] = clean[idx] if dirty is iq else _bmode(dirty, spec, ref, (r0, t0, wr, wt), sector)

    # volumes (ml) of the half-ellipsoid LV and the ED/ES frames
    L = p["L"][:, None] * (1 - p["ls"][:, None] * contraction)
    a = p["a"][:, None] * (1 - p["as_"][:, None] * contraction)
    volume = (2 / 3) * np.pi * a ** 2 * L / 1000.0
    ed_frames = [_nearest_frames(rp, spec.fps, T) for rp in r_peaks]
    r_in = [rp[(rp >= 0) & (rp < spec.seconds)] for rp in r_peaks]
    es_frames = [_nearest_frames(rp + q, spec.fps, T) for rp, q in zip(r_peaks, qt_s)]
    meta = dict(lv_length_mm=p["L"], lv_radius_mm=p["a"], wall_mm=p["t"], longitudinal_shortening=p["ls"],
                hr_bpm=np.asarray(ecg.intervals["hr_bpm"], float), qt_ms=np.asarray(ecg.intervals["qt_ms"], float),
                edv_ml=(2 / 3) * np.pi * p["a"] ** 2 * p["L"] / 1000.0)
    return EchoCine(frames=frames, clean=clean, labels=labels, sector=sector, ef=p["ef"].copy(), volume=volume,
                    contraction=contraction, ed_frames=ed_frames, es_frames=es_frames, ecg=lead_ii.astype(np.float32),
                    ecg_fs=float(ecg_fs), r_peaks_s=r_in, fps=spec.fps, pixel_mm=float(px), spec=spec, meta=meta)


def add_clutter(frames: np.ndarray, *, seed: int = 0, haze: float = 0.6, haze_depth: float = 0.12,
                reverberation: float = 0.5, n_bands: int = 3, decorrelation: float = 0.05,
                psf_px: tuple[float, float] = (0.9, 1.4), dynamic_range_db: float = 50.0,
                sector: np.ndarray | None = None, random_layout: bool = True) -> np.ndarray:
    """Add quasi-static clutter to B-mode cines in display units (any source: simulated or real, e.g. CAMUS).

    The display grey level ``x`` is mapped back to an envelope with the simulator's compression,
    ``e = 10^((x − 0.7)·DR/20)``; a clutter IQ field ``C`` (complex Gaussian speckle through a Gaussian PSF of
    ``psf_px`` (rows, columns) pixels, with a near-field haze profile ``haze·exp(−r / (haze_depth·H))`` and
    ``n_bands`` reverberation bands at multiples of a random spacing, over a random lateral extent) is added
    coherently with a random phase per pixel that is fixed in time, ``|e·exp(iψ) + C|``, and compressed again.
    The clutter decorrelates by ``decorrelation`` rad per frame (quasi-static). Distances ``r`` are from the
    sector apex, taken at the top centre of the image. ``random_layout`` draws haze strength, band spacing,
    position and width per sequence (a filter cannot learn one fixed clutter map).

    Args:
        frames: (n, T, H, W) grey levels in [0, 1].
        sector: (H, W) mask of the imaged sector; default: pixels that are non-zero in any frame.

    Returns:
        (n, T, H, W) float32 in [0, 1], zero outside the sector.
    """
    x = np.asarray(frames, np.float64)
    if x.ndim != 4:
        raise ValueError(f"add_clutter needs (n, T, H, W) frames, got shape {x.shape}")
    n, T, H, W = x.shape
    rng = np.random.default_rng(seed)
    if sector is None:
        sector = (x > 0).any(axis=(0, 1))
    rows, cols = np.mgrid[0:H, 0:W].astype(float)
    r = np.hypot(rows + 0.5, cols + 0.5 - W / 2) / H                 # depth from the apex, in image heights
    th = np.arctan2(cols + 0.5 - W / 2, rows + 0.5)                    # beam angle
    k = (lambda lo, hi: rng.uniform(lo, hi, (n, 1, 1))) if random_layout else (lambda lo, hi: np.full((n, 1, 1), (lo + hi) / 2))
    prof = haze * k(0.5, 1.5) * np.exp(-r[None] / haze_depth) * np.exp(0.4 * _smooth_field(rng, (n, 1, H, W), sigma=W / 8)[:, 0])
    if reverberation > 0 and n_bands > 0:
        spacing = k(0.12, 0.22)
        band = sum(0.6 ** j * np.exp(-0.5 * ((r[None] - (j + 1) * spacing) / 0.015) ** 2) for j in range(n_bands))
        centre, width = k(-0.4, 0.4), k(0.3, 0.7)
        lateral = np.exp(-0.5 * ((th[None] - centre) / (width / 2)) ** 4)
        prof = prof + reverberation * k(0.6, 1.4) * band * lateral
    def speckle(shape):
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        sig = (0,) * (len(shape) - 2) + tuple(psf_px)
        z = ndimage.gaussian_filter(z.real, sig) + 1j * ndimage.gaussian_filter(z.imag, sig)
        return z / np.sqrt(np.mean(np.abs(z) ** 2))
    z1, z2 = speckle((n, 1, H, W)), speckle((n, 1, H, W))
    phi = decorrelation * np.arange(T)[None, :, None, None]
    clutter = prof[:, None] * (np.cos(phi) * z1 + np.sin(phi) * z2)
    env = 10 ** ((x - 0.7) * dynamic_range_db / 20) * np.exp(1j * rng.uniform(0, 2 * np.pi, (n, 1, H, W)))
    out = np.clip(0.7 + 20 * np.log10(np.abs(env + clutter) + 1e-6) / dynamic_range_db, 0, 1)
    return (out * sector).astype(np.float32)


def display_to_envelope(x: np.ndarray, dynamic_range_db: float = 50.0) -> np.ndarray:
    """Invert the display compression of :func:`compress_and_scan_convert`: grey level x in [0, 1] → envelope
    ``10^((x − 0.7)·DR / 20)`` relative to the mean myocardial echo (0.7 ↦ 1). Pixels at 0 (outside the sector,
    or below the displayed range) map to 0. For real data the scanner's compression is unknown; DR is then an
    assumption."""
    x = np.asarray(x, np.float64)
    return np.where(x > 0, 10 ** ((x - 0.7) * dynamic_range_db / 20), 0.0).astype(np.float32)


def envelope_to_display(e: np.ndarray, dynamic_range_db: float = 50.0) -> np.ndarray:
    """Log compression of an envelope (myocardium ≈ 1) to grey levels in [0, 1]: ``clip(0.7 + 20 log10(e) / DR)``,
    the display mapping of the simulator; the inverse of :func:`display_to_envelope` on (0, 1]."""
    e = np.maximum(np.asarray(e, np.float64), 1e-12)
    return np.clip(0.7 + 20 * np.log10(e) / dynamic_range_db, 0, 1).astype(np.float32)


def simulate_haze(n: int, size: int | tuple[int, int], *, seed: int = 0, strength: tuple[float, float] = (0.0, 0.5),
                  depth: tuple[float, float] = (0.10, 0.30), bands: tuple[float, float] = (0.0, 0.35),
                  band_width: float = 0.03, modulation: float = 0.5, speckle: float = 0.0, p_clear: float = 0.0,
                  sector: np.ndarray | None = None) -> np.ndarray:
    """Haze alone, in display units: ``n`` smooth, structured fields to add to B-mode images of ``size`` pixels.

    A designed stand-in for the multipath haze of difficult echo windows (Stevens et al., TMI 2024), as an
    additive brightness field ``h ≥ 0`` with the geometry of :func:`add_clutter` (depth ``r`` from the apex at the
    top centre, in image heights):

        h = A·exp(−r / d)·exp(m·s₁) + B·exp(−½((r − r_b) / w)²)·L(θ),

    a near-field veil of strength ``A`` ~ U(``strength``) and e-folding depth ``d`` ~ U(``depth``), modulated by a
    smooth random field ``s₁`` (sd ``modulation`` in log units), plus one reverberation arc of strength ``B`` ~
    U(``bands``) at a depth r_b ~ U(0.15, 0.5) over a random lateral window L(θ). Every parameter is drawn per
    field, so a filter cannot subtract one fixed map. With ``speckle`` > 0 the field is multiplied by a unit-mean
    Rayleigh speckle pattern (the magnitude of complex Gaussian noise through a Gaussian PSF of ``speckle``
    pixels): clutter is coherent, so haze in an envelope image is speckled like tissue. A fraction ``p_clear``
    of the fields is zero (views without haze). Zero outside ``sector`` when given.

    Not modelled: the coherent (non-additive) combination of clutter and tissue echoes (:func:`add_clutter` does
    that), haze motion, the dependence of haze on the patient's body wall.
    Returns (n, H, W) float32.
    """
    H, W = (size, size) if np.isscalar(size) else tuple(size)
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:H, 0:W].astype(float)
    r = np.hypot(rows + 0.5, cols + 0.5 - W / 2) / H
    th = np.arctan2(cols + 0.5 - W / 2, rows + 0.5)
    u = lambda lo, hi: rng.uniform(lo, hi, (n, 1, 1))  # noqa: E731
    a, d = u(*strength), u(*depth)
    veil = a * np.exp(-r[None] / d) * np.exp(modulation * _smooth_field(rng, (n, H, W), sigma=W / 6))
    b, rb = u(*bands), u(0.15, 0.5)
    centre, width = u(-0.5, 0.5), u(0.3, 0.9)
    arc = b * np.exp(-0.5 * ((r[None] - rb) / band_width) ** 2) * np.exp(-0.5 * ((th[None] - centre) / (width / 2)) ** 4)
    h = veil + arc
    if speckle > 0:
        z = rng.standard_normal((n, H, W)) + 1j * rng.standard_normal((n, H, W))
        z = ndimage.gaussian_filter(z.real, (0, speckle, speckle)) + 1j * ndimage.gaussian_filter(z.imag, (0, speckle, speckle))
        mag = np.abs(z)
        h = h * mag / mag.mean(axis=(1, 2), keepdims=True)
    if p_clear > 0:
        h = h * (rng.uniform(size=(n, 1, 1)) >= p_clear)
    if sector is not None:
        h = h * np.asarray(sector, bool)
    return h.astype(np.float32)


def area_length_ef(labels: np.ndarray, ed: int, es: int, pixel_mm: float) -> float:
    """EF by the single-plane area–length method on the LV-cavity label (1) of two frames.

    ``V = 8 A² / (3 π L)`` with A the cavity area and L its longest extent (here: the cavity's largest
    Feret-like length, approximated by the extent along the principal axis of its pixels).
    """
    vols = []
    for f in (ed, es):
        m = labels[f] == 1
        if m.sum() < 3:
            raise ValueError(f"frame {f}: the LV cavity has fewer than 3 pixels")
        yx = np.argwhere(m).astype(float) * pixel_mm
        yx -= yx.mean(0)
        _, _, vt = np.linalg.svd(yx, full_matrices=False)
        proj = yx @ vt[0]
        length = proj.max() - proj.min() + pixel_mm
        area = m.sum() * pixel_mm ** 2
        vols.append(8 * area ** 2 / (3 * np.pi * length))
    return float(1 - vols[1] / vols[0])


def benchmark(n: int = 4, spec: EchoSpec | None = None) -> float:
    """Seconds to simulate one cine of ``spec`` (default: 64 px, 2 s at 30 fps), averaged over ``n``."""
    import time

    t0 = time.perf_counter()
    simulate_cines(n, spec or EchoSpec(), seed=0)
    return (time.perf_counter() - t0) / n


if __name__ == "__main__":  # pragma: no cover
    print(f"{benchmark():.3f} s per 2-s cine at 64 px")
