"""Reconstruction metrics as the CMRxRecon challenge computes them (its ``Evaluation/Evaluation.py``,
taken from fastMRI), and a differentiable SSIM for training.

The challenge scores each 2-D magnitude image separately: the reconstruction and the reference are each
divided by their *own* maximum, then

- PSNR :math:`= 10 \\log_{10}(\\text{range}^2 / \\text{MSE})` with ``data_range`` = the reference's maximum (1 after
  the normalisation) — scikit-image's ``peak_signal_noise_ratio``;
- SSIM: scikit-image's ``structural_similarity`` with its defaults (7 × 7 uniform window, K1 = 0.01,
  K2 = 0.03, sample covariance) and ``data_range`` = the reference's maximum;
- NMSE :math:`= \\|\\text{gt} - \\text{pred}\\|^2 / \\|\\text{gt}\\|^2`.

:func:`ssim_torch` is the same SSIM written with convolutions (as fastMRI's ``SSIMLoss``) so that it can be
a training loss; a unit test checks it against scikit-image.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def _check(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt, pred = np.asarray(gt, np.float64), np.asarray(pred, np.float64)
    if gt.shape != pred.shape or gt.ndim != 2:
        raise ValueError(f"need two 2-D images of the same shape, got {gt.shape} and {pred.shape}")
    if not (np.isfinite(gt).all() and np.isfinite(pred).all()):
        raise ValueError("images contain NaN or inf")
    if gt.max() <= 0 or pred.max() <= 0:
        raise ValueError("images must have a positive maximum (magnitude images)")
    return gt, pred


def nmse(gt: np.ndarray, pred: np.ndarray) -> float:
    """Normalised mean squared error :math:`\\|gt - pred\\|^2 / \\|gt\\|^2` (no normalisation by the maximum)."""
    gt, pred = np.asarray(gt, np.float64), np.asarray(pred, np.float64)
    return float(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2)


def challenge_metrics(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """PSNR (dB), SSIM and NMSE of one 2-D magnitude image, as the challenge's ``calmetric``.

    Both images are divided by their own maximum first; PSNR and SSIM then use ``data_range`` = 1.
    """
    gt, pred = _check(gt, pred)
    g, p = gt / gt.max(), pred / pred.max()
    return {"psnr": float(peak_signal_noise_ratio(g, p, data_range=g.max())),
            "ssim": float(structural_similarity(g, p, data_range=g.max())),
            "nmse": nmse(g, p)}


def challenge_metrics_batch(gt, pred) -> dict[str, np.ndarray]:
    """:func:`challenge_metrics` for each pair of images of two (N, H, W) stacks or two lists of 2-D images
    (the sizes may differ between pairs): arrays of N values per metric."""
    if len(gt) != len(pred):
        raise ValueError(f"{len(gt)} reference images but {len(pred)} reconstructions")
    rows = [challenge_metrics(g, p) for g, p in zip(gt, pred)]
    return {k: np.array([r[k] for r in rows]) for k in ("psnr", "ssim", "nmse")}


def ssim_torch(pred: torch.Tensor, gt: torch.Tensor, data_range: torch.Tensor | float, win_size: int = 7,
               k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean SSIM per image of (B, H, W) tensors, equal to ``skimage.metrics.structural_similarity`` with its
    defaults (uniform window, sample covariance, the border of ``win_size // 2`` pixels left out).

    ``data_range`` is a number or a (B,) tensor. Returns a (B,) tensor; differentiable.
    """
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f"need two (B, H, W) tensors of the same shape, got {tuple(pred.shape)}, {tuple(gt.shape)}")
    x, y = pred[:, None], gt[:, None]
    w = torch.ones(1, 1, win_size, win_size, dtype=x.dtype, device=x.device) / win_size ** 2
    n = win_size ** 2
    cov_norm = n / (n - 1)                                    # sample covariance, as skimage's default
    ux, uy = F.conv2d(x, w), F.conv2d(y, w)                   # local means (valid: the border is cropped)
    uxx, uyy, uxy = F.conv2d(x * x, w), F.conv2d(y * y, w), F.conv2d(x * y, w)
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    dr = torch.as_tensor(data_range, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    c1, c2 = (k1 * dr) ** 2, (k2 * dr) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def _own_max(x: torch.Tensor) -> torch.Tensor:
    return x / x.amax(dim=(1, 2), keepdim=True)


def challenge_psnr_torch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """The challenge's PSNR (dB) per image of (B, H, W) magnitude tensors — each image over its own maximum, data
    range 1, as :func:`challenge_metrics` — batched in torch (for tuning grids). Returns a (B,) tensor."""
    return 10 * torch.log10(1.0 / ((_own_max(pred) - _own_max(gt)) ** 2).mean(dim=(1, 2)))


def challenge_ssim_torch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """The challenge's SSIM per image of (B, H, W) magnitude tensors — each image over its own maximum, then
    :func:`ssim_torch` with data range 1, as :func:`challenge_metrics`. Returns a (B,) tensor."""
    return ssim_torch(_own_max(pred), _own_max(gt), 1.0)
