"""Simulated still echo frames of several standard views, each with an exactly known image-quality grade.

A companion of :mod:`medrepro.sim.echo` (apical cines driven by an ECG) for view classification and quality
grading, the task of the CACTUS dataset (Elmekki et al., 2025): a phantom scanned in several views, every image
graded 0-10 for *completeness* (how much of the view's target structures is visible) and *clarity* (brightness,
shadows). Here the anatomy of each view is a small set of analytic primitives in millimetres (transducer at the
top centre): blood pools with a myocardial wall, valve leaflets, and for the subcostal view the liver that serves
as the acoustic window. The view names are CACTUS's: ``A4C`` (apical four-chamber), ``PL`` (parasternal long
axis), ``PSAV`` (parasternal short axis at the aortic valve), ``PSMV`` (parasternal short axis at the mitral
valve) and ``SC`` (subcostal four-chamber).

Acquisition errors, drawn per frame (and a per-scan bias, so frames of one scan are alike):

- **off-axis angle** θ: the scan plane is tilted by θ about an in-plane axis through the heart's centre, at a
  random azimuth ψ; a structure whose centre then lies a distance ``d`` out of the plane is cut off-centre, and
  an ellipsoid of out-of-plane half-extent ``h`` shows a section scaled by ``sqrt(1 − (d/h)²)`` (nothing when
  ``|d| ≥ h``) — structures shrink and vanish, the view foreshortens;
- **depth error**: the depth setting is ``s`` times the ideal one: ``s < 1`` cuts the far structures off,
  ``s > 1`` makes the heart small;
- **gain error** ``g`` dB on the log-compressed image;
- **shadowing**: an acoustic shadow (a rib) of ``A`` dB attenuation beyond a depth, over an angular band.

The grade is a known function of the geometry, computed on a fine millimetre grid, not learnt or annotated::

    completeness C = Σ_k visible area_k / Σ_k on-axis area_k        (the view's blood pools, inside the sector)
    clarity      K = exp(−(g / gain_scale)²) · (1 − shadowed share of the visible pools · A / 40 dB)
                     · exp(−(max(0, ln s) / depth_scale)²)              (a too deep setting: heart small)
    grade        = 10 · C · K                                        (continuous, 0-10)

Image formation is the B-mode chain of :mod:`medrepro.sim.echo` for one frame: echogenicity × complex Gaussian
scatterers → Gaussian PSF (axial, lateral) → thermal noise → envelope → log compression with gain and dynamic
range → bilinear scan conversion.

Realistic: view-specific anatomy with per-scan and per-frame variation of position, size and rotation (probe
placement); Rayleigh speckle; foreshortening and vanishing structures off axis; cut-off or small hearts from the
depth setting; gain; rib shadows; a grade built from completeness and clarity as CACTUS's experts defined it.
Not modelled: motion (one frame per image, no cardiac phase), the real anatomy's shapes (ellipses only), valves
beyond thin bright lines, wave physics (refraction, attenuation with frequency, side lobes), the experts' own
disagreement (the grade here has no label noise unless ``grade_noise`` is set), CACTUS's "Random" class.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .echo import _smooth_field, compress_and_scan_convert

#: View names (CACTUS's folder names); ``VIEWS[:4]`` are the base views, ``PSMV`` the one added later.
VIEWS: tuple[str, ...] = ("A4C", "PL", "PSAV", "SC", "PSMV")

# Primitives per view: (kind, cx, cy, a, b, phi_deg, h_out_of_plane). Kinds: "pool" (a blood pool inside a
# myocardial wall; its area counts for completeness), "leaflet" (thin bright line), "liver" (bright parenchyma),
# "root" (a vessel with a thin bright wall). Millimetres; x lateral (+: screen right), y depth.
_ANATOMY: dict[str, list[tuple]] = {
    "A4C": [("pool", 9, 68, 19, 36, 8, 24), ("pool", -21, 72, 14, 31, 8, 18), ("pool", 14, 116, 17, 14, 0, 18),
            ("pool", -19, 116, 14, 13, 0, 16), ("leaflet", -4, 98, 15, 1.2, 0, 14)],
    "PL": [("pool", -8, 88, 38, 16, -12, 24), ("pool", -6, 52, 34, 8, -6, 16), ("pool", 36, 110, 15, 14, 0, 18),
           ("root", 34, 80, 15, 8, -10, 14), ("leaflet", 18, 98, 1.2, 10, 20, 12)],
    "PSAV": [("root", 0, 82, 13, 13, 0, 12), ("pool", 2, 110, 22, 12, 0, 18), ("pool", -30, 98, 13, 13, 0, 16),
             ("pool", -4, 52, 30, 9, -18, 16), ("leaflet", 0, 82, 11, 0.9, 30, 10),
             ("leaflet", 0, 82, 11, 0.9, -30, 10), ("leaflet", 0, 82, 0.9, 11, 0, 10)],
    "SC": [("liver", 0, 28, 95, 34, 0, 60), ("pool", 22, 96, 33, 17, -62, 24), ("pool", 4, 74, 28, 12, -62, 18),
           ("pool", -4, 124, 16, 13, -20, 18), ("pool", -24, 106, 13, 12, -20, 16)],
    "PSMV": [("pool", 4, 88, 24, 21, 0, 24), ("pool", -24, 60, 28, 9, -35, 16),
             ("leaflet", 4, 80, 13, 1.3, 8, 14), ("leaflet", 4, 97, 12, 1.3, -6, 14)],
}
_N_LATTICE = 400                 # points per pool for the grade's areas
_ECHO = {"wall": 1.0, "leaflet": 1.5, "liver": 0.75, "root": 1.3}


@dataclass
class ViewSpec:
    """Image formation and acquisition-error knobs (dB relative to the mean myocardial echo, mm, degrees)."""

    size: int = 48                       # output image side (pixels)
    depth_mm: float = 150.0              # ideal imaging depth
    sector_deg: float = 75.0             # opening angle of the sector
    polar_oversample: float = 1.25       # polar samples per output pixel
    psf_axial: float = 0.9               # PSF sigma along the beam (polar samples)
    psf_lateral: float = 1.4             # PSF sigma across beams (polar samples)
    dynamic_range_db: float = 50.0
    noise_db: float = -38.0
    wall_mm: float = 7.0                 # myocardial wall thickness around a blood pool
    blood: float = 0.015                 # blood echogenicity (myocardium = 1)
    tissue: float = 0.3                  # surrounding tissue
    texture: float = 0.3                 # log-amplitude sd of the smooth echogenicity texture
    placement_mm: float = 6.0            # sd of the heart's in-plane shift between frames (probe placement)
    placement_deg: float = 6.0           # sd of the in-plane rotation between frames
    size_sd: float = 0.06                # sd of the anatomy's scale (pressure, phantom placement)
    max_off_axis_deg: float = 35.0       # θ ~ uniform(0, max) per frame (plus the scan's bias)
    random_scramble_mm: float = 28.0     # "Random" frames: sd of each structure's displacement
    random_turn_deg: float = 70.0        # "Random" frames: the whole turned by up to ± this
    depth_log_sd: float = 0.22           # ln s ~ normal(scan bias, sd)
    gain_sd_db: float = 7.0              # g ~ normal(scan bias, sd)
    shadow_prob: float = 0.45            # chance of a rib shadow per frame
    shadow_db: tuple[float, float] = (10.0, 35.0)    # its attenuation
    shadow_width_deg: tuple[float, float] = (8.0, 22.0)
    gain_scale_db: float = 14.0          # clarity: exp(−(g / gain_scale)²)
    depth_scale: float = 0.45            # clarity: exp(−(max(0, ln s) / depth_scale)²)
    completeness: str = "structures"     # "structures": mean visible share per pool; "area": share of total area
    grade_noise: float = 0.0             # sd of rater noise added to the grade (0: exact)

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError(f"size must be >= 16, got {self.size}")
        if not 10 <= self.sector_deg <= 120:
            raise ValueError(f"sector_deg must lie in [10, 120], got {self.sector_deg}")


@dataclass
class ViewFrames:
    """Simulated frames with their view, grade and the acquisition errors that made the grade.

    Attributes:
        images: (n, H, W) float32 in [0, 1], sector outside = 0.
        view: (n,) int, index into ``views``.
        views: the view names.
        grade: (n,) float, 0-10 (``10·completeness·clarity``; plus ``grade_noise`` if set).
        completeness, clarity: (n,) float in [0, 1].
        scan: (n,) int, the scan (session) each frame belongs to: resample these, not frames.
        errors: dict of (n,) arrays: ``off_axis_deg``, ``depth_factor``, ``gain_db``, ``shadow_db``,
            ``shadow_width_deg``.
        sector: (H, W) bool.
    """

    images: np.ndarray
    view: np.ndarray
    views: tuple[str, ...]
    grade: np.ndarray
    completeness: np.ndarray
    clarity: np.ndarray
    scan: np.ndarray
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    sector: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.view)

    def to_uint8(self) -> np.ndarray:
        return np.clip(np.rint(self.images * 255), 0, 255).astype(np.uint8)


def _primitives(views: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the padded primitive table (n, P, 6) [cx, cy, a, b, phi, h] and kinds (n, P) (−1 = none)."""
    kinds = ("pool", "leaflet", "liver", "root")
    P = max(len(_ANATOMY[v]) for v in names)
    table = np.zeros((len(names), P, 6))
    kind = np.full((len(names), P), -1)
    for i, v in enumerate(names):
        for j, (k, *geo) in enumerate(_ANATOMY[v]):
            table[i, j] = geo
            kind[i, j] = kinds.index(k)
    return table[views], kind[views]


