"""1-D ResNets for multichannel signals (12-lead ECG), with average or attention pooling.

``ResNet1d(in_channels=12, widths=(32, 64, 128), blocks=(1, 1, 1))`` is a CPU-sized encoder for smoke runs;
``resnet1d18()`` is the usual ResNet-18 layout (2-2-2-2 basic blocks, 64–512 channels) adapted to 1-D, as
used by ECG representation-learning papers. ``forward_features`` returns the feature map (B, C, L);
``forward`` returns the average-pooled vector (B, C).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class BasicBlock1d(nn.Module):
    """Two 1-D convolutions with batch norm and a residual connection (a projection when shapes change)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, kernel: int = 7) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(cin, cout, kernel, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.act = nn.ReLU(inplace=True)
        self.skip = (nn.Sequential(nn.Conv1d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm1d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.skip(x))


class ResNet1d(nn.Module):
    """A 1-D ResNet: stem convolution, then stages of basic blocks, each stage halving the length.

    Args:
        in_channels: input channels (leads).
        widths: channels of each stage.
        blocks: basic blocks per stage.
        stem_kernel / kernel: kernel sizes of the stem and of the blocks.
        stem_stride: stride of the stem (the first downsampling).
    """

    def __init__(self, in_channels: int = 12, widths: Sequence[int] = (32, 64, 128),
                 blocks: Sequence[int] = (1, 1, 1), stem_kernel: int = 15, kernel: int = 7,
                 stem_stride: int = 2) -> None:
        super().__init__()
        if len(widths) != len(blocks):
            raise ValueError(f"widths {widths} and blocks {blocks} must have the same length")
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, widths[0], stem_kernel, stride=stem_stride, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm1d(widths[0]), nn.ReLU(inplace=True))
        layers, cin = [], widths[0]
        for i, (w, nb) in enumerate(zip(widths, blocks)):
            for j in range(nb):
                layers.append(BasicBlock1d(cin, w, stride=2 if (j == 0 and i > 0) else 1, kernel=kernel))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.out_channels = cin

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, samples) → feature map (B, C, L)."""
        return self.layers(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, samples) → average-pooled features (B, C)."""
        return self.forward_features(x).mean(-1)


def resnet1d18(in_channels: int = 12) -> ResNet1d:
    """ResNet-18 layout in 1-D: basic blocks 2-2-2-2 with 64, 128, 256, 512 channels."""
    return ResNet1d(in_channels, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), stem_kernel=15, kernel=7)


class AttentionPool1d(nn.Module):
    """Attention pooling over positions (CLIP-style): a learned query token attends to the feature map.

    Input (B, C, L), output (B, out_dim). A learned positional embedding of ``max_len`` + 1 positions
    is added (interpolated when L differs).
    """

    def __init__(self, dim: int, heads: int = 4, out_dim: int | None = None, max_len: int = 512) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) / dim**0.5)
        self.pos = nn.Parameter(torch.randn(1, max_len + 1, dim) / dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.proj = nn.Linear(dim, out_dim or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, L, C)
        B, L, C = x.shape
        pos = self.pos[:, 1:]
        if pos.shape[1] != L:
            pos = nn.functional.interpolate(pos.transpose(1, 2), size=L, mode="linear", align_corners=False
                                            ).transpose(1, 2)
        q = (self.query + self.pos[:, :1]).expand(B, -1, -1)
        kv = torch.cat([q, x + pos], dim=1)
        out, _ = self.attn(q, kv, kv, need_weights=False)
        return self.proj(out[:, 0])
