"""A text-conditioned noise-prediction U-Net whose features attend to text *tokens* (cross-attention).

Stable Diffusion, and RoentGen (Chambon et al. 2022), which fine-tunes it on chest radiographs, condition the
denoiser on a text encoder's token sequence rather than on one pooled vector: at some resolutions every pixel's
feature h forms a query, the tokens c_1..c_L form keys and values, and

    h ← h + W_o · softmax(Q Kᵀ / √d) V,   Q = W_q GN(h),  K = W_k c,  V = W_v c            (cross-attention)

so each place in the image can read the words that concern it. Classifier-free guidance needs an unconditional
model too: a learned *null* token stands in for the text of a dropped item (condition dropout during training).

- :class:`TokenTextEncoder` — word embeddings and ``context`` 1-D convolutions over neighbouring words; the output
  keeps one vector per token (padding set to zero). With ``kernel=1`` no token sees its neighbours and, with no
  positions, the encoder is a function of the *set* of words: "no effusion. cardiomegaly." and "effusion. no
  cardiomegaly." give the same tokens in another order, and cross-attention over them gives the same output.
- :class:`CrossAttention` — the block above, with a key mask for padded tokens.
- :class:`CrossAttnDenoiser` — the two-level U-Net of :class:`medrepro.nn.denoiser.ConditionalDenoiser` (time by
  FiLM) with cross-attention to the tokens after each half-resolution block. ``forward(x, t, cond, drop=None)``
  takes ``cond`` as tokens ``(B, L, D)`` whose all-zero rows are padding, so it plugs into
  :func:`medrepro.diffusion.guided_noise` and :func:`medrepro.diffusion.ddpm_sample` unchanged.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .denoiser import _Block, sinusoidal_embedding

__all__ = ["TokenTextEncoder", "CrossAttention", "CrossAttnDenoiser", "token_mask"]


def token_mask(tokens: torch.Tensor) -> torch.Tensor:
    """Real tokens of ``(B, L, D)``: rows that are not all zero; a row with none keeps its first token."""
    m = tokens.ne(0).any(-1)
    m[:, 0] |= ~m.any(1)
    return m


class TokenTextEncoder(nn.Module):
    """(ids, mask) → token features ``(B, L, dim)``, padding rows zero; ``pool`` gives ``(B, dim)``.

    Args:
        vocab_size: size of the tokenizer's vocabulary (id 0 is padding).
        dim: width of the embeddings and of the output tokens.
        kernel: width of the convolutions over neighbouring words; 1 = no context (a bag of tokens).
        layers: number of residual convolutions.
    """

    def __init__(self, vocab_size: int, dim: int = 32, kernel: int = 3, layers: int = 2) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be odd and >= 1, got {kernel}")
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.act = nn.GELU()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(1).float()                              # (B, 1, L)
        x = self.embed(ids).transpose(1, 2) * m                    # (B, dim, L)
        for conv in self.convs:
            x = x + self.act(conv(x)) * m                          # each token reads its neighbours (kernel > 1)
        return self.norm(x.transpose(1, 2)) * mask.unsqueeze(-1).float()

    @staticmethod
    def pool(tokens: torch.Tensor) -> torch.Tensor:
        """Mean over the real tokens of ``(B, L, D)``."""
        m = token_mask(tokens).unsqueeze(-1).float()
        return (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)


class CrossAttention(nn.Module):
    """Pixels attend to tokens: ``h + W_o softmax(Q Kᵀ/√d) V`` with ``Q`` from GroupNorm(h), ``K, V`` from the tokens."""

    def __init__(self, channels: int, ctx_dim: int, heads: int = 2, dim_head: int = 16, groups: int = 4) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Linear(channels, inner, bias=False)
        self.k = nn.Linear(ctx_dim, inner, bias=False)
        self.v = nn.Linear(ctx_dim, inner, bias=False)
        self.o = nn.Linear(inner, channels)

    def forward(self, h: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, C, H, W = h.shape
        q = self.q(self.norm(h).flatten(2).transpose(1, 2))                     # (B, HW, inner)
        k, v = self.k(ctx), self.v(ctx)                                         # (B, L, inner)
        split = lambda z: z.view(B, -1, self.heads, self.dim_head).transpose(1, 2)  # noqa: E731
        scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(self.dim_head)   # QKᵀ/√d: (B, heads, HW, L)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))     # padded tokens get no weight
        a = scores.softmax(-1) @ split(v)                                       # softmax(QKᵀ/√d)V
        a = a.transpose(1, 2).reshape(B, H * W, -1)
        return h + self.o(a).transpose(1, 2).reshape(B, C, H, W)


class CrossAttnDenoiser(nn.Module):
    """Two-level U-Net ε_θ(x_t, t, c) conditioned on text tokens c by cross-attention, with a learned null token.

    Args:
        channels: feature channels at full and half resolution.
        ctx_dim: width of the text tokens.
        in_channels: image channels.
        emb_dim: width of the time embedding.
        heads, dim_head: of each cross-attention block.
    """

    def __init__(self, channels: tuple[int, int] = (16, 32), ctx_dim: int = 32, in_channels: int = 1,
                 emb_dim: int = 32, heads: int = 2, dim_head: int = 16):
        super().__init__()
        c1, c2 = channels
        self.emb_dim = emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.null = nn.Parameter(torch.randn(1, ctx_dim) * 0.02)         # the "no text" token of CFG
        self.inc = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.b1 = _Block(c1, c1, emb_dim)
        self.down = nn.Conv2d(c1, c2, 4, stride=2, padding=1)
        self.b2 = _Block(c2, c2, emb_dim)
        self.x2 = CrossAttention(c2, ctx_dim, heads, dim_head)
        self.b3 = _Block(c2, c2, emb_dim)
        self.x3 = CrossAttention(c2, ctx_dim, heads, dim_head)
        self.up = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)
        self.b4 = _Block(2 * c1, c1, emb_dim)
        self.out = nn.Conv2d(c1, in_channels, 3, padding=1)

    def context(self, cond: torch.Tensor | None, drop: torch.Tensor | None, n: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens and key mask; dropped items (and ``cond=None``) see the null token alone."""
        if cond is None:
            return self.null.expand(n, 1, -1), torch.ones(n, 1, dtype=torch.bool, device=self.null.device)
        mask = token_mask(cond)
        if drop is not None:
            null = torch.zeros_like(cond)
            null[:, 0] = self.null
            cond = torch.where(drop[:, None, None], null, cond)
            first = torch.zeros_like(mask)
            first[:, 0] = True
            mask = torch.where(drop[:, None], first, mask)
        return cond, mask

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"image size must be even, got {tuple(x.shape[-2:])}")
        if cond is not None and (cond.ndim != 3 or cond.shape[0] != x.shape[0]):
            raise ValueError(f"cond must be tokens (B, L, D) with B = {x.shape[0]}, got {tuple(cond.shape)}")
        e = self.time(sinusoidal_embedding(t, self.emb_dim))
        ctx, mask = self.context(cond, drop, len(x))
        h1 = self.b1(self.inc(x), e)
        h = self.x2(self.b2(self.down(h1), e), ctx, mask)
        h = self.x3(self.b3(h, e), ctx, mask)
        h = self.b4(torch.cat([self.up(h), h1], dim=1), e)
        return self.out(h)


def naive_cross_attention(block: CrossAttention, h: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor
                          ) -> torch.Tensor:
    """The block's output computed with explicit loops over items and heads (for tests)."""
    B, C, H, W = h.shape
    q_all = block.q(block.norm(h).flatten(2).transpose(1, 2))
    k_all, v_all = block.k(ctx), block.v(ctx)
    out = torch.zeros(B, H * W, block.heads * block.dim_head)
    for b in range(B):
        keep = mask[b]
        for j in range(block.heads):
            s = slice(j * block.dim_head, (j + 1) * block.dim_head)
            scores = q_all[b, :, s] @ k_all[b][keep][:, s].T / math.sqrt(block.dim_head)
            out[b, :, s] = scores.softmax(-1) @ v_all[b][keep][:, s]
    return h + block.o(out).transpose(1, 2).reshape(B, C, H, W)
