"""The report decoder: causal mask, teacher forcing, greedy decoding; BOS/EOS wrapping."""
import pytest
import torch

from medrepro.nn.report_decoder import ReportDecoder, add_bos_eos, causal_mask


def _model(seed=0, vocab=12, memory_dim=6):
    torch.manual_seed(seed)
    return ReportDecoder(vocab, memory_dim, dim=16, heads=2, layers=2, max_len=10).eval()


def test_causal_mask_shape_and_values():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert not m.diagonal().any() and m[0, 1] and not m[1, 0]


def test_add_bos_eos_wraps_each_row():
    ids = torch.tensor([[5, 6, 0], [7, 0, 0]])
    out = add_bos_eos(ids, bos=10, eos=11)
    assert out.tolist() == [[10, 5, 6, 11, 0], [10, 7, 11, 0, 0]]


def test_logits_at_t_do_not_see_later_tokens():
    model, g = _model(), torch.Generator().manual_seed(1)
    mem = torch.randn(3, 5, 6, generator=g)
    ids = torch.randint(1, 12, (3, 8), generator=g)
    other = ids.clone()
    other[:, 5:] = torch.randint(1, 12, (3, 3), generator=g)
    with torch.no_grad():
        a, b = model(ids, mem), model(other, mem)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6)
    assert not torch.allclose(a[:, 5:], b[:, 5:])          # later positions do see them


def test_memory_changes_the_logits():
    model, g = _model(), torch.Generator().manual_seed(2)
    ids = torch.randint(1, 12, (2, 6), generator=g)
    with torch.no_grad():
        assert not torch.allclose(model(ids, torch.randn(2, 5, 6, generator=g)), model(ids, torch.randn(2, 5, 6, generator=g)))


def test_greedy_equals_step_by_step_argmax():
    model, g = _model(3), torch.Generator().manual_seed(3)
    mem = torch.randn(4, 5, 6, generator=g)
    bos, eos = 10, 11
    fast = model.greedy(mem, bos, eos)
    for i in range(len(mem)):
        prefix = [bos]
        while len(prefix) < model.max_len:
            with torch.no_grad():
                nxt = int(model(torch.tensor([prefix]), mem[i:i + 1])[0, -1].argmax())
            prefix.append(nxt)
            if nxt == eos:
                break
        words = [w for w in prefix[1:] if w != eos]
        row = fast[i].tolist()
        assert row[: len(words)] == words and all(w == 0 for w in row[len(words):])


def test_teacher_forcing_loss_learns_a_mapping():
    torch.manual_seed(0)
    model = ReportDecoder(8, 4, dim=16, heads=2, layers=1, max_len=6).train()
    mem = torch.eye(4)[:2, None, :].repeat(1, 3, 1)          # two distinct "images"
    y = torch.tensor([[6, 3, 4, 7, 0], [6, 5, 5, 2, 7]])      # [BOS]=6 ... [EOS]=7
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(150):
        loss = model.loss(y, mem)
        opt.zero_grad(); loss.backward(); opt.step()
    assert loss.item() < 0.05
    out = model.eval().greedy(mem, 6, 7)
    assert out[0, :2].tolist() == [3, 4] and out[1, :3].tolist() == [5, 5, 2]


def test_too_long_sequence_is_refused():
    with pytest.raises(ValueError, match="max_len"):
        _model()(torch.ones(1, 11, dtype=torch.long), torch.randn(1, 2, 6))


def test_bleu_weighted_matches_bleu_on_resamples():
    import numpy as np

    from medrepro.metrics import bootstrap_weights
    from medrepro.metrics.text import bleu, bleu_weighted

    refs = ["moderate left pleural effusion has increased.", "the lungs are clear.", "new consolidation.",
            "unchanged mild cardiomegaly. osseous structures are intact.", "large right effusion."]
    hyps = ["moderate left pleural effusion.", "the lungs are clear.", "consolidation has decreased.",
            "mild cardiomegaly is stable.", "small"]
    W = bootstrap_weights(len(hyps), 20, seed=1)
    got = bleu_weighted([[r] for r in refs], hyps, W, max_n=4)
    for row, g in zip(W.astype(int), got):
        idx = np.repeat(np.arange(len(hyps)), row)
        assert np.isclose(g, bleu([[refs[k]] for k in idx], [hyps[k] for k in idx], max_n=4)) if len(idx) else True
    assert np.isclose(bleu_weighted([[r] for r in refs], hyps, np.ones(5), max_n=1)[0],
                      bleu([[r] for r in refs], hyps, max_n=1))
