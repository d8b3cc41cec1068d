import numpy as np
import pytest
import torch
from torch import nn

from medrepro.data import splits
from medrepro.losses import clip_loss, dice_ce_loss
from medrepro.metrics import auroc, bootstrap_ci, dice_per_class, hd95_per_class, macro_auroc, paired_bootstrap_diff
from medrepro.metrics.segmentation import hd95
from medrepro.train import ema_update, fit, linear_probe, make_teacher, sigmoid_rampup


def test_group_split_keeps_patients_apart():
    groups = np.repeat(np.arange(50), 4)
    parts = splits.group_split(groups, (0.6, 0.2, 0.2), seed=1)
    sets = [set(groups[p]) for p in parts]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sum(len(p) for p in parts) == 200 and len(sets[0]) == 30


def test_label_fraction_stratified_and_minimum():
    labels = np.array([0] * 90 + [1] * 10)
    picked = splits.label_fraction(np.arange(100), 0.05, seed=0, labels=labels)
    assert (labels[picked] == 1).sum() >= 1 and len(picked) <= 6
    with pytest.raises(ValueError):
        splits.label_fraction(np.arange(10), 0.0)


def test_two_stream_cycles_labelled():
    it = splits.two_stream([0, 1, 2], range(10, 20), 2, 4, seed=0)
    batches = [next(it) for _ in range(6)]
    assert all(len(lb) == 2 and len(ub) == 4 for lb, ub in batches)
    assert set(np.concatenate([lb for lb, _ in batches])) == {0, 1, 2}


def test_fit_learns_and_respects_budget_and_early_stop():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loader = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    res = fit(model, lambda b: nn.functional.cross_entropy(model(b[0]), b[1]), loader, optimizer=opt,
              epochs=5, progress=False, log_every=1)
    assert res.steps == 40 and res.losses[-1] < res.losses[0] and res.stopped == "completed"
    res = fit(model, lambda b: nn.functional.cross_entropy(model(b[0]), b[1]), loader, optimizer=opt,
              steps=10_000, budget_s=0.2, progress=False)
    assert res.stopped == "budget" and res.steps < 10_000
    res = fit(model, lambda b: nn.functional.cross_entropy(model(b[0]), b[1]), loader, optimizer=opt,
              steps=1000, eval_fn=lambda: 0.5, eval_every=5, patience=2, progress=False)
    assert res.stopped == "early_stop" and res.steps == 15


def test_fit_rejects_nan_loss():
    model = nn.Linear(1, 1)
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(model, lambda b: model(b).sum() * float("nan"), [torch.ones(1, 1)],
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), steps=1, progress=False)


def test_ema_and_rampup():
    student = nn.Linear(2, 2)
    teacher = make_teacher(student)
    with torch.no_grad():
        student.weight.add_(1.0)
    before = teacher.weight.clone()
    ema_update(teacher, student, 0.9)
    assert torch.allclose(teacher.weight, 0.9 * before + 0.1 * student.weight)
    assert sigmoid_rampup(0, 10) == pytest.approx(np.exp(-5)) and sigmoid_rampup(10, 10) == 1.0


def test_linear_probe_multilabel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0, np.zeros(200, bool)], 1).astype(int)
    p = linear_probe(x[:100], y[:100], x[100:], multilabel=True)
    assert p.shape == (100, 3) and macro_auroc(y[100:, :2], p[:, :2]) > 0.9


def test_auroc_and_bootstrap():
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auroc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    with pytest.raises(ValueError):
        auroc([1, 1], [0.1, 0.2])
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(size=300)
    point, lo, hi = bootstrap_ci(auroc, y, s, n_boot=200)
    assert lo < point < hi and 0.7 < point < 0.85
    d, dlo, dhi = paired_bootstrap_diff(auroc, y, s, rng.normal(size=300), n_boot=200)
    assert dlo > 0


