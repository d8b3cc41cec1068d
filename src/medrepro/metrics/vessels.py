"""Metrics for thin tubular structures (vessels): Dice, clDice and recall of thin vessels, per image; BD and TD of
3-D trees (branches and tree length detected).

``cldice`` is the centerline Dice of Shit et al. (CVPR 2021), as the official evaluation
(github jocpae/clDice, ``cldice_metric``) computes it in 2-D: with S(·) the skeleton (``skimage.morphology.
skeletonize``), topology precision Tprec = |S(P) ∩ G| / |S(P)|, topology sensitivity Tsens = |S(G) ∩ P| / |S(G)|,
and clDice = 2 Tprec Tsens / (Tprec + Tsens). It rewards a prediction that follows every vessel's centreline,
however thin, and cares little about widths.
"""
from __future__ import annotations

import numpy as np


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    if pred.shape != target.shape or pred.ndim != 2:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must be 2-D masks of one shape")
    return pred, target


def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice 2|P∩G| / (|P| + |G|) of two 2-D masks; 1.0 when both are empty."""
    p, g = _pair(pred, target)
    denom = p.sum() + g.sum()
    return 1.0 if denom == 0 else float(2 * (p & g).sum() / denom)


def cldice(pred: np.ndarray, target: np.ndarray) -> float:
    """Centerline Dice of two 2-D masks (module docstring); 1.0 when both are empty, 0.0 when one is."""
    from skimage.morphology import skeletonize

    p, g = _pair(pred, target)
    if not p.any() and not g.any():
        return 1.0
    if not p.any() or not g.any():
        return 0.0
    sp, sg = skeletonize(p), skeletonize(g)
    tprec = (sp & g).sum() / max(sp.sum(), 1)
    tsens = (sg & p).sum() / max(sg.sum(), 1)
    return 0.0 if tprec + tsens == 0 else float(2 * tprec * tsens / (tprec + tsens))


def width_recall(pred: np.ndarray, width: np.ndarray, lo: float = 0.0, hi: float = np.inf) -> float:
    """Recall of the vessel pixels whose true width lies in [lo, hi): |P ∩ {lo <= width < hi}| / |{…}|.

    ``width`` is a width map (0 outside vessels), e.g. :attr:`medrepro.sim.retina.FundusBatch.width`; pixels with
    width 0 never count. NaN when no pixel has such a width. ``width_recall(p, w, hi=2)`` is thin-vessel recall.
    """
    p = np.asarray(pred, bool)
    w = np.asarray(width, float)
    if p.shape != w.shape:
        raise ValueError(f"pred {p.shape} and width {w.shape} differ in shape")
    sel = (w > 0) & (w >= lo) & (w < hi)
    return float("nan") if not sel.any() else float((p & sel).sum() / sel.sum())


# --- 3-D trees: branches detected (BD) and tree length detected (TD) --------------------------------------------
#
# As the ATM'22 organisers' evaluation code (``evaluation_atm22.py``, github EndoluminalSurgicalVision-IMR/
# ATM-22-Related-Work) and the EXACT'09 tradition define them: the ground truth is reduced to its skeleton
# (centreline), the skeleton is parsed into branches (a label per branch), a branch counts as detected when the
# prediction covers at least ``thresh`` (0.8) of its centreline voxels, BD = detected / all branches, and
# TD = covered centreline voxels / all centreline voxels (voxel counts as length).

def skeleton_parsing(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton of a 3-D binary mask and its branches: (skeleton bool, parsing int32).

    The skeleton is ``skimage.morphology.skeletonize`` (Lee's 3-D thinning). Junction voxels (skeleton voxels with
    three or more skeleton neighbours in the 26-neighbourhood) are removed, the remaining pieces labelled as
    branches (26-connectivity, 1..B), and each junction voxel is given the label of a neighbouring branch so that
    every skeleton voxel belongs to one branch.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    m = np.asarray(mask, bool)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3-D, got shape {m.shape}")
    sk = skeletonize(m).astype(bool)
    k = np.ones((3, 3, 3), int)
    k[1, 1, 1] = 0
    nb = ndimage.convolve(sk.astype(int), k, mode="constant")
    junction = sk & (nb >= 3)
    parsing, _ = ndimage.label(sk & ~junction, structure=np.ones((3, 3, 3), int))
    if junction.any():   # a junction voxel takes the largest label among its neighbours
        grown = ndimage.grey_dilation(parsing, size=(3, 3, 3))
        parsing = np.where(junction, grown, parsing)
    return sk, parsing.astype(np.int32)


def tree_length_detected(pred: np.ndarray, skeleton: np.ndarray) -> float:
    """TD: the fraction of ground-truth centreline voxels inside the prediction (NaN without centreline)."""
    p, s = np.asarray(pred, bool), np.asarray(skeleton, bool)
    if p.shape != s.shape:
        raise ValueError(f"pred {p.shape} and skeleton {s.shape} differ in shape")
    return float("nan") if not s.any() else float((p & s).sum() / s.sum())


def branches_detected(pred: np.ndarray, parsing: np.ndarray, thresh: float = 0.8) -> tuple[int, int, float]:
    """BD: (branches, detected, detected / branches) for a parsed centreline.

    ``parsing`` labels the ground-truth centreline voxels by branch (0 elsewhere; labels need not be contiguous),
    e.g. from :func:`skeleton_parsing` or a simulator's branch-labelled centreline. A branch is detected when at
    least ``thresh`` of its centreline voxels lie inside ``pred`` (the ATM'22 rule, ``>= 0.8``). The ratio is NaN
    when there is no branch.
    """
    p, lab = np.asarray(pred, bool), np.asarray(parsing)
    if p.shape != lab.shape:
        raise ValueError(f"pred {p.shape} and parsing {lab.shape} differ in shape")
    on = lab > 0
    ids, inv = np.unique(lab[on], return_inverse=True)
    if len(ids) == 0:
        return 0, 0, float("nan")
    total = np.bincount(inv, minlength=len(ids))
    hit = np.bincount(inv, weights=p[on].astype(float), minlength=len(ids))
    det = int((hit / total >= thresh).sum())
    return len(ids), det, det / len(ids)
