"""medrepro.nn.maskgit: the cosine schedule, the training mask and MaskGIT's parallel iterative decoding."""
import math

import pytest
import torch

from medrepro.nn.maskgit import (MaskedTokenTransformer, cosine_schedule, maskgit_decode, masked_after,
                                 training_mask)


def oracle(answer: torch.Tensor, K: int, conf_order: torch.Tensor | None = None):
    """logits_fn of a model that knows the answer; ``conf_order`` (L,) sets how confident it is per position."""
    def fn(ids):
        logits = torch.full((*ids.shape, K), -5.0)
        logits.scatter_(-1, answer[..., None], 5.0 if conf_order is None else 0.0)
        if conf_order is not None:
            logits.scatter_(-1, answer[..., None], conf_order.expand_as(answer)[..., None].float())
        return logits
    return fn


def test_schedule_ends():
    assert cosine_schedule(0.0) == 1.0 and abs(cosine_schedule(1.0)) < 1e-12
    assert torch.allclose(cosine_schedule(torch.tensor([0.5])), torch.tensor([math.sqrt(0.5)]))
    assert [masked_after(s, 4, 100) for s in range(4)] == [92, 70, 38, 0]
    with pytest.raises(ValueError):
        masked_after(4, 4, 10)


def test_oracle_answer_in_scheduled_steps():
    K, B, L, steps = 7, 3, 24, 5
    g = torch.Generator().manual_seed(0)
    answer = torch.randint(K, (B, L), generator=g)
    ids = answer.clone()
    ids[:, 4:] = K                                       # first 4 tokens given, 20 to generate
    calls, trace = [], []
    fn = oracle(answer, K)
    out = maskgit_decode(lambda x: (calls.append(1), fn(x))[1], ids, K, steps, trace=trace)
    assert torch.equal(out, answer)
    assert len(calls) == steps
    assert trace == [[masked_after(s, steps, 20)] * B for s in range(steps)]   # the number fixed per step


def test_most_confident_fixed_first_and_known_tokens_kept():
    K, L = 5, 10
    answer = torch.arange(L)[None] % K
    conf = torch.arange(L).float()                       # confidence grows with the position
    ids = torch.full((1, L), K)
    ids[0, 0] = 3                                        # a given token that disagrees with the oracle
    seen = []
    def fn(x):
        seen.append(x.clone())
        return oracle(answer, K, conf)(x)
    out = maskgit_decode(fn, ids, K, 3)
    assert out[0, 0] == 3                                # given tokens never change
    n = 9
    after0 = seen[1][0]
    fixed = (after0 != K).nonzero().flatten().tolist()
    assert fixed == [0] + list(range(L - (n - masked_after(0, 3, n)), L))   # the most confident positions


def test_one_step_greedy_is_argmax():
    torch.manual_seed(0)
    m = MaskedTokenTransformer(6, 8, dim=16, heads=2, layers=1).eval()
    ids = torch.full((4, 8), 6)
    ids[:, 0] = torch.tensor([1, 2, 3, 4])
    out = maskgit_decode(m, ids, 6, 1)
    ref = m(ids).argmax(-1)
    ref[:, 0] = ids[:, 0]
    assert torch.equal(out, ref)


def test_training_mask_counts_and_bidirectional():
    maskable = torch.ones(12, dtype=torch.bool)
    maskable[:3] = False
    m = training_mask(maskable, 200, torch.Generator().manual_seed(1))
    assert not m[:, :3].any() and (m.sum(1) >= 1).all() and (m.sum(1) <= 9).all()
    assert m.sum(1).float().mean() > 4                    # E[ceil(cos(pi r / 2) 9)] is about 6.2
    torch.manual_seed(0)
    net = MaskedTokenTransformer(5, 6, dim=8, heads=2)
    a = torch.tensor([[1, 2, 3, 4, 0, 1]]); b = a.clone(); b[0, 5] = 3
    assert not torch.allclose(net(a)[0, 0], net(b)[0, 0])  # position 0 sees position 5: not causal
    with pytest.raises(ValueError):
        net(a[:, :5])
    with pytest.raises(ValueError):
        maskgit_decode(net, torch.tensor([[5, 5, 1, 1, 1, 1], [5, 1, 1, 1, 1, 1]]), 5, 2)


def test_noisy_ranking_keeps_schedule_and_oracle_answer():
    K, B, L, steps = 6, 2, 20, 6
    answer = torch.randint(K, (B, L), generator=torch.Generator().manual_seed(3))
    ids = answer.clone()
    ids[:, 2:] = K
    trace = []
    runs = [maskgit_decode(oracle(answer, K), ids, K, steps, choice_temperature=4.5,
                           generator=torch.Generator().manual_seed(7), trace=trace if k == 0 else None)
            for k in range(2)]
    assert torch.equal(runs[0], answer) and torch.equal(runs[0], runs[1])   # same generator, same result
    assert trace == [[masked_after(s, steps, 18)] * B for s in range(steps)]
