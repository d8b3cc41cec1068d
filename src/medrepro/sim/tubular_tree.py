"""3-D tubular trees (airways, pulmonary arteries and veins, coronary arteries), rasterised with partial volume.

Two layers, so that any tree-shaped organ can reuse the first:

1. **Trees** (:func:`grow_tree`): a recursive bifurcating tree of straight segments. A parent of radius ``r0``
   splits into two daughters whose radii follow a power law ``r0**n = r1**n + r2**n`` (Murray's law for
   ``n = 3``) with a random asymmetry ``r2 / r1``; the smaller daughter turns away further (larger branching
   angle); each segment's length is ``length_per_radius`` times its radius (Horsfield-style length/diameter
   ratio) and it tapers linearly by ``taper`` along its length. :func:`paired_tree` builds a second tree that runs
   beside a first one (bronchoarterial pairing); :func:`rasterize` turns a tree into a partial-volume occupancy
   (0..1 per voxel), a branch-id map and a centreline labelled by branch.
2. **The lung scene** (:func:`simulate_lung_trees`): a cube of lung (CT values in HU) holding an airway tree (dark
   lumen, brighter wall), a pulmonary artery tree that follows the airway and a vein tree grown from another root
   (the veins run between segments, away from the bronchi). **Arteries and veins have the same CT value**, so only
   context (which one runs beside an airway) tells them apart. Gaussian blur (scanner point spread) and Gaussian
   noise in HU.

Realistic: bifurcating trees with Murray-law radii and tapering, bronchoarterial pairing with an artery about as
wide as its bronchus, partial-volume edges, non-contrast CT values (air -1000, lung about -850, blood/soft tissue
about +40 HU), thin distal branches at the resolution limit. Not modelled: curved segments, trifurcations,
space-filling of a lobe (branches may cross), fissures, the pleura and chest wall beyond a soft-tissue shell,
mucus, emphysema or nodules, streak/beam-hardening artefacts, anisotropic voxels. Deterministic by seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AIR_HU, LUNG_HU, TISSUE_HU, BLOOD_HU = -1000.0, -850.0, 40.0, 40.0
LABELS = {"background": 0, "airway": 1, "artery": 2, "vein": 3}


@dataclass
class Tree:
    """A tree of straight segments (voxel coordinates, z/y/x order). Node ``i`` ends segment ``i``."""

    start: np.ndarray        # (n, 3) segment start points
    end: np.ndarray          # (n, 3) segment end points
    r_start: np.ndarray      # (n,) radius at the start (voxels)
    r_end: np.ndarray        # (n,) radius at the end
    parent: np.ndarray       # (n,) index of the parent segment, -1 for the root
    generation: np.ndarray   # (n,) 0 for the root

    def __len__(self) -> int:
        return len(self.parent)

    @property
    def length(self) -> np.ndarray:
        return np.linalg.norm(self.end - self.start, axis=1)

    def children(self, i: int) -> np.ndarray:
        return np.flatnonzero(self.parent == i)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _perp(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector perpendicular to the unit vector d."""
    a = rng.normal(size=3)
    a -= a.dot(d) * d
    return _unit(a)


