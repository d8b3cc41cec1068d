"""A small conditional noise-prediction U-Net for 2-D diffusion on CPU-sized images.

The shape of LeFusion's (and medicaldiffusion's) ``Unet3D`` reduced to 2-D and to two levels: residual blocks with
GroupNorm whose scale and shift come from the time embedding concatenated with a condition embedding, a learned
*null* condition for classifier-free guidance, skip connections, no attention. ``forward(x, t, cond, drop=None)``
returns ε̂ with the shape of ``x``; ``cond=None`` (or ``drop`` true for an item) uses the null condition.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConditionalDenoiser", "sinusoidal_embedding"]


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style embedding of the step t: [sin(t·f_k), cos(t·f_k)], f_k = 10000^(−k/(dim/2−1))."""
    half = dim // 2
    f = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / max(half - 1, 1)))
    a = t.float()[:, None] * f[None]
    return torch.cat([a.sin(), a.cos()], dim=1)


class _Block(nn.Module):
    """conv → GroupNorm → (1 + scale)·h + shift from the embedding → SiLU → conv → GroupNorm → SiLU, plus a residual.

    ``dims``: 2 for images (``Conv2d``), 3 for volumes (``Conv3d``, :class:`medrepro.nn.denoiser3d.Block3d`)."""

    def __init__(self, cin: int, cout: int, emb: int, groups: int = 4, dims: int = 2):
        super().__init__()
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[dims]
        self.dims = dims
        self.c1, self.n1 = conv(cin, cout, 3, padding=1), nn.GroupNorm(groups, cout)
        self.c2, self.n2 = conv(cout, cout, 3, padding=1), nn.GroupNorm(groups, cout)
        self.film = nn.Linear(emb, 2 * cout)
        self.res = conv(cin, cout, 1) if cin != cout else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(e)[(...,) + (None,) * self.dims].chunk(2, dim=1)
        h = self.act(self.n1(self.c1(x)) * (1 + scale) + shift)
        h = self.act(self.n2(self.c2(h)))
        return h + self.res(x)


class ConditionalDenoiser(nn.Module):
    """Two-level U-Net ε_θ(x_t, t, c) with a vector condition c and a learned null condition.

    Args:
        channels: feature channels at full and half resolution.
        cond_dim: length of the condition vector (LeFusion: a 16-bin lesion histogram); 0 for none.
        in_channels: image channels.
        emb_dim: width of the time (and condition) embedding.
    """

    def __init__(self, channels: tuple[int, int] = (16, 32), cond_dim: int = 16, in_channels: int = 1,
                 emb_dim: int = 32):
        super().__init__()
        c1, c2 = channels
        self.emb_dim = emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond_dim = cond_dim
        e = emb_dim * (2 if cond_dim else 1)
        if cond_dim:
            self.cond = nn.Linear(cond_dim, emb_dim)
            self.null = nn.Parameter(torch.zeros(emb_dim))          # the "no condition" embedding of CFG
        self.inc = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.b1 = _Block(c1, c1, e)
        self.down = nn.Conv2d(c1, c2, 4, stride=2, padding=1)
        self.b2 = _Block(c2, c2, e)
        self.b3 = _Block(c2, c2, e)
        self.up = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)
        self.b4 = _Block(2 * c1, c1, e)
        self.out = nn.Conv2d(c1, in_channels, 3, padding=1)

    def embed(self, t: torch.Tensor, cond: torch.Tensor | None, drop: torch.Tensor | None) -> torch.Tensor:
        e = self.time(sinusoidal_embedding(t, self.emb_dim))
        if not self.cond_dim:
            return e
        if cond is None:
            c = self.null.expand(len(t), -1)
        else:
            c = self.cond(cond.float())
            if drop is not None:
                c = torch.where(drop[:, None], self.null.expand_as(c), c)
        return torch.cat([e, c], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"image size must be even, got {tuple(x.shape[-2:])}")
        e = self.embed(t, cond, drop)
        h1 = self.b1(self.inc(x), e)
        h = self.b3(self.b2(self.down(h1), e), e)
        h = self.b4(torch.cat([self.up(h), h1], dim=1), e)
        return self.out(h)