def test_dice_and_hd95():
    a = np.zeros((20, 20), int)
    b = np.zeros((20, 20), int)
    a[5:10, 5:10] = 1
    b[5:10, 6:11] = 1
    d = dice_per_class(a, b, [1, 2])
    assert d[0] == pytest.approx(2 * 20 / 50) and np.isnan(d[1])
    for conv in ("pooled", "max_directed"):                   # a one-pixel shift: both conventions agree
        assert hd95_per_class(a, b, [1], convention=conv)[0] == pytest.approx(1.0)
        assert hd95(a == 1, a == 1, convention=conv) == 0.0
        assert np.isnan(hd95(a == 1, np.zeros_like(a, bool), convention=conv))
        assert hd95(a == 1, b == 1, spacing=(2.0, 2.0), convention=conv) == pytest.approx(2.0)


def test_losses():
    torch.manual_seed(0)
    e = torch.randn(8, 16)
    assert clip_loss(e, e, 0.07) < clip_loss(e, torch.randn(8, 16), 0.07)
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.randint(0, 3, (2, 8, 8))
    loss = dice_ce_loss(logits, target, 3, weight=torch.ones(2, 8, 8))
    loss.backward()
    assert loss.item() > 0 and logits.grad is not None


def test_weighted_auroc_matches_sklearn_on_every_resample():
    from sklearn.metrics import roc_auc_score

    from medrepro.metrics import bootstrap_weights, weighted_auroc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 120)
    s = np.round(y + rng.normal(size=120), 1)            # rounded: many ties
    w = bootstrap_weights(120, 20, seed=3)
    got = weighted_auroc(y, s, w)
    assert got[0] == pytest.approx(roc_auc_score(y, s))
    for r in range(1, 21):
        idx = np.repeat(np.arange(120), w[r].astype(int))
        assert got[r] == pytest.approx(roc_auc_score(y[idx], s[idx]))
    two = weighted_auroc(np.c_[y, 1 - y], np.c_[s, -s], w)
    assert two.shape == (21, 2) and np.allclose(two[:, 0], got) and np.allclose(two[:, 1], got)
    assert np.isnan(weighted_auroc(np.ones(5), np.arange(5.0), np.ones((1, 5))))[0]


def test_weighted_auroc_rejects_labels_other_than_0_1_and_nan_scores():
    from medrepro.metrics import weighted_auroc

    rng = np.random.default_rng(0)
    y01 = rng.integers(0, 2, 50)
    s = y01 + rng.normal(size=50)
    with pytest.raises(ValueError, match="labels 0/1"):
        weighted_auroc(2 * y01 - 1, s, np.ones((1, 50)))      # {-1, 1}: was 0.909 vs scikit-learn's 0.712
    with pytest.raises(ValueError, match="NaN"):
        weighted_auroc(y01, np.where(np.arange(50) == 3, np.nan, s), np.ones((1, 50)))
    with pytest.raises(ValueError, match="weights"):
        weighted_auroc(y01, s, -np.ones((1, 50)))
    assert weighted_auroc(y01.astype(bool), s, np.ones((1, 50)))[0] == pytest.approx(weighted_auroc(y01, s, np.ones((1, 50)))[0])


