"""Denoising diffusion pieces written out in PyTorch: schedule, forward noising, the lesion-masked noise loss,
classifier-free guidance and a RePaint sampler that keeps a known background.

Written for lesion inpainting (LeFusion, Zhang et al., ICLR 2025, official code ``M3DV/LeFusion``,
``LeFusion/ddpm/diffusion.py``) and meant for any diffusion notebook that needs a DDPM without MONAI:

- :func:`cosine_beta_schedule` and :class:`Schedule` — Nichol & Dhariwal's cosine schedule and the DDPM posterior
  coefficients (Ho et al. 2020, Eq. 6–7), as ``GaussianDiffusion_Nolatent.__init__`` registers them;
- :func:`q_sample` — :math:`x_t = \\sqrt{\\bar\\alpha_t}x_0 + \\sqrt{1-\\bar\\alpha_t}\\varepsilon`;
- :func:`masked_noise_loss` — LeFusion's ``p_losses``: true and predicted noise both multiplied by the lesion mask
  before the L1 (or L2) mean, so the background contributes nothing; a mask of ones gives the plain DDPM loss;
- :func:`guided_noise` — classifier-free guidance, :math:`\\hat\\varepsilon_\\varnothing + w(\\hat\\varepsilon_c -
  \\hat\\varepsilon_\\varnothing)` (``forward_with_cond_scale``);
- :func:`p_sample` and :func:`repaint_sample` — ancestral DDPM steps; RePaint (Lugmayr et al., CVPR 2022) replaces
  the known region after every step by the original noised to the same level, so the final sample's known region
  *is* the original. With a known region of zeros it is plain DDPM sampling on the same noises.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["cosine_beta_schedule", "Schedule", "q_sample", "masked_noise_loss", "guided_noise", "p_sample",
           "repaint_sample", "ddpm_sample", "tweedie_variance", "GaussianNoiseModel", "joint_posterior_sample",
           "train_noise_model"]

NoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cosine_beta_schedule(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """β_1…β_T of the cosine schedule: ᾱ(t) = cos²(((t/T)+s)/(1+s)·π/2) / ᾱ(0), β_t = 1 − ᾱ_t/ᾱ_{t−1},
    clipped to 0.9999 (float64, as in improved DDPM and LeFusion)."""
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    x = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64)
    ab = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    ab = ab / ab[0]
    return torch.clip(1 - ab[1:] / ab[:-1], 0, 0.9999)


@dataclass(frozen=True)
class Schedule:
    """A DDPM noise schedule with the quantities sampling needs (all float32, index t = 0 … T−1)."""

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor

    @classmethod
    def cosine(cls, timesteps: int) -> "Schedule":
        """The cosine schedule with T = ``timesteps`` (LeFusion uses T = 300)."""
        return cls.from_betas(cosine_beta_schedule(timesteps))

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> "Schedule":
        b = betas.to(torch.float64)
        ab = torch.cumprod(1 - b, 0)
        ab_prev = F.pad(ab[:-1], (1, 0), value=1.0)
        post_var = b * (1 - ab_prev) / (1 - ab)
        c1 = b * ab_prev.sqrt() / (1 - ab)                         # coefficient of x̂0 in μ̃(x_t, x̂0)
        c2 = (1 - ab_prev) * (1 - b).sqrt() / (1 - ab)             # coefficient of x_t
        f = lambda v: v.to(torch.float32)  # noqa: E731
        return cls(f(b), f(ab), f(ab_prev), f(post_var), f(c1), f(c2))

    @property
    def T(self) -> int:
        return len(self.betas)


def _at(v: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """v[t] shaped to broadcast over a batch like x."""
    return v.to(x.device)[t].reshape(-1, *([1] * (x.ndim - 1)))


def q_sample(sched: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Forward process in one go: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε (``t`` per batch item)."""
    ab = _at(sched.alphas_cumprod, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def masked_noise_loss(eps_pred: torch.Tensor, eps: torch.Tensor, mask: torch.Tensor | None = None,
                      kind: str = "l1") -> torch.Tensor:
    """LeFusion's lesion-focused loss: ``loss(mask·ε, mask·ε̂)``, the mean over *all* elements.

    As in the official ``p_losses``, both noises are multiplied by the mask and the mean runs over every pixel, so
    background pixels add zeros (the loss scale shrinks with the lesion's area). ``mask=None`` is the whole-image
    DDPM loss. ``kind`` is ``"l1"`` (LeFusion's default) or ``"l2"``.
    """
    if mask is not None:
        if mask.shape[-2:] != eps.shape[-2:]:
            raise ValueError(f"mask shape {tuple(mask.shape)} does not match the noise {tuple(eps.shape)}")
        eps, eps_pred = eps * mask, eps_pred * mask
    if kind == "l1":
        return F.l1_loss(eps_pred, eps)
    if kind == "l2":
        return F.mse_loss(eps_pred, eps)
    raise ValueError(f"kind must be 'l1' or 'l2', got {kind!r}")


def guided_noise(model: Callable[..., torch.Tensor], x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None,
                 scale: float = 1.0) -> torch.Tensor:
    """Classifier-free guidance: ε̂_∅ + w·(ε̂_c − ε̂_∅); ``model(x, t, cond)`` with ``cond=None`` is unconditional.

    ``scale`` w = 1 is the conditional model alone (one network call); w = 0 the unconditional one.
    Both branches run as one batch of 2N.
    """
    if cond is None or scale == 1.0:
        return model(x, t, cond)
    if scale == 0.0:
        return model(x, t, None)
    n = len(x)
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, cond]),
                 drop=torch.arange(2 * n, device=x.device) >= n)
    e_c, e_u = both[:n], both[n:]
    return e_u + scale * (e_c - e_u)


