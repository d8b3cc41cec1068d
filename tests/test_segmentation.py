"""Tests for the helpers shared by the segmentation notebooks (medrepro.segmentation)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from medrepro.segmentation import (
    augment, make_optimizer, predict, random_batches, slice_scores, val_dice, volume_scores,
)


class Threshold(nn.Module):
    """Two-class 'network': logits (1 - x, x), so the label map is x > 0.5; records its train/eval mode."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return torch.cat([1 - x, x], 1)


def test_predict_batches_and_eval_mode():
    torch.manual_seed(0)
    X = torch.rand(7, 1, 5, 6)
    net = Threshold().train()
    out = predict(net, X, batch=3)
    assert out.shape == (7, 5, 6) and out.dtype == np.int64
    np.testing.assert_array_equal(out, (X[:, 0] > 0.5).numpy())
    assert not net.training
    inverted = predict(net, X, batch=64, forward=lambda x: -net(x))     # forward replaces model(x)
    np.testing.assert_array_equal(inverted, 1 - out)


def test_slice_scores():
    gt = np.zeros((3, 4, 4), int)
    pred = np.zeros_like(gt)
    gt[0, :2] = 1; pred[0, :1] = 1                # class 1: Dice 2·4/(4+8) = 2/3; class 2 absent: skipped
    gt[1, :2] = 2                                 # class 2 missed entirely: 0
    s = slice_scores(pred, gt, (1, 2))            # slice 2: nothing in either → 1
    np.testing.assert_allclose(s, [2 / 3, 0.0, 1.0])
    np.testing.assert_allclose(slice_scores(pred, gt, (2,)), [1.0, 0.0, 1.0])


def test_volume_scores_groups_by_volume():
    gt = np.zeros((4, 8, 8), int)
    gt[:, 2:6, 2:6] = 1
    pred = gt.copy()
    pred[2:, 2:6, 2:4] = 0                        # volume "b" loses half of its structure
    s = SimpleNamespace(volume_id=np.array(["a", "a", "b", "b"]), spacing=np.full((4, 3), (1.0, 1.0, 5.0)))
    dice, hd = volume_scores(pred, gt, s, (1,), convention="pooled")
    assert dice.shape == hd.shape == (2, 1)
    np.testing.assert_allclose(dice[:, 0], [1.0, 2 * 16 / (16 + 32)])
    assert hd[0, 0] == 0.0 and hd[1, 0] > 0


def test_val_dice_one_or_several_models():
    torch.manual_seed(1)
    X = torch.rand(5, 1, 6, 6)
    gt = (X[:, 0] > 0.5).long().numpy()
    net = Threshold()
    assert val_dice(net, X, gt, (1,)) == pytest.approx(1.0)
    flipped = nn.Module()
    flipped.forward = lambda x: -net(x)
    pair = nn.ModuleList([net, flipped])
    expected = np.mean([1.0, slice_scores(1 - gt, gt, (1,)).mean()])
    assert val_dice(pair, X, gt, (1,)) == pytest.approx(expected)
    assert val_dice([net, flipped], X, gt, (1,)) == pytest.approx(expected)


def test_augment_same_transform_for_all_and_none_passes():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    y = x[:, 0].long()
    g = torch.Generator().manual_seed(3)
    ax, ay, none = augment(g, x, y, None)
    assert none is None and ax.shape == x.shape
    torch.testing.assert_close(ax[:, 0].long(), ay)                    # images and labels move together
    g = torch.Generator().manual_seed(3)
    k, flip = int(torch.randint(0, 4, (1,), generator=g)), bool(torch.randint(0, 2, (1,), generator=g))
    ref = torch.rot90(x, k, (-2, -1))
    torch.testing.assert_close(ax, ref.flip(-1) if flip else ref)


def test_augment_disabled_draws_nothing():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 1, 3, 3)
    out = augment(g, x, None, enabled=False)
    assert out[0] is x and out[1] is None
    assert torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=torch.Generator().manual_seed(4)))


def test_make_optimizer():
    p = [nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer(p, "sgd", 0.01)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["weight_decay"] == 1e-4 and sgd.defaults["lr"] == 0.01
    adam = make_optimizer(p, "adam", 5e-3)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == 5e-3
    with pytest.raises(ValueError):
        make_optimizer(p, "rmsprop", 0.1)


def test_random_batches_reproducible():
    a, b = random_batches(10, 4, seed=7), random_batches(10, 4, seed=7)
    for _ in range(3):
        ia, ib = next(a), next(b)
        assert torch.equal(ia, ib) and ia.shape == (4,) and int(ia.min()) >= 0 and int(ia.max()) < 10
