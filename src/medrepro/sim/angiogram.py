"""Simulated invasive coronary angiography (ICA) frames with stenoses of known severity and their boxes.

A companion of the CADICA dataset (Jiménez-Partinen et al., 2024): patients, each with several videos (X-ray
projections of one coronary tree filled with contrast), some showing a lesion (a stenosis, annotated by a box
and a severity class), some not. Frames are rendered from an analytic tree, vectorised over pixels:

- **tree** (per patient): two or three trunks leaving an ostium near the catheter tip, each a smooth random curve
  whose lumen radius tapers along it, and side branches leaving the trunks; every vessel is a chain of points with
  a radius;
- **stenoses** (per patient): a lesion at a position along a trunk with a severity ``s`` (percent diameter
  reduction): the radius is multiplied by ``1 − s·exp(−((t − t₀)/w)²)`` over a short length ``w``, and the trunk
  beyond it fills with less contrast (slowed flow: filling ``1 − distal_fade·s²`` downstream);
- **projection** (per video): the tree is rotated and scaled (a 2-D stand-in for the C-arm angles), so videos of one
  patient show the same tree from different sides; lesion videos are those whose lesion lies inside the field;
- **X-ray formation** (per frame): the path length ``T(x)`` through each vessel (``2·sqrt(r² − d²)`` for a
  cylinder of radius ``r`` at distance ``d``; overlapping vessels add), contrast ``c(t)`` (wash-in over the video),
  a catheter (constant opacity), heart motion (a shift and a small scale change per frame), Beer–Lambert
  attenuation ``I = I₀(x)·exp(−μ·c(t)·T(x) − μ_cath·T_cath(x) − B(x))`` with vignetting ``I₀`` and a patient's
  background ``B`` (rib shadows, a diaphragm edge, soft tissue), then quantum (Poisson) noise at ``N₀`` photons;
- the displayed frame is ``I`` (vessels dark on a bright field), 8-bit.

Per-patient traits shared by all that patient's videos — tree geometry, background, contrast level, photon count,
the share of lesion videos — are what makes a frame-random split leak: frames of one video are near-duplicates,
and videos of one patient look alike.

Realistic: tapering branching lumens with cylindrical path lengths, focal stenoses graded by percent diameter
reduction (CADICA's classes p0_20 … p100), contrast wash-in, a catheter, heart motion, Poisson noise, vignetting,
rib shadows; several projections per patient; boxes ``x y w h`` around each lesion in pixels.
Not modelled: the 3-D tree and true C-arm geometry (projections are 2-D rotations), vessel foreshortening and
overlap ordering, contrast dynamics along the tree (it fills at once, apart from the distal fade), diffuse
disease, calcium, stents, wires, the scatter and the image processing of a real X-ray chain, total occlusions' collaterals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: CADICA's stenosis-severity classes (percent diameter reduction), in increasing order.
SEVERITY_CLASSES: tuple[str, ...] = ("p0_20", "p20_50", "p50_70", "p70_90", "p90_98", "p99", "p100")
_EDGES = np.array([0.20, 0.50, 0.70, 0.90, 0.985, 0.995])


def severity_class(s: float | np.ndarray) -> np.ndarray:
    """CADICA's class name of a diameter reduction ``s`` in [0, 1] (0.95 → ``p90_98``)."""
    return np.asarray(SEVERITY_CLASSES)[np.searchsorted(_EDGES, np.asarray(s), side="right")]


