"""Graph matching with a combinatorial solver inside a network: LVM-Med's pre-training objective, in miniature.

LVM-Med (Nguyen et al., NeurIPS 2023) builds one graph per augmented view of a batch (nodes: the images'
embeddings; edges: k nearest neighbours), scores every node pair across the two graphs (first order) and every
edge pair (second order), solves the matching with a combinatorial solver and compares the solver's matching with
the true one (view i of graph s belongs with view i of graph t) by the Hamming distance. The solver's output is
piecewise constant in its costs, so its gradient is zero almost everywhere; the gradient is estimated by
**black-box differentiation** (Vlastelica et al., ICLR 2020): with y(w) = argmin_y ⟨w, y⟩ and the loss's gradient
∂L/∂y at y(w),

    ∇_w L ≈ −(1/λ) [ y(w) − y(w + λ ∂L/∂y) ],

the exact gradient of a piecewise-linear interpolation of L(y(w)) whose slope region has width λ.

* :func:`hungarian` — y(w): the minimum-cost permutation matrix (``scipy.optimize.linear_sum_assignment``).
* :class:`BlackBoxAssignment` / :func:`blackbox_assignment` — y(w) as a ``torch.autograd.Function`` with the
  black-box backward pass above.
* :func:`hamming_loss` — L(y, y*) = Σ y(1 − y*) + (1 − y) y*, the number of disagreeing entries.
* :func:`knn_adjacency` — a k-nearest-neighbour graph of one view's embeddings (a row-normalised 0/1 matrix).
* :func:`second_order_affinity` — the quadratic (edge) term folded into the node affinity: **this project's
  linearisation, in the Koopmans–Beckmann form tr(Xᵀ K) + α tr(A_s X A_tᵀ Xᵀ) with the edge weights of the two
  graphs and the current node affinity standing in for the unknown X** (see its docstring); not the paper's exact
  quadratic solver.
* :func:`brute_force_assignment` — the minimum-cost permutation by enumeration, a reference for small n.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["hungarian", "BlackBoxAssignment", "blackbox_assignment", "hamming_loss", "knn_adjacency",
           "second_order_affinity", "brute_force_assignment"]


def hungarian(cost: torch.Tensor) -> torch.Tensor:
    """The permutation matrix y ∈ {0, 1}^{n×n} that minimises ⟨cost, y⟩ (a square cost matrix)."""
    from scipy.optimize import linear_sum_assignment

    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"hungarian: the cost must be a square matrix, got shape {tuple(cost.shape)}")
    c = cost.detach().to("cpu", torch.float64).numpy()
    if not np.isfinite(c).all():
        raise ValueError("hungarian: the cost matrix holds NaN or infinite entries")
    rows, cols = linear_sum_assignment(c)
    y = torch.zeros_like(cost)
    y[torch.as_tensor(rows, device=cost.device), torch.as_tensor(cols, device=cost.device)] = 1
    return y


class BlackBoxAssignment(torch.autograd.Function):
    """y = argmin_y ⟨w, y⟩ over permutation matrices, with Vlastelica et al.'s gradient estimate.

    Forward: the Hungarian solution y(w). Backward, given g = ∂L/∂y at y(w):
    ∇_w = −(1/λ) [y(w) − y(w + λ g)] (Vlastelica et al. 2020, their Eq. 7 sign) — one more call of the solver, on
    costs perturbed in the direction that lowers the loss. A descent step then lowers the cost of the pairs the
    perturbed solution picks and raises the cost of those only the current solution picks.
    """

    @staticmethod
    def forward(ctx, cost: torch.Tensor, lam: float) -> torch.Tensor:  # type: ignore[override]
        y = hungarian(cost)
        ctx.save_for_backward(cost, y)
        ctx.lam = float(lam)
        return y

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):  # type: ignore[override]
        cost, y = ctx.saved_tensors
        y_perturbed = hungarian(cost.detach() + ctx.lam * grad_y)            # y(w + λ ∂L/∂y)
        return -(y - y_perturbed) / ctx.lam, None                             # −(1/λ)[y(w) − y(w')]


def blackbox_assignment(cost: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """:class:`BlackBoxAssignment` applied to ``cost`` (n, n) with interpolation width ``lam`` (λ > 0)."""
    if not lam > 0:
        raise ValueError(f"blackbox_assignment: λ must be positive, got {lam}")
    return BlackBoxAssignment.apply(cost, lam)


def hamming_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Hamming distance Σ y(1 − y*) + (1 − y) y* between two 0/1 matrices (twice the number of wrong matches)."""
    return (y * (1 - target) + (1 - y) * target).sum()


def knn_adjacency(z: torch.Tensor, k: int) -> torch.Tensor:
    """Row-normalised k-nearest-neighbour adjacency of the rows of ``z`` (cosine similarity, self excluded).

    Returns A (n, n) with A_ij = 1/k when j is among the k most similar rows to i, else 0. Built from detached
    embeddings: which edges exist is a discrete choice, and no gradient flows through it.
    """
    n = len(z)
    if not 1 <= k < n:
        raise ValueError(f"knn_adjacency: need 1 <= k < n, got k={k}, n={n}")
    zn = F.normalize(z.detach(), dim=-1)
    sim = (zn @ zn.T).fill_diagonal_(-float("inf"))
    idx = sim.topk(k, dim=1).indices
    a = torch.zeros(n, n, dtype=z.dtype, device=z.device)
    a.scatter_(1, idx, 1.0 / k)
    return a


def second_order_affinity(node: torch.Tensor, adj_s: torch.Tensor, adj_t: torch.Tensor, alpha: float = 1.0
                          ) -> torch.Tensor:
    """Node affinity with the edge (second-order) term folded in: K + α A_s K A_tᵀ.

    The quadratic assignment max_X tr(Xᵀ K) + Σ K_e((i,k),(j,l)) X_ij X_kl rewards matching i to j when i's
    neighbours k are matched to j's neighbours l. Taking the edge affinity of edges (i,k) and (j,l) as the affinity
    of their far endpoints, K_e((i,k),(j,l)) = α A_s[i,k] A_t[j,l] K[k,l], and replacing the unknown X_kl by K_kl
    itself (the node affinity as a soft guess of the matching) gives the linear term Σ_kl A_s[i,k] K[k,l] A_t[j,l]:
    the average affinity between i's and j's neighbourhoods. This is a Koopmans–Beckmann-style linearisation
    chosen here (it keeps one Hungarian call per solve); LVM-Med's own edge affinities compare learnt edge features
    and its solver handles the quadratic term directly.
    """
    if node.shape != adj_s.shape or node.shape != adj_t.shape:
        raise ValueError(f"second_order_affinity: K, A_s and A_t must have one shape, got {tuple(node.shape)}, "
                         f"{tuple(adj_s.shape)}, {tuple(adj_t.shape)}")
    return node + alpha * adj_s @ node @ adj_t.T


def brute_force_assignment(cost: torch.Tensor) -> torch.Tensor:
    """The minimum-cost permutation matrix by trying all n! permutations (a reference for n ≤ 8)."""
    n = cost.shape[0]
    if n > 8:
        raise ValueError(f"brute_force_assignment enumerates n! permutations; n = {n} is too many")
    c = cost.detach().cpu().double()
    best, best_p = None, None
    for p in itertools.permutations(range(n)):
        v = float(c[torch.arange(n), torch.tensor(p)].sum())
        if best is None or v < best - 1e-12:
            best, best_p = v, p
    y = torch.zeros_like(cost)
    y[torch.arange(n), torch.tensor(best_p)] = 1
    return y