def grow_tree(rng: np.random.Generator, root: np.ndarray, direction: np.ndarray, radius: float, *,
              generations: int = 4, murray_exponent: float = 3.0, asymmetry: tuple[float, float] = (0.6, 1.0),
              angle_deg: tuple[float, float] = (25.0, 50.0), length_per_radius: tuple[float, float] = (4.0, 6.0),
              taper: float = 0.9, min_radius: float = 0.35) -> Tree:
    """Grow a bifurcating tree from ``root`` along ``direction`` (see the module docstring).

    Each bifurcation draws the asymmetry ``r2/r1`` uniformly in ``asymmetry``, the daughters' radii from
    ``r_parent_end**n = r1**n + r2**n`` (``n = murray_exponent``), the larger daughter's angle uniformly in
    ``angle_deg`` scaled by ``r2/r1`` (a straighter major daughter) and the minor daughter's uniformly in
    ``angle_deg``, on opposite sides of the parent in a random plane. Branches thinner than ``min_radius`` voxels
    are not grown. ``generations`` counts the bifurcation levels below the root.
    """
    starts, ends, r0s, r1s, parents, gens = [], [], [], [], [], []
    stack = [(np.asarray(root, float), _unit(np.asarray(direction, float)), float(radius), -1, 0)]
    while stack:
        p, d, r, par, g = stack.pop()
        L = r * rng.uniform(*length_per_radius)
        q = p + L * d
        idx = len(parents)
        starts.append(p); ends.append(q); r0s.append(r); r1s.append(r * taper); parents.append(par); gens.append(g)
        if g >= generations:
            continue
        re = r * taper
        ratio = rng.uniform(*asymmetry)                                   # r2 / r1
        r1 = re / (1.0 + ratio ** murray_exponent) ** (1.0 / murray_exponent)   # r0^n = r1^n + r2^n
        r2 = ratio * r1
        e = _perp(d, rng)                                                 # the branching plane: span(d, e)
        a2 = np.deg2rad(rng.uniform(*angle_deg))
        a1 = np.deg2rad(rng.uniform(*angle_deg)) * ratio * 0.6
        for rr, ang, side in ((r1, a1, -1.0), (r2, a2, 1.0)):
            if rr >= min_radius:
                stack.append((q, _unit(np.cos(ang) * d + side * np.sin(ang) * e), rr, idx, g + 1))
    return Tree(np.array(starts), np.array(ends), np.array(r0s), np.array(r1s), np.array(parents, int),
                np.array(gens, int))


def paired_tree(tree: Tree, rng: np.random.Generator, *, offset: np.ndarray | float,
                radius_ratio: tuple[float, float] = (0.9, 1.2), ref: np.ndarray | None = None) -> Tree:
    """A tree with the same topology running beside ``tree`` (an artery beside its bronchus).

    Every node (segment end, and the root's start) is moved perpendicular to its segment by ``offset`` voxels
    (a scalar or one per segment: e.g. bronchus outer radius + artery radius + a gap) along the component of a
    fixed reference direction ``ref`` perpendicular to the segment, so that junctions stay connected. Radii are
    ``tree``'s times one ratio per tree drawn uniformly in ``radius_ratio``.
    """
    ref = _unit(np.asarray(ref if ref is not None else rng.normal(size=3), float))
    d = _unit(tree.end - tree.start)
    side = ref - (d @ ref)[:, None] * d
    side = _unit(side + 1e-9)
    off = np.broadcast_to(np.asarray(offset, float), (len(tree),))[:, None] * side
    end = tree.end + off
    start = np.where((tree.parent < 0)[:, None], tree.start + off, end[np.maximum(tree.parent, 0)])
    k = rng.uniform(*radius_ratio)
    return Tree(start, end, tree.r_start * k, tree.r_end * k, tree.parent.copy(), tree.generation.copy())


