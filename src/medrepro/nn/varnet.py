"""An end-to-end variational network (E2E-VarNet; Sriram et al., MICCAI 2020) for multi-coil Cartesian MRI.

The method class that won both CMRxRecon 2023 tasks. Written after the structure of fastMRI's
``fastmri/models/varnet.py`` (MIT licence), in this project's own code and with its U-Net:

- :class:`NormUnet` — a U-Net on the real and imaginary parts of a complex image, normalised by their mean
  and standard deviation before and un-normalised after;
- :class:`SensitivityModel` — coil sensitivities estimated *inside* the network: the fully sampled central
  (ACS) lines of each coil are transformed to low-resolution coil images, refined by a :class:`NormUnet`
  (coils as a batch) and divided by their root-sum-of-squares;
- :class:`VarNetBlock` — one cascade in k-space,
  :math:`k^{t+1} = k^t - \\eta^t M \\odot (k^t - \\tilde k) - F\\,\\mathcal{E}\\big(\\mathrm{CNN}(\\mathcal{R}(F^{-1} k^t))\\big)`,
  with the learned data-consistency weight :math:`\\eta^t`, the coil reduce
  :math:`\\mathcal{R}(x) = \\sum_c \\bar S_c x_c` and expand :math:`\\mathcal{E}(x) = (S_c x)_c`;
- :class:`VarNet` — the sensitivity model, ``cascades`` blocks, and the root-sum-of-squares of the final
  coil images as output.

Tensors are complex: k-space (B, C, ny, nx), masks broadcastable to it (e.g. (B, 1, ny, 1)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..sim.kspace import ACS_LINES, acs_lines, fft2c, ifft2c, rss
from .unet import UNet2d


class NormUnet(nn.Module):
    """U-Net on a complex image (B, H, W): real/imag as 2 channels, normalised per image, padded to fit."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.unet = UNet2d(2, 2, channels, norm="instance")
        self.divisor = 2 ** (len(channels) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        z = torch.stack([x.real, x.imag], dim=1)                       # (B, 2, H, W)
        mean = z.mean(dim=(1, 2, 3), keepdim=True)
        std = z.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)
        z = (z - mean) / std                                            # the network sees unit-scale inputs
        ph, pw = (-h) % self.divisor, (-w) % self.divisor
        z = F.pad(z, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        z = self.unet(z)[..., ph // 2: ph // 2 + h, pw // 2: pw // 2 + w]
        z = z * std + mean
        return torch.complex(z[:, 0], z[:, 1])


class SensitivityModel(nn.Module):
    """Coil maps from the ACS lines: low-pass coil images → :class:`NormUnet` per coil → divide by the RSS."""

    def __init__(self, channels: tuple[int, ...] = (8, 16), n_acs: int = ACS_LINES) -> None:
        super().__init__()
        self.norm_unet = NormUnet(channels)
        self.n_acs = n_acs

    def forward(self, k: torch.Tensor) -> torch.Tensor:
        b, c, ny, nx = k.shape
        keep = torch.zeros(ny, 1, dtype=k.real.dtype, device=k.device)
        keep[torch.as_tensor(acs_lines(ny, self.n_acs))] = 1.0
        low = ifft2c(k * keep)                                         # low-resolution coil images
        maps = self.norm_unet(low.reshape(b * c, ny, nx)).reshape(b, c, ny, nx)
        return maps / rss(maps, axis=1)[:, None].clamp_min(1e-12)     # Σ_c |S_c|² = 1


class VarNetBlock(nn.Module):
    """One cascade: soft data consistency in k-space minus a CNN refinement of the coil-combined image."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.model = NormUnet(channels)
        self.dc_weight = nn.Parameter(torch.ones(1))                   # η^t, learned

    def forward(self, k: torch.Tensor, k0: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        reduced = (maps.conj() * ifft2c(k)).sum(dim=1)                 # R(F⁻¹ kᵗ) = Σ_c S̄_c F⁻¹ kᵗ_c
        refined = fft2c(maps * self.model(reduced)[:, None])           # F E(CNN(·))
        soft_dc = mask * (k - k0) * self.dc_weight                     # η M ⊙ (kᵗ − k̃)
        return k - soft_dc - refined


class VarNet(nn.Module):
    """E2E-VarNet: estimated sensitivities, ``cascades`` unrolled blocks, RSS output (B, ny, nx).

    ``forward(k0, mask)`` takes the zero-filled undersampled k-space (B, C, ny, nx) and its mask.
    ``maps`` may be given to skip the sensitivity network (an ablation).
    """

    def __init__(self, cascades: int = 4, channels: tuple[int, ...] = (16, 32, 64),
                 sens_channels: tuple[int, ...] = (8, 16), n_acs: int = ACS_LINES) -> None:
        super().__init__()
        self.sens = SensitivityModel(sens_channels, n_acs)
        self.cascades = nn.ModuleList(VarNetBlock(channels) for _ in range(cascades))

    def forward(self, k0: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        maps = self.sens(k0) if maps is None else maps
        k = k0.clone()
        for block in self.cascades:
            k = block(k, k0, mask, maps)
        return rss(ifft2c(k), axis=1)
