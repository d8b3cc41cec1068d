"""Metrics for thin tubular structures (vessels): Dice, clDice and recall of thin vessels, per image.

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
