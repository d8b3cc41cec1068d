"""medrepro.graph_matching: the solver against brute force, the black-box gradient, the graph and affinity."""
import numpy as np
import pytest
import torch

from medrepro.graph_matching import (blackbox_assignment, brute_force_assignment, hamming_loss, hungarian,
                                     knn_adjacency, second_order_affinity)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_hungarian_equals_brute_force(n):
    g = torch.Generator().manual_seed(n)
    for _ in range(20):
        cost = torch.randn(n, n, generator=g, dtype=torch.float64)
        y, ref = hungarian(cost), brute_force_assignment(cost)
        assert torch.equal(y, ref)
        assert torch.equal(y.sum(0), torch.ones(n)) and torch.equal(y.sum(1), torch.ones(n))


def test_blackbox_gradient_descent_lowers_hamming_loss():
    # descent along the black-box gradient reaches the true matching; the opposite sign moves away from it
    g = torch.Generator().manual_seed(0)
    n, lam = 6, 2.0
    target = torch.eye(n, dtype=torch.float64)
    for _ in range(10):
        w0 = torch.randn(n, n, generator=g, dtype=torch.float64)
        start = hamming_loss(hungarian(w0), target).item()
        ends = []
        for sign in (1.0, -1.0):
            w = w0.clone()
            for _ in range(30):
                w.requires_grad_(True)
                hamming_loss(blackbox_assignment(w, lam), target).backward()
                w = (w - sign * 0.5 * w.grad).detach()
            ends.append(hamming_loss(hungarian(w), target).item())
        assert ends[0] == 0
        assert ends[1] >= start


def test_blackbox_gradient_matches_finite_differences_of_the_interpolation():
    # Vlastelica et al.: the estimate is the exact gradient of the piecewise-affine interpolation
    # f_λ(w) = L(y_λ(w)) − (1/λ)[⟨w, y(w)⟩ − ⟨w, y_λ(w)⟩], y_λ(w) = y(w + λ ∂L/∂y); central differences of f_λ.
    g = torch.Generator().manual_seed(3)
    n, lam = 5, 0.5
    target = torch.eye(n, dtype=torch.float64)
    checked = 0
    for _ in range(50):
        w = torch.randn(n, n, generator=g, dtype=torch.float64, requires_grad=True)
        loss = hamming_loss(blackbox_assignment(w, lam), target)
        if loss.item() == 0:
            continue
        loss.backward()
        dL = 1 - 2 * target                                # ∂L/∂y of the Hamming loss (independent of y)

        def f_lam(v):
            y, y_l = hungarian(v), hungarian(v + lam * dL)
            return float(hamming_loss(y_l, target) + ((v * y_l).sum() - (v * y).sum()) / lam)

        d = torch.randn(n, n, generator=g, dtype=torch.float64)
        eps = 1e-6
        fd = (f_lam(w.detach() + eps * d) - f_lam(w.detach() - eps * d)) / (2 * eps)
        assert fd == pytest.approx(float((w.grad * d).sum()), abs=1e-6)
        checked += 1
    assert checked >= 20


def test_blackbox_rejects_bad_input():
    with pytest.raises(ValueError, match="λ must be positive"):
        blackbox_assignment(torch.zeros(3, 3), 0.0)
    with pytest.raises(ValueError, match="square"):
        hungarian(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        hungarian(torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))


def test_knn_adjacency_and_second_order_affinity():
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    a = knn_adjacency(z, 1)
    assert torch.equal(a, torch.tensor([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=a.dtype))
    k = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    b = knn_adjacency(torch.randn(4, 3, generator=torch.Generator().manual_seed(1)), 2)
    naive = k.clone()
    for i in range(4):
        for j in range(4):
            naive[i, j] += 0.5 * sum(a[i, p] * k[p, q] * b[j, q] for p in range(4) for q in range(4))
    assert torch.allclose(second_order_affinity(k, a, b, 0.5), naive, atol=1e-6)
    assert torch.equal(second_order_affinity(k, a, b, 0.0), k)
    with pytest.raises(ValueError, match="1 <= k < n"):
        knn_adjacency(z, 4)
    with pytest.raises(ValueError, match="one shape"):
        second_order_affinity(k, a[:3, :3], b)


def test_brute_force_refuses_large_n():
    with pytest.raises(ValueError, match="too many"):
        brute_force_assignment(torch.zeros(9, 9))


def test_gradient_flows_to_embeddings():
    z1 = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    z2 = (z1.detach() + 0.5 * torch.randn(8, 4, generator=torch.Generator().manual_seed(1))).requires_grad_()
    k = second_order_affinity(z1 @ z2.T, knn_adjacency(z1, 2), knn_adjacency(z2, 2), 1.0)
    loss = hamming_loss(blackbox_assignment(-k, 5.0), torch.eye(8))
    loss.backward()
    assert z1.grad is not None and np.isfinite(z1.grad.numpy()).all()
