"""Masked visual-token modelling and MaskGIT's parallel iterative decoding (Chang et al., CVPR 2022).

Phenaki, MUSE and ECHOPulse generate the VQ tokens of an image or a video with a *bidirectional* transformer
trained to fill in masked tokens, and sample by **parallel iterative decoding**: start with every token to be
generated masked; at each of ``S`` steps predict all masked tokens at once, keep the most confident predictions
and mask the rest again, so that after step ``s`` a fraction :math:`\\gamma((s+1)/S)` of them stays masked, with
the cosine schedule :math:`\\gamma(r) = \\cos(\\pi r / 2)` (:math:`\\gamma(0) = 1`, :math:`\\gamma(1) = 0`).
Training draws the masked fraction from the same schedule, :math:`\\gamma(r)`, :math:`r \\sim U(0, 1)`, and
scores the cross-entropy on the masked positions only.

* :func:`cosine_schedule`, :func:`masked_after` — the schedule and the number of tokens still masked after a step;
* :func:`training_mask` — a random mask per sequence whose size follows the schedule;
* :class:`MaskedTokenTransformer` — a bidirectional transformer over token ids (with a ``[MASK]`` id) that takes
  an additive per-position conditioning (e.g. an ECG embedding aligned with each frame's tokens);
* :func:`maskgit_decode` — the sampler, for any ``logits_fn(ids) -> (B, L, K)``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .token_gpt import _Block


def cosine_schedule(r: torch.Tensor | float) -> torch.Tensor | float:
    """MaskGIT's mask-ratio schedule :math:`\\gamma(r) = \\cos(\\pi r / 2)` for progress ``r`` in [0, 1]."""
    if isinstance(r, torch.Tensor):
        return torch.cos(math.pi / 2 * r)
    return math.cos(math.pi / 2 * r)


def masked_after(step: int, steps: int, n: int) -> int:
    """How many of ``n`` tokens are still masked after decoding step ``step`` (0-based) of ``steps``:
    :math:`\\lfloor \\gamma((s+1)/S)\\, n \\rfloor`, and 0 after the last step."""
    if not 0 <= step < steps:
        raise ValueError(f"step must lie in [0, {steps}), got {step}")
    if step == steps - 1:
        return 0
    return int(math.floor(cosine_schedule((step + 1) / steps) * n))


def training_mask(maskable: torch.Tensor, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A (batch, L) bool mask: in each row, :math:`\\lceil \\gamma(r)\\, n \\rceil` (at least one) of the ``n``
    positions where ``maskable`` (L,) is true, chosen uniformly, with :math:`r \\sim U(0, 1)` per row."""
    maskable = maskable.bool()
    n = int(maskable.sum())
    if n == 0:
        raise ValueError("no maskable position")
    r = torch.rand(batch, generator=generator)
    count = (cosine_schedule(r) * n).ceil().clamp(min=1)
    score = torch.rand(batch, len(maskable), generator=generator).masked_fill(~maskable, 2.0)
    rank = score.argsort(1).argsort(1)                      # rank of each maskable position in a random order
    return rank < count[:, None]


class MaskedTokenTransformer(nn.Module):
    """Bidirectional transformer: token ids ``(B, L)`` (``mask_id`` = ``num_codes`` marks a masked token) →
    logits ``(B, L, num_codes)``.

    Args:
        num_codes: codebook size ``K`` (ids ``0..K-1``; ``K`` is the mask id).
        length: sequence length ``L`` (learned position embeddings).
        dim, heads, layers: width, attention heads and blocks (pre-norm, as :mod:`medrepro.nn.token_gpt`).

    ``forward(ids, cond)`` adds ``cond`` ``(B, L, dim)`` (or ``(B, 1, dim)``) to the token and position
    embeddings: a conditioning signal aligned with the positions.
    """

    def __init__(self, num_codes: int, length: int, *, dim: int = 64, heads: int = 4, layers: int = 1) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.num_codes, self.length, self.mask_id = num_codes, length, num_codes
        self.embed = nn.Embedding(num_codes + 1, dim)
        self.pos = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.blocks = nn.ModuleList([_Block(dim, heads, 2 * dim) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_codes)

    def forward(self, ids: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if ids.shape[1] != self.length:
            raise ValueError(f"expected sequences of {self.length} tokens, got {ids.shape[1]}")
        x = self.embed(ids) + self.pos
        if cond is not None:
            x = x + cond
        for b in self.blocks:
            x = b(x, causal=False)                          # every token sees every other: bidirectional
        return self.head(self.norm(x))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-entropy of the true ids at the masked positions, the input having them replaced by ``[MASK]``."""
        logits = self(ids.masked_fill(mask, self.mask_id), cond)
        return F.cross_entropy(logits[mask], ids[mask])


@torch.no_grad()
def maskgit_decode(logits_fn: Callable[[torch.Tensor], torch.Tensor], ids: torch.Tensor, mask_id: int, steps: int,
                   *, temperature: float = 0.0, choice_temperature: float = 0.0,
                   generator: torch.Generator | None = None, trace: list | None = None) -> torch.Tensor:
    """Fill the ``mask_id`` positions of ``ids`` ``(B, L)`` by parallel iterative decoding in ``steps`` steps.

    At step ``s``: predict every masked token (arg-max, or a sample at ``temperature`` > 0), score each by the
    probability of its prediction, fix the most confident and mask the rest again so that
    :func:`masked_after` ``(s, steps, n)`` stay masked (``n`` = masked tokens of the row at the start; rows must
    start with the same ``n``). Tokens given at the start, and tokens fixed earlier, never change.
    ``choice_temperature`` > 0 ranks by :math:`\\log p + \\tau_s\\, g` instead, with Gumbel noise :math:`g` and
    :math:`\\tau_s` = ``choice_temperature`` :math:`\\cdot (1 - (s+1)/S)` (MaskGIT's annealed random top-k, 4.5 in
    its code): early steps fix tokens spread over the sequence, not only the most confident cluster.
    ``trace``, when a list, gets the number of tokens still masked in each row after each step.
    Returns the completed ids.
    """
    ids = ids.clone()
    masked0 = ids == mask_id
    counts = masked0.sum(1)
    if len(counts) and not bool((counts == counts[0]).all()):
        raise ValueError(f"every row must start with the same number of masked tokens, got {counts.tolist()}")
    n = int(counts[0]) if len(counts) else 0
    for s in range(steps):
        masked = ids == mask_id
        if not bool(masked.any()):
            break
        logits = logits_fn(ids)
        if temperature > 0:
            probs = F.softmax(logits / temperature, -1)
            pred = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).view(ids.shape)
            conf = probs.gather(-1, pred[..., None])[..., 0]
        else:
            conf, pred = F.softmax(logits, -1).max(-1)
        if choice_temperature > 0:
            u = torch.rand(conf.shape, generator=generator).clamp_(1e-20, 1.0)
            gumbel = -torch.log(-torch.log(u))
            conf = torch.log(conf.clamp_min(1e-30)) + choice_temperature * (1 - (s + 1) / steps) * gumbel.to(conf.device)
        pred = torch.where(masked, pred, ids)                 # known tokens stay
        conf = conf.masked_fill(~masked, float("inf"))        # ... and are never re-masked
        keep = masked_after(s, steps, n)
        remask = torch.zeros_like(masked)
        if keep:
            remask.scatter_(1, conf.argsort(dim=1, stable=True)[:, :keep], True)   # the least confident stay masked
        ids = pred.masked_fill(remask, mask_id)
        if trace is not None:
            trace.append((ids == mask_id).sum(1).tolist())
    return ids
