"""Losses used by more than one notebook."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float | torch.Tensor = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP): ½ [CE(S, I) + CE(Sᵀ, I)] with S_ij = â_i·b̂_j / τ.

    ``a`` and ``b`` are (N, D) embeddings of N matching pairs; row i of ``a`` matches row i of ``b``.
    They are L2-normalised here.
    """
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, num_classes: int,
                   weight: torch.Tensor | None = None, include_background: bool = False,
                   eps: float = 1e-5) -> torch.Tensor:
    """1 − mean soft Dice over classes. ``logits`` (B, C, ...), ``target`` integer labels (B, ...).

    ``weight`` (B, ...) weights each pixel (e.g. to down-weight pseudo-labelled pixels).
    """
    probs = logits.softmax(1)
    onehot = F.one_hot(target.long(), num_classes).movedim(-1, 1).to(probs.dtype)
    w = torch.ones_like(probs[:, :1]) if weight is None else weight.unsqueeze(1).to(probs.dtype)
    dims = (0, *range(2, probs.ndim))
    inter = (probs * onehot * w).sum(dims)
    denom = (probs * w).sum(dims) + (onehot * w).sum(dims)
    dice = (2 * inter + eps) / (denom + eps)
    if not include_background:
        dice = dice[1:]
    return 1 - dice.mean()


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, num_classes: int,
                 weight: torch.Tensor | None = None) -> torch.Tensor:
    """½ (pixel-weighted cross-entropy + soft Dice), the usual segmentation objective."""
    ce = F.cross_entropy(logits, target.long(), reduction="none")
    ce = ce.mean() if weight is None else (ce * weight).sum() / weight.sum().clamp_min(1e-8)
    return 0.5 * (ce + soft_dice_loss(logits, target, num_classes, weight))