def p_sample(sched: Schedule, eps_hat: torch.Tensor, x_t: torch.Tensor, t: int, noise: torch.Tensor | None,
             clip: float | None = 1.0) -> torch.Tensor:
    """One ancestral step x_t → x_{t−1}: x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t (clipped to ±``clip``), then
    μ̃ = c1·x̂0 + c2·x_t plus σ_t·z with σ_t² the posterior variance (no noise at t = 0)."""
    tt = torch.full((len(x_t),), t, dtype=torch.long, device=x_t.device)
    ab = _at(sched.alphas_cumprod, tt, x_t)
    x0_hat = (x_t - (1 - ab).sqrt() * eps_hat) / ab.sqrt()
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
    mean = _at(sched.posterior_mean_coef1, tt, x_t) * x0_hat + _at(sched.posterior_mean_coef2, tt, x_t) * x_t
    if t == 0 or noise is None:
        return mean
    return mean + _at(sched.posterior_variance, tt, x_t).sqrt() * noise


@torch.inference_mode()
def repaint_sample(model: Callable[..., torch.Tensor], sched: Schedule, known: torch.Tensor, region: torch.Tensor,
                   cond: torch.Tensor | None = None, *, scale: float = 1.0, generator: torch.Generator | None = None,
                   clip: float | None = 1.0, return_path: bool = False):
    """Inpaint ``region`` (1 = generate, 0 = keep) of ``known`` by RePaint without resampling jumps.

    Start from x_T ~ N(0, I); at every step t = T−1 … 0 the model denoises the whole image to x_{t−1}, then the
    kept part is replaced by the original noised to level t−1:

        x_{t−1} = region · x_{t−1}^gen + (1 − region) · (√ᾱ_{t−1}·x0 + √(1−ᾱ_{t−1})·ε′),

    with ᾱ_{−1} = 1 at the last step, so the returned sample's kept part equals ``known`` exactly. LeFusion's
    ``p_sample_repaint`` makes the same replacement *before* each model call at level t (its last output is the
    model's, so there the background is kept only up to the last step's denoising).
    All noises come from ``generator`` in a fixed order (start, then per step: the step noise, the known part's
    noise), so two calls with equal generators draw equal noises. Returns the sample (and the list of x_t when
    ``return_path``).
    """
    if region.shape[-2:] != known.shape[-2:]:
        raise ValueError(f"region {tuple(region.shape)} and known image {tuple(known.shape)} differ in size")
    region = region.to(known.dtype)
    x = torch.randn(known.shape, generator=generator, dtype=known.dtype).to(known.device)
    path = [x]
    for t in range(sched.T - 1, -1, -1):
        tt = torch.full((len(x),), t, dtype=torch.long, device=x.device)
        eps_hat = guided_noise(model, x, tt, cond, scale)
        z = torch.randn(known.shape, generator=generator, dtype=known.dtype).to(known.device)
        x_gen = p_sample(sched, eps_hat, x, t, z, clip=clip)
        e2 = torch.randn(known.shape, generator=generator, dtype=known.dtype).to(known.device)
        if t > 0:
            ab_prev = sched.alphas_cumprod[t - 1].to(known.device)
            x_known = ab_prev.sqrt() * known + (1 - ab_prev).sqrt() * e2
        else:
            x_known = known
        x = region * x_gen + (1 - region) * x_known
        if return_path:
            path.append(x)
    return (x, path) if return_path else x


