"""ATM: the EEG encoder of Li et al. (NeurIPS 2024), "Visual decoding and reconstruction via EEG embeddings with
guided diffusion" (official code ``Retrieval/ATMS_retrieval.py`` of github.com/dongyangli-del/EEG_Image_decode).

Three stages, as in the official ``ATMS`` module:

1. **Channel-wise attention** (an iTransformer over channels): every channel's whole time series is one token
   (``value``: a linear map of the ``n_times`` samples to ``d_model``), a learned subject token is prepended, and
   one post-norm transformer encoder layer (multi-head self-attention across the tokens, a GELU feed-forward
   block) with a final LayerNorm mixes them. The channel tokens (``d_model`` = ``n_times``) are read back as
   signals, one per channel.
2. **Temporal-spatial convolution** (a ShallowNet-like patch embedding): a temporal convolution (``n_filters``
   kernels of ``kernel`` samples), average pooling (``pool`` samples, stride ``stride``), batch norm, ELU, a
   spatial convolution over all channels, batch norm, ELU, dropout, a 1×1 convolution; flattened.
3. **Projector**: a linear map to the embedding size, a residual GELU–linear–dropout block, LayerNorm.

The official hyper-parameters at 250 Hz are kernel 25, pool 51, stride 5, 40 filters, d_model 250, 4 heads,
feed-forward 256, dropout 0.25 (attention) and 0.5 (convolution, projector), 1,024-d output; the defaults here
scale the temporal ones to 100 Hz (kernel 10, pool 20, stride 2 — 100, 200 and 20 ms as in the official code at
250 Hz). Differences from the official code: the official encoder slices the first 63 tokens after the subject
token was prepended (so it keeps the subject token and drops the last channel); here the subject token is
dropped and every channel is kept. ``attention=False`` gives the ablation without the channel-wise attention
(stage 2 and 3 on the raw channels: the ShallowNet-like encoder with the same projector).
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


class ChannelAttention(nn.Module):
    """One post-norm encoder layer over channel tokens plus a subject token, then LayerNorm (iTransformer style).

    Input ``(B, C, T)`` and subject indices ``(B,)``; output ``(B, C, d_model)``. Heads use ``d_model // n_heads``
    dimensions each (as the official ``AttentionLayer``), so ``d_model`` need not be divisible by ``n_heads``.
    """

    def __init__(self, n_times: int, n_subjects: int, *, d_model: int | None = None, n_heads: int = 4,
                 d_ff: int = 256, dropout: float = 0.25) -> None:
        super().__init__()
        d = d_model or n_times
        self.d_model, self.n_heads, self.d_head = d, n_heads, d // n_heads
        self.value = nn.Linear(n_times, d)
        self.subject = nn.Embedding(max(n_subjects, 1), d)
        inner = self.d_head * n_heads
        self.q, self.k, self.v = nn.Linear(d, inner), nn.Linear(d, inner), nn.Linear(d, inner)
        self.out = nn.Linear(inner, d)
        self.ff1, self.ff2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)
        self.norm1, self.norm2, self.norm = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-head scaled dot-product attention across tokens: softmax(QKᵀ/√d_head) V, heads concatenated."""
        b, n, _ = x.shape
        split = lambda y: y.view(b, n, self.n_heads, self.d_head).transpose(1, 2)   # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.d_head), dim=-1)
        return self.out((self.drop(w) @ v).transpose(1, 2).reshape(b, n, -1))

    def forward(self, x: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        tok = torch.cat([self.subject(subject)[:, None, :], self.value(x)], dim=1)   # [subject, channel 1..C]
        tok = self.norm1(tok + self.drop(self.attention(tok)))                          # x + Attn(x), LayerNorm
        tok = self.norm2(tok + self.drop(self.ff2(self.drop(F.gelu(self.ff1(tok))))))   # x + FFN(x), LayerNorm
        return self.norm(tok)[:, 1:]                                                    # channel tokens only


class PatchEmbedding(nn.Module):
    """ShallowNet-like temporal-spatial convolution: ``(B, C, T)`` → ``(B, n_filters · n_patches)``.

    Computes ``Conv2d(1, F, (1, kernel))`` → ``AvgPool2d((1, pool), (1, stride))`` → BN → ELU →
    ``Conv2d(F, F, (C, 1))`` → BN → ELU → dropout → ``Conv2d(F, F, 1)``, as the official ``PatchEmbedding``. The
    temporal convolution followed by the average pool is one linear filter of ``kernel + pool − 1`` taps (the
    kernel convolved with a box of ``pool``) applied with stride ``stride``; it is computed that way, as one
    matrix product over unfolded windows (batch norms over the filters of a ``(B·C·P, F)`` matrix), and the spatial
    convolution as one product over channels and filters — the same numbers as the layers (``tests/test_nn_atm.py``
    compares them), several times faster on a CPU.
    """

    def __init__(self, n_channels: int, *, n_filters: int = 40, kernel: int = 10, pool: int = 20, stride: int = 2,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.kernel, self.pool, self.stride = kernel, pool, stride
        temporal = nn.Conv2d(1, n_filters, (1, kernel))             # for PyTorch's default initialisation
        spatial = nn.Conv2d(n_filters, n_filters, (n_channels, 1))
        self.temporal_weight = nn.Parameter(temporal.weight.detach()[:, 0, 0].clone())      # (F, kernel)
        self.temporal_bias = nn.Parameter(temporal.bias.detach().clone())
        self.spatial_weight = nn.Parameter(spatial.weight.detach()[..., 0].clone())         # (F_out, F_in, C)
        self.spatial_bias = nn.Parameter(spatial.bias.detach().clone())
        self.bn1, self.bn2 = nn.BatchNorm1d(n_filters), nn.BatchNorm1d(n_filters)
        self.drop = nn.Dropout(dropout)
        self.mix = nn.Linear(n_filters, n_filters)                   # the 1×1 convolution

    def filters(self) -> torch.Tensor:
        """The fused temporal filters ``(F, kernel + pool − 1)``: each kernel convolved with a box of ``pool``."""
        box = torch.full((1, 1, self.pool), 1.0 / self.pool, dtype=self.temporal_weight.dtype,
                         device=self.temporal_weight.device)
        return F.conv1d(self.temporal_weight[:, None, :], box, padding=self.pool - 1)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        win = x.unfold(-1, self.kernel + self.pool - 1, self.stride)              # (B, C, P, kernel + pool − 1)
        b, c, p, _ = win.shape
        f = self.temporal_bias.shape[0]
        # every (trial, channel, patch) window times the fused filters: one matrix product, (B·C·P, F)
        h = torch.addmm(self.temporal_bias, win.reshape(b * c * p, -1), self.filters().T)
        h = F.elu(self.bn1(h))                                      # BatchNorm2d over (B, C, P), per filter
        h = h.view(b, c, p, f).permute(0, 2, 1, 3).reshape(b * p, c * f)        # (B·P, C·F)
        w = self.spatial_weight.permute(0, 2, 1).reshape(f, c * f)              # (F_out, C·F_in)
        h = torch.addmm(self.spatial_bias, h, w.T)                  # the spatial convolution: (B·P, F_out)
        h = self.drop(F.elu(self.bn2(h)))
        return self.mix(h).view(b, p, f).transpose(1, 2).flatten(1)             # (B, F · P), filter-major


class Projector(nn.Sequential):
    """Linear → residual (GELU, linear, dropout) → LayerNorm, as the official ``Proj_eeg``."""

    def __init__(self, n_in: int, n_out: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)
        self.res = nn.Sequential(nn.GELU(), nn.Linear(n_out, n_out), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x)
        return self.norm(h + self.res(h))


class ATM(nn.Module):
    """The ATM EEG encoder: ``(B, C, T)`` trials and subject indices → ``(B, embed_dim)`` embeddings.

    ``logit_scale`` is the learnable log inverse temperature of the CLIP loss (initialised at log(1/0.07), as the
    official code); use ``temperature()`` with :func:`medrepro.losses.clip_loss`.
    """

    def __init__(self, n_channels: int, n_times: int, embed_dim: int, *, n_subjects: int = 1, attention: bool = True,
                 n_heads: int = 4, d_ff: int = 256, n_filters: int = 40, kernel: int = 10, pool: int = 20,
                 stride: int = 2, attn_dropout: float = 0.25, dropout: float = 0.5) -> None:
        super().__init__()
        self.channel_attention = (ChannelAttention(n_times, n_subjects, n_heads=n_heads, d_ff=d_ff,
                                                   dropout=attn_dropout) if attention else None)
        self.patch = PatchEmbedding(n_channels, n_filters=n_filters, kernel=kernel, pool=pool, stride=stride,
                                    dropout=dropout)
        with torch.no_grad():
            n_feat = self.patch(torch.zeros(2, n_channels, n_times)).shape[1]
        self.proj = Projector(n_feat, embed_dim, dropout)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def temperature(self) -> torch.Tensor:
        """τ = 1 / exp(logit_scale)."""
        return torch.exp(-self.logit_scale)

    def forward(self, x: torch.Tensor, subject: torch.Tensor | None = None) -> torch.Tensor:
        if self.channel_attention is not None:
            if subject is None:
                subject = torch.zeros(len(x), dtype=torch.long, device=x.device)
            x = self.channel_attention(x, subject)
        return self.proj(self.patch(x))


__all__ = ["ChannelAttention", "PatchEmbedding", "Projector", "ATM"]
