"""Units behind the viewxgen notebook: the VQ-VAE (medrepro.nn.vq), the token GPT (medrepro.nn.token_gpt),
the lateral view of the CXR simulator and the view positions of the MIMIC-CXR layout."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medrepro.nn.token_gpt import TokenGPT
from medrepro.nn.vq import VQVAE, VectorQuantizer, code_usage, nearest_codes, perplexity


def test_nearest_codes_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    z, book = torch.randn(200, 5, generator=g), torch.randn(17, 5, generator=g)
    want = torch.cdist(z, book).argmin(1)
    assert torch.equal(nearest_codes(z, book), want)
    with pytest.raises(ValueError, match="same D"):
        nearest_codes(z, torch.randn(4, 3))


def test_quantiser_returns_the_nearest_code_and_straight_through_gradient():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 4, decay=None).eval()
    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    out = vq(z)
    flat = z.detach().permute(0, 2, 3, 1).reshape(-1, 4)
    idx = torch.cdist(flat, vq.codebook.detach()).argmin(1)
    assert torch.equal(out.indices.reshape(-1), idx)
    torch.testing.assert_close(out.z_q.detach().permute(0, 2, 3, 1).reshape(-1, 4), vq.codebook.detach()[idx])
    # straight-through: d(sum(w * z_q))/dz = w exactly (the quantiser passes the gradient unchanged)
    w = torch.randn_like(out.z_q)
    (out.z_q * w).sum().backward()
    torch.testing.assert_close(z.grad, w)
    # the commitment loss pulls z_e towards its code: beta * mean ||z_e - e||^2
    torch.testing.assert_close(out.commitment, 0.25 * (flat - vq.codebook.detach()[idx]).pow(2).mean())


def test_ema_codebook_with_restarts_uses_its_codes():
    """Eight well-separated clusters, sixteen codes: after EMA training each cluster has a code of its own; a
    codebook started far from the data collapses onto one code without restarts and recovers with them."""
    def train(restart: bool) -> VectorQuantizer:
        torch.manual_seed(0)
        vq = VectorQuantizer(16, 2, decay=0.8, restart=restart).train()
        vq.initialised.fill_(True)                        # skip the data init: start every code far away
        vq.codebook.fill_(50.0)
        vq.ema_sum.fill_(50.0)
        for _ in range(60):
            pts = centres[torch.randint(8, (512,))] + 0.05 * torch.randn(512, 2)
            vq(pts.T.reshape(1, 2, 16, 32))
        return vq.eval()

    centres = torch.tensor([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4], dtype=torch.float32) * 3
    query = centres.T.reshape(1, 2, 1, 8)
    assert code_usage(train(True)(query).indices, 16) == 8
    assert code_usage(train(False)(query).indices, 16) == 1


def test_perplexity_and_usage():
    assert perplexity(torch.zeros(10, dtype=torch.long), 4) == pytest.approx(1.0)
    assert perplexity(torch.arange(8) % 4, 4) == pytest.approx(4.0)
    assert code_usage(torch.tensor([0, 0, 3]), 4) == 2


@pytest.mark.parametrize("channels", [1, 3])
def test_vqvae_shapes_and_learning(channels):
    torch.manual_seed(0)
    m = VQVAE(channels, hidden=16, dim=8, num_codes=32, patch=4)
    x = torch.rand(8, channels, 16, 16)
    recon, q = m(x)
    assert recon.shape == x.shape and q.indices.shape == (8, 4, 4)
    m.eval()
    assert m.encode(x).shape == (8, 4, 4) and m.decode(m.encode(x)).shape == x.shape
    with pytest.raises(ValueError, match="multiples of 4"):
        m(torch.rand(2, channels, 10, 16))
    m.train()
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    first = float(m.loss(x))
    for _ in range(150):
        loss = m.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first


def test_token_gpt_cached_greedy_is_the_naive_argmax_loop():
    torch.manual_seed(0)
    g = TokenGPT(60, dim=32, heads=4, layers=2, max_len=30, segments=2).eval()
    prefix = torch.randint(0, 60, (4, 6))
    pos, seg = torch.arange(26) % 13, (torch.arange(26) >= 13).long()
    fast = g.greedy(prefix, 20, (10, 50), pos, seg)
    assert torch.equal(fast, g.greedy_naive(prefix, 20, (10, 50), pos, seg))
    assert int(fast.min()) >= 10 and int(fast.max()) < 50
    # one step by hand: the arg-max of the full forward pass over the allowed range
    logits = g(prefix, pos[:6], seg[:6])[:, -1, 10:50]
    assert torch.equal(fast[:, 0], logits.argmax(-1) + 10)


def test_token_gpt_is_causal():
    torch.manual_seed(0)
    g = TokenGPT(20, dim=16, heads=2, layers=1, max_len=12).eval()
    a = torch.randint(0, 20, (1, 10))
    b = a.clone()
    b[0, 7:] = (b[0, 7:] + 1) % 20
    torch.testing.assert_close(g(a)[:, :7], g(b)[:, :7])


def test_lateral_view_same_patient_and_findings():
    from medrepro.sim import cxr

    spec = cxr.with_prevalence(cxr.CxrSpec(size=32), effusion=0.0, cardiomegaly=0.0)
    p = cxr.sample_params(6, spec, seed=1)
    k = cxr.FINDINGS.index("effusion")
    p.labels[:, k] = [False, False, True, True, True, True]
    p.severity[:, k] = [0, 0, 0.25, 0.25, 0.95, 0.95]
    lat = cxr.render_view(p, "LL", 32, seed=0)
    assert lat.images.shape == (6, 32, 32) and lat.images.min() >= 0 and lat.images.max() <= 1
    area = lat.masks[:, k].sum((1, 2))
    assert area[0] == area[1] == 0 and 0 < area[2] < area[4]          # fluid grows with severity
    assert not np.allclose(lat.images, cxr.render_view(p, "PA", 32, seed=0).images)
    with pytest.raises(ValueError, match="view must be"):
        cxr.render_view(p, "AP", 32)


def test_mimic_layout_writes_view_positions(tmp_path):
    import pydicom

    from medrepro.data.datasets import mimic_cxr

    imgs = np.random.default_rng(0).random((4, 16, 16)).astype(np.float32)
    root, ids = mimic_cxr.write_layout(tmp_path, imgs, np.array([10000001] * 4), np.array([50000001, 50000001,
                                       50000002, 50000002]), np.zeros((4, 1), bool), ["Cardiomegaly"],
                                       ["FINDINGS: x. IMPRESSION: y."] * 4, ["train"] * 4,
                                       views=["PA", "LL", "PA", "LL"])
    d = mimic_cxr.study_dir(root, 10000001, 50000001)
    assert pydicom.dcmread(d / f"{ids[1]}.dcm").ViewPosition == "LL"
    data = mimic_cxr.load(root, size=16, labels=("Cardiomegaly",), views=("PA", "LL"))
    assert list(data.view) == ["PA", "LL", "PA", "LL"]
    assert len(mimic_cxr.load(root, size=16, labels=("Cardiomegaly",))) == 2      # frontal films by default
    with pytest.raises(ValueError, match="unknown ViewPosition"):
        mimic_cxr.write_layout(tmp_path / "x", imgs[:1], np.array([1]), np.array([1]), np.zeros((1, 1), bool),
                               ["Cardiomegaly"], ["r"], ["train"], views=["XX"])


def test_effusion_rise_raises_the_fluid_level_and_defaults_to_the_old_film():
    from medrepro.sim import cxr

    spec = cxr.with_prevalence(cxr.CxrSpec(size=64, noise=(0, 0), marker_prob=0), **{f: 0.0 for f in cxr.FINDINGS})
    p = cxr.sample_params(6, spec, seed=1)
    k = cxr.FINDINGS.index("effusion")
    p.labels[:, k], p.severity[:, k] = True, 0.6
    default = cxr.render(p, 64)
    assert np.array_equal(default.images, cxr.render(p, 64, effusion_rise=0.2).images)   # backward compatible
    high = cxr.render(p, 64, effusion_rise=0.6)
    top = lambda m: np.array([np.nonzero(mi.any(1))[0].min() for mi in m])  # noqa: E731 (first fluid row)
    # the fluid's upper edge moves up by about (0.6 - 0.2) * severity film heights, and the fluid area grows
    shift = (top(default.masks[:, k]) - top(high.masks[:, k])) / 64
    assert np.all(np.abs(shift - 0.4 * 0.6) < 0.06), shift
    assert (high.masks[:, k].sum((1, 2)) > default.masks[:, k].sum((1, 2))).all()
    no_eff = [f for f in range(len(cxr.FINDINGS)) if f != k]
    assert np.array_equal(default.masks[:, no_eff], high.masks[:, no_eff])
