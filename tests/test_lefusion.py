"""LeFusion pieces: the diffusion helpers, the conditional denoiser, the lung-nodule simulator, the 1-D Wasserstein
distance and the loader of the authors' preprocessed LIDC-IDRI release."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from medrepro import diffusion as dm
from medrepro.data.datasets import lefusion_lidc
from medrepro.metrics.generative import wasserstein_1d
from medrepro.nn.denoiser import ConditionalDenoiser
from medrepro.sim.lung_nodules import TYPES, hu_to_unit, simulate_rois


# ----------------------------------------------------------------------------------------------- schedule, loss
def test_cosine_schedule_follows_its_formula():
    T, s = 50, 0.008
    sched = dm.Schedule.cosine(T)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    want = np.array([f(t + 1) / f(0) for t in range(T)])
    np.testing.assert_allclose(sched.alphas_cumprod.numpy(), np.clip(want, 0, None), rtol=1e-4, atol=1e-6)
    assert torch.all(sched.betas > 0) and torch.all(sched.betas <= 0.9999)
    assert sched.alphas_cumprod_prev[0] == 1 and sched.T == T
    with pytest.raises(ValueError):
        dm.cosine_beta_schedule(0)


def test_posterior_coefficients_match_ddpm():
    sched = dm.Schedule.cosine(20)
    b, ab, abp = sched.betas.double(), sched.alphas_cumprod.double(), sched.alphas_cumprod_prev.double()
    torch.testing.assert_close(sched.posterior_variance.double(), b * (1 - abp) / (1 - ab), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(sched.posterior_mean_coef1.double(), b * abp.sqrt() / (1 - ab), rtol=1e-5, atol=1e-7)


def test_q_sample_is_the_closed_form():
    sched = dm.Schedule.cosine(10)
    x0, eps, t = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4), torch.tensor([0, 4, 9])
    ab = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    torch.testing.assert_close(dm.q_sample(sched, x0, t, eps), ab.sqrt() * x0 + (1 - ab).sqrt() * eps)


def test_masked_noise_loss_matches_lefusion_p_losses():
    g = torch.Generator().manual_seed(0)
    eps, pred = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    mask = (torch.rand(4, 1, 8, 8, generator=g) > 0.7).float()
    # the official code: F.l1_loss(noise * mask, x_recon * mask), a mean over all elements
    want = (eps * mask - pred * mask).abs().sum() / eps.numel()
    torch.testing.assert_close(dm.masked_noise_loss(pred, eps, mask), want)
    torch.testing.assert_close(dm.masked_noise_loss(pred, eps, torch.ones_like(mask)), dm.masked_noise_loss(pred, eps))
    torch.testing.assert_close(dm.masked_noise_loss(pred, eps, mask, kind="l2"),
                               ((eps - pred) ** 2 * mask).sum() / eps.numel())
    assert dm.masked_noise_loss(pred, eps, torch.zeros_like(mask)) == 0
    # the background gets no gradient
    p = pred.clone().requires_grad_(True)
    dm.masked_noise_loss(p, eps, mask).backward()
    assert torch.all(p.grad[mask == 0] == 0) and torch.any(p.grad[mask == 1] != 0)
    with pytest.raises(ValueError):
        dm.masked_noise_loss(pred, eps, mask, kind="huber")
    with pytest.raises(ValueError):
        dm.masked_noise_loss(pred, eps, mask[..., :4])


def _net(seed=0):
    torch.manual_seed(seed)
    return ConditionalDenoiser((4, 8), cond_dim=16, emb_dim=16).eval()


def test_guided_noise_is_the_cfg_combination():
    net, x = _net(), torch.randn(3, 1, 8, 8)
    t, c = torch.tensor([1, 2, 3]), torch.rand(3, 16)
    with torch.no_grad():
        e_c, e_u = net(x, t, c), net(x, t, None)
        torch.testing.assert_close(dm.guided_noise(net, x, t, c, 1.0), e_c)
        torch.testing.assert_close(dm.guided_noise(net, x, t, c, 0.0), e_u)
        torch.testing.assert_close(dm.guided_noise(net, x, t, c, 2.5), e_u + 2.5 * (e_c - e_u), rtol=1e-4, atol=1e-5)


def test_denoiser_null_condition_and_drop_agree():
    net, x, t, c = _net(), torch.randn(2, 1, 8, 8), torch.tensor([0, 5]), torch.rand(2, 16)
    with torch.no_grad():
        out = net(x, t, c, drop=torch.tensor([True, False]))
        torch.testing.assert_close(out[0], net(x[:1], t[:1], None)[0])
        torch.testing.assert_close(out[1], net(x[1:], t[1:], c[1:])[0])
    assert out.shape == x.shape
    with pytest.raises(ValueError):
        net(torch.randn(1, 1, 7, 7), t[:1], c[:1])


def test_repaint_with_mask_of_ones_is_ddpm_and_keeps_background_exactly():
    net, sched = _net(), dm.Schedule.cosine(8)
    known = torch.rand(3, 1, 8, 8) * 2 - 1
    cond = torch.rand(3, 16)
    a = dm.repaint_sample(net, sched, known, torch.ones_like(known), cond, scale=2.0,
                          generator=torch.Generator().manual_seed(1))
    b = dm.ddpm_sample(net, sched, tuple(known.shape), cond, scale=2.0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    region = torch.zeros_like(known)
    region[..., 2:5, 3:6] = 1
    s, path = dm.repaint_sample(net, sched, known, region, cond, generator=torch.Generator().manual_seed(2),
                                return_path=True)
    assert torch.equal(s[region == 0], known[region == 0])          # exactly the original outside the region
    assert len(path) == sched.T + 1 and not torch.equal(s[region == 1], known[region == 1])
    with pytest.raises(ValueError):
        dm.repaint_sample(net, sched, known, region[..., :4], cond)


def test_p_sample_adds_no_noise_at_t0():
    sched = dm.Schedule.cosine(5)
    x, e, z = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(dm.p_sample(sched, e, x, 0, z), dm.p_sample(sched, e, x, 0, None))
    assert not torch.allclose(dm.p_sample(sched, e, x, 3, z), dm.p_sample(sched, e, x, 3, None))


# ----------------------------------------------------------------------------------------------- metric, simulator
def test_wasserstein_1d_equals_scipy():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(0)
    for _ in range(20):
        u, v = rng.normal(size=rng.integers(1, 40)), rng.normal(0.5, 2, size=rng.integers(1, 60))
        assert wasserstein_1d(u, v) == pytest.approx(wasserstein_distance(u, v), abs=1e-12)
    assert wasserstein_1d([1.0, 2.0], [1.0, 2.0]) == 0
    with pytest.raises(ValueError):
        wasserstein_1d([], [1.0])


def test_simulated_nodules_have_their_textures():
    r = simulate_rois(90, size=16, seed=3)
    assert r.hu.shape == (90, 16, 16, 3) and r.mask.shape == r.hu.shape and len(r) == 90
    assert set(np.unique(r.kind)) == {0, 1, 2} and len(np.unique(r.patient)) == 90
    inside = [r.hu[i][r.mask[i] > 0].mean() for i in range(90)]
    by = {k: np.mean([v for v, kk in zip(inside, r.kind) if kk == k]) for k in range(3)}
    assert by[0] > by[1] > by[2] > -700                     # solid > part-solid > ground-glass > lung
    lung = np.mean([r.hu[i][r.mask[i] == 0].mean() for i in range(90)])
    assert -900 < lung < -700
    n = simulate_rois(5, seed=1, pathological=False)
    assert np.all(n.kind == -1) and n.mask.any(axis=(1, 2, 3)).all()
    assert np.array_equal(simulate_rois(4, seed=9).hu, simulate_rois(4, seed=9).hu)
    assert hu_to_unit(np.array([-2000.0, -1000.0, 400.0, 1000.0])).tolist() == [-1.0, -1.0, 1.0, 1.0]
    assert TYPES == ("solid", "part-solid", "ground-glass")


# ----------------------------------------------------------------------------------------------- loader
def test_loader_reads_the_release_layout(tmp_path):
    base = lefusion_lidc.make_fixture(tmp_path / "d", seed=0)
    assert base.name == "LIDC-IDRI"
    train, test = lefusion_lidc.load(base, split="train"), lefusion_lidc.load(base, split="test")
    assert len(train) == 8 and len(test) == 4 and len(lefusion_lidc.load(tmp_path / "d", "Normal")) == 4
    assert {r.patient for r in test} == {"LIDC-IDRI-0005", "LIDC-IDRI-0006"}
    assert {r.name for r in test} <= lefusion_lidc.test_names(base)
    assert train[0].patient == "LIDC-IDRI-0001" and train[0].image.dtype == np.float32
    p = lefusion_lidc.image_paths(base)[0]
    assert lefusion_lidc.mask_path(p) == base / "Pathological" / "Mask" / p.name.replace("Vol_", "Mask_")
    hu, m = lefusion_lidc.central_slices(train, 12)
    assert hu.shape == (8, 12, 12) and m.shape == (8, 12, 12) and (m.sum((1, 2)) > 0).all()
    assert lefusion_lidc.patient_of("Vol_0001") == "0001" and lefusion_lidc.patient_of("Vol_a_b_3") == "a_b"


def test_loader_test_txt_without_prefix(tmp_path):
    base = lefusion_lidc.make_fixture(tmp_path / "d", seed=0)
    (base / "Pathological" / "test.txt").write_text("LIDC-IDRI-0001_0\n")
    assert [r.name for r in lefusion_lidc.load(base, split="test")] == ["Vol_LIDC-IDRI-0001_0"]


def test_loader_errors_name_the_file(tmp_path):
    import nibabel as nib

    base = lefusion_lidc.make_fixture(tmp_path / "d", seed=0)
    p = lefusion_lidc.image_paths(base)[0]
    mp = lefusion_lidc.mask_path(p)
    nib.save(nib.Nifti1Image(np.full((16, 16, 3), 2, np.uint8), np.eye(4)), mp)
    with pytest.raises(lefusion_lidc.LidcRoiFormatError, match=mp.name):
        lefusion_lidc.load_roi(p)
    nib.save(nib.Nifti1Image(np.zeros((8, 16, 3), np.uint8), np.eye(4)), mp)
    with pytest.raises(lefusion_lidc.LidcRoiFormatError, match="differs"):
        lefusion_lidc.load_roi(p)
    mp.unlink()
    with pytest.raises(lefusion_lidc.LidcRoiFormatError, match="missing mask"):
        lefusion_lidc.load_roi(p)
    p.write_bytes(b"not a nifti")
    with pytest.raises(lefusion_lidc.LidcRoiFormatError, match="not a readable NIfTI"):
        lefusion_lidc.load_roi(p)
    with pytest.raises(FileNotFoundError, match="lefusion_lidc.yaml"):
        lefusion_lidc.load(tmp_path / "nothing")
    with pytest.raises(ValueError):
        lefusion_lidc.load(base, split="val")
