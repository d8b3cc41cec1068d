"""RoentGen's pieces: the token text encoder, cross-attention against a naive loop, the null token of classifier-free
guidance, and the denoiser's use with the library's guided sampler."""
from __future__ import annotations

import pytest
import torch

from medrepro import diffusion as dm
from medrepro.nn.text import WordTokenizer
from medrepro.nn.xattn_denoiser import (CrossAttention, CrossAttnDenoiser, TokenTextEncoder, naive_cross_attention,
                                        token_mask)

PROMPTS = ["no cardiomegaly. pleural effusion.", "cardiomegaly. no pleural effusion.", "enlarged heart. effusion.",
           "no pleural fluid. no enlarged heart."]


def test_token_encoder_shapes_padding_and_context():
    tok = WordTokenizer.fit(PROMPTS, min_freq=1)
    ids, mask = tok.encode(PROMPTS, max_len=8)
    ids_long, mask_long = tok.encode(PROMPTS, max_len=12)
    torch.manual_seed(0)
    for kernel in (1, 3):
        enc = TokenTextEncoder(len(tok), 16, kernel=kernel).eval()
        out = enc(ids, mask)
        assert out.shape == (4, 8, 16)
        assert torch.all(out[~mask] == 0)                                   # padding rows are zero
        assert torch.equal(token_mask(out), mask)                           # ... so the mask can be read back
        assert torch.allclose(enc(ids_long, mask_long)[:, :8], out, atol=1e-5)
        assert TokenTextEncoder.pool(out).shape == (4, 16)
    # width 1: a bag of tokens — the two swapped prompts give the same set of token vectors
    enc1 = TokenTextEncoder(len(tok), 16, kernel=1).eval()
    enc3 = TokenTextEncoder(len(tok), 16, kernel=3).eval()
    with torch.no_grad():
        a, b = enc1(ids[:2], mask[:2]), enc1(ids[:2], mask[:2])
        set0 = sorted(map(tuple, a[0][mask[0]].round(decimals=5).tolist()))
        set1 = sorted(map(tuple, b[1][mask[1]].round(decimals=5).tolist()))
        assert set0 == set1
        c = enc3(ids[:2], mask[:2])
        assert sorted(map(tuple, c[0][mask[0]].round(decimals=5).tolist())) != \
            sorted(map(tuple, c[1][mask[1]].round(decimals=5).tolist()))
    with pytest.raises(ValueError, match="odd"):
        TokenTextEncoder(10, 8, kernel=2)


def test_cross_attention_equals_naive_loop_and_ignores_padding():
    torch.manual_seed(1)
    block = CrossAttention(8, 6, heads=2, dim_head=4).eval()
    h = torch.randn(3, 8, 4, 4)
    ctx = torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        out = block(h, ctx, mask)
        ref = naive_cross_attention(block, h, ctx, mask)
        assert torch.allclose(out, ref, atol=1e-5)
        # what sits in a padded slot does not matter
        ctx2 = ctx.clone()
        ctx2[~mask] = 100.0
        assert torch.allclose(block(h, ctx2, mask), out, atol=1e-5)


def test_denoiser_null_token_and_guided_sampling():
    torch.manual_seed(2)
    net = CrossAttnDenoiser((8, 16), ctx_dim=6).eval()
    x, t = torch.randn(4, 1, 8, 8), torch.tensor([0, 3, 5, 9])
    cond = torch.randn(4, 3, 6)
    cond[0, 2] = 0                                                          # a padded token
    with torch.no_grad():
        out = net(x, t, cond)
        assert out.shape == x.shape
        uncond = net(x, t, None)
        dropped = net(x, t, cond, drop=torch.ones(4, dtype=torch.bool))
        assert torch.allclose(uncond, dropped, atol=1e-5)                   # dropping the text = the null token
        part = net(x, t, cond, drop=torch.tensor([True, False, True, False]))
        assert torch.allclose(part[1::2], out[1::2], atol=1e-5) and torch.allclose(part[::2], uncond[::2], atol=1e-5)
        # guided_noise with this model: w = 0 unconditional, w = 1 conditional, w = 3 the CFG combination
        assert torch.allclose(dm.guided_noise(net, x, t, cond, 0.0), uncond, atol=1e-5)
        assert torch.allclose(dm.guided_noise(net, x, t, cond, 1.0), out, atol=1e-5)
        assert torch.allclose(dm.guided_noise(net, x, t, cond, 3.0), uncond + 3 * (out - uncond), atol=1e-4)
    sched = dm.Schedule.cosine(4)
    s = dm.ddpm_sample(net, sched, (4, 1, 8, 8), cond, scale=2.0, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 8, 8) and torch.isfinite(s).all()
    with pytest.raises(ValueError, match="tokens"):
        net(x, t, torch.randn(4, 6))
    with pytest.raises(ValueError, match="even"):
        net(torch.randn(1, 1, 7, 7), t[:1], cond[:1])


def test_denoiser_trains_on_a_conditional_toy():
    """Two prompts, two images: a few steps of the noise loss lower it, and the gradient reaches the null token."""
    torch.manual_seed(3)
    net = CrossAttnDenoiser((8, 16), ctx_dim=4)
    sched = dm.Schedule.cosine(10)
    x0 = torch.stack([torch.ones(1, 8, 8), -torch.ones(1, 8, 8)])
    ctx = torch.eye(4)[:2, None, :].repeat(1, 2, 1)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        t = torch.randint(0, 10, (2,), generator=g)
        eps = torch.randn(2, 1, 8, 8, generator=g)
        loss = torch.nn.functional.mse_loss(net(dm.q_sample(sched, x0, t, eps), t, ctx, torch.tensor([False, True])), eps)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) < sum(losses[:10])
    assert net.null.grad is not None and net.null.grad.abs().sum() > 0
