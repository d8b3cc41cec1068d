"""Low-rank adaptation (LoRA, Hu et al. 2021, arXiv 2106.09685) of ``nn.Linear`` layers.

A frozen weight ``W`` (out × in) is adapted as ``W' = W + (alpha / r) · B A`` with ``A`` (r × in) drawn at random
and ``B`` (out × r) zero at the start, so the adapted layer equals the frozen one until ``B`` has been trained.
Only ``A`` and ``B`` (and, optionally, the biases) are trained. This is what Hugging Face ``peft``'s
``LoraConfig(r, lora_alpha, lora_dropout)`` does to a model's ``nn.Linear`` layers; written out here so that
the idea reads in a few lines and works on any small ``nn.Module``.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn


class LoRALinear(nn.Module):
    """``y = base(x) + (alpha / r) · dropout(x) Aᵀ Bᵀ`` around a frozen ``nn.Linear`` ``base``.

    ``A`` is initialised as ``nn.Linear``'s weight (Kaiming-uniform), ``B`` at zero (so the output equals
    ``base(x)`` at the start). ``train_bias=True`` leaves the base bias trainable (``peft``'s ``bias="all"``).
    """

    def __init__(self, base: nn.Linear, r: int = 4, alpha: float = 8.0, dropout: float = 0.0,
                 train_bias: bool = False) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if r < 1:
            raise ValueError(f"rank r must be >= 1, got {r}")
        self.base, self.r, self.scale = base, int(r), float(alpha) / int(r)
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(bool(train_bias))
        self.lora_A = nn.Parameter(torch.empty(self.r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, self.r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.drop(x) @ self.lora_A.T @ self.lora_B.T) * self.scale

    def merged_weight(self) -> torch.Tensor:
        """``W + (alpha / r) B A``: the weight of an ordinary ``nn.Linear`` with the same output."""
        return self.base.weight + self.scale * self.lora_B @ self.lora_A


def add_lora(model: nn.Module, targets: Iterable[str], r: int = 4, alpha: float = 8.0, dropout: float = 0.0,
             train_bias: bool = False) -> list[str]:
    """Freeze every parameter of ``model`` and wrap the ``nn.Linear`` children whose attribute name is in
    ``targets`` (e.g. ``("q", "v")``, as ``peft`` targets a model's query and value projections) in
    :class:`LoRALinear`, in place. Returns the dotted names of the wrapped layers; raises when none matches."""
    targets = set(targets)
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if child_name in targets and isinstance(child, nn.Linear):
                setattr(module, child_name, LoRALinear(child, r, alpha, dropout, train_bias))
                wrapped.append(f"{name}.{child_name}" if name else child_name)
    if not wrapped:
        raise ValueError(f"no nn.Linear child named {sorted(targets)} in {type(model).__name__}")
    return wrapped


def trainable_fraction(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts of ``model``."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
