"""EEGNet (Lawhern et al., J Neural Eng 2018): a compact convolutional network for EEG windows.

Input ``(batch, 1, channels, samples)``. Block 1: a temporal convolution (``F1`` filters of ``kernel_1`` samples: a
learned filter bank), batch norm, a depthwise spatial convolution over all electrodes (``D`` spatial filters per
temporal filter), batch norm, ELU, average pooling by 4, dropout. Block 2: a separable convolution (depthwise
``kernel_2`` samples, then pointwise to ``F2`` maps), batch norm, ELU, average pooling by 8, dropout. Then one
linear layer, ``lin``, to the classes — the layer name and the defaults (F1 8, D 2, F2 16, kernel_1 64,
kernel_2 16, dropout 0.25) follow torcheeg's ``EEGNet``, which the official code of several EEG papers uses.
Not included: the max-norm weight constraints of the original paper (depthwise 1, dense 0.25).

``spatial_first=True`` swaps the first two convolutions: the ``F1 * D`` spatial filters come first (one matrix
product over the electrodes) and each spatially filtered signal then gets its own temporal filter. Both orders
compose a linear temporal and a linear spatial filter, but the swapped one works on ``F1 * D`` signals instead of
``F1 * n_channels`` (16 times fewer operations in block 1 for 32 electrodes and D = 2), its first batch norm
normalises the ``F1 * D`` filtered signals, and its temporal filters are not shared between the D spatial filters
of a group. It is not the published EEGNet: use it where CPU time matters and say so.
"""
from __future__ import annotations

import torch
from torch import nn


class _Spatial(nn.Module):
    """``n_out`` spatial filters over the electrodes as one matrix product: (B, 1, C, T) -> (B, n_out, 1, T)."""

    def __init__(self, n_channels: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_channels))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)          # nn.Linear's default initialisation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oc,bct->bot", self.weight, x[:, 0]).unsqueeze(2)


class EEGNet(nn.Module):
    """EEGNet for ``(batch, 1, n_channels, n_samples)`` windows; ``n_samples`` must be divisible by 32."""

    def __init__(self, n_channels: int = 32, n_samples: int = 128, n_classes: int = 4, *, F1: int = 8, D: int = 2,
                 F2: int = 16, kernel_1: int = 64, kernel_2: int = 16, dropout: float = 0.25,
                 spatial_first: bool = False) -> None:
        super().__init__()
        if n_samples % 32:
            raise ValueError(f"EEGNet pools time by 4 and then 8: n_samples must be divisible by 32, got {n_samples}")
        self.spatial_first = spatial_first
        if spatial_first:
            self.block1 = nn.Sequential(
                _Spatial(n_channels, F1 * D),                                                 # spatial filters
                nn.Conv2d(F1 * D, F1 * D, (1, kernel_1), padding=(0, kernel_1 // 2), groups=F1 * D, bias=False),
                nn.BatchNorm2d(F1 * D), nn.ELU(), nn.AvgPool2d((1, 4), stride=4), nn.Dropout(dropout))
        else:
            self.block1 = nn.Sequential(
                nn.Conv2d(1, F1, (1, kernel_1), padding=(0, kernel_1 // 2), bias=False),      # temporal filters
                nn.BatchNorm2d(F1),
                nn.Conv2d(F1, F1 * D, (n_channels, 1), groups=F1, bias=False),                # spatial, depthwise
                nn.BatchNorm2d(F1 * D), nn.ELU(), nn.AvgPool2d((1, 4), stride=4), nn.Dropout(dropout))
        self.block2 = nn.Sequential(
            nn.Conv2d(F1 * D, F1 * D, (1, kernel_2), padding=(0, kernel_2 // 2), groups=F1 * D, bias=False),
            nn.Conv2d(F1 * D, F2, 1, bias=False),                                             # separable = dw + pw
            nn.BatchNorm2d(F2), nn.ELU(), nn.AvgPool2d((1, 8), stride=8), nn.Dropout(dropout))
        with torch.no_grad():
            n_feat = self.block2(self.block1(torch.zeros(1, 1, n_channels, n_samples))).numel()
        self.lin = nn.Linear(n_feat, n_classes, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened output of the two convolutional blocks, ``(batch, n_features)``."""
        return self.block2(self.block1(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.features(x))


__all__ = ["EEGNet"]
