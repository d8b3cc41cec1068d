"""medrepro.losses.margin_loss: a hand-computed case and a loop reference written from the official sampler's rules."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medrepro.losses import margin_loss


def reference(e, t, beta=1.2, margin=0.2, cutoff=0.5):
    """The official code's steps, one anchor at a time, with Python lists (balanced batches)."""
    e, t = e.double(), t.tolist()
    n = len(t)
    d = torch.cdist(e, e)
    n_pos = sum(t[i] == t[j] for i in range(n) for j in range(n) if i != j)
    k = n_pos // n
    pos_terms, neg_terms = [], []
    for i in range(n):
        cand = sorted(range(n), key=lambda j: (float(d[i, j]) + (1e6 if (t[i] == t[j] and j != i) or
                                                                 float(d[i, j].clamp(min=1e-4)) < cutoff else 0), j))
        for j in range(n):
            if j != i and t[j] == t[i]:
                pos_terms.append(max(0.0, float(d[i, j]) - beta + margin))
        for j in cand[:k]:
            neg_terms.append(max(0.0, beta - float(d[i, j]) + margin))
    active = sum(v > 0 for v in pos_terms + neg_terms)
    total = sum(pos_terms) + sum(neg_terms)
    return total / active if active else total


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_loop_reference(seed):
    g = torch.Generator().manual_seed(seed)
    e = F.normalize(torch.randn(24, 8, generator=g), dim=1)
    t = torch.arange(24) % 4                                             # 4 classes x 6: balanced
    assert float(margin_loss(e, t)) == pytest.approx(reference(e, t), rel=1e-5)


def test_hand_computed_two_pairs():
    # classes {0, 1} at distance 0.1 apart within class and 2.0 across: positives D=0.1 -> relu(0.1-1.0) = 0,
    # negatives D ~ 2.0 >= cutoff -> relu(1.2-2.0+0.2) = 0: nothing active, loss 0
    e = torch.tensor([[1.0, 0.0], [0.995, 0.0998749], [-1.0, 0.0], [-0.995, -0.0998749]])
    t = torch.tensor([0, 0, 1, 1])
    assert float(margin_loss(e, t)) == pytest.approx(0.0, abs=1e-6)
    # move class 1 to distance sqrt(2) (orthogonal): negatives give relu(1.4 - 1.414..) = 0 still; at D = 1.0
    # (60 degrees) each negative term is 0.4 and each anchor has one positive and takes one negative
    e2 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.5, 3 ** 0.5 / 2], [0.5, 3 ** 0.5 / 2]])
    loss = margin_loss(e2, t)
    assert float(loss) == pytest.approx(0.4, abs=1e-3)                 # 4 active negative terms of 0.4, / 4


def test_gradient_pulls_positives_and_pushes_negatives():
    e = F.normalize(torch.randn(12, 4, generator=torch.Generator().manual_seed(5)), dim=1).requires_grad_(True)
    t = torch.arange(12) % 3
    opt = torch.optim.SGD([e], lr=0.05)
    first = float(margin_loss(F.normalize(e, dim=1), t).detach())
    for _ in range(100):
        loss = margin_loss(F.normalize(e, dim=1), t)
        opt.zero_grad(); loss.backward(); opt.step()
    assert float(margin_loss(F.normalize(e, dim=1), t).detach()) < first