def test_cluster_bootstrap_resamples_whole_patients():
    from medrepro.metrics import bootstrap_ci, bootstrap_weights, mean_diff_ci

    groups = np.repeat(np.arange(10), 20)             # 10 patients, 20 slices each
    w = bootstrap_weights(200, 50, seed=0, groups=groups)
    assert w.shape == (51, 200) and (w[0] == 1).all()
    for row in w[1:]:                                 # equal weights within a patient; 10 patients drawn
        per = row.reshape(10, 20)
        assert (per == per[:, :1]).all() and per[:, 0].sum() == 10
    # slices of one patient share a patient effect: the patient-level interval must be wider
    rng = np.random.default_rng(1)
    scores = np.repeat(rng.normal(0, 1, 10), 20) + rng.normal(0, 0.1, 200)
    _, lo_s, hi_s = mean_diff_ci(scores, n_boot=400)
    m, lo_p, hi_p = mean_diff_ci(scores, groups=groups, n_boot=400)
    assert (hi_p - lo_p) > 3 * (hi_s - lo_s) and lo_p <= m <= hi_p
    _, lo_b, hi_b = bootstrap_ci(np.mean, scores, groups=groups, n_boot=400)
    assert (hi_b - lo_b) > 3 * (hi_s - lo_s)
    with pytest.raises(ValueError, match="one id per row"):
        bootstrap_weights(200, 5, groups=groups[:10])
    with pytest.raises(ValueError, match="two groups"):
        bootstrap_weights(20, 5, groups=np.zeros(20))


def test_cluster_bootstrap_draws_the_same_patients_as_the_naive_loop():
    # the group members are computed once per bootstrap; the resamples must be those of the plain definition
    # (per resample: draw len(groups) groups with replacement, concatenate their rows), or seed records move
    from medrepro.metrics.classification import _group_members, _resample_indices

    def naive(rng, groups):
        uniq, inverse = np.unique(groups, return_inverse=True)
        members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
        return np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])

    rng = np.random.default_rng(3)
    for _ in range(30):
        groups = rng.integers(0, rng.integers(2, 30), rng.integers(2, 200)).astype(str)
        if len(np.unique(groups)) < 2:
            continue
        members, a, b = _group_members(groups), np.random.default_rng(7), np.random.default_rng(7)
        for _ in range(5):
            assert np.array_equal(_resample_indices(a, len(groups), members), naive(b, groups))
    y, s = rng.integers(0, 2, 120), rng.normal(size=120)
    y[:2] = [0, 1]
    g = np.repeat(np.arange(30), 4)
    lo_hi = bootstrap_ci(auroc, y, s, groups=g, n_boot=50, seed=5)
    diff = paired_bootstrap_diff(auroc, y, s, -s, groups=g, n_boot=50, seed=5)
    assert lo_hi[1] <= lo_hi[0] <= lo_hi[2] and diff[1] <= diff[0] <= diff[2]


def test_two_level_mean_ci_resamples_draws_and_groups_as_a_loop_would():
    from medrepro.metrics import bootstrap_weights, mean_diff_ci, two_level_mean_ci
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.6, 0.1, (4, 30)), rng.normal(0.5, 0.1, (4, 30))
    groups = np.repeat(np.arange(10), 3)
    m, lo, hi = two_level_mean_ci(a, b, groups=groups, n_boot=200, seed=5)
    assert m == pytest.approx((a - b).mean()) and lo < m < hi
    # the same resamples written as a loop: draw counts from seed, whole-group counts from seed + 1
    wd, wi = bootstrap_weights(4, 200, seed=5), bootstrap_weights(30, 200, seed=6, groups=groups)
    loop = [sum(wd[r, i] * wi[r, j] * (a - b)[i, j] for i in range(4) for j in range(30)) / (wd[r].sum() * wi[r].sum())
            for r in range(1, 201)]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(loop, [0.025, 0.975])))
    # one draw: only the items are resampled, as mean_diff_ci does with the item seed
    assert two_level_mean_ci(a[0], b[0], groups=groups, n_boot=200, seed=5) == pytest.approx(
        mean_diff_ci(a[0], b[0], groups=groups, n_boot=200, seed=6))
    # draws that disagree widen the interval over the same items
    spread = a - b + np.array([[-0.2], [0.2], [-0.2], [0.2]])
    _, lo2, hi2 = two_level_mean_ci(spread, groups=groups, n_boot=200, seed=5)
    assert hi2 - lo2 > hi - lo
    with pytest.raises(ValueError, match="without NaN"):
        two_level_mean_ci(np.full((2, 3), np.nan))
