"""Ultrasound dehazing with two diffusion priors (Stevens et al., "Dehazing ultrasound using diffusion models",
IEEE TMI 2024): the data preparation, prior training and checkpoint of ``notebooks/echo/us-dehazing-diffusion``.

Shared by the notebook (full mode trains the priors with :func:`train_prior`) and by
``tools/train_us_dehazing_priors.py``, which trains the tiny smoke-mode priors from simulated data and writes
:data:`CHECKPOINT` (package data, < 1 MB). The miniature works on envelope (linear amplitude) images, where haze is
modelled as additive, ``y = x + h + n``; grey levels are converted with the simulator's log compression
(:func:`medrepro.sim.echo.display_to_envelope`). Images are the top 24 × 24 pixels of a 32 × 32 apical view
(rows 0–23, columns 4–27: the near field, the left ventricle and the apex).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import diffusion as dm
from .sim.echo import display_to_envelope, simulate_haze

__all__ = ["CONFIG", "CHECKPOINT", "Priors", "frames_to_envelope", "sector_of", "haze_fields", "train_prior",
           "make_priors", "save_priors", "load_priors"]

#: Settings of the priors and of the haze; the checkpoint stores the values it was trained with.
CONFIG: dict[str, Any] = dict(
    image=32, crop=(0, 24, 4, 28), dynamic_range_db=50.0,
    timesteps=30, channels=(8, 16), batch=64, lr=3e-3, steps=2000,
    offset_x=0.5, offset_h=0.5,                       # model variables: x − 0.5 and h − 0.5 (envelope units)
    haze=dict(strength=(0.1, 0.8), depth=(0.3, 1.0), bands=(0.0, 0.4), band_width=0.04, modulation=0.3,
              speckle=0.8),
    p_clear=0.2,                                      # fraction of haze-free fields in the haze prior's data
    noise_sd=0.02,                                    # white noise of the observation (envelope units)
    sim=dict(n_patients=300, seed=1000, fps=12),      # the simulated CAMUS-format data of the smoke checkpoint
)
CHECKPOINT = "us_dehazing_priors_v1.pt"


def frames_to_envelope(frames: np.ndarray, config: dict[str, Any] = CONFIG) -> np.ndarray:
    """Grey-level frames (N, H, W) in [0, 1] → envelope crops (N, 24, 24): resized to 32 × 32 by area averaging
    when needed (real CAMUS frames), cropped, and decompressed with the assumed dynamic range."""
    x = np.asarray(frames, np.float32)
    if x.ndim != 3:
        raise ValueError(f"frames must be (N, H, W), got shape {x.shape}")
    s = config["image"]
    if x.shape[1:] != (s, s):
        x = F.interpolate(torch.from_numpy(x)[:, None], (s, s), mode="area")[:, 0].numpy()
    r0, r1, c0, c1 = config["crop"]
    return display_to_envelope(x[:, r0:r1, c0:c1], config["dynamic_range_db"])


def sector_of(envelopes: np.ndarray) -> np.ndarray:
    """The imaged sector of a stack of crops: pixels that are non-zero in at least half of the images."""
    return (np.asarray(envelopes) > 0).mean(0) >= 0.5


def haze_fields(n: int, seed: int, sector: np.ndarray, *, p_clear: float = 0.0,
                config: dict[str, Any] = CONFIG) -> np.ndarray:
    """``n`` haze fields (envelope units) on the crop, zero outside ``sector``: :func:`simulate_haze` on the
    32 × 32 grid with ``config["haze"]``, then cropped."""
    r0, r1, c0, c1 = config["crop"]
    h = simulate_haze(n, config["image"], seed=seed, p_clear=p_clear, **config["haze"])[:, r0:r1, c0:c1]
    return (h * np.asarray(sector, bool)).astype(np.float32)


@dataclass
class Priors:
    """The two trained priors with what the sampler needs to use them."""

    net_x: torch.nn.Module
    net_h: torch.nn.Module
    sched: dm.Schedule
    var_x: torch.Tensor            # (1, 1, 24, 24) per-pixel variance of the tissue images (model units)
    var_h: torch.Tensor            # the same for the haze fields
    haze_mean: torch.Tensor        # (1, 1, 24, 24) per-pixel mean haze (envelope units)
    haze_power: float              # mean square of the haze (envelope units): the white-noise model's variance
    curve_x: list[float]
    curve_h: list[float]
    sector: np.ndarray
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def _net(config: dict[str, Any]) -> torch.nn.Module:
    from .nn.denoiser import ConditionalDenoiser

    return ConditionalDenoiser(tuple(config["channels"]), cond_dim=0)


def train_prior(kind: str, tissue: np.ndarray | None, sector: np.ndarray, *, steps: int, seed: int,
                config: dict[str, Any] = CONFIG, n_monitor: int = 64,
                device: str | torch.device = "cpu") -> tuple[dict, list[float]]:
    """Train one prior: ``kind`` "tissue" on the envelope crops ``tissue`` (N, 24, 24), or "haze" on fresh
    :func:`haze_fields` every step (``config["p_clear"]`` of them clear). The monitor is a fixed set of held-out
    images (the first ``n_monitor`` tissue crops, which are not trained on, or haze fields of another seed).
    Returns (state_dict, monitor curve); safe to run in a :func:`medrepro.train.run_arms` worker."""
    sched = dm.Schedule.cosine(config["timesteps"])
    torch.manual_seed(seed)
    net = _net(config)
    if kind == "tissue":
        x = torch.from_numpy(np.asarray(tissue, np.float32) - config["offset_x"])[:, None]
        n_mon = min(n_monitor, len(x) // 4)
        monitor, data = x[:n_mon], x[n_mon:]
    elif kind == "haze":
        off = config["offset_h"]

        def data(g: torch.Generator, n: int) -> torch.Tensor:
            s = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=g))
            return torch.from_numpy(haze_fields(n, s, sector, p_clear=config["p_clear"], config=config) - off)[:, None]

        monitor = torch.from_numpy(haze_fields(n_monitor, seed + 7919, sector, p_clear=config["p_clear"],
                                               config=config) - off)[:, None]
    else:
        raise ValueError(f"kind must be 'tissue' or 'haze', got {kind!r}")
    curve = dm.train_noise_model(net, sched, data, steps=steps, batch=config["batch"], lr=config["lr"], seed=seed,
                                 monitor=monitor, eval_every=max(1, steps // 40), device=device)
    return {k: v.cpu() for k, v in net.state_dict().items()}, curve


def make_priors(state_x: dict, state_h: dict, curve_x: list[float], curve_h: list[float], tissue: np.ndarray,
                sector: np.ndarray, *, config: dict[str, Any] = CONFIG, meta: dict | None = None,
                n_haze_stats: int = 4000) -> Priors:
    """Assemble :class:`Priors` from trained weights; the variance maps come from ``tissue`` and from
    ``n_haze_stats`` haze fields of the prior's distribution."""
    net_x, net_h = _net(config), _net(config)
    net_x.load_state_dict(state_x)
    net_h.load_state_dict(state_h)
    net_x.eval(); net_h.eval()
    h = haze_fields(n_haze_stats, 271828, sector, p_clear=config["p_clear"], config=config)
    t = np.asarray(tissue, np.float32)
    var_x = torch.from_numpy(t.var(0)).clamp_min(1e-3)[None, None]
    var_h = torch.from_numpy(h.var(0)).clamp_min(1e-4)[None, None]
    return Priors(net_x, net_h, dm.Schedule.cosine(config["timesteps"]), var_x, var_h,
                  torch.from_numpy(h.mean(0))[None, None], float((h ** 2).mean()), list(curve_x), list(curve_h),
                  np.asarray(sector, bool), dict(config), dict(meta or {}))


