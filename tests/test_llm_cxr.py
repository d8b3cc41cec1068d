"""Units behind the llm-cxr notebook: growing a trained token GPT's vocabulary (TokenGPT.extend_vocab)."""
import pytest
import torch

from medrepro.nn.token_gpt import TokenGPT


def test_extend_vocab_keeps_old_logits_and_trains():
    torch.manual_seed(0)
    g = TokenGPT(30, dim=16, heads=2, layers=1, max_len=12).eval()
    ids = torch.randint(0, 30, (3, 10))
    before = g(ids)
    assert g.extend_vocab(8) is g and g.vocab_size == 38
    after = g(ids)
    assert after.shape == (3, 10, 38)
    assert torch.equal(after[..., :30], before)                        # old ids: the very same logits
    assert not torch.equal(after[..., 30:], torch.zeros_like(after[..., 30:]))
    # the new ids are usable at once: embedded, predicted, and trained by the new parameters
    new_ids = torch.randint(30, 38, (3, 10))
    opt = torch.optim.SGD(g.parameters(), 0.1)
    loss = g.loss(new_ids, torch.ones_like(new_ids, dtype=torch.bool))
    loss.backward()
    assert g.embed.weight.grad[30:].abs().sum() > 0 and g.head.weight.grad[30:].abs().sum() > 0
    opt.step()


def test_extend_vocab_rows_drawn_like_a_fresh_layer_and_validated():
    torch.manual_seed(1)
    g = TokenGPT(10, dim=64, heads=4, layers=1, max_len=8)
    g.extend_vocab(4000)
    new = g.embed.weight[10:]
    assert abs(float(new.std()) - 1.0) < 0.05                           # N(0, 1), as nn.Embedding draws rows
    assert float(g.head.weight[10:].abs().max()) <= 1 / 64 ** 0.5 + 1e-6  # nn.Linear's uniform bound
    with pytest.raises(ValueError):
        g.extend_vocab(0)


def test_extend_vocab_greedy_cache_still_matches_naive():
    torch.manual_seed(2)
    g = TokenGPT(20, dim=16, heads=2, layers=2, max_len=16).extend_vocab(12).eval()
    prefix = torch.randint(0, 20, (4, 5))
    fast = g.greedy(prefix, 8, (20, 32))
    assert torch.equal(fast, g.greedy_naive(prefix, 8, (20, 32)))
    assert int(fast.min()) >= 20


def test_sample_nucleus_limits_and_determinism():
    torch.manual_seed(3)
    g = TokenGPT(40, dim=16, heads=2, layers=2, max_len=20).eval()
    prefix = torch.randint(0, 40, (64, 4))
    a = g.sample(prefix, 10, (10, 30), top_p=0.9, generator=torch.Generator().manual_seed(0))
    b = g.sample(prefix, 10, (10, 30), top_p=0.9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and int(a.min()) >= 10 and int(a.max()) < 30
    # a tiny nucleus keeps only the most likely id: sampling becomes the arg-max
    tiny = g.sample(prefix, 10, (10, 30), top_p=1e-6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(tiny, g.greedy(prefix, 10, (10, 30)))
    # with the full distribution, the first token's frequencies follow the softmax (4000 draws of one prefix)
    one = prefix[:1].expand(4000, -1)
    first = g.sample(one, 1, (10, 30), generator=torch.Generator().manual_seed(2))[:, 0]
    p = torch.softmax(g(prefix[:1])[0, -1, 10:30], -1)
    freq = torch.bincount(first - 10, minlength=20).float() / 4000
    assert float((freq - p).abs().max()) < 0.04
    with pytest.raises(ValueError):
        g.sample(prefix, 2, top_p=0.0)


def test_embed_std_rescales_only_the_embeddings_and_leaves_the_rest_unchanged():
    from medrepro.nn.token_gpt import TokenGPT

    torch.manual_seed(0)
    base = TokenGPT(50, dim=16, heads=2, layers=1, max_len=12, segments=3)
    torch.manual_seed(0)
    gpt2 = TokenGPT(50, dim=16, heads=2, layers=1, max_len=12, segments=3, embed_std=0.02)
    for (name, a), (_, b) in zip(base.named_parameters(), gpt2.named_parameters()):
        if name in ("embed.weight", "seg.weight"):
            assert abs(float(b.std()) - 0.02) < 0.005 and float(a.std()) > 0.5
        else:
            assert torch.equal(a, b), name
