"""Pieces of the MedImageInsight notebook: UniCL's two identities with CLIP, per-query average precision."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medrepro.losses import clip_loss
from medrepro.metrics.retrieval import average_precision
from medrepro.ssl import unicl_loss


def test_unicl_equals_clip_when_each_label_has_one_text():
    g = torch.Generator().manual_seed(3)
    labels = torch.tensor([0, 0, 1, 2, 2, 2, 1, 3])
    images = torch.randn(8, 5, generator=g)
    per_label_text = torch.randn(4, 5, generator=g)
    texts = per_label_text[labels]                    # identical text embedding for every item of a label
    for tau in (0.05, 0.1, 1.0):
        assert unicl_loss(images, texts, labels, tau).item() == pytest.approx(clip_loss(images, texts, tau).item(),
                                                                               rel=1e-6, abs=1e-6)
    # with distinct texts for the same label the two differ: CLIP's same-label negatives now count
    texts2 = torch.randn(8, 5, generator=g)
    assert abs(unicl_loss(images, texts2, labels, 0.1).item() - clip_loss(images, texts2, 0.1).item()) > 1e-3


def test_unicl_equals_clip_for_unique_labels_and_is_symmetric_in_roles():
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    y = torch.tensor([5, 1, 5, 2, 1, 0])
    assert unicl_loss(a, b, torch.arange(6), 0.2).item() == pytest.approx(clip_loss(a, b, 0.2).item(), rel=1e-6)
    assert unicl_loss(a, b, y, 0.2).item() == pytest.approx(unicl_loss(b, a, y, 0.2).item(), rel=1e-6)


def test_average_precision_matches_sklearn():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    sim = rng.normal(size=(20, 50))
    q, gal = rng.integers(0, 4, 20), rng.integers(0, 4, 50)
    ap = average_precision(sim, q, gal)
    ref = [average_precision_score(gal == q[i], sim[i]) for i in range(20)]
    np.testing.assert_allclose(ap, ref, rtol=1e-12)


def test_average_precision_edge_cases():
    sim = np.array([[0.9, 0.5, 0.1], [0.1, 0.2, 0.3]])
    ap = average_precision(sim, [7, 1], [1, 1, 0])
    assert np.isnan(ap[0])                             # no relevant gallery item
    assert ap[1] == pytest.approx((1 / 2 + 2 / 3) / 2)  # relevant at ranks 2 and 3
    assert average_precision(np.array([[1.0, 0.0]]), [0], [0, 1])[0] == 1.0
    with pytest.raises(ValueError):
        average_precision(np.zeros((2, 3)), [0], [0, 1, 2])
