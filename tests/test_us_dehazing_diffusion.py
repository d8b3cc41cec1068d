"""Tests for the pieces of the us-dehazing-diffusion notebook: the joint two-prior posterior sampler, the exact
Gaussian noise predictor, the DDPM trainer, gCNR and the haze generator."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from medrepro import diffusion as dm
from medrepro.metrics.ultrasound import gcnr, gcnr_batch
from medrepro.sim.echo import simulate_haze


# ------------------------------------------------------------------------------------------ joint sampler
def _gaussian_case(T: int, n: int = 20000, seed: int = 0):
    sched = dm.Schedule.cosine(T)
    mx, vx = 0.3, 0.5
    mh = torch.tensor([[[[-0.2, 0.1], [0.0, 0.4]]]])
    vh = torch.tensor([[[[0.1, 2.0], [0.5, 1.0]]]])             # a per-pixel (diagonal) haze prior
    sn = 0.05
    y = torch.tensor([[[[1.0, -0.5], [0.2, 2.0]]]]).expand(n, 1, 2, 2).contiguous()
    x, h = dm.joint_posterior_sample(dm.GaussianNoiseModel(sched, mx, vx), dm.GaussianNoiseModel(sched, mh, vh), sched,
                                     y, var_x=vx, var_h=vh, noise_var=sn, generator=torch.Generator().manual_seed(seed),
                                     clip_x=None, clip_h=None)
    k = vx / (vx + vh + sn)                                    # the Wiener gain of the linear-Gaussian model
    post_x = (mx + k * (y[0] - mx - mh))[0]
    post_h = (mh + vh / (vx + vh + sn) * (y[0] - mx - mh))[0]
    return x, h, post_x, post_h


@pytest.mark.parametrize("T", [8, 40])
def test_joint_sampler_mean_is_the_closed_form_posterior_mean(T):
    """Two Gaussian priors (exact scores) and y = x + h + n: the mean of the joint sampler's x and h samples is the
    closed-form posterior (Wiener) mean, within 4 Monte-Carlo standard errors, at any number of steps."""
    x, h, post_x, post_h = _gaussian_case(T)
    se_x = x.std(0) / len(x) ** 0.5
    se_h = h.std(0) / len(h) ** 0.5
    assert ((x.mean(0) - post_x).abs() <= 4 * se_x + 1e-4).all(), (x.mean(0), post_x)
    assert ((h.mean(0) - post_h).abs() <= 4 * se_h + 1e-4).all(), (h.mean(0), post_h)


def test_joint_sampler_variance_approaches_the_posterior_variance():
    """The DDPM steps use the posterior-variance (β̃) noise, so the samples' spread is too small at few steps and
    approaches the closed-form posterior variance as the steps grow."""
    vx, sn = 0.5, 0.05
    vh = torch.tensor([[[[0.1, 2.0], [0.5, 1.0]]]])[0]
    post_var = vx * (vh + sn) / (vx + vh + sn)
    err = []
    for T in (8, 200):
        x, _, _, _ = _gaussian_case(T, n=20000, seed=1)
        err.append(float((x.var(0) / post_var - 1).abs().max()))
    assert err[1] < err[0] and err[1] < 0.1, err


def test_gaussian_noise_model_is_tweedie_exact():
    """For a Gaussian prior, x̂0 from the noise model equals E[x0 | x_t] = √ᾱ v x_t / (ᾱ v + 1 − ᾱ) + …, checked
    by regression on forward samples."""
    sched = dm.Schedule.cosine(20)
    m, v, t = 0.4, 0.3, 9
    g = torch.Generator().manual_seed(0)
    x0 = m + v ** 0.5 * torch.randn(200000, generator=g)
    tt = torch.full((len(x0),), t)
    xt = dm.q_sample(sched, x0, tt, torch.randn(len(x0), generator=g))
    ab = sched.alphas_cumprod[t]
    x0_hat = (xt - (1 - ab).sqrt() * dm.GaussianNoiseModel(sched, m, v)(xt, tt)) / ab.sqrt()
    # the regression of x0 on x_t is E[x0 | x_t]; its residual variance is Var(x0 | x_t)
    slope = float(((x0 - x0.mean()) * (xt - xt.mean())).mean() / xt.var())
    model_slope = float(((x0_hat - x0_hat.mean()) * (xt - xt.mean())).mean() / xt.var())
    assert abs(slope - model_slope) < 0.01
    assert abs(float((x0 - x0_hat).var()) - float(dm.tweedie_variance(sched, t, v))) < 0.01
    with pytest.raises(ValueError, match="positive variance"):
        dm.GaussianNoiseModel(sched, 0.0, 0.0)


def test_joint_sampler_is_deterministic_by_generator_and_consistent():
    sched = dm.Schedule.cosine(6)
    y = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    mx, mh = dm.GaussianNoiseModel(sched, 0.0, 1.0), dm.GaussianNoiseModel(sched, 0.0, 0.5)
    a = dm.joint_posterior_sample(mx, mh, sched, y, var_x=1.0, var_h=0.5, generator=torch.Generator().manual_seed(5))
    b = dm.joint_posterior_sample(mx, mh, sched, y, var_x=1.0, var_h=0.5, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # noise-free observation and no clipping: the last data-consistency step makes x + h = y exactly
    x, h = dm.joint_posterior_sample(mx, mh, sched, y, var_x=1.0, var_h=0.5, clip_x=None, clip_h=None,
                                     generator=torch.Generator().manual_seed(5))
    assert torch.allclose(x + h, y, atol=1e-5)


def test_train_noise_model_learns_a_gaussian():
    """A tiny denoiser trained on N(0.5, 0.1²) images lowers its monitor loss well below the untrained level."""
    from medrepro.nn.denoiser import ConditionalDenoiser

    sched = dm.Schedule.cosine(10)
    data = 0.5 + 0.1 * torch.randn(256, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    net = ConditionalDenoiser((8, 8), cond_dim=0)
    curve = dm.train_noise_model(net, sched, data, steps=120, batch=32, seed=0, monitor=data[:32], eval_every=20)
    assert len(curve) == 6 and curve[-1] < 0.6 * curve[0]
    curve2 = dm.train_noise_model(ConditionalDenoiser((8, 8), cond_dim=0), sched,
                                  lambda g, n: 0.5 + 0.1 * torch.randn(n, 1, 8, 8, generator=g), steps=20, batch=8,
                                  seed=0, monitor=data[:8], eval_every=10)
    assert len(curve2) == 2


# ------------------------------------------------------------------------------------------ gCNR
@pytest.mark.parametrize("d", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_gcnr_two_gaussians_matches_the_analytic_overlap(d):
    """Two unit Gaussians d apart overlap by OVL = 2Φ(−d/2), so gCNR = 1 − 2Φ(−d/2)."""
    rng = np.random.default_rng(0)
    g = gcnr(rng.normal(0, 1, 400000), rng.normal(d, 1, 400000), bins=200)
    assert abs(g - (1 - 2 * norm.cdf(-d / 2))) < 0.01


def test_gcnr_direct_computation_and_edge_cases():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 1, 500), rng.uniform(0.5, 1.5, 700)
    edges = np.linspace(0, 1.5, 31)
    pa = np.array([((a >= lo) & (a < hi)).sum() for lo, hi in zip(edges[:-1], edges[1:])], float)
    pb = np.array([((b >= lo) & (b < hi)).sum() for lo, hi in zip(edges[:-1], edges[1:])], float)
    pa[-1] += (a == 1.5).sum(); pb[-1] += (b == 1.5).sum()     # numpy's last bin is closed
    direct = 1 - np.minimum(pa / pa.sum(), pb / pb.sum()).sum()
    assert gcnr(a, b, bins=edges) == pytest.approx(direct, abs=1e-12)
    assert gcnr(np.zeros(10), np.ones(10)) == 1.0                # no overlap
    assert gcnr(a, a) == pytest.approx(0.0, abs=1e-12)          # identical samples
    # invariant to a monotone transform applied to both regions (fixed-count bins move with the values)
    assert gcnr(np.exp(a), np.exp(b), bins=np.exp(edges)) == pytest.approx(direct, abs=1e-12)
    with pytest.raises(ValueError, match="pixels in both regions"):
        gcnr(a, np.array([]))
    with pytest.raises(ValueError, match="NaN"):
        gcnr(np.array([np.nan]), b)
    imgs = np.stack([np.r_[a[:50], b[:50]].reshape(10, 10)] * 2)
    ma = np.zeros((2, 10, 10), bool); ma[:, :5] = True
    out = gcnr_batch(imgs, ma, ~ma, value_range=(0, 1.5))
    assert out.shape == (2,) and out[0] == out[1] == pytest.approx(gcnr(a[:50], b[:50], 64, (0, 1.5)))
    with pytest.raises(ValueError, match="differ in shape"):
        gcnr_batch(imgs, ma[0], ~ma)


# ------------------------------------------------------------------------------------------ haze generator
def test_simulate_haze_is_smooth_near_field_and_deterministic():
    h = simulate_haze(64, 32, seed=3)
    assert h.shape == (64, 32, 32) and h.dtype == np.float32 and (h >= 0).all()
    assert np.array_equal(h, simulate_haze(64, 32, seed=3))
    top, bottom = h[:, :8].mean(), h[:, 24:].mean()
    assert top > 3 * bottom                                       # haze is a near-field veil
    # smooth: neighbouring pixels are far more alike than pixels 8 apart
    d1 = np.abs(np.diff(h, axis=-1)).mean()
    d8 = np.abs(h[..., 8:] - h[..., :-8]).mean()
    assert d1 < 0.5 * d8
    # per-field strength varies: a fixed map could not subtract it
    assert h[:, :8].mean((1, 2)).std() > 0.2 * h[:, :8].mean()
    sector = np.zeros((32, 32), bool); sector[:, 8:24] = True
    assert (simulate_haze(4, 32, seed=0, sector=sector)[:, ~sector] == 0).all()


# ------------------------------------------------------------------------------------------ priors and checkpoint
def test_shipped_priors_load_and_match_the_config():
    """The smoke-mode checkpoint is small, loads, and was trained with the current CONFIG (a changed CONFIG
    without a retrained checkpoint fails here)."""
    from importlib import resources

    from medrepro import dehazing

    ref = resources.files("medrepro") / "resources" / dehazing.CHECKPOINT
    assert ref.is_file() and ref.stat().st_size < 2_000_000
    p = dehazing.load_priors()
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dehazing.CONFIG.items()}
    stored = {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.config.items()}
    assert stored == cfg or p.config == dehazing.CONFIG
    assert p.var_x.shape == p.var_h.shape == (1, 1, 24, 24) and p.haze_power > 0
    assert p.meta["steps"] == dehazing.CONFIG["steps"] and p.curve_x[-1] < p.curve_x[0]
    with torch.inference_mode():
        out = p.net_x(torch.zeros(2, 1, 24, 24), torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, 1, 24, 24)


def test_training_script_runs_briefly(tmp_path):
    """tools/train_us_dehazing_priors.py, as committed, with 2 steps on 3 patients: a loadable checkpoint."""
    import importlib.util
    from pathlib import Path

    from medrepro import dehazing

    path = Path(__file__).resolve().parents[1] / "tools" / "train_us_dehazing_priors.py"
    spec = importlib.util.spec_from_file_location("train_us_dehazing_priors", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(["--steps", "2", "--patients", "3", "--out", str(tmp_path / "p.pt")])
    p = dehazing.load_priors(out)
    assert p.meta["steps"] == 2 and p.meta["patients"] == 3 and len(p.curve_x) == len(p.curve_h) == 2


def test_frames_to_envelope_and_errors():
    from medrepro import dehazing

    g = np.full((2, 40, 40), 0.7, np.float32)
    e = dehazing.frames_to_envelope(g)                          # resized to 32, cropped to 24 x 24
    assert e.shape == (2, 24, 24) and np.allclose(e, 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="frames must be"):
        dehazing.frames_to_envelope(g[0])
    with pytest.raises(ValueError, match="kind must be"):
        dehazing.train_prior("tissue-and-haze", None, np.ones((24, 24), bool), steps=1, seed=0)
