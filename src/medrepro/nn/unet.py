"""One configurable 2-D U-Net (Ronneberger et al., 2015) whose parts can be swapped by argument.

Segmentation papers mostly change *one* part of a U-Net: the encoder block (residual, attention,
transformer), the decoder block, or the upsampler. :class:`UNet2d` takes each part as a factory
``(in_channels, out_channels) -> nn.Module`` so that a notebook replaces exactly the part its paper
changes and keeps the rest::

    net = UNet2d(1, 4, channels=(16, 32, 64, 128))                       # plain U-Net
    net = UNet2d(1, 4, encoder_block=lambda i, o: MyResBlock(i, o))       # a residual encoder
    net = UNet2d(1, 4, upsample=up_bilinear)                              # bilinear + 1×1 conv upsampler

Shape contract: input (B, in_channels, H, W) with H and W divisible by 2**(len(channels) − 1);
output logits (B, num_classes, H, W). :meth:`UNet2d.encode` returns the skip features (finest first,
bottleneck last) and :meth:`UNet2d.decode` maps them back to full-resolution decoder features, for
methods that need intermediate representations (feature perturbation, contrastive heads, deep supervision).
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import torch
from torch import nn

BlockFactory = Callable[[int, int], nn.Module]


def _norm(kind: str | None, ch: int) -> nn.Module:
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, ch), ch)
    raise ValueError(f"norm must be batch | instance | group | none, got {kind!r}")


class ConvBlock(nn.Module):
    """Two (3×3 convolution → normalisation → activation) layers, with optional dropout between them."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str | None = "batch",
                 act: Callable[[], nn.Module] = partial(nn.LeakyReLU, 0.01), dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=norm in (None, "none")),
            _norm(norm, out_channels), act(),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=norm in (None, "none")),
            _norm(norm, out_channels), act(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def up_transpose(in_channels: int, out_channels: int) -> nn.Module:
    """Learned ×2 upsampling: a 2×2 transposed convolution with stride 2."""
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)


def up_bilinear(in_channels: int, out_channels: int) -> nn.Module:
    """Fixed ×2 bilinear upsampling followed by a 1×1 convolution that sets the channel count."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                         nn.Conv2d(in_channels, out_channels, kernel_size=1))


class UNet2d(nn.Module):
    """A 2-D U-Net with swappable encoder block, decoder block and upsampler.

    Args:
        in_channels: image channels (1 for MR).
        num_classes: output channels (logits), background included.
        channels: feature channels per level, finest first; ``len(channels) − 1`` poolings.
        encoder_block: factory ``(cin, cout) -> module`` for each encoder level (default :class:`ConvBlock`).
        decoder_block: factory ``(cin, cout) -> module`` applied to ``cat(skip, upsampled)``
            (``cin = 2 * cout``; default :class:`ConvBlock`).
        upsample: factory ``(cin, cout) -> module`` that doubles H and W (default :func:`up_transpose`).
        norm: normalisation of the default blocks: ``"batch"``, ``"instance"``, ``"group"`` or ``"none"``.
        dropout: dropout inside the default encoder blocks, one value or one per level (the SSL4MIS U-Net
            that BCP uses has 0.05, 0.1, 0.2, 0.3, 0.5 from the finest level to the bottleneck).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 4, channels: Sequence[int] = (16, 32, 64, 128),
                 *, encoder_block: BlockFactory | None = None, decoder_block: BlockFactory | None = None,
                 upsample: BlockFactory | None = None, norm: str | None = "batch",
                 dropout: float | Sequence[float] = 0.0) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels needs at least two levels, got {tuple(channels)}")
        self.channels = tuple(int(c) for c in channels)
        drops = [float(dropout)] * len(self.channels) if isinstance(dropout, (int, float)) else list(dropout)
        if len(drops) != len(self.channels):
            raise ValueError(f"dropout needs one value per level ({len(self.channels)}), got {drops}")
        dec = decoder_block or partial(ConvBlock, norm=norm)
        up = upsample or up_transpose
        cins = (in_channels,) + self.channels[:-1]
        self.encoders = nn.ModuleList(
            (encoder_block(ci, co) if encoder_block else ConvBlock(ci, co, norm=norm, dropout=d))
            for ci, co, d in zip(cins, self.channels, drops))
        self.pool = nn.MaxPool2d(2)
        rev = self.channels[::-1]
        self.ups = nn.ModuleList(up(ci, co) for ci, co in zip(rev[:-1], rev[1:]))
        self.decoders = nn.ModuleList(dec(2 * co, co) for co in rev[1:])
        self.head = nn.Conv2d(self.channels[0], num_classes, kernel_size=1)

    @property
    def divisor(self) -> int:
        """H and W must be multiples of this."""
        return 2 ** (len(self.channels) - 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features per level, finest first; the last one is the bottleneck."""
        if x.shape[-1] % self.divisor or x.shape[-2] % self.divisor:
            raise ValueError(f"input H×W {tuple(x.shape[-2:])} must be divisible by {self.divisor}")
        feats = []
        for i, block in enumerate(self.encoders):
            x = block(x if i == 0 else self.pool(x))
            feats.append(x)
        return feats

    def decode(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Full-resolution decoder features (before the 1×1 classification head)."""
        x = feats[-1]
        for up, block, skip in zip(self.ups, self.decoders, feats[-2::-1]):
            x = block(torch.cat([skip, up(x)], dim=1))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W)."""
        return self.head(self.decode(self.encode(x)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
