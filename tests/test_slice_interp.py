"""medrepro.slice_interp (DMCVR's baselines), medrepro.nn.morph_ae and the cardiac simulator's through-plane knobs.

Intensity and one-hot interpolation are checked against ``scipy.interpolate.interp1d``; signed distances against
a brute-force nearest-pixel search (``scipy.spatial.cKDTree``); shape-based interpolation against analytic discs.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.interpolate import interp1d
from scipy.spatial import cKDTree

from medrepro import slice_interp as si
from medrepro.nn.morph_ae import (MorphAEConfig, MorphologyAutoencoder, detail_residual, interpolate_codes,
                                  reconstruction_loss)
from medrepro.sim.cardiac import CardiacSpec, simulate_cohort


def _disc(size: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return (xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.mark.parametrize("n,step", [(9, 2), (10, 3), (7, 4), (5, 2)])
def test_split_sparse_keeps_ends(n, step):
    kept, missing = si.split_sparse(n, step)
    assert kept[0] == 0 and kept[-1] == n - 1
    assert sorted(np.r_[kept, missing].tolist()) == list(range(n))
    assert set(kept.tolist()) >= set(range(0, n, step))


def test_split_sparse_rejects_bad_input():
    with pytest.raises(ValueError, match="step"):
        si.split_sparse(9, 1)
    with pytest.raises(ValueError, match="two slices"):
        si.split_sparse(1, 2)


@pytest.mark.parametrize("n,step", [(9, 2), (10, 3), (8, 4)])
def test_linear_images_match_scipy_interp1d(n, step):
    rng = np.random.default_rng(n * step)
    stack = rng.normal(size=(n, 6, 5)).astype(np.float32)
    kept, missing = si.split_sparse(n, step)
    ref = interp1d(kept, stack[kept], axis=0, kind="linear")(missing)
    np.testing.assert_allclose(si.linear_images(stack, kept, missing), ref, rtol=1e-5, atol=1e-6)


def test_linear_labels_match_scipy_on_one_hot():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=(10, 8, 8))
    kept, missing = si.split_sparse(10, 3)          # weights 1/3 and 2/3: no ties
    onehot = np.eye(4)[labels]
    ref = interp1d(kept, onehot[kept], axis=0)(missing).argmax(-1)
    np.testing.assert_array_equal(si.linear_labels(labels, kept, missing, 4), ref)


def test_linear_labels_tie_goes_to_higher_class():
    labels = np.array([[[1]], [[0]], [[3]]])
    assert si.linear_labels(labels, np.array([0, 2]), np.array([1]), 4)[0, 0, 0] == 3


def test_signed_distance_matches_brute_force():
    mask = _disc(20, 9.3, 10.1, 5.2) | _disc(20, 15, 4, 2)
    d = si.signed_distance(mask)
    inside, outside = np.argwhere(mask), np.argwhere(~mask)
    out_ref = cKDTree(inside).query(outside)[0]      # outside: distance to the nearest inside pixel
    in_ref = cKDTree(outside).query(inside)[0]       # inside: distance to the nearest outside pixel
    np.testing.assert_allclose(d[~mask], out_ref, atol=1e-9)
    np.testing.assert_allclose(d[mask], -in_ref, atol=1e-9)
    assert np.isinf(si.signed_distance(np.zeros((4, 4), bool))).all()


def test_shape_based_moves_the_boundary_where_linear_crossfades():
    size = 64
    # concentric discs of radius 14 and 8: the signed distances are |p - c| - r, their mean is exactly radius 11
    a, b = _disc(size, 32, 32, 14), _disc(size, 32, 32, 8)
    labels = np.stack([a, np.zeros_like(a), b]).astype(np.uint8) * 3
    truth = _disc(size, 32, 32, 11)
    shape = si.shape_based_labels(labels, np.array([0, 2]), np.array([1]), (3,))[0] == 3
    linear = si.linear_labels(labels, np.array([0, 2]), np.array([1]), 4)[0] == 3
    assert _dice(shape, truth) > 0.95
    assert _dice(linear, truth) < _dice(shape, truth) - 0.1            # the larger disc (a cross-fade at a tie)
    # a disc that moves: the mean distance is an ellipse around the midpoint, still closer than the cross-fade
    a, b = _disc(size, 24, 32, 14), _disc(size, 40, 32, 8)
    labels = np.stack([a, np.zeros_like(a), b]).astype(np.uint8) * 3
    truth = _disc(size, 32, 32, 11)
    shape = si.shape_based_labels(labels, np.array([0, 2]), np.array([1]), (3,))[0] == 3
    linear = si.linear_labels(labels, np.array([0, 2]), np.array([1]), 4)[0] == 3
    assert np.argwhere(shape).mean(0)[1] == pytest.approx(32, abs=1.0)
    assert _dice(shape, truth) > _dice(linear, truth)


def test_neighbours_reject_extrapolation():
    with pytest.raises(ValueError, match="between two kept"):
        si.linear_images(np.zeros((5, 2, 2)), np.array([0, 2]), np.array([3]))


def test_morph_ae_shapes_ablation_and_interpolation():
    torch.manual_seed(0)
    cfg = MorphAEConfig(size=16, width=4, depth=2, latent_channels=2)
    ae = MorphologyAutoencoder(cfg)
    x, y = torch.rand(5, 1, 16, 16), torch.randint(0, 4, (5, 16, 16))
    z = ae.encode(x, y)
    assert z.shape == (5, 4, 4, 4)
    img, logits = ae.decode(z)
    assert img.shape == (5, 1, 16, 16) and logits.shape == (5, 4, 16, 16)
    assert 0 <= float(img.detach().min()) and float(img.detach().max()) <= 1
    with pytest.raises(ValueError, match="label maps"):
        ae.encode(x)
    ablation = MorphologyAutoencoder(MorphAEConfig(size=16, width=4, depth=2, latent_channels=2, morphology=False))
    assert ablation.encode(x).shape == (5, 2, 4, 4) and ablation.morph is None
    zi = interpolate_codes(z[[0, 2, 4]], [0, 2, 4], [1, 3])           # codes of kept slices 0, 2, 4
    torch.testing.assert_close(zi, torch.stack([(z[0] + z[2]) / 2, (z[2] + z[4]) / 2]))
    assert detail_residual(ae, x, y).shape == x.shape
    with pytest.raises(ValueError, match="divisible"):
        MorphAEConfig(size=18, depth=2)


def test_morph_ae_learns():
    torch.manual_seed(0)
    ae = MorphologyAutoencoder(MorphAEConfig(size=16, width=4, depth=2, latent_channels=2))
    x = torch.rand(8, 1, 16, 16)
    y = (x[:, 0] > 0.5).long() * 3
    opt = torch.optim.Adam(ae.parameters(), 1e-2)
    first = float(reconstruction_loss(ae, x, y))
    for _ in range(60):
        loss = reconstruction_loss(ae, x, y)
        opt.zero_grad(); loss.backward(); opt.step()
    assert float(loss) < 0.5 * first


def test_cardiac_tilt_and_taper_knobs():
    base = simulate_cohort(3, 6, seed=4)
    same = simulate_cohort(3, 6, spec=CardiacSpec(axis_tilt_mm=0.0, apex_taper=0.75), seed=4)
    np.testing.assert_array_equal(base.images, same.images)           # the defaults leave cohorts unchanged
    tilted = simulate_cohort(3, 6, spec=CardiacSpec(axis_tilt_mm=30.0), seed=4)

    def lv_centroids(c):
        return np.array([[np.argwhere(c.labels[p, 0, z] == 3).mean(0) for z in range(6)] for p in range(3)])

    drift_flat = np.linalg.norm(lv_centroids(base)[:, -1] - lv_centroids(base)[:, 0], axis=1)
    drift_tilt = np.linalg.norm(lv_centroids(tilted)[:, -1] - lv_centroids(tilted)[:, 0], axis=1)
    px_per_mm = 64 / 160
    assert (drift_flat < 1.5).all()
    assert (drift_tilt > 0.3 * 30 * px_per_mm * 0.85 - 1.5).all() and (drift_tilt < 30 * px_per_mm + 1.5).all()
    steep = simulate_cohort(3, 6, spec=CardiacSpec(apex_taper=0.95), seed=4)
    assert (steep.labels[:, 0, -1] == 3).sum() < (base.labels[:, 0, -1] == 3).sum()
