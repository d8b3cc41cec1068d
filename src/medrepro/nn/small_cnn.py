"""A small image classifier whose penultimate layer serves as a feature space (e.g. for "FID-lite").

The Fréchet Inception Distance needs an Inception-v3 network trained on ImageNet; smoke runs cannot
download one. :class:`SmallCNN` is trained in seconds on the notebook's own training images instead, and
:meth:`SmallCNN.features` returns its ``feat_dim`` penultimate activations: a feature space in which
images of the task's classes are well separated. Distances in it are specific to that network and data.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SmallCNN(nn.Module):
    """Three conv–GroupNorm–SiLU–pool stages, global average pooling, a ``feat_dim`` layer and a linear head.

    Input ``(B, in_channels, H, W)`` with H, W ≥ 8; :meth:`forward` returns logits ``(B, num_classes)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 6, width: int = 16, feat_dim: int = 16) -> None:
        super().__init__()

        def stage(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(min(8, o), o), nn.SiLU(), nn.MaxPool2d(2))

        self.body = nn.Sequential(stage(in_channels, width), stage(width, 2 * width), stage(2 * width, 4 * width))
        self.embed = nn.Linear(4 * width, feat_dim)
        self.head = nn.Linear(feat_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(B, feat_dim)`` (after the nonlinearity): the space FID-lite measures in."""
        h = self.body(x).mean(dim=(2, 3))
        return F.silu(self.embed(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, steps: int = 200,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0, noise: float = 0.0) -> list[float]:
    """Train ``model`` with cross-entropy on ``images (N, C, H, W)`` / ``labels (N,)`` by Adam; return the losses.

    ``noise`` adds Gaussian noise of that standard deviation to each batch, so that the features also
    respond smoothly to noisy inputs (generated samples are often noisy). Deterministic for a given
    ``seed`` on the CPU.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    dev = next(model.parameters()).device
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(images), (min(batch_size, len(images)),), generator=gen)
        x, y = images[idx].to(dev), labels[idx].to(dev)
        if noise > 0:
            x = x + noise * torch.randn(x.shape, generator=gen).to(dev)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


class StridedConvEncoder(nn.Module):
    """Image encoder of the small contrastive notebooks: three stride-2 conv–GroupNorm(4)–SiLU stages (widths
    ``width``, ``2 width``, ``4 width``), global average pooling and, when ``out_dim`` is given, a linear projection.

    Input ``(B, in_channels, H, W)``; output ``(B, out_dim)`` (or ``(B, 4 width)`` without projection).
    """

    def __init__(self, in_channels: int, width: int, out_dim: int | None = None) -> None:
        super().__init__()

        def stage(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, stride=2, padding=1), nn.GroupNorm(4, o), nn.SiLU())

        self.body = nn.Sequential(stage(in_channels, width), stage(width, 2 * width), stage(2 * width, 4 * width))
        self.out_dim = out_dim or 4 * width
        self.proj = nn.Linear(4 * width, out_dim) if out_dim else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.body(x).mean(dim=(2, 3)))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): channel weights ``σ(W₂ SiLU(W₁ mean_hw(x)))`` multiply ``x``."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)                  # squeeze: one number per channel
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(s))))


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck (Tan & Le 2019): 1×1 expand, depthwise k×k (stride), SE,
    1×1 project; BatchNorm and SiLU as in EfficientNet, a residual connection when shapes agree."""

    def __init__(self, cin: int, cout: int, *, expand: int = 4, kernel: int = 3, stride: int = 1,
                 se_ratio: float = 0.25) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = (nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.SiLU())
                       if expand != 1 else nn.Identity())
        self.depthwise = nn.Sequential(nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False),
                                       nn.BatchNorm2d(mid), nn.SiLU())
        self.se = SqueezeExcite(mid, max(1, int(cin * se_ratio)))
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class TinyEfficientNet(nn.Module):
    """An EfficientNet-B0-shaped classifier scaled down for CPU seconds: a stride-2 3×3 stem, one MBConv stage
    per entry of ``widths`` (the first with expansion 1, the others 4; stride 2 from the second stage on), a
    1×1 head convolution, global average pooling, dropout and a linear classifier.

    Input ``(B, in_channels, H, W)``; output logits ``(B, num_classes)``; :meth:`features` the pooled features.
    EfficientNet-B0 itself has seven stages (16 … 320 channels), 5×5 kernels in some and stochastic depth.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 4, widths: tuple[int, ...] = (16, 24, 40),
                 stem: int = 16, head: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.SiLU())
        blocks, cin = [], stem
        for i, w in enumerate(widths):
            blocks.append(MBConv(cin, w, expand=1 if i == 0 else 4, stride=1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(cin, head, 1, bias=False), nn.BatchNorm2d(head), nn.SiLU())
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(head, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x)))