@dataclass(frozen=True)
class AngioSpec:
    """Knobs of the simulator (image size in pixels; lengths are fractions of the image side)."""

    size: int = 64
    videos_per_patient: int = 6
    frames_per_video: int = 4           # frames per video (all in the filled phase; a wash-in frame is added before)
    severity: tuple[float, float] = (0.5, 0.95)    # lesion diameter reduction drawn uniformly in this range
    lesion_share: tuple[float, float] = (1.5, 1.5)  # Beta(a, b) of a patient's share of lesion videos
    trunk_radius: float = 0.045         # lumen radius at the ostium
    lesion_length: float = 0.06         # Gaussian half-width of a stenosis along its vessel
    photons: tuple[float, float] = (150.0, 600.0)  # per-patient photon count N0 (log-uniform)
    contrast: tuple[float, float] = (0.5, 0.9)     # per-patient contrast attenuation (mu · c, per unit radius)
    motion: float = 0.04                # heart-motion amplitude (fraction of the side)
    rotation_deg: float = 180.0         # projection angles drawn in ±this
    box: float = 0.16                   # side of a lesion's box (fraction of the side)
    branches: tuple[int, int] = (3, 6)  # side branches per patient (min, max inclusive)
    distal_fade: float = 0.6            # contrast filling lost beyond a stenosis of severity s: distal_fade · s²


@dataclass
class AngioSet:
    """Frames ``(N, size, size)`` float in [0, 1] and, per frame, its patient, video, frame number and lesion.

    ``boxes[i]`` is an array ``(k, 4)`` of ``x y w h`` in pixels (empty for non-lesion frames) and ``severity[i]``
    the diameter reduction of the lesion in view (0 for none); ``selected`` marks the frames a reader would keep
    (the filled phase; the first, wash-in frame of each video is not selected). ``site[i]`` is the pixel
    position ``(x, y)`` of the patient's lesion site in frame ``i`` — in non-lesion videos too, where the same
    place of the same tree is seen without the narrowing — for matched comparisons.
    """

    frames: np.ndarray
    patient: np.ndarray
    video: np.ndarray
    frame: np.ndarray
    lesion: np.ndarray
    severity: np.ndarray
    selected: np.ndarray
    boxes: list[np.ndarray] = field(default_factory=list)
    site: np.ndarray | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]

    def to_uint8(self) -> np.ndarray:
        return np.clip(np.round(self.frames * 255), 0, 255).astype(np.uint8)

    def severity_labels(self) -> list[str]:
        """CADICA's class of each frame's lesion ('' for non-lesion frames)."""
        return [str(severity_class(s)) if les else "" for s, les in zip(self.severity, self.lesion)]


def _curve(rng: np.random.Generator, start: np.ndarray, angle: float, length: float, n: int,
           wiggle: float) -> np.ndarray:
    """A smooth random curve of ``n`` points from ``start``: the heading drifts as an integrated random walk."""
    turn = np.cumsum(rng.normal(0, wiggle, n))
    turn = np.convolve(turn, np.ones(5) / 5, mode="same")
    heading = angle + turn
    step = length / n
    pts = start + np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step, 0)
    return pts


def _patient_tree(rng: np.random.Generator, spec: AngioSpec):
    """Vessels (list of (points (n, 2), radius (n,))) centred at 0, the ostium, the lesion's trunk and position."""
    ostium = np.array([-0.25, -0.25]) + rng.normal(0, 0.04, 2)
    vessels = []
    n_trunks = int(rng.integers(2, 4))
    base = rng.uniform(0, 2 * np.pi)
    for k in range(n_trunks):
        ang = base + (k - (n_trunks - 1) / 2) * rng.uniform(0.5, 0.9) + np.pi / 4
        pts = _curve(rng, ostium, ang, rng.uniform(1.0, 1.4), 90, 0.05)
        r = spec.trunk_radius * rng.uniform(0.85, 1.15) * np.linspace(1.0, 0.45, 90)
        vessels.append([pts, r])
    for _ in range(int(rng.integers(spec.branches[0], spec.branches[1] + 1))):
        parent = vessels[int(rng.integers(0, n_trunks))]
        i = int(rng.integers(15, 70))
        d = parent[0][min(i + 1, 89)] - parent[0][i]
        ang = np.arctan2(d[1], d[0]) + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1)
        n = 50
        pts = _curve(rng, parent[0][i], ang, rng.uniform(0.35, 0.7), n, 0.07)
        r = parent[1][i] * rng.uniform(0.55, 0.75) * np.linspace(1.0, 0.5, n)
        vessels.append([pts, r])
    trunk = int(rng.integers(0, n_trunks))
    pos = int(rng.integers(18, 55))                 # the lesion lies on the proximal-to-mid part of a trunk
    return vessels, ostium, trunk, pos


