"""Linear interpreters of piecewise-linear networks (Navarrete Michelini et al., ICCV 2019, "LinearScope").

A network built from affine layers (convolutions, linear layers, batch norm in eval mode, average pooling,
pixel shuffle, nearest upsampling, concatenation, addition) and piecewise-linear units (ReLU, LeakyReLU,
max pooling) is affine once the decisions of its units are frozen for an input ``x``::

    f(x) = A(x) x + b(x)

where ``A(x)`` is the Jacobian of ``f`` at ``x`` and ``b(x)`` what the biases contribute through the units
that ``x`` switched on. A *LinearScope* replaces each unit by a hook that runs two batches side by side: the
first batch (``x``) goes through the unit unchanged and decides (the ReLU mask, the max-pooling argmax); the
other batches (the *probes*) go through the same decision. The probes' output is ``A(x) v + b(x)`` for a
probe ``v``; a zero probe gives ``b(x)``, and ``A(x) v = L(v) − L(0)``.

The paper's hook zeroes the biases in the probe batch instead; the two are equivalent (subtracting the zero
probe removes ``b(x)``). Units outside the list above (SiLU, GELU, sigmoid, softmax, group/instance norm
with statistics of the probe) are not piecewise linear in this sense: :func:`linear_interpreter` refuses a
model that holds one, so that "exact" is never claimed for a network that is not.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F

#: Modules accepted as affine (they act on every sample of a batch alone, with fixed parameters in eval mode).
AFFINE_MODULES: tuple[type[nn.Module], ...] = (
    nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.PixelShuffle, nn.PixelUnshuffle,
    nn.Upsample, nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout, nn.Sequential, nn.ModuleList, nn.ModuleDict,
)
#: Piecewise-linear units that a LinearScope freezes.
PWL_UNITS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)


class NotPiecewiseLinearError(TypeError):
    """The model holds a module whose action on an input is not affine once its units are frozen."""


class LinearScope(nn.Module):
    """Runs ``unit`` on the first ``n_ref`` samples of a batch and its frozen linear action on the rest.

    The batch is ``[x (n_ref samples); probe_1; …; probe_K]`` with each probe block of ``n_ref`` samples;
    probe block ``k`` sample ``i`` uses the decision of ``x_i``. ``n_ref`` is set by
    :func:`linear_interpreter` for each call.
    """

    def __init__(self, unit: nn.Module) -> None:
        super().__init__()
        if not isinstance(unit, PWL_UNITS):
            raise NotPiecewiseLinearError(f"LinearScope cannot freeze {type(unit).__name__}")
        self.unit = unit
        self.n_ref: int | None = None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        n = self.n_ref
        if n is None or z.shape[0] % n:
            raise RuntimeError("LinearScope called outside linear_interpreter or with a ragged batch")
        ref, probes = z[:n], z[n:]
        k = probes.shape[0] // n
        u = self.unit
        if isinstance(u, (nn.ReLU, nn.LeakyReLU)):
            slope = 0.0 if isinstance(u, nn.ReLU) else u.negative_slope
            gate = torch.where(ref > 0, torch.ones_like(ref), torch.full_like(ref, slope))   # the frozen mask
            out_ref = ref * gate                                                         # = unit(ref), exactly
            out_probe = probes * gate.repeat(k, *([1] * (ref.dim() - 1)))
            return torch.cat([out_ref, out_probe])
        # max pooling: the reference batch picks the argmax; the probes are read at the same positions
        pool = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}[type(u)]
        out_ref, idx = pool(ref, u.kernel_size, u.stride, u.padding, u.dilation, ceil_mode=u.ceil_mode,
                            return_indices=True)
        flat_p = probes.flatten(2)                                                       # (k n, C, L_in)
        flat_i = idx.flatten(2).repeat(k, 1, 1)                                          # (k n, C, L_out)
        out_probe = torch.gather(flat_p, 2, flat_i).view(probes.shape[0], *out_ref.shape[1:])
        return torch.cat([out_ref, out_probe])


def check_piecewise_linear(model: nn.Module) -> None:
    """Raise :class:`NotPiecewiseLinearError` naming every module that is neither affine nor a PWL unit.

    Batch norm must be in eval mode (its training-mode statistics mix the samples of a batch). Modules of
    a user class count through their children; their own ``forward`` must use only tensor operations that
    act on each sample alone and are affine (concatenation, addition, reshaping) — this cannot be checked.
    """
    bad = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and m.training:
            bad.append(f"{name or '<model>'} ({type(m).__name__} in training mode: call model.eval())")
        elif isinstance(m, PWL_UNITS + AFFINE_MODULES + (LinearScope,)):
            continue
        elif type(m).__module__.startswith("torch.nn"):
            bad.append(f"{name or '<model>'} ({type(m).__name__})")
    if bad:
        raise NotPiecewiseLinearError("not piecewise linear: " + ", ".join(bad) +
                                      " — a linear interpreter is exact only for affine layers and ReLU/LeakyReLU/max-pool units")


@contextmanager
def scoped(model: nn.Module) -> Iterator[list[LinearScope]]:
    """Temporarily replace every PWL unit of ``model`` by a :class:`LinearScope`; restore them on exit."""
    check_piecewise_linear(model)
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    scopes: list[LinearScope] = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PWL_UNITS):
                scope = LinearScope(child)
                setattr(parent, name, scope)
                swapped.append((parent, name, child))
                scopes.append(scope)
    try:
        yield scopes
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


@dataclass
class AffineParts:
    """``y = f(x)``, ``bias = b(x)`` and ``Av = A(x) v`` for each probe ``v`` (shape ``(K, n, *out)``)."""

    y: torch.Tensor
    bias: torch.Tensor
    Av: torch.Tensor


def linear_interpreter(model: nn.Module, x: torch.Tensor, probes: torch.Tensor | None = None) -> AffineParts:
    """Run ``model`` on ``x`` and its linear interpreter at ``x`` on ``probes`` in one pass.

    Args:
        model: a piecewise-linear network (see the module docstring), in eval mode.
        x: the inputs ``(n, *in)`` that freeze the units.
        probes: ``(K, n, *in)``: ``K`` probe inputs per sample (``None``: ``x`` itself, so that
            ``Av = A(x) x``).

    Returns:
        :class:`AffineParts`; ``y == Av + bias`` up to rounding when ``probes`` is ``None``.
    """
    if probes is None:
        probes = x[None]
    if probes.shape[1:] != x.shape:
        raise ValueError(f"probes must have shape (K, {tuple(x.shape)}), got {tuple(probes.shape)}")
    n, k = x.shape[0], probes.shape[0]
    batch = torch.cat([x, torch.zeros_like(x), probes.reshape(k * n, *x.shape[1:])])
    with scoped(model) as scopes:
        for s in scopes:
            s.n_ref = n
        out = model(batch)
    y, bias, lin = out[:n], out[n:2 * n], out[2 * n:].view(k, n, *out.shape[1:])
    return AffineParts(y=y, bias=bias, Av=lin - bias[None])


def columns(model: nn.Module, x: torch.Tensor, pixels: torch.Tensor | None = None,
            chunk: int = 256) -> torch.Tensor:
    """Columns of ``A(x)`` for one input ``x`` (shape ``(1, *in)``): the response to a unit impulse at each pixel.

    ``pixels`` are flat indices into ``x[0]`` (default: all). Returns ``(len(pixels), *out)``.
    """
    if x.shape[0] != 1:
        raise ValueError("columns() takes one input, shape (1, *in)")
    numel = x[0].numel()
    pixels = torch.arange(numel) if pixels is None else torch.as_tensor(pixels)
    outs = []
    with torch.no_grad():
        for start in range(0, len(pixels), chunk):
            idx = pixels[start:start + chunk]
            imp = torch.zeros(len(idx), numel, dtype=x.dtype, device=x.device)
            imp[torch.arange(len(idx)), idx] = 1.0                                       # e_j, one per probe
            outs.append(linear_interpreter(model, x, imp.view(len(idx), *x.shape)).Av[:, 0])
    return torch.cat(outs)


def rows(model: nn.Module, x: torch.Tensor, outputs: torch.Tensor | None = None) -> torch.Tensor:
    """Rows of ``A(x)`` for one input ``x`` (shape ``(1, *in)``): ``e_jᵀ A(x)``, by back-propagation through the
    frozen linear system (the *transposed* interpreter). ``outputs`` are flat output indices (default: all).
    Returns ``(len(outputs), *in)``.
    """
    if x.shape[0] != 1:
        raise ValueError("rows() takes one input, shape (1, *in)")
    v = torch.zeros_like(x)[None].requires_grad_(True)
    lin = linear_interpreter(model, x.detach(), v).Av[0, 0].flatten()
    outputs = torch.arange(lin.numel()) if outputs is None else torch.as_tensor(outputs)
    grads = [torch.autograd.grad(lin[j], v, retain_graph=True)[0][0, 0] for j in outputs.tolist()]
    return torch.stack(grads)
