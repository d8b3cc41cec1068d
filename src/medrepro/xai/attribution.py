"""Attribution maps for segmentation networks, and two scores of an attribution (TorchEsegeta, Chatterjee et al. 2022).

Attribution methods (saliency, integrated gradients, occlusion, Grad-CAM, …) explain one scalar per sample.
A segmentation network returns a map of logits ``(B, C, *spatial)``; :class:`SegmentationScore` turns it into
one score per class, ``(B, C)``: the logits of class ``c`` summed over the pixels (voxels) where ``c`` is the
network's argmax — TorchEsegeta's ``MultiClassSegmentWrapper``, here for any number of spatial dimensions
(2-D slices or 3-D volumes) — or over a fixed mask, so that two networks can be asked about the same region.

The scores of an attribution ``Φ(x)`` follow the definitions of Captum's ``captum.metrics`` (which the tests
compare them with):

- :func:`infidelity` (Yeh et al., 2019): ``E_I[(Iᵀ Φ(x) − (f(x) − f(x − I)))²]`` over perturbations ``I``;
  with ``normalize=True`` the attribution is first scaled by the β that minimises this error;
- :func:`sensitivity_max`: ``max_j ‖Φ(x + δ_j) − Φ(x)‖ / ‖Φ(x)‖`` over small input perturbations ``δ_j``.

:func:`randomize_weights` gives the model-randomisation sanity check of Adebayo et al. (2018): the same
network with the weights of some or all layers re-drawn; an attribution method whose maps do not change
when the weights do cannot be explaining the trained model.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F


class SegmentationScore(nn.Module):
    """Wrap a segmentation network so that it returns one score per class, ``(B, C)``.

    Args:
        model: maps ``(B, in, *spatial)`` to logits ``(B, C, *spatial)`` (a list/tuple output: its first item,
            as TorchEsegeta does for deep supervision).
        mask: ``None`` — each class's logits are summed over the pixels where it is the argmax of the
            network's own output for that input (TorchEsegeta); or a fixed region, a label map
            ``(B or 1, *spatial)`` of class indices or a one-hot/soft mask ``(B or 1, C, *spatial)``.
            A fixed mask must hold one sample or as many as the input batch.
    """

    def __init__(self, model: nn.Module, mask: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model = model
        self.mask = mask

    def _selection(self, out: torch.Tensor) -> torch.Tensor:
        if self.mask is None:
            return F.one_hot(out.argmax(1), out.shape[1]).movedim(-1, 1).to(out.dtype).detach()
        m = self.mask.to(out.device)
        if m.dim() == out.dim() - 1:                                        # label map → one-hot
            m = F.one_hot(m.long(), out.shape[1]).movedim(-1, 1)
        m = m.to(out.dtype)
        if m.shape[2:] != out.shape[2:] or m.shape[1] != out.shape[1]:
            raise ValueError(f"mask of shape {tuple(m.shape)} does not fit the output {tuple(out.shape)}")
        if m.shape[0] not in (1, out.shape[0]):
            raise ValueError(f"a fixed mask holds {m.shape[0]} samples; the input batch has {out.shape[0]} "
                             "(explain one sample at a time, or give one mask per sample)")
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return (out * self._selection(out)).flatten(2).sum(-1)             # (B, C): Σ over the region


def infidelity(forward_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, attribution: torch.Tensor,
               perturbations: torch.Tensor, target: int | None = None, normalize: bool = False) -> torch.Tensor:
    """Infidelity of ``attribution`` (shape of ``x``) for each sample, as ``captum.metrics.infidelity``.

    Args:
        forward_fn: ``(N, *in) → (N,)`` or ``(N, K)`` (then ``target`` picks the column).
        perturbations: ``(B, n, *in)``: ``n`` perturbations ``I`` per sample; ``f(x − I)`` is evaluated.
        normalize: scale the attribution by β = E[a b] / E[a²] first (``a = Iᵀ Φ``, ``b = f(x) − f(x − I)``).

    Returns:
        ``(B,)`` infidelities.
    """
    b, n = perturbations.shape[:2]
    if perturbations.shape[2:] != x.shape[1:] or b != x.shape[0] or attribution.shape != x.shape:
        raise ValueError(f"shapes do not match: x {tuple(x.shape)}, attribution {tuple(attribution.shape)}, "
                         f"perturbations {tuple(perturbations.shape)} (expected (B, n, *x.shape[1:]))")

    def f(z: torch.Tensor) -> torch.Tensor:
        out = forward_fn(z)
        return out[:, target] if target is not None else out.reshape(len(z))

    with torch.no_grad():
        fx = f(x)                                                           # (B,)
        fpert = f((x[:, None] - perturbations).reshape(b * n, *x.shape[1:])).view(b, n)
    a = (perturbations * attribution[:, None]).flatten(2).sum(-1)           # Iᵀ Φ(x), (B, n)
    d = fx[:, None] - fpert                                                 # f(x) − f(x − I)
    if normalize:
        beta = (a * d).mean(1) / (a * a).mean(1).where((a * a).mean(1) != 0, torch.ones_like(fx))
        a = beta[:, None] * a
    return ((a - d) ** 2).mean(1)


def sensitivity_max(explain_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                    perturbations: torch.Tensor) -> torch.Tensor:
    """Max-sensitivity of an explanation for each sample, as ``captum.metrics.sensitivity_max`` (Frobenius norm).

    ``explain_fn(z)`` returns the attribution of ``z`` (same shape); ``perturbations`` ``(B, n, *in)`` are
    the ``δ_j`` added to ``x``. Returns ``(B,)``: ``max_j ‖Φ(x + δ_j) − Φ(x)‖ / ‖Φ(x)‖`` (a zero ``‖Φ(x)‖``
    counts as 1, as Captum does).
    """
    b, n = perturbations.shape[:2]
    phi = explain_fn(x).detach().flatten(1)                                 # (B, D)
    phi_p = explain_fn((x[:, None] + perturbations).reshape(b * n, *x.shape[1:])).detach().reshape(b, n, -1)
    norm = phi.norm(dim=1)
    norm = norm.where(norm != 0, torch.ones_like(norm))
    return ((phi_p - phi[:, None]).norm(dim=2) / norm[:, None]).max(1).values


def parametrised_layers(model: nn.Module) -> list[str]:
    """Names of the modules that hold parameters of their own, from the input side to the output side."""
    return [name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]


def randomize_weights(model: nn.Module, layers: Sequence[str] | None = None, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose ``layers`` (default: all with parameters) are re-initialised by their own
    ``reset_parameters`` (PyTorch's default initialisation) with a seeded generator.

    Cascading randomisation (Adebayo et al.) passes the last k entries of :func:`parametrised_layers`.
    The original model is left untouched.
    """
    clone = copy.deepcopy(model)
    names = parametrised_layers(clone) if layers is None else list(layers)
    modules = dict(clone.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise KeyError(f"no such layer(s): {missing}")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for n in names:
            m = modules[n]
            if not hasattr(m, "reset_parameters"):
                raise TypeError(f"layer {n} ({type(m).__name__}) has no reset_parameters()")
            m.reset_parameters()
    finally:
        torch.random.set_rng_state(state)
    return clone


def mass_inside(attribution: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Share of the absolute attribution inside ``region`` (a boolean map broadcastable to it), per sample.

    ``Σ_{region} |Φ| / Σ |Φ|`` over all but the batch dimension; NaN for an all-zero attribution.
    """
    a = attribution.abs().flatten(1)
    r = torch.broadcast_to(region, attribution.shape).flatten(1).to(a.dtype)
    tot = a.sum(1)
    return (a * r).sum(1) / tot.where(tot > 0, torch.full_like(tot, float("nan")))


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between two attribution maps per sample (of their absolute values, as in
    Adebayo et al.'s sanity checks); ties broken by order."""
    def ranks(t: torch.Tensor) -> torch.Tensor:
        flat = t.abs().flatten(1)
        return flat.argsort(1).argsort(1).to(torch.float64)
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))
