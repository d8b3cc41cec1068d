"""Merging several binary segmentations of the same images: majority vote and STAPLE.

Crowd-sourced or multi-expert annotation gives each image several masks. :func:`majority_vote` keeps a pixel
when more than half of the raters who saw the image marked it. :func:`staple` (Simultaneous Truth And
Performance Level Estimation; Warfield, Zou & Wells, IEEE TMI 23(7):903–921, 2004) estimates, by
expectation–maximisation, the probability that each pixel is truly foreground *and* each rater's sensitivity
and specificity, so that reliable raters weigh more than careless ones.

The model (binary STAPLE). Rater :math:`j` labels pixel :math:`i` with :math:`D_{ij} \\in \\{0, 1\\}`; the
unknown truth is :math:`T_i`; the rater's performance is
:math:`p_j = P(D_{ij} = 1 \\mid T_i = 1)` (sensitivity) and :math:`q_j = P(D_{ij} = 0 \\mid T_i = 0)`
(specificity), the same for every pixel and image the rater labels; :math:`f(T_i = 1)` is a prior — fixed
(ITK's default: the fraction of foreground votes, or a spatial prior map) or, with ``prior="em"``, estimated
in the M step as the mean posterior :math:`\bar W` (with few raters per pixel a wrong fixed prior biases
:math:`p_j` and :math:`q_j`).

E step — the posterior that pixel :math:`i` is foreground, over the raters :math:`j` who labelled it:

.. math::  a_i = f(T_i{=}1) \\prod_j p_j^{D_{ij}} (1 - p_j)^{1 - D_{ij}}, \\quad
           b_i = f(T_i{=}0) \\prod_j q_j^{1 - D_{ij}} (1 - q_j)^{D_{ij}}, \\quad
           W_i = a_i / (a_i + b_i).

M step — each rater's performance given the soft truth :math:`W`:

.. math::  p_j = \\frac{\\sum_i W_i D_{ij}}{\\sum_i W_i}, \\qquad
           q_j = \\frac{\\sum_i (1 - W_i)(1 - D_{ij})}{\\sum_i (1 - W_i)}.

Both are vectorised over all raters, images and pixels (products are sums of logarithms). Raters need not
label every image: ``observed[j]`` marks what rater ``j`` labelled, and the sums run over those pixels only —
the crowd setting, where each image is seen by a few raters drawn from a larger pool, and each rater's
:math:`p_j, q_j` are estimated from all the images they labelled.
Where every rater agrees there is nothing to learn about who is right, yet those pixels dominate the sums:
on images that are mostly background every :math:`q_j` comes out close to 1, and its value depends on how much
background the images happen to hold. ``region=`` runs EM on a subset of pixels only — e.g.
:func:`disagreement_region`, the pixels where the raters disagree plus a thin ring — and gives the other
pixels their (unanimous) vote.
Not implemented: multi-class STAPLE, spatially varying performance, Markov random field priors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["majority_vote", "vote_fraction", "disagreement_region", "staple", "StapleResult", "rater_performance"]


def _check(decisions: np.ndarray, observed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(J, ...) decisions as bool and an observed mask broadcast to the same shape."""
    d = np.asarray(decisions)
    if d.ndim < 2:
        raise ValueError(f"decisions must be (raters, ...) with at least one pixel axis, got shape {d.shape}")
    if d.dtype != bool:
        bad = ~np.isin(d, (0, 1))
        if bad.any():
            raise ValueError(f"decisions must be binary (0/1 or bool); found {d[bad].ravel()[0]!r}")
        d = d.astype(bool)
    if observed is None:
        obs = np.ones(d.shape, bool)
    else:
        obs = np.asarray(observed, bool)
        if obs.shape != d.shape:
            # a (J, N) mask over images broadcasts over the pixel axes of (J, N, H, W) decisions
            obs = obs.reshape(obs.shape + (1,) * (d.ndim - obs.ndim))
            try:
                obs = np.broadcast_to(obs, d.shape)
            except ValueError as exc:
                raise ValueError(f"observed {np.shape(observed)} does not broadcast to decisions {d.shape}") from exc
    return d, obs


def vote_fraction(decisions: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
    """Fraction of the raters who labelled a pixel that marked it foreground; NaN where nobody labelled it.

    Args:
        decisions: (J, ...) binary masks of J raters.
        observed: (J, ...) or (J, N) bool, what each rater labelled (default: everything).
    """
    d, obs = _check(decisions, observed)
    n = obs.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (d & obs).sum(0) / np.maximum(n, 1), np.nan)


