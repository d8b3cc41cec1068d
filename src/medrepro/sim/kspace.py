"""Multi-coil Cartesian k-space: coil sensitivities, undersampling masks, the SENSE operator and its solvers.

The shared piece of the MRI-reconstruction notebooks. Conventions follow the CMRxRecon release and fastMRI:

- arrays are ``(..., coils, ky, kx)`` with ``ky`` the phase-encoding direction (the one that is undersampled)
  and ``kx`` the read-out, as h5py reads CMRxRecon's ``cine_sax.mat`` (``(t, z, coils, ky, kx)``);
- the Fourier transform is *centred* and *orthonormal* (:func:`fft2c`, :func:`ifft2c`): the official
  ``loadFun.ifft2c`` multiplies ``ifft2`` by ``sqrt(ky · kx)``, fastMRI uses ``norm="ortho"``; both keep the
  image and k-space energies equal (Parseval), and both shift the centre of k-space to the middle;
- a mask selects whole ky lines (Cartesian 1-D undersampling); :func:`equispaced_mask` is the challenge's
  pattern (the official ``mySubsampling.m``: every R-th line from the first, plus the fully sampled central
  calibration (ACS) lines; 24 of them in the release), :func:`variable_density_mask` a random pattern denser
  near the centre;
- the SENSE forward operator is :math:`A x = M \\odot F(S x)` for an image ``x``, coil maps ``S`` and mask
  ``M``; its adjoint is :math:`A^H y = \\sum_c \\bar S_c F^{-1}(M \\odot y_c)`. :func:`dot_product_test`
  checks :math:`\\langle A x, y\\rangle = \\langle x, A^H y\\rangle` on random complex arrays.

Simulation (:func:`birdcage_maps`, :func:`simulate_multicoil`) — realistic: smooth coil sensitivities of a
ring of loops around the body (magnitude falling with distance, phase turning around each loop), a smooth
background phase of the complex image, complex Gaussian thermal noise added in k-space (so the fully sampled
reference, like the challenge's, is the root-sum-of-squares of *noisy* coil images).
Not modelled: noise correlation between coils (the release is coil-compressed, which whitens it only
approximately), B0 off-resonance, motion between the lines of one frame, read-out oversampling (the
simulated read-out covers the field of view exactly), partial Fourier, and the scanner's coil compression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

#: The number of fully sampled central ky lines (auto-calibration signal) in the CMRxRecon release.
ACS_LINES = 24


# --------------------------------------------------------------------------- Fourier transforms
def fft2c(x):
    """Centred orthonormal 2-D FFT over the last two axes (numpy array or torch tensor, complex)."""
    if isinstance(x, torch.Tensor):
        x = torch.fft.ifftshift(x, dim=(-2, -1))
        return torch.fft.fftshift(torch.fft.fft2(x, norm="ortho"), dim=(-2, -1))
    x = np.fft.ifftshift(x, axes=(-2, -1))
    return np.fft.fftshift(np.fft.fft2(x, norm="ortho"), axes=(-2, -1))


def ifft2c(k):
    """Centred orthonormal inverse 2-D FFT over the last two axes (numpy array or torch tensor, complex)."""
    if isinstance(k, torch.Tensor):
        k = torch.fft.ifftshift(k, dim=(-2, -1))
        return torch.fft.fftshift(torch.fft.ifft2(k, norm="ortho"), dim=(-2, -1))
    k = np.fft.ifftshift(k, axes=(-2, -1))
    return np.fft.fftshift(np.fft.ifft2(k, norm="ortho"), axes=(-2, -1))


def rss(coil_images, axis: int = -3):
    """Root-sum-of-squares coil combination, :math:`\\sqrt{\\sum_c |x_c|^2}` (the challenge's reference)."""
    if isinstance(coil_images, torch.Tensor):
        return torch.sqrt((coil_images.abs() ** 2).sum(dim=axis))
    return np.sqrt((np.abs(coil_images) ** 2).sum(axis=axis))


# --------------------------------------------------------------------------- masks
def acs_lines(ny: int, n_acs: int = ACS_LINES) -> np.ndarray:
    """Indices of the ``n_acs`` central ky lines (the centre of a centred FFT is index ``ny // 2``)."""
    if not 0 < n_acs <= ny:
        raise ValueError(f"need 0 < n_acs <= ny, got n_acs={n_acs}, ny={ny}")
    start = ny // 2 - n_acs // 2
    return np.arange(start, start + n_acs)


def equispaced_mask(ny: int, accel: int, n_acs: int = ACS_LINES) -> np.ndarray:
    """The CMRxRecon mask: every ``accel``-th ky line from the first, plus ``n_acs`` central lines.

    As the official ``mySubsampling.m``: ``mask(:, 1:R:end) = 1`` after the calibration block has been
    placed in the middle. Returns a boolean (ny,) line mask; the effective acceleration
    ``ny / mask.sum()`` is lower than ``accel`` because of the calibration lines.
    """
    if accel < 1:
        raise ValueError(f"acceleration must be >= 1, got {accel}")
    m = np.zeros(ny, bool)
    m[::accel] = True
    m[acs_lines(ny, n_acs)] = True
    return m


def variable_density_mask(ny: int, accel: float, n_acs: int = ACS_LINES, *, width: float = 0.3,
                          seed: int = 0) -> np.ndarray:
    """Random ky lines, denser near the centre: ``round(ny / accel)`` lines in all, the ACS block included.

    Lines outside the calibration block are drawn without replacement with probability proportional to
    a Gaussian of the distance to the centre (standard deviation ``width · ny``), a 1-D variable-density
    pattern as used by compressed sensing. Returns a boolean (ny,) line mask.
    """
    m = np.zeros(ny, bool)
    m[acs_lines(ny, n_acs)] = True
    n_total = max(int(round(ny / accel)), int(m.sum()))
    free = np.flatnonzero(~m)
    d = (free - ny // 2) / (width * ny)
    p = np.exp(-0.5 * d ** 2)
    rng = np.random.default_rng(seed)
    pick = rng.choice(free, size=min(n_total - int(m.sum()), len(free)), replace=False, p=p / p.sum())
    m[pick] = True
    return m


def line_mask_2d(lines: np.ndarray, nx: int) -> np.ndarray:
    """A (ny,) line mask as the (ny, nx) mask the challenge stores (the same for every read-out point)."""
    return np.repeat(np.asarray(lines, bool)[:, None], nx, axis=1)


# --------------------------------------------------------------------------- coil sensitivities
def birdcage_maps(n_coils: int, shape: tuple[int, int], *, radius: float = 1.5, rotation: float = 0.0,
                  normalise: bool = True) -> np.ndarray:
    """Smooth complex sensitivities of ``n_coils`` loops on a ring around the field of view.

    Each loop sits at ``radius`` (in half-widths of the image) at angle ``rotation + 2πc/C``; its
    sensitivity falls as 1/distance and its phase turns with the angle around the loop (a Biot–Savart-like
    field in the plane). With ``normalise`` the maps are divided by their root-sum-of-squares, so
    :math:`\\sum_c |S_c|^2 = 1` everywhere (the convention of ESPIRiT maps and of E2E-VarNet).
    Returns complex64 (C, ny, nx).
    """
    ny, nx = shape
    y, x = np.meshgrid(np.linspace(-1, 1, ny), np.linspace(-1, 1, nx), indexing="ij")
    ang = rotation + 2 * np.pi * np.arange(n_coils) / n_coils
    cy, cx = radius * np.sin(ang), radius * np.cos(ang)
    dy, dx = y[None] - cy[:, None, None], x[None] - cx[:, None, None]
    dist = np.sqrt(dy ** 2 + dx ** 2)
    phase = np.arctan2(dy, dx) - ang[:, None, None]
    maps = (1.0 / dist) * np.exp(1j * phase)
    if normalise:
        maps = maps / rss(maps, axis=0)[None]
    return maps.astype(np.complex64)


def smooth_phase(rng: np.random.Generator, n: int, shape: tuple[int, int], amplitude: float = 1.0) -> np.ndarray:
    """(n, ny, nx) smooth background phases (radians): random planes plus a random quadratic bowl."""
    ny, nx = shape
    y, x = np.meshgrid(np.linspace(-1, 1, ny), np.linspace(-1, 1, nx), indexing="ij")
    c = rng.normal(0, amplitude, size=(n, 5))
    return (c[:, 0, None, None] + c[:, 1, None, None] * y + c[:, 2, None, None] * x
            + 0.5 * c[:, 3, None, None] * (y ** 2 - x ** 2) + 0.5 * c[:, 4, None, None] * x * y)


@dataclass
class MultiCoil:
    """Simulated multi-coil data: complex64 ``kspace`` (N, C, ny, nx), ``maps`` (N, C, ny, nx), the noiseless
    complex image ``image`` (N, ny, nx) and the fully sampled reference ``target`` = RSS of the noisy coil
    images (N, ny, nx), as the challenge defines its ground truth."""

    kspace: np.ndarray
    maps: np.ndarray
    image: np.ndarray
    target: np.ndarray


def body_mask(shape: tuple[int, int], half_axes: tuple[float, float], edge: float = 0.03) -> np.ndarray:
    """A soft elliptical body (1 inside, 0 in the air), half-axes as fractions of the half-FOV (y, x)."""
    ny, nx = shape
    y, x = np.meshgrid(np.linspace(-1, 1, ny), np.linspace(-1, 1, nx), indexing="ij")
    r2 = (y / half_axes[0]) ** 2 + (x / half_axes[1]) ** 2
    return (1.0 / (1.0 + np.exp(np.clip((r2 - 1.0) / edge, -50, 50)))).astype(np.float32)


def simulate_multicoil(images: np.ndarray, n_coils: int = 10, *, noise: float = 0.02, phase: float = 0.6,
                       radius: tuple[float, float] = (1.3, 1.8),
                       body: tuple[tuple[float, float], tuple[float, float]] | None = ((0.78, 0.9), (0.88, 0.97)),
                       groups: np.ndarray | None = None, seed: int = 0) -> MultiCoil:
    """Turn magnitude images (N, ny, nx) into fully sampled multi-coil k-space, vectorised over images.

    Args:
        images: real non-negative images; each is scaled to a maximum of 1 first.
        n_coils: receive coils (the CMRxRecon release is compressed to 10).
        noise: standard deviation of the complex Gaussian noise per k-space sample, relative to the
            root-mean-square of the noiseless coil k-space (so the signal-to-noise ratio does not depend on
            the image size).
        phase: amplitude of the smooth background phase (radians).
        radius: range of the coil ring radius; one ring (radius and rotation) per group.
        body: ranges of the (y, x) half-axes of an elliptical body, as fractions of the half-FOV, drawn per
            group; outside it is air (signal 0, noise only). Real chest images have air at the edges of the
            phase-encoding FOV; without it, the circular low-pass of calibration-based coil maps mixes the
            top and bottom rows (different coils) and SENSE breaks down. ``None``: the image fills the FOV.
        groups: one id per image (e.g. the subject); images of a group share their coil geometry, as the
            slices and frames of one scan do. ``None``: one geometry per image.
        seed: the same seed gives the same data.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, ny, nx), got shape {images.shape}")
    rng = np.random.default_rng(seed)
    n, ny, nx = images.shape
    groups = np.arange(n) if groups is None else np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    geo = [birdcage_maps(n_coils, (ny, nx), radius=rng.uniform(*radius), rotation=rng.uniform(0, 2 * np.pi))
           for _ in uniq]
    maps = np.stack(geo)[inv]
    mag = images / np.maximum(images.reshape(n, -1).max(1), 1e-12)[:, None, None]
    if body is not None:
        ax = rng.uniform([body[0][0], body[1][0]], [body[0][1], body[1][1]], size=(len(uniq), 2))
        mag = mag * np.stack([body_mask((ny, nx), tuple(a)) for a in ax])[inv]
    img = (mag * np.exp(1j * smooth_phase(rng, n, (ny, nx), phase))).astype(np.complex64)
    k_clean = fft2c(maps * img[:, None])
    scale = np.sqrt(np.mean(np.abs(k_clean) ** 2, axis=(1, 2, 3), keepdims=True))
    sigma = noise * scale / np.sqrt(2)
    k = k_clean + sigma * (rng.standard_normal(k_clean.shape) + 1j * rng.standard_normal(k_clean.shape))
    k = k.astype(np.complex64)
    return MultiCoil(kspace=k, maps=maps, image=img, target=rss(ifft2c(k)).astype(np.float32))


# --------------------------------------------------------------------------- the SENSE operator (torch)
def sense_forward(x: torch.Tensor, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:math:`A x = M \\odot F(S x)`: image (B, ny, nx) → masked coil k-space (B, C, ny, nx)."""
    return mask * fft2c(maps * x[:, None])


def sense_adjoint(k: torch.Tensor, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:math:`A^H y = \\sum_c \\bar S_c F^{-1}(M \\odot y_c)`: coil k-space (B, C, ny, nx) → image (B, ny, nx)."""
    return (maps.conj() * ifft2c(mask * k)).sum(dim=1)


def dot_product_test(maps: torch.Tensor, mask: torch.Tensor, seed: int = 0) -> float:
    """Relative mismatch :math:`|\\langle Ax, y\\rangle - \\langle x, A^H y\\rangle| / (\\|Ax\\| \\|y\\|)`.

    Random complex ``x`` and ``y`` of the operator's shapes; a correct adjoint gives round-off (~1e-7 in
    complex64), a wrong one (a missing conjugate, a shifted FFT, a mask applied once) gives order 1.
    """
    g = torch.Generator().manual_seed(seed)
    b, c, ny, nx = maps.shape
    x = torch.complex(torch.randn(b, ny, nx, generator=g), torch.randn(b, ny, nx, generator=g)).to(maps)
    y = torch.complex(torch.randn(b, c, ny, nx, generator=g), torch.randn(b, c, ny, nx, generator=g)).to(maps)
    ax = sense_forward(x, maps, mask)
    lhs = torch.vdot(ax.flatten(), y.flatten())                              # ⟨Ax, y⟩
    rhs = torch.vdot(x.flatten(), sense_adjoint(y, maps, mask).flatten())    # ⟨x, Aᴴy⟩
    return float((lhs - rhs).abs() / (ax.norm() * y.norm()))


def sense_cg(k: torch.Tensor, maps: torch.Tensor, mask: torch.Tensor, *, lam: float = 0.0, iters: int = 20,
             x0: torch.Tensor | None = None,
             callback: Callable[[int, torch.Tensor], None] | None = None) -> tuple[torch.Tensor, list[float]]:
    """SENSE by conjugate gradients on the normal equations :math:`(A^H A + \\lambda I)\\,x = A^H y`.

    Batched: every image of the batch runs its own CG (its own step sizes). Returns the image (B, ny, nx)
    and the relative residual norm after each iteration (largest over the batch). ``lam`` is a Tikhonov
    weight in units of the data's energy per pixel: the code multiplies it by the mean of :math:`|A^H y|^2`.
    ``callback(i, x)``, if given, is called after iteration ``i`` (1-based) with the current image, so that one
    run yields the images of every shorter run (choosing the iteration count on a grid costs one run).
    """
    def normal(v: torch.Tensor) -> torch.Tensor:
        return sense_adjoint(sense_forward(v, maps, mask), maps, mask) + lam_b * v

    dims = (1, 2)
    rhs = sense_adjoint(k, maps, mask)
    lam_b = lam * (rhs.abs() ** 2).mean(dim=dims, keepdim=True).sqrt()
    x = torch.zeros_like(rhs) if x0 is None else x0.clone()
    r = rhs - normal(x)
    p = r.clone()
    rs = (r.abs() ** 2).sum(dim=dims, keepdim=True)
    r0 = rs.sqrt().clamp_min(1e-30)
    history = []
    for _ in range(iters):
        ap = normal(p)
        alpha = rs / torch.real((p.conj() * ap).sum(dim=dims, keepdim=True)).clamp_min(1e-30)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = (r.abs() ** 2).sum(dim=dims, keepdim=True)
        p = r + (rs_new / rs.clamp_min(1e-30)) * p
        rs = rs_new
        history.append(float((rs.sqrt() / r0).max()))
        if callback is not None:
            callback(len(history), x)
    return x, history


def acs_maps(k: torch.Tensor, n_acs: int = ACS_LINES, *, threshold: float = 0.05) -> torch.Tensor:
    """Coil sensitivities estimated from the calibration lines: low-pass coil images over their RSS.

    The ``n_acs`` central ky lines (always acquired) are kept with a Hann window, transformed to
    low-resolution coil images, and divided by their root-sum-of-squares (so :math:`\\sum_c |S_c|^2 = 1`);
    where the low-pass RSS is below ``threshold`` × its maximum (air) the maps are set to 0. This is the
    simplest calibration; ESPIRiT (the official demo's choice) fits a subspace instead.
    k: (B, C, ny, nx) complex; returns (B, C, ny, nx).
    """
    ny = k.shape[-2]
    idx = torch.as_tensor(acs_lines(ny, n_acs))
    win = torch.zeros(ny, dtype=k.real.dtype, device=k.device)
    win[idx] = torch.hann_window(n_acs + 2, periodic=False, dtype=k.real.dtype, device=k.device)[1:-1]
    low = ifft2c(k * win[:, None])
    r = rss(low, axis=1)
    maps = low / r[:, None].clamp_min(1e-12)
    support = r > threshold * r.amax(dim=(-2, -1), keepdim=True)
    return maps * support[:, None]