@torch.inference_mode()
def ddpm_sample(model: Callable[..., torch.Tensor], sched: Schedule, shape: tuple[int, ...],
                cond: torch.Tensor | None = None, *, scale: float = 1.0, generator: torch.Generator | None = None,
                clip: float | None = 1.0) -> torch.Tensor:
    """Plain ancestral DDPM sampling, drawing its noises in the same order as :func:`repaint_sample` (so that
    RePaint with a region of ones returns the same sample)."""
    x = torch.randn(shape, generator=generator)
    for t in range(sched.T - 1, -1, -1):
        tt = torch.full((len(x),), t, dtype=torch.long)
        eps_hat = guided_noise(model, x, tt, cond, scale)
        z = torch.randn(shape, generator=generator)
        x = p_sample(sched, eps_hat, x, t, z, clip=clip)
        torch.randn(shape, generator=generator)              # the known part's noise in repaint_sample, unused here
    return x


# --------------------------------------------------------------------------------------------- two priors, one image
def tweedie_variance(sched: Schedule, t: int, var: float | torch.Tensor) -> torch.Tensor | float:
    """Var(x0 | x_t) for a Gaussian prior of (per-pixel) variance ``var``:
    r_t² = v(1 − ᾱ_t) / (ᾱ_t v + 1 − ᾱ_t). Exact for a Gaussian prior; the Gaussian approximation of
    p(x0 | x_t) that pseudo-inverse guidance (ΠGDM, Song et al., ICLR 2023) makes for any other."""
    ab = sched.alphas_cumprod[t]
    return var * (1 - ab) / (ab * var + 1 - ab)


class GaussianNoiseModel:
    """The exact noise predictor of a Gaussian prior N(mean, var) (per pixel, independent pixels).

    Under x_t = √ᾱ x0 + √(1−ᾱ) ε the posterior mean of the noise is
    E[ε | x_t] = √(1−ᾱ)(x_t − √ᾱ μ) / (ᾱ v + 1 − ᾱ). Called like a network, ``model(x_t, t, cond=None)``: a
    stand-in prior for tests (where the posterior is known in closed form) and for the ablation that replaces a
    learned prior by a Gaussian with the same mean and variance.
    """

    def __init__(self, sched: Schedule, mean: float | torch.Tensor = 0.0, var: float | torch.Tensor = 1.0):
        self.sched, self.mean, self.var = sched, torch.as_tensor(mean, dtype=torch.float32), \
            torch.as_tensor(var, dtype=torch.float32)
        if (self.var <= 0).any():
            raise ValueError("a Gaussian prior needs a positive variance")

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond=None, drop=None) -> torch.Tensor:
        ab = _at(self.sched.alphas_cumprod, t, x)
        m, v = self.mean.to(x.device), self.var.to(x.device)
        return (1 - ab).sqrt() * (x - ab.sqrt() * m) / (ab * v + 1 - ab)


def _x0_hat(sched: Schedule, eps_hat: torch.Tensor, x_t: torch.Tensor, t: int) -> torch.Tensor:
    ab = sched.alphas_cumprod[t].to(x_t.device)
    return (x_t - (1 - ab).sqrt() * eps_hat) / ab.sqrt()


def _clip(x: torch.Tensor, clip: float | tuple[float, float] | None) -> torch.Tensor:
    if clip is None:
        return x
    lo, hi = (-clip, clip) if isinstance(clip, (int, float)) else clip
    return x.clamp(lo, hi)


