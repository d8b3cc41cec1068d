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


def bce_soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy plus a soft Dice loss over the whole batch, for one foreground class.

    ``BCE(σ(z), y) + 1 − (2 Σ σ(z)·y + s) / (Σ σ(z) + Σ y + s)``, the sums over every pixel of the batch (MONAI's
    ``DiceLoss(sigmoid=True, batch=True, smooth_nr=s, smooth_dr=s)`` for one channel). nnU-Net pairs the two: the
    Dice term keeps a run on a small foreground from collapsing to all background. ``logits`` and ``target``
    share one shape; ``target`` holds 0/1.
    """
    if logits.shape != target.shape:
        raise ValueError(f"bce_soft_dice_loss: logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    p = logits.sigmoid()
    target = target.to(p.dtype)
    return F.binary_cross_entropy_with_logits(logits, target) + 1 - (2 * (p * target).sum() + smooth) / (
        p.sum() + target.sum() + smooth)


def margin_loss(emb: torch.Tensor, labels: torch.Tensor, *, beta: float | torch.Tensor = 1.2, margin: float = 0.2,
                cutoff: float = 0.5, infinity: float = 1e6) -> torch.Tensor:
    """Margin loss (Wu et al., 2017) with the negative sampling of Adiga et al.'s official code.

    For unit embeddings ``emb`` (N, D) and labels ``labels`` (N,), every ordered pair (i, j) of the same class
    (i ≠ j) is a positive; for each anchor i, ``k`` negatives are sampled — the k nearest points whose distance
    is at least ``cutoff`` and that are not positives, with k = (number of positive pairs) // N. With
    D_ij = ||e_i − e_j||:

        L = [Σ_pos relu(D_ap − β + m) + Σ_neg relu(β − D_an + m)] / (number of non-zero terms)

    (the sum is divided by the count only when that is positive). As in the official sampler, when an anchor
    has fewer than k admissible negatives the nearest masked points fill the list (``infinity`` is added to
    masked distances), and the terms sum over positives and negatives separately, which equals the official
    triplet lists when every anchor has the same number of positives (class-balanced batches).
    """
    n = len(emb)
    sq = (emb[:, None, :] - emb[None, :, :]).pow(2).sum(-1)
    d_sample = sq.detach().clamp(min=1e-4).sqrt()                          # the sampler's pdist (eps 1e-4)
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(n, dtype=torch.bool, device=emb.device)
    k = int(pos.sum()) // n
    masked = d_sample + infinity * (pos | (d_sample < cutoff)).to(d_sample.dtype)
    nearest = masked.topk(max(1, min(k, n)), dim=1, largest=False).indices
    neg = torch.zeros_like(pos).scatter(1, nearest, True)
    d = (sq + 1e-8).sqrt()                                                  # the loss's distance (eps 1e-8)
    pos_terms = F.relu(d[pos] - beta + margin)
    neg_terms = F.relu(beta - d[neg] + margin) if k > 0 else d.new_zeros(0)
    count = (pos_terms > 0).sum() + (neg_terms > 0).sum()
    total = pos_terms.sum() + neg_terms.sum()
    return total / count if count > 0 else total