def rasterize(tree: Tree, shape: tuple[int, int, int], *, grow: float = 0.0,
              step: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterise ``tree`` into ``shape``: (occupancy, branch, centreline).

    occupancy: float32 in [0, 1], the partial-volume fraction of a voxel inside the tube of radius ``r(t) + grow``
    (``r`` interpolated along the segment), approximated by ``clip(r - d + 0.5, 0, 1)`` with ``d`` the distance of
    the voxel centre to the segment (capsules: joints are rounded). branch: int32, 1 + the index of the segment
    with the largest occupancy (0 where none reaches 0.5). centreline: int32, 1 + segment index at the voxels the
    segment's axis passes through (sampled every ``step`` voxels; later segments overwrite junction voxels).
    """
    shape = tuple(int(s) for s in shape)
    occ = np.zeros(shape, np.float32)
    best = np.zeros(shape, np.float32)
    branch = np.zeros(shape, np.int32)
    centre = np.zeros(shape, np.int32)
    hi = np.array(shape) - 1
    for i in range(len(tree)):
        a, b = tree.start[i], tree.end[i]
        r0, r1 = tree.r_start[i] + grow, tree.r_end[i] + grow
        pad = max(r0, r1) + 1.0
        lo_c = np.maximum(np.floor(np.minimum(a, b) - pad), 0).astype(int)
        hi_c = np.minimum(np.ceil(np.maximum(a, b) + pad), hi).astype(int)
        if np.any(hi_c < lo_c):
            continue
        zz, yy, xx = np.ogrid[lo_c[0]:hi_c[0] + 1, lo_c[1]:hi_c[1] + 1, lo_c[2]:hi_c[2] + 1]
        ab = b - a
        L2 = max(float(ab @ ab), 1e-12)
        t = np.clip(((zz - a[0]) * ab[0] + (yy - a[1]) * ab[1] + (xx - a[2]) * ab[2]) / L2, 0.0, 1.0)
        dist = np.sqrt((zz - a[0] - t * ab[0]) ** 2 + (yy - a[1] - t * ab[1]) ** 2 + (xx - a[2] - t * ab[2]) ** 2)
        o = np.clip(r0 + t * (r1 - r0) - dist + 0.5, 0.0, 1.0).astype(np.float32)
        sl = (slice(lo_c[0], hi_c[0] + 1), slice(lo_c[1], hi_c[1] + 1), slice(lo_c[2], hi_c[2] + 1))
        occ[sl] = np.maximum(occ[sl], o)
        win = (o > best[sl]) & (o >= 0.5)
        branch[sl][win] = i + 1
        best[sl] = np.maximum(best[sl], o)
        n = max(int(np.ceil(np.sqrt(L2) / step)), 1)
        pts = np.rint(a + np.linspace(0.0, 1.0, n + 1)[:, None] * ab).astype(int)
        pts = pts[np.all((pts >= 0) & (pts <= hi), axis=1)]
        centre[pts[:, 0], pts[:, 1], pts[:, 2]] = i + 1
    return occ, branch, centre


@dataclass
class LungSpec:
    """Knobs of :func:`simulate_lung_trees` (voxel units; HU for intensities)."""

    size: int = 32
    generations: int = 4
    airway_radius: tuple[float, float] = (2.2, 2.8)   # root lumen radius
    wall_fraction: float = 0.35                      # wall thickness / lumen radius (bronchial wall ~ 0.2-0.4)
    vein_radius: tuple[float, float] = (1.8, 2.4)    # vein root radius
    gap: float = 0.6                                 # space between bronchial wall and artery
    min_radius: float = 0.45
    lung_hu: tuple[float, float] = (-880.0, -820.0)
    vessel_hu: tuple[float, float] = (20.0, 60.0)    # arteries and veins: one value per patient, shared
    wall_hu: float = -100.0
    blur_sigma: float = 0.6
    noise_hu: tuple[float, float] = (40.0, 80.0)


@dataclass
class LungTrees:
    """Simulated lung CT cubes: image (n, S, S, S) in HU, label (0 background, 1 airway lumen, 2 artery, 3 vein),
    lung mask, centreline (class * 1000 + segment index + 1 on the axis voxels, 0 elsewhere), the trees."""

    image: np.ndarray
    label: np.ndarray
    lung: np.ndarray
    centreline: np.ndarray
    radius: np.ndarray                 # (n, S, S, S) radius of the segment whose centreline passes (0 elsewhere)
    trees: list[dict[str, Tree]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.image)


def _lung_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth ellipsoidal lung region filling most of the cube (the rest is chest wall/mediastinum)."""
    z, y, x = np.mgrid[:size, :size, :size] / (size - 1) - 0.5
    c = rng.uniform(-0.04, 0.04, 3)
    ax = rng.uniform(0.62, 0.72, 3)
    return ((z - c[0]) / ax[0]) ** 2 + ((y - c[1]) / ax[1]) ** 2 + ((x - c[2]) / ax[2]) ** 2 <= 1.0


def simulate_lung_trees(n: int, spec: LungSpec = LungSpec(), seed: int = 0) -> LungTrees:
    """Simulate ``n`` lung CT cubes with airway, artery and vein trees (module docstring)."""
    from scipy.ndimage import gaussian_filter

    S = spec.size
    shape = (S, S, S)
    rng = np.random.default_rng(seed)
    imgs = np.empty((n, *shape), np.float32)
    labs = np.zeros((n, *shape), np.uint8)
    lungs = np.zeros((n, *shape), bool)
    cents = np.zeros((n, *shape), np.int32)
    rads = np.zeros((n, *shape), np.float32)
    trees = []
    for k in range(n):
        lung = _lung_mask(S, rng)
        # airway: enters at the top near the centre and runs down (+z) with a tilt
        root = np.array([1.0, *(S / 2 + rng.uniform(-0.1, 0.1, 2) * S)])
        d = _unit(np.array([1.0, *rng.uniform(-0.3, 0.3, 2)]))
        ra = rng.uniform(*spec.airway_radius)
        kw = dict(generations=spec.generations, min_radius=spec.min_radius)
        air = grow_tree(rng, root, d, ra, **kw)
        wall = air.r_start * spec.wall_fraction
        art = paired_tree(air, rng, offset=air.r_start * (1 + spec.wall_fraction) + air.r_start + spec.gap,
                          ref=np.array([0.0, 1.0, 0.0]))
        # veins: from the opposite face upwards, offset sideways: they run between the bronchi
        vroot = np.array([S - 2.0, *(S / 2 + rng.choice([-1, 1], 2) * rng.uniform(0.12, 0.22, 2) * S)])
        vd = _unit(np.array([-1.0, *rng.uniform(-0.3, 0.3, 2)]))
        vein = grow_tree(rng, vroot, vd, rng.uniform(*spec.vein_radius), **kw)
        o_lumen, _, c_air = rasterize(air, shape)
        o_outer, _, _ = rasterize(Tree(air.start, air.end, air.r_start + wall, air.r_end + wall * 0.9, air.parent,
                                       air.generation), shape)
        o_art, _, c_art = rasterize(art, shape)
        o_vein, _, c_vein = rasterize(vein, shape)
        o_lumen, o_outer, o_art, o_vein = (o * lung for o in (o_lumen, o_outer, o_art, o_vein))
        # CT values: lung background, bronchial wall, air lumen, blood (arteries and veins alike)
        hu = np.where(lung, rng.uniform(*spec.lung_hu), TISSUE_HU).astype(np.float32)
        vessel = rng.uniform(*spec.vessel_hu)
        hu = hu * (1 - o_outer) + spec.wall_hu * o_outer
        hu = hu * (1 - o_lumen) + AIR_HU * o_lumen
        o_v = np.maximum(o_art, o_vein) * (1 - o_outer)                 # vessels do not enter the bronchus
        hu = hu * (1 - o_v) + vessel * o_v
        hu = gaussian_filter(hu, spec.blur_sigma) + rng.normal(0, rng.uniform(*spec.noise_hu), shape)
        lab = np.zeros(shape, np.uint8)
        lab[(o_vein >= 0.5) & (o_outer < 0.5)] = 3
        lab[(o_art >= 0.5) & (o_outer < 0.5)] = 2
        lab[o_lumen >= 0.5] = 1
        cent = np.zeros(shape, np.int32)
        rad = np.zeros(shape, np.float32)
        for cls, c, t in ((3, c_vein, vein), (2, c_art, art), (1, c_air, air)):
            on = (c > 0) & (lab == cls)
            cent[on] = cls * 1000 + c[on]
            rad[on] = ((t.r_start + t.r_end) / 2)[c[on] - 1]
        imgs[k], labs[k], lungs[k], cents[k], rads[k] = hu, lab, lung, cent, rad
        trees.append({"airway": air, "artery": art, "vein": vein})
    return LungTrees(imgs, labs, lungs, cents, rads, trees)


# --- coronary CT angiography (CCTA) cubes ------------------------------------------------------------------------
@dataclass
class CoronarySpec:
    """Knobs of :func:`simulate_coronary_trees` (voxel units; HU for intensities)."""

    size: int = 24
    generations: int = 3                              # 2**(g+1) - 1 segments: every case has the same topology
    root_radius: tuple[float, float] = (1.5, 1.9)
    length_per_radius: tuple[float, float] = (3.0, 4.5)
    angle_deg: tuple[float, float] = (30.0, 55.0)
    tissue_hu: float = 40.0                            # myocardium / epicardial tissue around the artery
    tissue_texture_hu: float = 360.0                   # amplitude of smooth background variation (before smoothing)
    lumen_hu: tuple[float, float] = (300.0, 420.0)    # contrast-filled lumen, one value per case
    blur_sigma: float = 0.8
    noise_hu: tuple[float, float] = (35.0, 55.0)


@dataclass
class CoronaryTrees:
    """Simulated CCTA cubes: image (n, S, S, S) HU float32, label (n, S, S, S) uint8 lumen mask (occupancy >= 0.5),
    occupancy (partial-volume fraction), the trees (centreline segments + radii: the vectorised ground truth)."""

    image: np.ndarray
    label: np.ndarray
    occupancy: np.ndarray
    trees: list[Tree] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.image)