@torch.inference_mode()
def joint_posterior_sample(model_x: Callable[..., torch.Tensor], model_h: Callable[..., torch.Tensor],
                           sched: Schedule, y: torch.Tensor, *, var_x: float | torch.Tensor = 1.0,
                           var_h: float | torch.Tensor = 1.0, noise_var: float = 0.0, weight: float = 1.0,
                           generator: torch.Generator | None = None,
                           clip_x: float | tuple[float, float] | None = 1.0,
                           clip_h: float | tuple[float, float] | None = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample (x, h) from p(x) p(h) N(y; x + h, σ²I) with two separately trained diffusion priors.

    The joint reverse process of Stevens et al. ("Dehazing ultrasound using diffusion models", IEEE TMI 2024; the
    sampler comes from their "Removing structured noise using diffusion models", arXiv 2302.05290): two chains run side by side, x_t under the tissue prior ε_x and h_t under the
    haze prior ε_h, and at every step a data-consistency update couples them through y = x + h + n. Here the
    update acts on the two denoised estimates (Tweedie's formula) with the Gaussian approximation
    p(x0 | x_t) ≈ N(x̂0, r_x²), p(h0 | h_t) ≈ N(ĥ0, r_h²) (:func:`tweedie_variance` of ``var_x`` / ``var_h``):

        x̂0 ← x̂0 + w·r_x² / (r_x² + r_h² + σ²) · (y − x̂0 − ĥ0),   ĥ0 ← ĥ0 + w·r_h² / (…) · (y − x̂0 − ĥ0),

    then each chain takes its ancestral DDPM step x_{t−1} = c1·x̂0 + c2·x_t + σ_t z (:func:`p_sample`'s
    coefficients). At t = 0 the corrected estimates are returned. For Gaussian priors (``GaussianNoiseModel``)
    with these variances, ``weight`` 1 gives the exact conditional mean at every step, so the mean of the samples
    is the Wiener / posterior mean (a unit test checks it); a learned prior makes it the ΠGDM-style approximation
    without the Jacobian of the network. A "single prior" sampler that treats the haze as Gaussian noise is this
    function with ``model_h`` a :class:`GaussianNoiseModel`.

    The estimates are clipped to ``clip_x`` / ``clip_h`` (± a number, or (low, high)) before the update.
    Noises come from ``generator`` in a fixed order (x start, h start, then per step the x noise and the h noise).
    Returns (x̂, ĥ), the same shape as ``y``.
    """
    shape = tuple(y.shape)
    g = lambda: torch.randn(shape, generator=generator, dtype=y.dtype).to(y.device)  # noqa: E731
    x, h = g(), g()
    for t in range(sched.T - 1, -1, -1):
        tt = torch.full((shape[0],), t, dtype=torch.long, device=y.device)
        x0 = _x0_hat(sched, model_x(x, tt, None), x, t)
        h0 = _x0_hat(sched, model_h(h, tt, None), h, t)
        x0, h0 = _clip(x0, clip_x), _clip(h0, clip_h)
        rx, rh = tweedie_variance(sched, t, var_x), tweedie_variance(sched, t, var_h)
        resid = (y - x0 - h0) / (rx + rh + noise_var)
        x0, h0 = x0 + weight * rx * resid, h0 + weight * rh * resid          # data consistency: y ≈ x̂0 + ĥ0
        zx, zh = g(), g()
        if t == 0:
            return x0, h0
        c1, c2 = sched.posterior_mean_coef1[t], sched.posterior_mean_coef2[t]
        s = sched.posterior_variance[t].sqrt()
        x = c1 * x0 + c2 * x + s * zx
        h = c1 * h0 + c2 * h + s * zh
    raise AssertionError("unreachable")


def train_noise_model(net: torch.nn.Module, sched: Schedule, data: torch.Tensor | Callable[[torch.Generator, int], torch.Tensor],
                      *, steps: int, batch: int = 64, lr: float = 3e-3, seed: int = 0, monitor: torch.Tensor | None = None,
                      eval_every: int = 50, device: torch.device | str | None = None) -> list[float]:
    """Train an unconditional noise predictor ε_θ(x_t, t) with the DDPM loss ‖ε − ε_θ(√ᾱ x0 + √(1−ᾱ) ε, t)‖².

    ``data`` is a tensor of training images (sampled with replacement) or a function ``(generator, n) -> images``
    that draws a fresh batch. Adam with a cosine-decayed rate; every ``eval_every`` steps the loss on ``monitor``
    (fixed images, fixed t and ε) is logged. Random numbers are drawn on the CPU (the same run on any
    ``device``). Returns that monitor curve; ``net`` is left in eval mode.
    """
    dev = torch.device(device) if device is not None else next(net.parameters()).device
    net.to(dev)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0))))
    draw = data if callable(data) else (lambda gen, n: data[torch.randint(0, len(data), (n,), generator=gen)])
    if monitor is not None:
        gm = torch.Generator().manual_seed(seed + 1)
        t_m = torch.randint(0, sched.T, (len(monitor),), generator=gm)
        e_m = torch.randn(monitor.shape, generator=gm)
        x_m = q_sample(sched, monitor.cpu(), t_m, e_m).to(dev)
        t_m, e_m = t_m.to(dev), e_m.to(dev)
    curve: list[float] = []
    net.train()
    for step in range(1, steps + 1):
        x0 = draw(g, batch).cpu()
        t = torch.randint(0, sched.T, (batch,), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        x_t, t, eps = q_sample(sched, x0, t, eps).to(dev), t.to(dev), eps.to(dev)
        loss = F.mse_loss(net(x_t, t), eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
        if monitor is not None and (step % eval_every == 0 or step == steps):
            net.eval()
            with torch.inference_mode():
                curve.append(float(F.mse_loss(net(x_m, t_m), e_m)))
            net.train()
    net.eval()
    return curve