def _geometry(prim: np.ndarray, rng: np.random.Generator, spec: ViewSpec, theta: np.ndarray,
              scrambled: np.ndarray) -> dict[str, np.ndarray]:
    """Place the primitives of each frame: per-frame shift, rotation, scale and the off-axis section scaling."""
    n = len(prim)
    cx, cy, a, b, phi, h = (prim[..., i].copy() for i in range(6))
    heart_x = np.zeros((n, 1))
    heart_y = np.full((n, 1), 85.0)
    rot = np.deg2rad(rng.normal(0, spec.placement_deg, (n, 1)))
    scale = np.exp(rng.normal(0, spec.size_sd, (n, 1)))
    shift = rng.normal(0, spec.placement_mm, (n, 2))
    # "Random" frames: structures out of their arrangement, the whole turned
    jitter = rng.normal(0, spec.random_scramble_mm, (2,) + cx.shape) * scrambled[:, None]
    cx, cy = cx + jitter[0], cy + jitter[1]
    rot = rot + np.deg2rad(rng.uniform(-spec.random_turn_deg, spec.random_turn_deg, (n, 1))) * scrambled[:, None]
    # rotate and scale about the heart's centre, then shift (probe placement)
    dx, dy = (cx - heart_x) * scale, (cy - heart_y) * scale
    cx = heart_x + dx * np.cos(rot) - dy * np.sin(rot) + shift[:, :1]
    cy = heart_y + dx * np.sin(rot) + dy * np.cos(rot) + shift[:, 1:]
    a, b, h = a * scale, b * scale, h * scale
    phi = np.deg2rad(phi) + rot
    # off-axis: the plane turns by θ about an in-plane axis through the heart at azimuth ψ; a centre at in-plane
    # distance u from that axis moves d = u·sin θ out of the plane (plus a small plane offset)
    psi = rng.uniform(0, np.pi, (n, 1))
    u = (cx - heart_x - shift[:, :1]) * np.sin(psi) - (cy - heart_y - shift[:, 1:]) * np.cos(psi)
    d = u * np.sin(np.deg2rad(theta))[:, None] + np.deg2rad(theta)[:, None] * 12.0 * np.cos(2 * psi)
    f = np.sqrt(np.clip(1 - (d / np.maximum(h, 1e-6)) ** 2, 0, None))   # section of an ellipsoid cut at distance d
    return dict(cx=cx, cy=cy, a=a, b=b, phi=phi, f=f, h=h, d=d)


