"""medrepro.metrics.retrieval against scikit-learn (NearestNeighbors, KMeans + normalized_mutual_info_score)."""
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

from medrepro.metrics.retrieval import kmeans_nmi, neighbours, recall_at_k, recall_hits


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_neighbours_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 7))
    ours = neighbours(x, 5)
    _, ref = NearestNeighbors(n_neighbors=6).fit(x).kneighbors(x)
    np.testing.assert_array_equal(ours, ref[:, 1:])                  # sklearn returns the query itself first


def test_recall_hand_computed():
    # four points on a line: 0 and 1 close (same class), 2 and 3 close (different classes)
    x = np.array([[0.0], [0.1], [5.0], [5.2]])
    y = np.array([0, 0, 1, 2])
    np.testing.assert_array_equal(recall_hits(x, y, 1), [1, 1, 0, 0])
    assert recall_at_k(x, y, ks=(1, 3)) == {1: 0.5, 3: 0.5}


def test_recall_brute_force_on_random_data():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 4)), rng.integers(0, 5, 200)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    for k in (1, 2, 4, 8):
        ref = np.mean([(y[np.argsort(d[i], kind="stable")[:k]] == y[i]).any() for i in range(len(x))])
        assert recall_at_k(x, y, ks=(k,))[k] == pytest.approx(ref)


def test_kmeans_nmi_equals_sklearn():
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(4), 30)
    x = rng.normal(size=(120, 3)) + 3 * np.eye(4)[y][:, :3]
    nmi, assign = kmeans_nmi(x, y, seed=0)
    ref = KMeans(4, n_init=3, random_state=0).fit_predict(x)
    np.testing.assert_array_equal(assign, ref)
    assert nmi == pytest.approx(normalized_mutual_info_score(y, ref))


def test_bad_k():
    with pytest.raises(ValueError):
        neighbours(np.zeros((3, 2)), 3)
