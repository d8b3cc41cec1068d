import numpy as np
import pytest
import torch

from medrepro.metrics.generative import (bootstrap_fid, bootstrap_fid_difference, feature_stats, fid_from_features,
                                         frechet_distance)
from medrepro.nn.small_cnn import SmallCNN, train_classifier


def test_frechet_distance_closed_forms():
    d = 4
    mu = np.zeros(d)
    assert frechet_distance(mu, np.eye(d), mu, np.eye(d)) == pytest.approx(0.0, abs=1e-9)
    # means apart only: ‖μ1 − μ2‖²
    assert frechet_distance(mu, np.eye(d), mu + 1.0, np.eye(d)) == pytest.approx(d)
    # isotropic covariances: d (σ1 − σ2)²
    assert frechet_distance(mu, 4 * np.eye(d), mu, np.eye(d)) == pytest.approx(d * (2 - 1) ** 2)
    # symmetric, and finite for singular covariances
    a, b = np.diag([1.0, 0, 0, 0]), np.diag([0, 2.0, 0, 0])
    assert frechet_distance(mu, a, mu, b) == pytest.approx(frechet_distance(mu, b, mu, a))
    assert frechet_distance(mu, a, mu, b) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="shape mismatch"):
        frechet_distance(mu, np.eye(d), np.zeros(3), np.eye(3))


def test_fid_from_features_orders_sets_and_validates():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 5))
    same = rng.normal(size=(400, 5))
    shifted = rng.normal(loc=0.5, size=(400, 5))
    assert fid_from_features(real, same) < 0.1 < fid_from_features(real, shifted)
    mu, cov = feature_stats(real)
    assert mu.shape == (5,) and cov.shape == (5, 5)
    with pytest.raises(ValueError, match="n >= 2"):
        feature_stats(real[:1])


def test_bootstrap_intervals():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(200, 3))
    good, bad = rng.normal(size=(200, 3)), rng.normal(loc=1.0, size=(200, 3))
    p, lo, hi = bootstrap_fid_difference(real, good, bad, n_boot=100, seed=0)
    assert lo <= p <= hi < 0          # the good set is closer, clearly
    p2, lo2, hi2 = bootstrap_fid_difference(real, good, bad, n_boot=100, seed=0)
    assert (p, lo, hi) == (p2, lo2, hi2)
    point, blo, bhi = bootstrap_fid(real, bad, n_boot=100, seed=0)
    assert blo < bhi and point > 1.0


def test_small_cnn_features_and_training():
    torch.manual_seed(0)
    x = torch.cat([torch.zeros(32, 1, 16, 16), torch.ones(32, 1, 16, 16)]) + 0.1 * torch.randn(64, 1, 16, 16)
    y = torch.cat([torch.zeros(32), torch.ones(32)]).long()
    m = SmallCNN(num_classes=2, width=4, feat_dim=8)
    assert m.features(x).shape == (64, 8) and m(x).shape == (64, 2)
    losses = train_classifier(m, x, y, steps=30, batch_size=16, lr=1e-2, seed=0, noise=0.05)
    assert len(losses) == 30 and losses[-1] < losses[0]
    with torch.no_grad():
        assert (m(x).argmax(1) == y).float().mean() > 0.9
