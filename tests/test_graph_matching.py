"""medrepro.graph_matching: the solver against brute force, the black-box gradient, the graph and affinity."""
import numpy as np
import pytest
import torch

from medrepro.graph_matching import (blackbox_assignment, blackbox_qap, brute_force_assignment, hamming_loss,
                                     hungarian, knn_adjacency, knn_indices, planted_qap_problem, qap_matching,
                                     qap_objective, second_order_affinity)


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


def _qap_problem(g, n=7, k=3, noise=1.0):
    return planted_qap_problem(n, k, noise, g)


def test_knn_indices_agree_with_knn_adjacency():
    z = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    idx, a = knn_indices(z, 3), knn_adjacency(z, 3)
    dense = torch.zeros(10, 10).scatter_(1, idx, 1.0 / 3)
    assert torch.equal(dense, a)
    with pytest.raises(ValueError, match="1 <= k < n"):
        knn_indices(z, 10)


def test_qap_matching_edge_indicator_and_cost_against_loops():
    g = torch.Generator().manual_seed(1)
    n, k, alpha = 7, 3, 0.7
    for _ in range(10):
        node = torch.randn(n, n, generator=g, dtype=torch.float64)
        edge = torch.randn(n, k, n, k, generator=g, dtype=torch.float64)
        ns = knn_indices(torch.randn(n, 4, generator=g), k)
        nt = knn_indices(torch.randn(n, 4, generator=g), k)
        y, ye = qap_matching(node, edge, ns, nt, alpha, 5)
        assert torch.equal(y.sum(0), torch.ones(n, dtype=y.dtype)) and torch.equal(y.sum(1), torch.ones(n, dtype=y.dtype))
        perm = y.argmax(1)
        ref = torch.zeros_like(edge)
        for i in range(n):
            for a in range(k):
                for j in range(n):
                    for b in range(k):
                        ref[i, a, j, b] = float(perm[i] == j and perm[ns[i, a]] == nt[j, b])
        assert torch.equal(ye, ref)
        cost = qap_objective(node, edge, ns, nt, y, alpha)
        assert cost == pytest.approx(float((node * y).sum() + alpha * (edge * ye).sum()), abs=1e-9)
        assert cost <= qap_objective(node, edge, ns, nt, hungarian(node), alpha) + 1e-9   # never worse than its start


def test_qap_without_edges_is_the_hungarian_and_with_edges_uses_them():
    g = torch.Generator().manual_seed(2)
    node, edge, ns, nt = _qap_problem(g)
    assert torch.equal(qap_matching(node, edge, ns, nt, 0.0)[0], hungarian(node))
    q, h = [], []
    for _ in range(20):                      # node costs alone are ambiguous; the neighbourhoods are stable
        node, edge, ns, nt = _qap_problem(g, n=12, noise=1.0)
        q.append(float(torch.diagonal(qap_matching(node, edge, ns, nt, 1.0, 10)[0]).mean()))
        h.append(float(torch.diagonal(hungarian(node)).mean()))
    assert np.mean(q) > np.mean(h) + 0.3


def test_blackbox_qap_gradient_matches_finite_differences_of_the_interpolation():
    # f_λ(w) = L(y_λ) + (1/λ)[⟨w, Y_λ⟩ − ⟨w, Y⟩], with ⟨w, Y⟩ = ⟨node, Y⟩ + α⟨edge, Y_e⟩; y_λ solves node + λ ∂L/∂Y
    g = torch.Generator().manual_seed(4)
    n, k, lam, alpha = 6, 2, 0.5, 0.8
    target = torch.eye(n, dtype=torch.float64)
    dL = 1 - 2 * target
    checked = 0
    for _ in range(40):
        node, edge, ns, nt = _qap_problem(g, n=n, k=k, noise=3.0)
        node, edge = node.clone().requires_grad_(True), edge.clone().requires_grad_(True)
        loss = hamming_loss(blackbox_qap(node, edge, ns, nt, alpha=alpha, lam=lam, iters=4), target)
        if loss.item() == 0:
            continue
        loss.backward()

        def f_lam(v, e):
            y, ye = qap_matching(v, e, ns, nt, alpha, 4)
            y_l, ye_l = qap_matching(v + lam * dL, e, ns, nt, alpha, 4)
            lin = lambda a, b: (v * a).sum() + alpha * (e * b).sum()          # noqa: E731
            return float(hamming_loss(y_l, target) + (lin(y_l, ye_l) - lin(y, ye)) / lam)

        dv = torch.randn(n, n, generator=g, dtype=torch.float64)
        de = torch.randn(edge.shape, generator=g, dtype=torch.float64)
        eps = 1e-7
        fd = (f_lam(node.detach() + eps * dv, edge.detach() + eps * de)
              - f_lam(node.detach() - eps * dv, edge.detach() - eps * de)) / (2 * eps)
        assert fd == pytest.approx(float((node.grad * dv).sum() + (edge.grad * de).sum()), abs=1e-5)
        checked += 1
    assert checked >= 15


def test_blackbox_qap_descent_reaches_the_true_matching():
    g = torch.Generator().manual_seed(5)
    target = torch.eye(6, dtype=torch.float64)
    for _ in range(5):
        node, edge, ns, nt = _qap_problem(g, n=6, k=2, noise=2.0)
        for _ in range(40):
            node, edge = node.detach().requires_grad_(True), edge.detach().requires_grad_(True)
            hamming_loss(blackbox_qap(node, edge, ns, nt, alpha=1.0, lam=2.0), target).backward()
            node, edge = node - 0.5 * node.grad, edge - 0.5 * edge.grad
        assert hamming_loss(qap_matching(node.detach(), edge.detach(), ns, nt, 1.0)[0], target).item() == 0


def test_qap_rejects_bad_input():
    node, edge, ns, nt = _qap_problem(torch.Generator().manual_seed(6), n=5, k=2)
    with pytest.raises(ValueError, match="edge costs must have shape"):
        qap_matching(node, edge[:, :1], ns, nt)
    with pytest.raises(ValueError, match="neighbour tables"):
        qap_matching(node, edge, ns, nt[:4])
    with pytest.raises(ValueError, match="λ must be positive"):
        blackbox_qap(node, edge, ns, nt, lam=0.0)