def _wall_scale(g: dict[str, np.ndarray], wall: float) -> np.ndarray:
    """Section scale of the wall's outer ellipsoid (out-of-plane half-extent h + wall)."""
    return np.sqrt(np.clip(1 - (g["d"] / np.maximum(g["h"] + wall, 1e-6)) ** 2, 0, None))


def simulate_views(n_scans: int, frames_per_view: int = 8, views: tuple[str, ...] = VIEWS[:4],
                   spec: ViewSpec | None = None, *, n_random: int = 0, seed: int = 0, chunk: int = 256,
                   heart_scale: np.ndarray | None = None, pool_scale: np.ndarray | None = None,
                   wall_mm: np.ndarray | None = None) -> ViewFrames:
    """Simulate ``n_scans`` scans, each with ``frames_per_view`` frames of every view in ``views``.

    With ``n_random > 0`` each scan also has that many frames of CACTUS's sixth class, ``"Random"``: the probe
    away from any standard plane. Such a frame shows the structures of one of the views, but out of their
    arrangement: each moved by ``random_scramble_mm`` (sd) and the whole turned by up to ±``random_turn_deg``.
    No standard view is shown, so its completeness — and grade — is 0 by definition (label ``len(views)``).

    Per-scan anatomy (the patient's phenotype; all three default to ``None``, the phantom of every scan alike, and
    change no random draw, so frames without them are those of earlier versions):

    - ``heart_scale`` (n_scans,): the whole anatomy of every view scaled about the heart's centre (a large heart);
    - ``pool_scale`` (n_scans, len(views), P): the section of primitive ``j`` of view ``v`` scaled (``P`` up to the
      longest primitive list; e.g. the LV cavity, primitive 0 of ``A4C``, dilated in that view only);
    - ``wall_mm`` (n_scans, len(views)): the myocardial wall thickness around the pools of each view (instead of
      ``spec.wall_mm``; e.g. a thick wall shown in the parasternal views only).

    Which view shows which phenotype is the caller's choice: the simulator places it there.

    Every frame has its own acquisition errors (around a per-scan bias: a scan's operator, probe and settings);
    the grade follows from them exactly (module docstring). Deterministic by ``seed``; vectorised over frames.

    Returns:
        :class:`ViewFrames`, ordered scan by scan, view by view.
    """
    spec = spec or ViewSpec()
    unknown = [v for v in views if v not in _ANATOMY]
    if unknown:
        raise ValueError(f"unknown view(s) {unknown}; known: {VIEWS}")
    if n_scans < 1 or frames_per_view < 1:
        raise ValueError(f"need n_scans >= 1 and frames_per_view >= 1, got {n_scans}, {frames_per_view}")
    rng = np.random.default_rng(seed)
    V = len(views)
    scan = np.repeat(np.arange(n_scans), V * frames_per_view)
    view = np.tile(np.repeat(np.arange(V), frames_per_view), n_scans)
    anat = view.copy()                                      # whose anatomy a frame shows
    if n_random > 0:
        scan = np.concatenate([scan, np.repeat(np.arange(n_scans), n_random)])
        view = np.concatenate([view, np.full(n_scans * n_random, V)])
        anat = np.concatenate([anat, rng.integers(0, V, n_scans * n_random)])
        order = np.argsort(scan, kind="stable")
        scan, view, anat = scan[order], view[order], anat[order]
    is_random = view == V
    n = len(view)
    # acquisition errors: a per-scan bias plus per-frame variation
    b_theta, b_depth, b_gain = (rng.normal(0, 1, n_scans) for _ in range(3))
    theta = np.clip(rng.uniform(0, spec.max_off_axis_deg, n) + 4 * b_theta[scan], 0, 60)
    depth = np.exp(rng.normal(0.5 * spec.depth_log_sd * b_depth[scan], spec.depth_log_sd, n))
    gain = rng.normal(0.5 * spec.gain_sd_db * b_gain[scan], spec.gain_sd_db, n)
    has_shadow = rng.random(n) < spec.shadow_prob
    shadow_db = np.where(has_shadow, rng.uniform(*spec.shadow_db, n), 0.0)
    shadow_w = np.where(has_shadow, rng.uniform(*spec.shadow_width_deg, n), 0.0)
    half = np.deg2rad(spec.sector_deg / 2)
    shadow_c = rng.uniform(-0.7, 0.7, n) * half
    shadow_r = rng.uniform(0.15, 0.35, n)                   # the shadow starts at this fraction of the ideal depth

    prim, kind = _primitives(anat, views)
    if pool_scale is not None:                              # per scan and view: one structure's section scaled
        ps = np.asarray(pool_scale, float)
        if ps.shape[:2] != (n_scans, V) or ps.shape[2] > prim.shape[1]:
            raise ValueError(f"pool_scale must be (n_scans={n_scans}, views={V}, <= {prim.shape[1]}), got {ps.shape}")
        f_ps = np.ones(prim.shape[:2])
        f_ps[:, :ps.shape[2]] = ps[scan, anat]
        prim[..., 2] *= f_ps
        prim[..., 3] *= f_ps
        prim[..., 5] *= f_ps
    if heart_scale is not None:                             # per scan: the whole anatomy about the heart's centre
        hs = np.asarray(heart_scale, float)
        if hs.shape != (n_scans,):
            raise ValueError(f"heart_scale must be (n_scans={n_scans},), got {hs.shape}")
        f_hs = hs[scan][:, None]
        prim[..., 0] *= f_hs
        prim[..., 1] = 85.0 + (prim[..., 1] - 85.0) * f_hs
        prim[..., 2:4] *= f_hs[..., None]
        prim[..., 5] *= f_hs
    wall_f = None
    if wall_mm is not None:                                 # per scan and view: the wall thickness
        wm = np.asarray(wall_mm, float)
        if wm.shape != (n_scans, V) or (wm <= 0).any():
            raise ValueError(f"wall_mm must be positive, shaped (n_scans={n_scans}, views={V}), got {wm.shape}")
        wall_f = wm[scan, np.minimum(anat, V - 1)]
    g = _geometry(prim, rng, spec, theta, is_random.astype(float))
    wall = _wall_scale(g, spec.wall_mm if wall_f is None else wall_f[:, None])

    # ---- the grade, from the geometry: each pool sampled at fixed points of its ellipse (a sunflower lattice)
    k = np.arange(_N_LATTICE) + 0.5
    rho, ang = np.sqrt(k / _N_LATTICE), k * np.pi * (3 - np.sqrt(5))
    lu, lv = rho * np.cos(ang), rho * np.sin(ang)                  # uniform over the unit disc
    pool = kind == 0
    ca, sa = np.cos(g["phi"])[..., None], np.sin(g["phi"])[..., None]

    def lattice(f):                                                 # (n, P, L) points of each section, in mm
        pa, pb = (g["a"] * f)[..., None] * lu, (g["b"] * f)[..., None] * lv
        return g["cx"][..., None] + pa * ca - pb * sa, g["cy"][..., None] + pa * sa + pb * ca

    sx, sy = lattice(g["f"])
    r_pt, t_pt = np.hypot(sx, sy), np.arctan2(sx, sy)
    in_sector = (r_pt <= spec.depth_mm * depth[:, None, None]) & (np.abs(t_pt) <= half)
    in_shadow = ((r_pt >= (shadow_r * spec.depth_mm)[:, None, None])
                 & (np.abs(t_pt - shadow_c[:, None, None]) <= np.deg2rad(shadow_w)[:, None, None] / 2))
    area = np.pi * g["a"] * g["b"] * pool                           # on-axis section area of each pool (mm²)
    vis = area * g["f"] ** 2 * in_sector.mean(-1)                   # visible: off-axis section, inside the sector
    if spec.completeness == "area":                                 # share of the pools' total area
        completeness = vis.sum(1) / np.maximum(area.sum(1), 1e-9)
    else:                                                           # mean visible share, each pool alike
        completeness = (vis / np.maximum(area, 1e-9)).sum(1) / np.maximum(pool.sum(1), 1)
    shadowed = (area * g["f"] ** 2 * (in_sector & in_shadow).mean(-1)).sum(1) / np.maximum(vis.sum(1), 1e-9)
    completeness = np.where(is_random, 0.0, completeness)          # no standard view: nothing of it is shown
    clarity = (np.exp(-(gain / spec.gain_scale_db) ** 2) * (1 - shadowed * shadow_db / 40.0)
               * np.exp(-(np.maximum(0, np.log(depth)) / spec.depth_scale) ** 2))
    grade = 10 * completeness * clarity
    if spec.grade_noise > 0:
        grade = np.clip(grade + rng.normal(0, spec.grade_noise, n), 0, 10)

    # ---- polar grid in units of the image depth (so one scan conversion serves every depth setting)
    H = spec.size
    n_r = max(16, int(round(H * spec.polar_oversample)))
    n_th = max(16, int(round(H * spec.polar_oversample * 2 * np.sin(half))))
    rn = (np.arange(n_r) + 0.5) / n_r
    th = (np.arange(n_th) + 0.5) / n_th * 2 * half - half
    xc = ((np.arange(H) + 0.5) / H - 0.5) * max(1.0, 2 * np.sin(half))
    yc = (np.arange(H) + 0.5) / H * max(1.0, 2 * np.sin(half))
    X, Y = np.meshgrid(xc, yc)
    R, TH = np.hypot(X, Y), np.arctan2(X, Y)
    sector = (R <= 1) & (np.abs(TH) <= half)
    fr = np.clip(R * n_r - 0.5, 0, n_r - 1.0001)
    ft = np.clip((TH + half) / (2 * half) * n_th - 0.5, 0, n_th - 1.0001)
    r0, t0 = fr.astype(int), ft.astype(int)
    wr, wt = fr - r0, ft - t0
    PRn, PT = np.meshgrid(rn, th, indexing="ij")
    ref = 1.0 / np.sqrt(4 * np.pi * spec.psf_axial * spec.psf_lateral)
    noise_amp = 10 ** (spec.noise_db / 20)

    images = np.empty((n, H, H), np.float32)
    for s0 in range(0, n, chunk):
        sl = slice(s0, min(n, s0 + chunk))
        m = sl.stop - s0
        gs = {k: v[sl].astype(np.float32) for k, v in g.items()}          # float32: the masks need no more
        ws = wall[sl].astype(np.float32)
        dmm = (spec.depth_mm * depth[sl])[:, None, None].astype(np.float32)
        PX = PRn[None].astype(np.float32) * dmm * np.sin(PT)[None].astype(np.float32)
        PY = PRn[None].astype(np.float32) * dmm * np.cos(PT)[None].astype(np.float32)
        tex = np.exp(spec.texture * _smooth_field(rng, (m, n_r, n_th), 4.0)).astype(np.float32)
        echo = spec.tissue * tex
        kinds = ("pool", "leaflet", "liver", "root")
        for v in np.unique(anat[sl]):                      # frames of one view share their list of primitives
            rows = np.flatnonzero(anat[sl] == v)
            e, t = echo[rows], tex[rows]
            px, py = PX[rows], PY[rows]
            masks = []
            for j, (k, *_) in enumerate(_ANATOMY[views[v]]):   # each primitive's section and its wall (outer)
                q = {key: gs[key][rows, j, None, None] for key in ("cx", "cy", "a", "b", "phi", "f")}
                c, si = np.cos(q["phi"]), np.sin(q["phi"])
                ux, uy = px - q["cx"], py - q["cy"]
                p2, q2 = (ux * c + uy * si) ** 2, (-ux * si + uy * c) ** 2
                a_in, b_in = np.maximum(q["a"] * q["f"], 1e-6), np.maximum(q["b"] * q["f"], 1e-6)
                inner = (q["f"] > 0) & (p2 / a_in ** 2 + q2 / b_in ** 2 <= 1)
                grow = {"pool": spec.wall_mm, "root": 2.0}.get(k, 0.0)
                if k == "pool" and wall_f is not None:
                    grow = wall_f[s0 + rows, None, None].astype(np.float32)
                fo = ws[rows, j, None, None] if k == "pool" else q["f"]
                a_out = np.maximum(q["a"] * fo + grow * (fo > 0), 1e-6)
                b_out = np.maximum(q["b"] * fo + grow * (fo > 0), 1e-6)
                outer = ((fo > 0) & (p2 / a_out ** 2 + q2 / b_out ** 2 <= 1)
                         if (np.isscalar(grow) and grow) or not np.isscalar(grow) else inner)
                masks.append((k, inner, outer))
            layers = [("liver", 2, _ECHO["liver"]), ("pool", 2, _ECHO["wall"]), ("pool", 1, spec.blood),
                      ("root", 2, _ECHO["root"]), ("root", 1, spec.blood), ("leaflet", 1, _ECHO["leaflet"])]
            for kk, which, level in layers:                # liver, walls, blood, vessel roots, leaflets
                for k, inner, outer in masks:
                    if k == kk:
                        mk = outer if which == 2 else inner
                        e[mk] = level * t[mk]
            echo[rows] = e
        # rib shadow: attenuation beyond its start depth, inside its angular band
        sh = ((PRn[None] * dmm >= (shadow_r[sl] * spec.depth_mm)[:, None, None])
              & (np.abs(PT[None] - shadow_c[sl, None, None]) <= np.deg2rad(shadow_w[sl])[:, None, None] / 2))
        echo = echo * np.where(sh, 10 ** (-shadow_db[sl, None, None] / 20), 1.0).astype(np.float32)
        z = rng.standard_normal((2, m, n_r, n_th), dtype=np.float32) * np.float32(np.sqrt(0.5))
        psf = (0, spec.psf_axial, spec.psf_lateral)
        re, im = ndimage.gaussian_filter(echo * z[0], psf), ndimage.gaussian_filter(echo * z[1], psf)
        nz = rng.standard_normal((2, m, n_r, n_th), dtype=np.float32) * np.float32(noise_amp * ref * np.sqrt(0.5))
        env = np.hypot(re + nz[0], im + nz[1])                                   # envelope |IQ|
        images[sl] = compress_and_scan_convert(env / ref, gain[sl, None, None].astype(np.float32),
                                               spec.dynamic_range_db, (r0, t0, wr, wt), sector)
    errors = dict(off_axis_deg=theta, depth_factor=depth, gain_db=gain, shadow_db=shadow_db,
                  shadow_width_deg=shadow_w)
    names = tuple(views) + (("Random",) if n_random > 0 else ())
    return ViewFrames(images=images, view=view, views=names, grade=grade, completeness=completeness,
                      clarity=clarity, scan=scan, errors=errors, sector=sector)