def save_priors(p: Priors, path: str | Path) -> None:
    """Write the priors (float32 weights, variance maps, curves, config) with ``torch.save``."""
    torch.save(dict(state_x=p.net_x.state_dict(), state_h=p.net_h.state_dict(), var_x=p.var_x, var_h=p.var_h,
                    haze_mean=p.haze_mean, haze_power=p.haze_power, curve_x=p.curve_x, curve_h=p.curve_h,
                    sector=torch.from_numpy(p.sector), config=p.config, meta=p.meta), str(path))


def load_priors(path: str | Path | None = None) -> Priors:
    """Read priors written by :func:`save_priors`; default: the smoke-mode checkpoint shipped with the package."""
    if path is None:
        ref = resources.files("medrepro") / "resources" / CHECKPOINT
        if not ref.is_file():
            raise FileNotFoundError(f"the smoke-mode priors {CHECKPOINT} are missing from medrepro/resources; "
                                    "train them with: python tools/train_us_dehazing_priors.py")
        path = str(ref)
    d = torch.load(str(path), map_location="cpu", weights_only=False)
    cfg = d["config"]
    net_x, net_h = _net(cfg), _net(cfg)
    net_x.load_state_dict(d["state_x"]); net_h.load_state_dict(d["state_h"])
    net_x.eval(); net_h.eval()
    return Priors(net_x, net_h, dm.Schedule.cosine(cfg["timesteps"]), d["var_x"], d["var_h"], d["haze_mean"],
                  float(d["haze_power"]), list(d["curve_x"]), list(d["curve_h"]), d["sector"].numpy().astype(bool),
                  cfg, d["meta"])