def majority_vote(decisions: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
    """Foreground where strictly more than half of the raters who labelled the pixel marked it.

    Ties (an even number of raters split evenly) and unlabelled pixels go to background.
    Returns a bool array shaped like one rater's decisions.
    """
    f = vote_fraction(decisions, observed)
    return np.nan_to_num(f, nan=0.0) > 0.5


def disagreement_region(decisions: np.ndarray, observed: np.ndarray | None = None, margin: int = 1) -> np.ndarray:
    """Pixels where the raters who labelled them disagree, grown by ``margin`` pixels.

    The growth is a 3 × 3 dilation repeated ``margin`` times in the last two axes (one image at a time),
    or a 3-pixel one along the only pixel axis of 1-D decisions. Returns a bool array shaped like one rater's
    decisions.
    """
    f = vote_fraction(decisions, observed)
    region = (f > 0) & (f < 1)
    if margin > 0 and region.any():
        from scipy import ndimage

        k = min(region.ndim, 2)
        structure = np.ones((1,) * (region.ndim - k) + (3,) * k, bool)
        region = ndimage.binary_dilation(region, structure=structure, iterations=margin)
    return region


@dataclass
class StapleResult:
    """What :func:`staple` estimated."""

    posterior: np.ndarray      # W_i = P(T_i = 1 | D), shaped like one rater's decisions
    sensitivity: np.ndarray    # p_j, (J,)
    specificity: np.ndarray    # q_j, (J,)
    prior: np.ndarray | float  # f(T_i = 1) used
    n_iter: int
    converged: bool

    def mask(self, threshold: float = 0.5) -> np.ndarray:
        """The consensus segmentation: W_i > threshold."""
        return self.posterior > threshold


def staple(decisions: np.ndarray, observed: np.ndarray | None = None, *,
           prior: float | np.ndarray | str | None = None,
           region: np.ndarray | None = None, init: tuple[float, float] = (0.99, 0.99), max_iter: int = 100,
           tol: float = 1e-7, eps: float = 1e-6) -> StapleResult:
    """Binary STAPLE by expectation–maximisation (the equations are in the module docstring).

    Args:
        decisions: (J, ...) binary masks of J raters over the same pixels (e.g. (J, N, H, W) for N images).
        observed: (J, ...) or (J, N) bool, what each rater labelled (default: everything). Pixels labelled by
            nobody get the prior as posterior.
        prior: f(T_i = 1): a number, or an array broadcastable to one rater's decisions (a spatial prior).
            Default: the fraction of observed decisions that are foreground (as ITK's STAPLE filter).
            ``"em"``: start there and re-estimate it in each M step as the mean posterior of labelled pixels.
        region: bool, shaped like one rater's decisions: run EM on these pixels only (the prior, p_j and q_j
            are estimated there); elsewhere the posterior is the fraction of foreground votes (0 or 1 where
            the raters agree, the prior where nobody labelled the pixel). See :func:`disagreement_region`.
        init: the initial (p_j, q_j) of every rater; Warfield et al. start high (raters better than chance).
        max_iter, tol: stop after ``max_iter`` iterations or when no p_j or q_j moves by more than ``tol``.
        eps: p_j and q_j are kept in [eps, 1 − eps] so that the logarithms stay finite.

    Returns:
        :class:`StapleResult` with the posterior W, the sensitivities p_j and specificities q_j.
    """
    d, obs = _check(decisions, observed)
    if region is not None:
        region = np.asarray(region, bool)
        if region.shape != d.shape[1:]:
            raise ValueError(f"region {region.shape} must have the shape of one rater's decisions {d.shape[1:]}")
        if not region.any():  # nothing to estimate: the vote is the answer
            frac = vote_fraction(d, obs)
            nan = np.full(d.shape[0], np.nan)
            return StapleResult(posterior=np.nan_to_num(frac, nan=0.0), sensitivity=nan, specificity=nan.copy(),
                                prior=float("nan"), n_iter=0, converged=True)
        if np.ndim(prior) > 0 and not isinstance(prior, str):
            prior = np.broadcast_to(np.asarray(prior, np.float64), d.shape[1:])[region]
        sub = staple(d[:, region], obs[:, region], prior=prior, init=init, max_iter=max_iter, tol=tol, eps=eps)
        frac = vote_fraction(d, obs)
        post = np.where(np.isnan(frac), float(np.mean(sub.prior)), frac)
        post[region] = sub.posterior
        return StapleResult(posterior=post, sensitivity=sub.sensitivity, specificity=sub.specificity,
                            prior=sub.prior, n_iter=sub.n_iter, converged=sub.converged)
    J = d.shape[0]
    D = d.reshape(J, -1).astype(np.float64)
    O = obs.reshape(J, -1).astype(np.float64)
    if not O.any():
        raise ValueError("no rater labelled any pixel (observed is all False)")
    estimate_prior = isinstance(prior, str)
    if estimate_prior and prior != "em":
        raise ValueError(f"prior must be a number, an array, None or 'em', got {prior!r}")
    if prior is None or estimate_prior:
        prior = float((D * O).sum() / O.sum())
    seen = O.any(0)                            # pixels labelled by at least one rater
    g = np.clip(np.broadcast_to(np.asarray(prior, np.float64), d.shape[1:]).reshape(-1), eps, 1 - eps)
    log_g1, log_g0 = np.log(g), np.log1p(-g)
    p = np.full(J, float(init[0]))
    q = np.full(J, float(init[1]))
    DO, NDO = D * O, (1.0 - D) * O            # observed foreground / observed background decisions
    converged = False
    for it in range(1, max_iter + 1):
        # E step: log a_i and log b_i as sums over the raters who labelled pixel i
        lp, l1p = np.log(p)[:, None], np.log1p(-p)[:, None]
        lq, l1q = np.log(q)[:, None], np.log1p(-q)[:, None]
        log_a = log_g1 + (DO * lp + NDO * l1p).sum(0)          # f(T=1) ∏ p^D (1−p)^(1−D)
        log_b = log_g0 + (NDO * lq + DO * l1q).sum(0)          # f(T=0) ∏ q^(1−D) (1−q)^D
        W = 1.0 / (1.0 + np.exp(np.clip(log_b - log_a, -700, 700)))  # W = a / (a + b), overflow-safe
        # M step: p_j = Σ W D / Σ W, q_j = Σ (1−W)(1−D) / Σ (1−W), over the pixels rater j labelled
        p_new = (DO * W).sum(1) / np.maximum((O * W).sum(1), 1e-12)
        q_new = (NDO * (1.0 - W)).sum(1) / np.maximum((O * (1.0 - W)).sum(1), 1e-12)
        p_new, q_new = np.clip(p_new, eps, 1 - eps), np.clip(q_new, eps, 1 - eps)
        change = max(np.abs(p_new - p).max(), np.abs(q_new - q).max())
        p, q = p_new, q_new
        if estimate_prior:                     # M step for the prior: f(T=1) = mean of W over labelled pixels
            g = np.full_like(g, np.clip(W[seen].mean(), eps, 1 - eps))
            log_g1, log_g0 = np.log(g), np.log1p(-g)
        if change < tol:
            converged = True
            break
    # the posterior under the final parameters
    lp, l1p = np.log(p)[:, None], np.log1p(-p)[:, None]
    lq, l1q = np.log(q)[:, None], np.log1p(-q)[:, None]
    log_a = log_g1 + (DO * lp + NDO * l1p).sum(0)
    log_b = log_g0 + (NDO * lq + DO * l1q).sum(0)
    W = 1.0 / (1.0 + np.exp(np.clip(log_b - log_a, -700, 700)))
    prior_out: np.ndarray | float = float(g[0]) if np.ndim(prior) == 0 or estimate_prior else g.reshape(d.shape[1:])
    return StapleResult(posterior=W.reshape(d.shape[1:]), sensitivity=p, specificity=q, prior=prior_out,
                        n_iter=it, converged=converged)


def rater_performance(decisions: np.ndarray, truth: np.ndarray,
                      observed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each rater's empirical sensitivity and specificity against a known truth: two (J,) arrays.

    NaN for a rater who labelled no foreground (sensitivity) or no background (specificity) pixel of the truth.
    """
    d, obs = _check(decisions, observed)
    t = np.broadcast_to(np.asarray(truth, bool), d.shape[1:])
    J = d.shape[0]
    D, O, T = d.reshape(J, -1), obs.reshape(J, -1), t.reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = (D & O & T).sum(1) / (O & T).sum(1)
        spec = (~D & O & ~T).sum(1) / (O & ~T).sum(1)
    return sens.astype(float), spec.astype(float)
