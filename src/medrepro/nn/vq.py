"""Vector quantisation: a codebook with a straight-through estimator, and a small VQ-VAE for 2-D images.

A VQ-VAE (van den Oord et al., NeurIPS 2017) turns an image into a grid of discrete *tokens*, which an
autoregressive transformer can then model like words (VQGAN in ViewXGen and LLM-CXR, DALL-E's dVAE):

- the **encoder** maps ``x`` ``(B, C, H, W)`` to ``z_e`` ``(B, D, H/f, W/f)``;
- the **quantiser** replaces each ``D``-vector by its nearest codebook entry,
  :math:`k^* = \\arg\\min_k \\lVert z_e - e_k \\rVert^2`, :math:`z_q = e_{k^*}`;
- the **decoder** maps ``z_q`` back to an image.

``argmin`` has no gradient, so the decoder's gradient is copied to the encoder (the *straight-through*
estimator, :math:`z_q^{st} = z_e + \\mathrm{sg}(z_q - z_e)`), and a *commitment* loss
:math:`\\beta \\lVert z_e - \\mathrm{sg}(z_q) \\rVert^2` keeps the encoder near its codes. The codebook itself is
learned by an exponential moving average of the encoder outputs assigned to each code (van den Oord et al.,
appendix; Razavi et al. 2019), which is steadier than its gradient loss at small scale; codes that no vector
chose for a while are *restarted* on a random encoder output of the batch (Dhariwal et al. 2020, Jukebox), so
the codebook does not collapse onto a few entries. :func:`perplexity` and :func:`code_usage` measure how many
codes are in use.

Generic: any channel count and patch size (the token grid is the image side over ``patch``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .patches import patchify


def nearest_codes(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row (squared Euclidean distance) for each row of ``z`` ``(N, D)``.

    ``codebook`` is ``(K, D)``; returns ``(N,)`` long. Ties go to the lower index (``argmin``'s rule).
    """
    if z.ndim != 2 or codebook.ndim != 2 or z.shape[1] != codebook.shape[1]:
        raise ValueError(f"expected z (N, D) and codebook (K, D) with the same D, got {tuple(z.shape)} and "
                         f"{tuple(codebook.shape)}")
    # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 does not change the argmin
    d = codebook.pow(2).sum(1)[None, :] - 2 * z @ codebook.T
    return d.argmin(1)


def perplexity(indices: torch.Tensor, num_codes: int) -> float:
    """:math:`\\exp(-\\sum_k p_k \\log p_k)` of the code frequencies: 1 when one code is used, ``K`` when all are
    used equally."""
    p = torch.bincount(indices.reshape(-1), minlength=num_codes).double()
    p = p / p.sum().clamp_min(1)
    return float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))


def code_usage(indices: torch.Tensor, num_codes: int) -> int:
    """How many distinct codes ``indices`` use (at most ``num_codes``)."""
    return int((torch.bincount(indices.reshape(-1), minlength=num_codes) > 0).sum())


@dataclass
class VQOutput:
    """What :class:`VectorQuantizer` returns: the straight-through codes, their indices and the losses."""

    z_q: torch.Tensor          # (B, D, h, w) quantised, with the straight-through gradient to z_e
    indices: torch.Tensor      # (B, h, w) long
    commitment: torch.Tensor   # scalar: beta * ||z_e - sg(z_q)||^2 (mean)
    codebook_loss: torch.Tensor  # scalar: ||sg(z_e) - z_q||^2 (0 with EMA updates: the codebook learns by EMA)