def _thickness(vessels, size: int) -> np.ndarray:
    """Summed contrast path length (in units of the half-side) through the vessels at each pixel of a ``size²`` image.

    ``Σ_v max_i a_i·2·sqrt(r_i² − d_i²)₊`` over the points ``i`` of vessel ``v`` (coordinates in [-1, 1]; ``a_i`` the
    point's contrast filling, 1 unless a vessel carries a third array); only the
    pixels within a point's radius are visited, so the cost is that of the vessels' area, not of the image.
    """
    total = np.zeros(size * size)
    rmax = max(float(v[1].max()) for v in vessels) * size / 2
    k = int(np.ceil(rmax)) + 1
    off = np.arange(-k, k + 1)
    ox, oy = np.meshgrid(off, off)
    ox, oy = ox.ravel(), oy.ravel()
    for pts, r, *rest in vessels:
        op = rest[0] if rest else None
        u = (pts + 1) / 2 * size - 0.5                                     # pixel coordinates
        cx, cy = np.round(u[:, 0]).astype(int), np.round(u[:, 1]).astype(int)
        px, py = cx[:, None] + ox[None], cy[:, None] + oy[None]            # (n, patch)
        d2 = ((px - u[:, :1]) ** 2 + (py - u[:, 1:]) ** 2) * (2 / size) ** 2
        t = 2 * np.sqrt(np.clip(r[:, None] ** 2 - d2, 0, None))
        if op is not None:
            t = t * op[:, None]
        ok = (t > 0) & (px >= 0) & (px < size) & (py >= 0) & (py < size)
        img = np.zeros(size * size)
        np.maximum.at(img, (py * size + px)[ok], t[ok])
        total += img
    return total


def _background(rng: np.random.Generator, xy: np.ndarray) -> np.ndarray:
    """A patient's background attenuation B(x): two or three rib shadows, a diaphragm edge, soft-tissue blobs."""
    x, y = xy[..., 0], xy[..., 1]
    b = np.full(x.shape, rng.uniform(0.15, 0.35))
    for _ in range(int(rng.integers(2, 4))):
        a, c, w = rng.uniform(-0.4, 0.4), rng.uniform(-0.8, 0.8), rng.uniform(0.06, 0.12)
        b += rng.uniform(0.08, 0.2) * np.exp(-((y - a * x - c) / w) ** 2)
    edge = rng.uniform(0.2, 0.6)
    b += rng.uniform(0.2, 0.5) / (1 + np.exp(-(y + 0.3 * x - edge) / 0.05))
    for _ in range(3):
        cx, cy, s = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(0.2, 0.4)
        b += rng.uniform(-0.08, 0.12) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / s ** 2)
    return b


def _transform(vessels, rot: float, scale: float, shift: np.ndarray):
    c, s = np.cos(rot), np.sin(rot)
    m = np.array([[c, -s], [s, c]]) * scale
    return [[pts @ m.T + shift, r * scale, *rest] for pts, r, *rest in vessels]


