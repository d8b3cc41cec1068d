"""medrepro.ssl: each objective against a hand-written reference formula, probes against scikit-learn."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medrepro import ssl


def _unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def test_info_nce_is_cross_entropy_over_the_similarity_matrix():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    tau = 0.2
    qn, kn = _unit(q), _unit(k)
    ref = 0.0
    for i in range(6):  # −log exp(s_ii/τ) / Σ_j exp(s_ij/τ), written out
        s = [float(qn[i] @ kn[j]) / tau for j in range(6)]
        ref += -(s[i] - math.log(sum(math.exp(v) for v in s)))
    assert ssl.info_nce(q, k, tau).item() == pytest.approx(ref / 6, rel=1e-5)
    # the symmetric form is CLIP's loss
    both = 0.5 * (ssl.info_nce(q, k, tau) + ssl.info_nce(k, q, tau))
    assert ssl.clip_loss(q, k, tau).item() == pytest.approx(both.item(), rel=1e-5)


def test_info_nce_queue_adds_negatives():
    g = torch.Generator().manual_seed(1)
    q, k, neg = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(7, 3, generator=g)
    logits = torch.cat([_unit(q) @ _unit(k).T, _unit(q) @ _unit(neg).T], 1) / 0.1
    ref = F.cross_entropy(logits, torch.arange(4))
    assert ssl.info_nce(q, k, 0.1, negatives=neg).item() == pytest.approx(ref.item(), rel=1e-5)


def test_nt_xent_matches_the_simclr_formula():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    tau = 0.5
    z = _unit(torch.cat([z1, z2]))
    n2 = 10
    total = 0.0
    for i in range(n2):
        j = (i + 5) % n2
        den = sum(math.exp(float(z[i] @ z[m]) / tau) for m in range(n2) if m != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / tau) / den)
    assert ssl.nt_xent(z1, z2, tau).item() == pytest.approx(total / n2, rel=1e-5)
    with pytest.raises(ValueError):
        ssl.nt_xent(z1, z2[:3])


def test_byol_loss_is_normalised_mse():
    g = torch.Generator().manual_seed(3)
    p, z = torch.randn(7, 4, generator=g, requires_grad=True), torch.randn(7, 4, generator=g, requires_grad=True)
    ref = ((_unit(p) - _unit(z)) ** 2).sum(-1).mean()
    loss = ssl.byol_loss(p, z)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    loss.backward()
    assert z.grad is None  # stop-gradient on the target
    assert ssl.byol_loss(z, z).item() == pytest.approx(0.0, abs=1e-6)


def test_dino_loss_by_hand():
    s = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
    t = torch.tensor([[0.5, 0.2, 0.1]], dtype=torch.float64)
    c = torch.tensor([0.1, 0.1, 0.1], dtype=torch.float64)
    pt = np.exp((t.numpy() - c.numpy()) / 0.04)
    pt /= pt.sum()
    ls = s.numpy() / 0.1
    logps = ls - np.log(np.exp(ls).sum())
    ref = -(pt * logps).sum()
    assert ssl.dino_loss(s, t, c).item() == pytest.approx(float(ref), rel=1e-5)
    new = ssl.dino_center_update(c[None], torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=torch.float64), momentum=0.9)
    assert torch.allclose(new, torch.tensor([[0.29, 0.29, 0.29]], dtype=torch.float64))


def test_random_patch_mask_counts():
    m = ssl.random_patch_mask(4, (4, 4), 0.75, generator=torch.Generator().manual_seed(0))
    assert m.shape == (4, 4, 4) and m.dtype == torch.bool
    assert (m.flatten(1).sum(1) == 12).all()
    assert not torch.equal(m[0], m[1])  # independent per image


def test_masked_reconstruction_loss_counts_masked_patches_only():
    g = torch.Generator().manual_seed(4)
    target = torch.randn(2, 1, 8, 8, generator=g)
    pred = target.clone()
    mask = torch.zeros(2, 2, 2, dtype=torch.bool)
    mask[0, 0, 0] = True
    pred[0, :, 4:, 4:] += 10.0  # an error in a visible patch does not count
    assert ssl.masked_reconstruction_loss(pred, target, mask, 4, norm_pix=False).item() == pytest.approx(0.0)
    pred[0, :, :4, :4] += 1.0   # an error of 1 in the masked patch: MSE 1
    assert ssl.masked_reconstruction_loss(pred, target, mask, 4, norm_pix=False).item() == pytest.approx(1.0)
    # norm_pix: the target patch is standardised (unbiased variance, as MAE's code)
    patch = target[0, 0, :4, :4].flatten()
    z = (patch - patch.mean()) / (patch.var(unbiased=True) + 1e-6).sqrt()
    pred2 = target.clone()
    pred2[0, 0, :4, :4] = z.reshape(4, 4)
    assert ssl.masked_reconstruction_loss(pred2, target, mask, 4).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        ssl.masked_reconstruction_loss(pred, target, mask[:, :1], 4)


def test_unicl_reduces_to_clip_and_counts_label_positives():
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert ssl.unicl_loss(a, b, torch.arange(6), 0.1).item() == pytest.approx(ssl.clip_loss(a, b, 0.1).item(), rel=1e-5)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    logits = _unit(a) @ _unit(b).T / 0.1
    ref = 0.0
    for S in (logits, logits.T):
        lp = F.log_softmax(S, 1)
        ref += sum(-(lp[i, y == y[i]]).mean() for i in range(6)) / 6
    assert ssl.unicl_loss(a, b, y, 0.1).item() == pytest.approx(float(ref) / 2, rel=1e-5)


def test_knn_probe_uniform_matches_sklearn():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    xtr, xte = rng.normal(size=(60, 5)), rng.normal(size=(20, 5))
    ytr = rng.integers(0, 3, 60)
    ours = ssl.knn_probe(xtr, ytr, xte, k=7, temperature=None)
    ref = KNeighborsClassifier(7, metric="cosine", algorithm="brute").fit(xtr, ytr).predict_proba(xte)
    assert np.allclose(ours, ref)
    weighted = ssl.knn_probe(xtr, ytr, xte, k=7, temperature=0.07)
    assert np.allclose(weighted.sum(1), 1.0)


def test_group_label_fraction_takes_whole_patients():
    groups = np.repeat(np.arange(10), 3)
    idx = np.arange(30)
    lab = ssl.group_label_fraction(idx, groups, 0.3, seed=0)
    assert len(lab) == 9 and len(np.unique(groups[lab])) == 3
    assert len(ssl.group_label_fraction(idx, groups, 0.01, seed=0)) == 3  # at least one patient


def test_probe_sweep_shapes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    y = (x[:, 0] > 0).astype(int)
    groups = np.repeat(np.arange(40), 2)
    out = ssl.probe_sweep(x, y, np.arange(60), np.arange(60, 80), [0.2, 1.0], groups=groups, draws=2)
    assert set(out) == {0.2, 1.0} and len(out[0.2]) == 2 and out[1.0][0].shape == (20, 2)
    knn = ssl.probe_sweep(x, y, np.arange(60), np.arange(60, 80), [0.5], probe="knn", k=5)
    assert knn[0.5][0].shape == (20, 2)
    with pytest.raises(ValueError):
        ssl.probe_sweep(x, y, np.arange(60), np.arange(60, 80), [0.5], probe="svm")


def test_convirt_loss_by_hand_and_its_special_cases():
    # a tiny batch computed from the definition: l_i^(v->u) = -log softmax_k(<v_i,u_k>/tau)[i]
    v = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]])
    u = torch.tensor([[0.8, 0.6], [0.0, 1.0], [-1.0, 1.0]])
    tau, lam = 0.1, 0.75
    vn = [np.array(r) / np.linalg.norm(r) for r in v.tolist()]
    un = [np.array(r) / np.linalg.norm(r) for r in u.tolist()]
    s = np.array([[a @ b for b in un] for a in vn]) / tau
    v2u = np.mean([-(s[i, i] - math.log(sum(math.exp(x) for x in s[i]))) for i in range(3)])
    u2v = np.mean([-(s[i, i] - math.log(sum(math.exp(x) for x in s[:, i]))) for i in range(3)])
    want = lam * v2u + (1 - lam) * u2v
    assert float(ssl.convirt_loss(v, u, tau, lam)) == pytest.approx(want, rel=1e-5)
    assert float(ssl.convirt_loss(v, u, 0.07, 0.5)) == pytest.approx(float(ssl.clip_loss(v, u, 0.07)), rel=1e-6)
    assert float(ssl.convirt_loss(v, u, tau, 1.0)) == pytest.approx(float(ssl.info_nce(v, u, tau)), rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        ssl.convirt_loss(v, u[:2])
    with pytest.raises(ValueError, match="λ"):
        ssl.convirt_loss(v, u, weight=1.5)


def test_random_affine_views_identity_and_reproducibility():
    x = torch.rand(4, 1, 16, 16)
    same = ssl.random_affine_views(x, torch.Generator().manual_seed(0), scale=(1.0, 1.0), degrees=0.0,
                                   brightness=0.0, contrast=0.0)
    assert torch.allclose(same, x, atol=1e-5)
    a = ssl.random_affine_views(x, torch.Generator().manual_seed(3))
    b = ssl.random_affine_views(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.allclose(a, x, atol=1e-3)
    # brightness alone shifts every pixel by one offset per image, within its range
    br = ssl.random_affine_views(x, torch.Generator().manual_seed(1), scale=(1.0, 1.0), degrees=0.0,
                                 brightness=0.1, contrast=0.0)
    shift = (br - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-5) and shift.abs().max() <= 0.1 + 1e-5
