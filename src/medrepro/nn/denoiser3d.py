"""A small conditional noise-prediction U-Net for 3-D diffusion on CPU-sized volumes.

:class:`medrepro.nn.denoiser.ConditionalDenoiser` made 3-D — the shape of the 3-D U-Nets of video-diffusion code
(which MedSyn's and LeFusion's ``Unet3D`` descend from) reduced to two levels and no attention: residual blocks
with GroupNorm whose scale and shift come from the time embedding concatenated with a condition embedding, a learned
*null* condition for classifier-free guidance, one skip connection. The sample may have several channels (MedSyn
generates the CT and its anatomy masks as channels of one sample). ``forward(x, t, cond, drop=None)`` returns ε̂
with the shape of ``x``; ``cond=None`` (or ``drop`` true for an item) uses the null condition.

On CPU, oneDNN's 3-D convolutions at a few channels run markedly faster in ``torch.channels_last_3d`` memory
(``Denoiser3d(...).to(memory_format=torch.channels_last_3d)`` with inputs in the same layout); the numbers are the
same up to rounding.
"""
from __future__ import annotations

import torch
from torch import nn

from .denoiser import ConditionalDenoiser, _Block

__all__ = ["Block3d", "Denoiser3d"]


class Block3d(_Block):
    """The 2-D denoiser's residual block with 3-D convolutions: conv → GroupNorm → (1 + scale)·h + shift from the
    embedding → SiLU → conv → GroupNorm → SiLU, plus a residual."""

    def __init__(self, cin: int, cout: int, emb: int, groups: int = 4):
        super().__init__(cin, cout, emb, groups, dims=3)


class Denoiser3d(nn.Module):
    """Two-level 3-D U-Net ε_θ(x_t, t, c) for (N, C, D, H, W) volumes with a vector condition and a null condition.

    Args:
        channels: feature channels at full and half resolution.
        cond_dim: length of the condition vector (e.g. a bag-of-words report embedding).
        in_channels: channels of the sample (image, plus one per anatomy mask).
        emb_dim: width of the time and of the condition embedding.

    D, H and W must be even (one 2× down- and up-sampling).
    """

    def __init__(self, channels: tuple[int, int] = (8, 16), cond_dim: int = 6, in_channels: int = 1,
                 emb_dim: int = 32):
        super().__init__()
        c1, c2 = channels
        if cond_dim < 1:
            raise ValueError(f"cond_dim must be >= 1, got {cond_dim}")
        self.emb_dim, self.cond_dim = emb_dim, cond_dim
        e = 2 * emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond = nn.Linear(cond_dim, emb_dim)
        self.null = nn.Parameter(torch.zeros(emb_dim))              # the "no condition" embedding of CFG
        self.inc, self.b1 = nn.Conv3d(in_channels, c1, 3, padding=1), Block3d(c1, c1, e)
        self.down = nn.Conv3d(c1, c2, 2, stride=2)
        self.b2, self.b3 = Block3d(c2, c2, e), Block3d(c2, c2, e)
        self.up = nn.ConvTranspose3d(c2, c1, 2, stride=2)
        self.b4 = Block3d(2 * c1, c1, e)
        self.out = nn.Conv3d(c1, in_channels, 3, padding=1)

    # [time embedding, condition embedding], the null embedding where ``cond`` is None or ``drop`` is true:
    # the 2-D denoiser's, unchanged (it reads emb_dim, time, cond_dim, cond and null)
    embed = ConditionalDenoiser.embed

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        if any(s % 2 for s in x.shape[-3:]):
            raise ValueError(f"volume size must be even along every axis, got {tuple(x.shape[-3:])}")
        e = self.embed(t, cond, drop)
        h1 = self.b1(self.inc(x), e)
        h = self.b3(self.b2(self.down(h1), e), e)
        return self.out(self.b4(torch.cat([self.up(h), h1], dim=1), e))
