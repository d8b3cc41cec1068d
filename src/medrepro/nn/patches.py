"""Non-overlapping image patches as vectors: the input of a ViT patch embedding written as one matrix product."""
from __future__ import annotations

import torch


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) → (B, H/patch, W/patch, C·patch²): each non-overlapping ``patch`` × ``patch`` block as a vector,
    its entries ordered (channel, row, column) like the weight of ``nn.Conv2d(C, D, patch, stride=patch)``, so
    ``nn.Linear(C·patch², D)`` on the result equals that convolution (PyTorch's CPU weight gradient for a
    stride-equals-kernel convolution is much slower than a matrix product's). Raises when H or W is not a multiple
    of ``patch``."""
    b, c, h, w = x.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {patch}")
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(b, h // patch, w // patch, c * patch * patch)


class PatchEmbed(torch.nn.Module):
    """``nn.Conv2d(in_chans, dim, patch, stride=patch)`` written as one matrix product per patch:
    (B, C, H, W) → (B, dim, H/patch, W/patch). Same parameters and output as the convolution (its weight reshaped
    to ``proj.weight``); the ViT patch embedding of the CC-SAM and ViewXGen notebooks."""

    def __init__(self, patch: int, in_chans: int, dim: int) -> None:
        super().__init__()
        self.patch = patch
        self.proj = torch.nn.Linear(in_chans * patch * patch, dim)    # rows ordered (channel, row, column)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(patchify(x, self.patch)).permute(0, 3, 1, 2)