def simulate_coronary_trees(n: int, spec: CoronarySpec = CoronarySpec(), seed: int = 0) -> CoronaryTrees:
    """Simulate ``n`` CCTA cubes holding one coronary-like tree each.

    The tree enters at the top face (z = 0) and runs down with a tilt; it bifurcates ``generations`` times with
    Murray-law radii (:func:`grow_tree`, ``min_radius=0`` so that every case has the same full binary topology),
    from about 1.7 voxels at the root to about 0.5 voxels at the distal ends. The lumen is contrast-filled
    (``lumen_hu``), the surrounding tissue has a smooth texture; Gaussian blur and noise follow.

    Realistic: tapering, bifurcating lumen with partial volume; distal branches at the resolution limit, where a
    voxel classifier loses them. Not modelled: the heart and aorta, calcified or soft plaque and stenoses, veins
    next to the arteries, motion and beam-hardening artefacts, curved vessels. Deterministic by seed.
    """
    from scipy.ndimage import gaussian_filter

    S = spec.size
    shape = (S, S, S)
    rng = np.random.default_rng(seed)
    imgs = np.empty((n, *shape), np.float32)
    occs = np.empty((n, *shape), np.float32)
    trees = []
    for k in range(n):
        root = np.array([1.5, S / 2 + rng.uniform(-2, 2), S / 2 + rng.uniform(-2, 2)])
        d = np.array([1.0, *rng.uniform(-0.35, 0.35, 2)])
        tree = grow_tree(rng, root, d, rng.uniform(*spec.root_radius), generations=spec.generations,
                         min_radius=0.0, length_per_radius=spec.length_per_radius, angle_deg=spec.angle_deg)
        occ, _, _ = rasterize(tree, shape)
        hu = spec.tissue_hu + spec.tissue_texture_hu * gaussian_filter(rng.normal(size=shape), 4)
        hu = hu * (1 - occ) + rng.uniform(*spec.lumen_hu) * occ
        hu = gaussian_filter(hu, spec.blur_sigma) + rng.normal(0, rng.uniform(*spec.noise_hu), shape)
        imgs[k], occs[k] = hu, occ
        trees.append(tree)
    return CoronaryTrees(imgs, (occs >= 0.5).astype(np.uint8), occs, trees)