def simulate_patients(n_patients: int, spec: AngioSpec = AngioSpec(), seed: int = 0) -> AngioSet:
    """Simulate ``n_patients`` patients × ``spec.videos_per_patient`` videos × (``frames_per_video`` + 1) frames.

    Each patient has one lesion (position on a trunk, severity drawn in ``spec.severity``); each video is a
    projection; a lesion video shows the stenosis, a non-lesion video shows the same tree with a normal lumen
    (as a projection where the lesion is hidden would, in the real data). The share of lesion videos is a
    per-patient trait (Beta ``spec.lesion_share``), at least one of each kind per patient. Deterministic by seed.
    """
    rng = np.random.default_rng(seed)
    S = spec.size
    lin = (np.arange(S) + 0.5) / S * 2 - 1                           # pixel centres in [-1, 1]
    gx, gy = np.meshgrid(lin, lin)
    xy = np.stack([gx, gy], -1)
    vignette = np.exp(-0.25 * (gx ** 2 + gy ** 2))
    frames, patient, video, frame, lesion, severity, selected, boxes, site = [], [], [], [], [], [], [], [], []
    V, F = spec.videos_per_patient, spec.frames_per_video
    for p in range(n_patients):
        vessels, ostium, trunk, pos = _patient_tree(rng, spec)
        sev = rng.uniform(*spec.severity)
        back = _background(rng, xy)
        photons = np.exp(rng.uniform(np.log(spec.photons[0]), np.log(spec.photons[1])))
        mu = rng.uniform(*spec.contrast) / spec.trunk_radius
        share = rng.beta(*spec.lesion_share)
        n_les = int(np.clip(np.round(share * V), 1, V - 1))
        is_les = np.zeros(V, bool)
        is_les[rng.permutation(V)[:n_les]] = True
        # the stenosed tree: the radius of the lesion's trunk narrowed around its position
        sten = [[pts, r.copy()] for pts, r in vessels]
        t = np.arange(len(sten[trunk][1]))
        w = spec.lesion_length / (1.0 / 90)                           # half-width in points along the trunk
        sten[trunk][1] = sten[trunk][1] * (1 - sev * np.exp(-((t - pos) / w) ** 2))
        # slowed flow beyond a tight stenosis: the distal trunk fills less (1 − distal_fade·s² beyond the lesion)
        fill = 1 - spec.distal_fade * sev ** 2 / (1 + np.exp(-(t - pos - w) / 2.0))
        sten[trunk].append(fill)
        for v in range(V):
            rot = rng.uniform(-1, 1) * np.deg2rad(spec.rotation_deg)
            scale = rng.uniform(0.85, 1.1)
            shift = rng.normal(0, 0.05, 2) - ostium * 0.2
            tree = _transform(sten if is_les[v] else vessels, rot, scale, shift)
            cath_start = ostium + np.array([-0.6, 1.6])
            cath = _transform([[np.linspace(cath_start, ostium, 160), np.full(160, 0.02)]], rot, scale, shift)
            lesion_xy = tree[trunk][0][pos]
            phase = rng.uniform(0, 2 * np.pi)
            for f in range(F + 1):
                # heart motion: a shift and a scale change about the centre, periodic over the frames
                ph = phase + 2 * np.pi * f / (F + 1)
                dxy = spec.motion * np.array([np.sin(ph), 0.6 * np.cos(ph)])
                zoom = 1 + 0.03 * np.sin(ph)
                moved = [[pts * zoom + dxy, r * zoom, *rest] for pts, r, *rest in tree]
                T = _thickness(moved, S).reshape(S, S)
                Tc = _thickness([[pts * zoom + dxy, r] for pts, r in cath], S).reshape(S, S)
                c = (0.25 if f == 0 else rng.uniform(0.8, 1.0))       # frame 0: wash-in, faint contrast
                att = mu * c * T + 25.0 * Tc + back
                I = vignette * np.exp(-att)
                I = rng.poisson(I * photons) / photons                 # quantum noise
                frames.append(np.clip(I / 1.05, 0, 1))
                patient.append(p); video.append(v); frame.append(f); selected.append(f > 0)
                lx, ly = (lesion_xy * zoom + dxy + 1) / 2 * S        # lesion centre in pixels
                inside = 0.08 * S < lx < 0.92 * S and 0.08 * S < ly < 0.92 * S
                les = bool(is_les[v] and f > 0 and inside)
                lesion.append(les); severity.append(sev if les else 0.0); site.append((lx, ly))
                bw = spec.box * S
                boxes.append(np.array([[round(lx - bw / 2), round(ly - bw / 2), round(bw), round(bw)]], float)
                             if les else np.zeros((0, 4)))
    return AngioSet(np.asarray(frames, np.float32), np.asarray(patient), np.asarray(video), np.asarray(frame),
                    np.asarray(lesion), np.asarray(severity), np.asarray(selected), boxes, np.asarray(site))
