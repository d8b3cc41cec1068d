"""k-way zero-shot retrieval: the exact expectation equals enumerating every distractor set."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from medrepro.metrics.retrieval import kway_topk


def _enumerate(sim, truth, k, top):
    out = []
    for i, row in enumerate(sim):
        others = [j for j in range(sim.shape[1]) if j != truth[i]]
        hits = []
        for d in itertools.combinations(others, k - 1):
            cand = np.array([truth[i], *d])
            order = np.argsort(-row[cand], kind="stable")     # the truth first among ties: counted below
            better = (row[cand[1:]] >= row[truth[i]]).sum()
            hits.append(better < top)
        out.append(np.mean(hits))
    return np.array(out)


@pytest.mark.parametrize("k,top", [(2, 1), (4, 1), (5, 2), (9, 1), (9, 5)])
def test_expectation_equals_enumeration(k, top):
    rng = np.random.default_rng(k * 10 + top)
    sim = rng.standard_normal((6, 9))
    truth = rng.integers(0, 9, 6)
    np.testing.assert_allclose(kway_topk(sim, truth, k, top), _enumerate(sim, truth, k, top), atol=1e-12)


def test_full_way_top1_is_plain_accuracy_and_errors():
    sim = np.eye(5) + 0.1
    assert kway_topk(sim, np.arange(5), 5).mean() == 1.0
    assert kway_topk(-sim, np.arange(5), 5).mean() == 0.0
    with pytest.raises(ValueError):
        kway_topk(sim, np.arange(5), 6)
    with pytest.raises(ValueError):
        kway_topk(sim, np.arange(5), 2, top=3)
