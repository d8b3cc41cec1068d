"""medrepro.metrics.disentangle: mutual information against scikit-learn, MIG on hand-computed cases."""
import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from medrepro.metrics.disentangle import discrete_mutual_info, histogram_discretize, mig, mutual_info_matrix


@pytest.mark.parametrize("seed", range(5))
def test_discrete_mutual_info_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 7, 300)
    b = (a + rng.integers(0, 3, 300)) % 9 if seed % 2 else rng.integers(2, 12, 300)
    assert discrete_mutual_info(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert discrete_mutual_info(a, a) == pytest.approx(mutual_info_score(a, a), abs=1e-12)


def test_histogram_discretize_matches_disentanglement_lib_rule():
    x = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    # np.histogram(x, 2) edges [0, .5, 1]; digitize with edges[:-1] = [0, .5] gives 1, 1, 2, 2, 2
    np.testing.assert_array_equal(histogram_discretize(x, 2)[:, 0], [1, 1, 2, 2, 2])


def test_mig_is_one_for_independent_factors_each_in_its_own_latent():
    levels = np.stack(np.meshgrid(*[np.arange(4.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    value, gaps = mig(levels, levels)
    assert value == pytest.approx(1.0) and np.allclose(gaps, 1.0)


def test_mig_is_zero_when_a_factor_is_copied_into_two_latents():
    levels = np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij"), -1).reshape(-1, 2)
    z = np.column_stack([levels[:, 0], levels[:, 0], levels[:, 1]])
    value, gaps = mig(z, levels)
    assert gaps[0] == pytest.approx(0.0) and gaps[1] == pytest.approx(1.0) and value == pytest.approx(0.5)


def test_mig_hand_computed_partial_case():
    # factor v in {0,1,2,3} (H = ln 4); latent 0 = v // 2 (I = ln 2), latent 1 = v % 2 (I = ln 2): gap 0.
    v = np.repeat(np.arange(4), 10)
    z = np.column_stack([v // 2, v % 2]).astype(float)
    m = mutual_info_matrix(z, v, discrete_factors=True)
    np.testing.assert_allclose(m[:, 0], [np.log(2), np.log(2)])
    assert mig(z, v, discrete_factors=True)[0] == pytest.approx(0.0)
    z2 = np.column_stack([v, v // 2]).astype(float)      # one latent has it all (ln 4), the other ln 2: gap 1/2
    assert mig(z2, v, discrete_factors=True)[0] == pytest.approx(0.5)


def test_mig_rejects_bad_input():
    with pytest.raises(ValueError):
        mig(np.zeros((10, 1)), np.zeros(10))
    with pytest.raises(ValueError):
        mig(np.random.default_rng(0).normal(size=(10, 2)), np.zeros(10))
