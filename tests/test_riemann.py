"""medrepro.riemann against pyriemann (the reference implementation) and against identities."""
import numpy as np
import pytest

from medrepro import riemann

pyriemann = pytest.importorskip("pyriemann")


def _spd(n=12, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d, 200)) * rng.uniform(0.5, 3, (n, d, 1))
    return riemann.covariances(X), X


def test_covariances_match_pyriemann():
    from pyriemann.estimation import Covariances

    C, X = _spd()
    np.testing.assert_allclose(C, Covariances("cov").fit_transform(X), rtol=1e-10, atol=1e-12)


def test_riemann_mean_matches_pyriemann():
    from pyriemann.geometry.mean import mean_riemann

    C, _ = _spd(20, 8, seed=1)
    np.testing.assert_allclose(riemann.riemann_mean(C, tol=1e-10), mean_riemann(C, tol=1e-10), rtol=1e-6, atol=1e-9)


def test_tangent_space_matches_pyriemann():
    from pyriemann.tangentspace import TangentSpace

    C, _ = _spd(15, 5, seed=2)
    ts = TangentSpace(metric="riemann").fit(C)
    ours = riemann.tangent_space(C, riemann.riemann_mean(C, tol=1e-10))
    np.testing.assert_allclose(ours, ts.transform(C), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(riemann.tangent_space(C, ts.reference_), ts.transform(C), rtol=1e-9, atol=1e-10)


def test_distance_matches_pyriemann_and_tangent_norm():
    from pyriemann.geometry.distance import distance_riemann

    C, _ = _spd(4, 5, seed=3)
    np.testing.assert_allclose(riemann.distance(C[0], C[1]), distance_riemann(C[0], C[1]), rtol=1e-9)
    # the √2 weighting makes the tangent vector's norm the Riemannian distance to the reference
    np.testing.assert_allclose(np.linalg.norm(riemann.tangent_space(C[1:2], C[0])), distance_riemann(C[0], C[1]),
                               rtol=1e-9)


def test_delay_embedding_matches_the_official_convention():
    X = np.arange(2 * 3 * 20, dtype=float).reshape(2, 3, 20)
    E = riemann.delay_embed(X, order=3, lag=2)
    assert E.shape == (2, 9, 20 - 6)
    # official AugmentedDataset: block p = X[:, p*lag : T-(order-p)*lag]
    np.testing.assert_array_equal(E[:, 3:6], X[:, :, 2:16])
    np.testing.assert_array_equal(riemann.delay_embed(X, 1, 5), X)
    with pytest.raises(ValueError):
        riemann.delay_embed(X, 0, 1)
    with pytest.raises(ValueError):
        riemann.delay_embed(X, 10, 2)


def test_augmented_covariance_is_spd_and_contains_the_plain_covariance():
    C, X = _spd(6, 4, seed=4)
    A = riemann.covariances(riemann.delay_embed(X, 3, 2))
    assert np.linalg.eigvalsh(A).min() > 0
    np.testing.assert_allclose(A, np.swapaxes(A, 1, 2))
    # its first diagonal block is the plain covariance of the first T - order·lag samples
    np.testing.assert_allclose(A[:, :4, :4], riemann.covariances(X[..., :-6]), rtol=1e-12)


def test_matrix_functions_invert_each_other():
    C, _ = _spd(3, 5, seed=5)
    np.testing.assert_allclose(riemann.expm(riemann.logm(C)), C, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(riemann.powm(C, 0.5) @ riemann.powm(C, 0.5), C, rtol=1e-9, atol=1e-12)


def test_embedding_criteria_on_known_signals():
    t = np.arange(2000) / 100.0
    rng = np.random.default_rng(0)
    # a 5 Hz sine sampled at 100 Hz: AMI's first minimum near a quarter period (5 samples)
    X = np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6, (4, 1, 1))) + 0.05 * rng.standard_normal((4, 1, 2000))
    lag, curve = riemann.ami_delay(X, max_lag=12)
    assert 3 <= lag <= 6 and curve[0] == curve.max()
    order, frac = riemann.fnn_order(X, lag, max_order=5)
    assert order <= 3 and frac[-1] < 0.1       # a noisy circle unfolds in 2 dimensions
