"""Tests for merging several binary segmentations (medrepro.metrics.consensus): majority vote and STAPLE."""
import numpy as np
import pytest

from medrepro.metrics.consensus import (disagreement_region, majority_vote, rater_performance, staple,
                                        vote_fraction)


def _raters(truth: np.ndarray, p, q, seed: int = 0) -> np.ndarray:
    """Independent raters with sensitivity p_j and specificity q_j on every pixel."""
    rng = np.random.default_rng(seed)
    u = rng.random((len(p),) + truth.shape)
    p, q = np.asarray(p)[:, None], np.asarray(q)[:, None]
    t = truth.reshape(1, -1)
    u = u.reshape(len(p), -1)
    d = np.where(t, u < p, u >= q)                 # P(D=1|T=1) = p, P(D=0|T=0) = q
    return d.reshape((len(p),) + truth.shape)


def test_majority_vote_counts_only_raters_who_labelled_and_ties_go_to_background():
    d = np.array([[1, 1, 0, 0], [1, 0, 0, 1], [0, 1, 0, 1]], bool)
    assert majority_vote(d).tolist() == [True, True, False, True]
    obs = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 0]], bool)   # rater 2 saw only pixel 2
    assert majority_vote(d, obs).tolist() == [True, False, False, False]  # pixel 1: 1 vs 1 → tie → 0
    f = vote_fraction(d, obs)
    assert f[0] == 1.0 and f[1] == 0.5 and f[3] == 0.0
    assert np.isnan(vote_fraction(d, np.zeros_like(obs))).all()


def test_staple_recovers_rater_performance():
    rng = np.random.default_rng(1)
    truth = rng.random(40_000) < 0.3
    p, q = [0.95, 0.9, 0.85, 0.6, 0.55], [0.97, 0.93, 0.9, 0.7, 0.6]
    res = staple(_raters(truth, p, q))
    assert res.converged
    np.testing.assert_allclose(res.sensitivity, p, atol=0.02)
    np.testing.assert_allclose(res.specificity, q, atol=0.02)
    # with unequal raters the weighted consensus beats the unweighted vote
    acc_staple = (res.mask() == truth).mean()
    acc_mv = (majority_vote(_raters(truth, p, q)) == truth).mean()
    assert acc_staple > acc_mv + 0.01
    # the empirical performance against the truth matches the generating values too
    sens, spec = rater_performance(_raters(truth, p, q), truth)
    np.testing.assert_allclose(sens, p, atol=0.02)
    np.testing.assert_allclose(spec, q, atol=0.02)


def test_staple_with_raters_who_saw_only_some_images():
    rng = np.random.default_rng(2)
    n_img, J, K = 400, 6, 3
    truth = rng.random((n_img, 8, 8)) < 0.25
    p, q = np.linspace(0.95, 0.65, J), np.linspace(0.97, 0.75, J)
    d = _raters(truth, p, q, seed=3)
    obs = np.zeros((J, n_img), bool)
    who = np.argsort(rng.random((n_img, J)), 1)[:, :K]
    obs[who.T, np.arange(n_img)[None]] = True                # K raters per image, (J, N) broadcast over pixels
    d_hidden = np.where(obs[:, :, None, None], d, rng.random(d.shape) < 0.5)  # unobserved decisions are junk
    res = staple(d_hidden, obs, prior="em")   # few raters per pixel: the prior must be estimated too
    np.testing.assert_allclose(res.sensitivity, p, atol=0.03)
    np.testing.assert_allclose(res.specificity, q, atol=0.03)
    assert res.posterior.shape == truth.shape and res.prior == pytest.approx(truth.mean(), abs=0.01)
    fixed = staple(d_hidden, obs)             # the vote fraction as a fixed prior is biased here (0.31 vs 0.25)
    assert np.abs(fixed.sensitivity - p).max() > np.abs(res.sensitivity - p).max()


def test_staple_of_identical_raters_returns_their_mask_and_handles_a_spatial_prior():
    rng = np.random.default_rng(4)
    m = rng.random((3, 10, 10)) < 0.4
    d = np.stack([m] * 4)
    assert (staple(d).mask() == m).all()
    prior = np.full(m.shape, 0.4)
    res = staple(d, prior=prior)
    assert (res.mask() == m).all() and np.shape(res.prior) == m.shape
    # a pixel nobody labelled gets the prior as its posterior
    obs = np.ones(d.shape, bool)
    obs[:, 0, 0, 0] = False
    res = staple(d, obs, prior=0.3)
    assert res.posterior[0, 0, 0] == pytest.approx(0.3)


def test_staple_is_deterministic_and_validates_input():
    rng = np.random.default_rng(5)
    d = rng.random((3, 50)) < 0.5
    a, b = staple(d), staple(d)
    assert np.array_equal(a.posterior, b.posterior) and np.array_equal(a.sensitivity, b.sensitivity)
    with pytest.raises(ValueError, match="binary"):
        staple(np.array([[0, 2], [1, 0]]))
    with pytest.raises(ValueError, match="raters"):
        staple(np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="no rater"):
        staple(d, np.zeros(d.shape, bool))
    with pytest.raises(ValueError, match="'em'"):
        staple(d, prior="estimate")
    with pytest.raises(ValueError, match="broadcast"):
        majority_vote(d, np.ones((2, 50), bool))


def test_disagreement_region_and_staple_restricted_to_it():
    d = np.zeros((3, 2, 7, 7), bool)
    d[:, 0, 2:5, 2:5] = True            # image 0: all three agree on a square
    d[0, 0, 5, 3] = True                 # ... except one pixel marked by rater 0 only
    d[:2, 1, 1, 1] = True                # image 1: two of three mark one pixel
    r0 = disagreement_region(d, margin=0)
    assert r0.sum() == 2 and r0[0, 5, 3] and r0[1, 1, 1]
    r1 = disagreement_region(d, margin=1)
    assert r1.sum() == 9 + 9 and not r1[0, 0, 0]            # 3 × 3 rings, never across images
    res = staple(d, region=r1)
    assert res.mask()[0, 2:5, 2:5].all() and res.mask().sum() >= 9   # unanimous pixels keep their vote
    assert res.posterior[0, 0, 0] == 0.0
    # a region covering everything is plain STAPLE; an empty one returns the (unanimous) vote
    full = staple(d, region=np.ones(d.shape[1:], bool))
    np.testing.assert_allclose(full.posterior, staple(d).posterior)
    same = np.stack([d[0]] * 3)
    empty = staple(same, region=disagreement_region(same))
    assert (empty.mask() == d[0]).all() and empty.n_iter == 0
    with pytest.raises(ValueError, match="region"):
        staple(d, region=np.ones((7, 7), bool))