class VectorQuantizer(nn.Module):
    """A codebook of ``num_codes`` vectors of width ``dim``, with EMA updates and dead-code restarts.

    Args:
        num_codes, dim: codebook size ``K`` and code width ``D``.
        beta: weight of the commitment loss.
        decay: EMA decay of the codebook statistics; ``None`` learns the codebook by its gradient loss
            (returned as ``codebook_loss``) instead.
        restart: move each dead code (EMA count below ``restart_threshold``) onto a random encoder output of the
            current batch (training mode, EMA codebooks only).
        restart_threshold: EMA assignment count under which a code counts as dead.
        eps: Laplace smoothing of the EMA counts.
    """

    def __init__(self, num_codes: int, dim: int, *, beta: float = 0.25, decay: float | None = 0.9,
                 restart: bool = True, restart_threshold: float = 0.05, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_codes, self.dim, self.beta, self.decay, self.eps = num_codes, dim, beta, decay, eps
        self.restart, self.restart_threshold = restart, restart_threshold
        init = torch.randn(num_codes, dim) * 0.1
        if decay is None:
            self.codebook = nn.Parameter(init)
        else:
            self.register_buffer("codebook", init)
            self.register_buffer("ema_count", torch.ones(num_codes))
            self.register_buffer("ema_sum", init.clone())
        self.register_buffer("initialised", torch.tensor(False))

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes of ``indices`` ``(B, h, w)`` as a ``(B, D, h, w)`` map."""
        return self.codebook[indices].permute(0, 3, 1, 2)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx, self.num_codes).type_as(flat)        # (N, K)
        count, total = onehot.sum(0), onehot.T @ flat                 # per-code count and sum of assigned z_e
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(total, alpha=1 - self.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + self.eps) / (n + self.num_codes * self.eps) * n   # Laplace smoothing
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        if self.restart:
            dead = self.ema_count < self.restart_threshold
            if bool(dead.any()):
                pick = torch.randint(len(flat), (int(dead.sum()),), device=flat.device)
                self.codebook[dead] = flat[pick]
                self.ema_sum[dead] = flat[pick]
                self.ema_count[dead] = 1.0

    def forward(self, z_e: torch.Tensor) -> VQOutput:
        """Quantise ``z_e`` ``(B, D, h, w)``; in training mode (EMA codebooks) also update the codebook."""
        B, D, h, w = z_e.shape
        if D != self.dim:
            raise ValueError(f"expected {self.dim} channels, got {D}")
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)
        if self.training and not bool(self.initialised):
            with torch.no_grad():                                     # start the codes on encoder outputs
                pick = torch.randint(len(flat), (self.num_codes,), device=flat.device)
                self.codebook.data.copy_(flat[pick])
                if self.decay is not None:
                    self.ema_sum.copy_(flat[pick])
                self.initialised.fill_(True)
        idx = nearest_codes(flat.detach(), self.codebook.detach())
        if self.training and self.decay is not None:
            self._ema_update(flat.detach(), idx)
        z_q = self.codebook[idx].reshape(B, h, w, D).permute(0, 3, 1, 2)
        commitment = self.beta * F.mse_loss(z_e, z_q.detach())
        codebook_loss = F.mse_loss(z_q, z_e.detach()) if self.decay is None else z_e.new_zeros(())
        z_st = z_e + (z_q - z_e).detach()                             # straight-through: forward z_q, grad to z_e
        return VQOutput(z_st, idx.reshape(B, h, w), commitment, codebook_loss)


class _Patchify(nn.Module):
    """Non-overlapping ``f × f`` patches (:func:`medrepro.nn.patches.patchify`) → a linear map: a stride-``f``
    convolution written as one matrix product."""

    def __init__(self, channels: int, f: int, out: int) -> None:
        super().__init__()
        self.f = f
        self.lin = nn.Linear(channels * f * f, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(patchify(x, self.f)).permute(0, 3, 1, 2)


class _Unpatchify(nn.Module):
    """A linear map of each token to an ``f × f`` patch of ``channels`` (the inverse layout of :class:`_Patchify`)."""

    def __init__(self, hidden: int, f: int, channels: int) -> None:
        super().__init__()
        self.f, self.c = f, channels
        self.lin = nn.Linear(hidden, channels * f * f)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, _, h_, w_ = h.shape
        f, C = self.f, self.c
        p = self.lin(h.permute(0, 2, 3, 1)).reshape(B, h_, w_, C, f, f)
        return p.permute(0, 3, 1, 4, 2, 5).reshape(B, C, h_ * f, w_ * f)


class VQVAE(nn.Module):
    """A small VQ-VAE for 2-D images of any channel count, computed at token resolution (fast on a CPU).

    The encoder cuts the image into ``patch × patch`` patches, maps each linearly (a stride-``patch``
    convolution), then mixes neighbouring tokens with ``depth`` 3 × 3 convolutions and projects to the code width;
    the decoder mirrors it and maps each token back to a patch of pixels. Tokens form an
    ``(H / patch, W / patch)`` grid. (VQGAN and the original VQ-VAE downsample with strided convolutions at full
    resolution; at 32 px the patch form learns the same job in a tenth of the arithmetic.)

    Args:
        in_channels: image channels (1 for radiographs).
        hidden: width of the token-level convolutions.
        dim: code width ``D``.
        num_codes: codebook size ``K``.
        patch: side of the pixel patch behind each token.
        depth: 3 × 3 convolutions on each side.
        beta, decay, restart: passed to :class:`VectorQuantizer`.
    """

    def __init__(self, in_channels: int = 1, *, hidden: int = 64, dim: int = 16, num_codes: int = 64,
                 patch: int = 4, depth: int = 2, beta: float = 0.25, decay: float | None = 0.9,
                 restart: bool = True) -> None:
        super().__init__()
        if patch < 1 or depth < 0:
            raise ValueError(f"patch must be at least 1 and depth at least 0, got {patch} and {depth}")
        self.in_channels, self.patch = in_channels, patch
        enc: list[nn.Module] = [_Patchify(in_channels, patch, hidden), nn.ReLU()]
        for _ in range(depth):
            enc += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU()]
        enc += [nn.Conv2d(hidden, dim, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = VectorQuantizer(num_codes, dim, beta=beta, decay=decay, restart=restart)
        dec: list[nn.Module] = [nn.Conv2d(dim, hidden, 1), nn.ReLU()]
        for _ in range(depth):
            dec += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU()]
        dec += [_Unpatchify(hidden, patch, in_channels)]
        self.decoder = nn.Sequential(*dec)

    @property
    def num_codes(self) -> int:
        return self.quantizer.num_codes

    def _check(self, x: torch.Tensor) -> None:
        f = self.patch
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-1] % f or x.shape[-2] % f:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W) with H and W multiples of {f}, "
                             f"got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, VQOutput]:
        """Reconstruction ``(B, C, H, W)`` and the quantiser's output."""
        self._check(x)
        q = self.quantizer(self.encoder(x))
        return self.decoder(q.z_q), q

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction MSE + commitment (+ the codebook loss when the codebook is not EMA-updated)."""
        recon, q = self(x)
        return F.mse_loss(recon, x) + q.commitment + q.codebook_loss

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Token grid ``(B, h, w)`` long of images ``x`` (no codebook update)."""
        self._check(x)
        z = self.encoder(x)
        B, D, h, w = z.shape
        return nearest_codes(z.permute(0, 2, 3, 1).reshape(-1, D), self.quantizer.codebook).reshape(B, h, w)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` from a token grid ``(B, h, w)``."""
        return self.decoder(self.quantizer.lookup(indices))
