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
* :func:`knn_indices` — the same k-nearest-neighbour graph as an (n, k) index table (the edges i → nbr[i, a]).
* :func:`qap_matching` / :func:`qap_objective` — the second-order (quadratic) matching with node costs and
  costs of edge pairs, solved approximately by iterated Hungarian steps (an IPFP-style local search); and
  :class:`BlackBoxQAP` / :func:`blackbox_qap` — that solver as a ``torch.autograd.Function`` with the black-box
  gradient for both the node and the edge costs (as Rolínek et al., ECCV 2020, differentiate a graph-matching
  solver; LVM-Med's graph-matching solver itself is not released, and this local search stands in for it).
* :func:`planted_qap_problem` — a test problem whose node costs are mostly noise and whose neighbourhoods carry
  the true matching (the identity).
* :func:`brute_force_assignment` — the minimum-cost permutation by enumeration, a reference for small n.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["hungarian", "BlackBoxAssignment", "blackbox_assignment", "hamming_loss", "knn_adjacency",
           "second_order_affinity", "brute_force_assignment", "knn_indices", "qap_matching", "qap_objective",
           "BlackBoxQAP", "blackbox_qap", "planted_qap_problem"]


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


def knn_indices(z: torch.Tensor, k: int) -> torch.Tensor:
    """The k nearest neighbours (cosine, self excluded) of each row of ``z`` as an index table (n, k), most similar
    first: the directed edges i → nbr[i, a] of the graph that :func:`knn_adjacency` writes as a matrix. Built from
    detached embeddings (which edges exist is a discrete choice)."""
    n = len(z)
    if not 1 <= k < n:
        raise ValueError(f"knn_indices: need 1 <= k < n, got k={k}, n={n}")
    zn = F.normalize(z.detach(), dim=-1)
    return (zn @ zn.T).fill_diagonal_(-float("inf")).topk(k, dim=1).indices


def _check_qap(node: torch.Tensor, edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor) -> None:
    n = node.shape[0]
    if node.shape != (n, n) or nbr_s.ndim != 2 or nbr_s.shape[0] != n or nbr_t.shape != nbr_s.shape:
        raise ValueError(f"qap: need node costs (n, n) and neighbour tables (n, k) of one shape, got "
                         f"{tuple(node.shape)}, {tuple(nbr_s.shape)}, {tuple(nbr_t.shape)}")
    k = nbr_s.shape[1]
    if edge.shape != (n, k, n, k):
        raise ValueError(f"qap: edge costs must have shape (n, k, n, k) = {(n, k, n, k)}, got {tuple(edge.shape)}")


def _edge_linear(edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """For the matching i → perm[i]: M (n, n), M_ij = Σ_ab edge[i,a,j,b] [perm(nbr_s[i,a]) = nbr_t[j,b]] — the cost
    that matching i to j adds through the edges whose far ends are already matched to each other."""
    n, k = nbr_s.shape
    slot = torch.full((n, n), -1, dtype=torch.long, device=edge.device)       # slot[j, l] = b when l = nbr_t[j, b]
    slot.scatter_(1, nbr_t, torch.arange(k, device=edge.device).expand(n, k).contiguous())
    b = slot[:, perm[nbr_s]].permute(1, 2, 0)                                 # (i, a, j): slot of perm(nbr_s[i,a]) in nbr_t[j]
    picked = edge.gather(3, b.clamp(min=0).unsqueeze(-1)).squeeze(-1)        # edge[i, a, j, b[i, a, j]]
    return (picked * (b >= 0)).sum(1)


def _edge_indicator(edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor, perm: torch.Tensor
                    ) -> torch.Tensor:
    """Y_e (n, k, n, k), Y_e[i,a,j,b] = [perm(i) = j][perm(nbr_s[i,a]) = nbr_t[j,b]]: the matched edge pairs."""
    n = nbr_s.shape[0]
    ye = torch.zeros_like(edge)
    match = (perm[nbr_s].unsqueeze(2) == nbr_t[perm].unsqueeze(1)).to(edge.dtype)   # (i, a, b)
    ye[torch.arange(n, device=edge.device), :, perm, :] = match
    return ye


def qap_objective(node: torch.Tensor, edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor,
                  y: torch.Tensor, alpha: float = 1.0) -> float:
    """The quadratic matching cost ⟨node, Y⟩ + α Σ edge[i,a,j,b] Y_ij Y_{nbr_s[i,a], nbr_t[j,b]} of a permutation
    matrix Y (written out by loops over the matched pairs: a reference for :func:`qap_matching`)."""
    _check_qap(node, edge, nbr_s, nbr_t)
    perm = y.argmax(1).tolist()
    n, k = nbr_s.shape
    total = sum(float(node[i, perm[i]]) for i in range(n))
    for i in range(n):
        for a in range(k):
            for b in range(k):
                if perm[int(nbr_s[i, a])] == int(nbr_t[perm[i], b]):
                    total += alpha * float(edge[i, a, perm[i], b])
    return total


def qap_matching(node: torch.Tensor, edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor,
                 alpha: float = 1.0, iters: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """An approximate minimiser of the second-order matching cost over permutation matrices Y:

        ⟨node, Y⟩ + α Σ_{i,a,j,b} edge[i,a,j,b] Y_ij Y_{nbr_s[i,a], nbr_t[j,b]},

    where edge[i,a,j,b] is the cost of matching graph s's edge i → nbr_s[i,a] to graph t's edge j → nbr_t[j,b]
    (Lawler's quadratic assignment restricted to the two kNN graphs' edges). Local search by iterated Hungarian
    steps, IPFP-style: start from the first-order matching y(node); then repeatedly solve the linear assignment of
    the cost's gradient at the current matching, node + 2α M(Y), with M_ij = Σ_ab edge[i,a,j,b] [Y matches
    nbr_s[i,a] to nbr_t[j,b]] (the factor 2 makes it the gradient of the quadratic term when the edge costs are
    symmetric), and keep the cheapest matching seen; stop when a step
    repeats its matching or after ``iters`` steps. The result is piecewise constant in (node, edge), so the
    black-box gradient applies to it as to an exact solver. Returns (Y, Y_e): the permutation matrix and the edge
    indicator Y_e[i,a,j,b] = Y_ij Y_{nbr_s[i,a], nbr_t[j,b]}.
    """
    _check_qap(node, edge, nbr_s, nbr_t)
    y = _qap_search(node, edge, nbr_s, nbr_t, alpha, iters)
    return y, _edge_indicator(edge.detach(), nbr_s, nbr_t, y.argmax(1))


def _qap_search(node: torch.Tensor, edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor, alpha: float,
                iters: int) -> torch.Tensor:
    """The permutation matrix of :func:`qap_matching` (without the edge indicator)."""
    node, edge = node.detach(), edge.detach()
    y = hungarian(node)
    best, best_y = None, y
    for step in range(iters + 1):
        m = _edge_linear(edge, nbr_s, nbr_t, y.argmax(1))
        cost = float((node * y).sum() + alpha * (m * y).sum())
        if best is None or cost < best - 1e-9:
            best, best_y = cost, y
        if step == iters:
            break
        y_next = hungarian(node + 2 * alpha * m)
        if torch.equal(y_next, y):
            break
        y = y_next
    return best_y


class BlackBoxQAP(torch.autograd.Function):
    """Y = :func:`qap_matching` (node, edge) with the black-box gradient for node **and** edge costs.

    Backward, given g = ∂L/∂Y (the loss looks at the node matching only): solve again with node costs
    node + λ g (edge costs unchanged), giving (Y', Y_e'); then ∇_node = −(1/λ)[Y − Y'] and
    ∇_edge = −(α/λ)[Y_e − Y_e'] — the same rule as :class:`BlackBoxAssignment`, applied to the cost's linear form
    in (node, edge) (Rolínek et al., ECCV 2020, differentiate a graph-matching solver this way).
    """

    @staticmethod
    def forward(ctx, node, edge, nbr_s, nbr_t, alpha, lam, iters):  # type: ignore[override]
        y = _qap_search(node, edge, nbr_s, nbr_t, alpha, iters)
        ctx.save_for_backward(node, edge, nbr_s, nbr_t, y)
        ctx.args = (float(alpha), float(lam), int(iters))
        return y

    @staticmethod
    def backward(ctx, grad_y):  # type: ignore[override]
        node, edge, nbr_s, nbr_t, y = ctx.saved_tensors
        alpha, lam, iters = ctx.args
        y2 = _qap_search(node.detach() + lam * grad_y, edge, nbr_s, nbr_t, alpha, iters)
        # −(α/λ)[Y_e − Y_e'], written entry by entry: Y_e and Y_e' have at most n·k² ones each
        grad_edge = torch.zeros_like(edge)
        n = len(y)
        rows = torch.arange(n, device=edge.device)
        for sol, sign in ((y, -1.0), (y2, 1.0)):
            perm = sol.argmax(1)
            match = (perm[nbr_s].unsqueeze(2) == nbr_t[perm].unsqueeze(1)).to(edge.dtype)    # (i, a, b)
            grad_edge[rows, :, perm, :] += sign * alpha / lam * match
        return -(y - y2) / lam, grad_edge, None, None, None, None, None


def blackbox_qap(node: torch.Tensor, edge: torch.Tensor, nbr_s: torch.Tensor, nbr_t: torch.Tensor, *,
                 alpha: float = 1.0, lam: float = 1.0, iters: int = 5) -> torch.Tensor:
    """:class:`BlackBoxQAP` applied to node costs (n, n) and edge costs (n, k, n, k) of two kNN graphs (n, k)."""
    if not lam > 0:
        raise ValueError(f"blackbox_qap: λ must be positive, got {lam}")
    return BlackBoxQAP.apply(node, edge, nbr_s, nbr_t, alpha, lam, iters)


def planted_qap_problem(n: int, k: int, noise: float, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A second-order matching problem whose true matching is the identity, for checks of a solver.

    n points in the plane and the same points moved by 5 % of their spread give the two kNN graphs (stable
    neighbourhoods); the node costs are −I plus Gaussian noise of standard deviation ``noise`` (at 1 the node costs
    alone find a minority of the true matches); the edge costs are −cos between the edge vectors. Returns
    (node (n, n), edge (n, k, n, k), nbr_s, nbr_t), in float64.
    """
    g = generator
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    zt = z + 0.05 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    nbr_s, nbr_t = knn_indices(z, k), knn_indices(zt, k)
    node = -(torch.eye(n, dtype=torch.float64) + noise * torch.randn(n, n, generator=g, dtype=torch.float64))
    es, et = F.normalize(z[:, None] - z[nbr_s], dim=-1), F.normalize(zt[:, None] - zt[nbr_t], dim=-1)
    return node, -torch.einsum("iad,jbd->iajb", es, et), nbr_s, nbr_t
