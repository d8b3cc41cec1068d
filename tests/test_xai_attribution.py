"""medrepro.xai.attribution: the segmentation wrapper, infidelity and max-sensitivity, checked against Captum."""
import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, Saliency
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max as captum_sensitivity_max
from torch import nn

from medrepro.xai.attribution import (SegmentationScore, infidelity, mass_inside, parametrised_layers,
                                      randomize_weights, rank_correlation, sensitivity_max)


def _seg(dim: int = 2) -> nn.Module:
    torch.manual_seed(0)
    conv = nn.Conv2d if dim == 2 else nn.Conv3d
    return nn.Sequential(conv(1, 4, 3, padding=1), nn.ReLU(), conv(4, 3, 3, padding=1)).eval()


@pytest.mark.parametrize("dim", [2, 3])
def test_wrapper_matches_torchesegeta_definition(dim):
    net = _seg(dim)
    x = torch.randn(2, 1, *([6] * dim))
    out = net(x)
    score = SegmentationScore(net)(x)
    for b in range(2):
        am = out[b].argmax(0)
        for c in range(3):
            assert torch.isclose(score[b, c], out[b, c][am == c].sum(), atol=1e-5)
    fixed = torch.zeros(1, *([6] * dim), dtype=torch.long)          # a label map, broadcast over the batch
    fixed[(0,) + (slice(1, 3),) * dim] = 2
    s2 = SegmentationScore(net, fixed)(x)
    assert torch.allclose(s2[:, 2], out[:, 2][(slice(None),) + (slice(1, 3),) * dim].flatten(1).sum(1), atol=1e-5)
    with pytest.raises(ValueError, match="fixed mask holds"):
        SegmentationScore(net, fixed.repeat(3, *([1] * dim)))(x)


def _perturb(noise):
    """A Captum perturb_func that hands out the given noise (captum repeats samples with repeat_interleave)."""
    def fn(inputs):
        return noise.reshape(inputs.shape), inputs - noise.reshape(inputs.shape)
    return fn


@pytest.mark.parametrize("normalize", [False, True])
def test_infidelity_equals_captum(normalize):
    net = SegmentationScore(_seg()).eval()
    torch.manual_seed(3)
    x = torch.randn(3, 1, 8, 8)
    attr = Saliency(net).attribute(x, target=1, abs=False)
    noise = 0.1 * torch.randn(3, 5, 1, 8, 8)
    ours = infidelity(net, x, attr, noise, target=1, normalize=normalize)
    ref = captum_infidelity(net, _perturb(noise), x, attr, target=1, n_perturb_samples=5, normalize=normalize)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-8)


def test_sensitivity_equals_captum():
    net = SegmentationScore(_seg()).eval()
    torch.manual_seed(4)
    x = torch.randn(2, 1, 8, 8)
    ig = IntegratedGradients(net)
    explain = lambda z, **kw: ig.attribute(z, target=2, n_steps=8)
    noise = 0.02 * torch.rand(2, 4, 1, 8, 8)
    ours = sensitivity_max(explain, x, noise)
    ref = captum_sensitivity_max(explain, x, perturb_func=lambda inp: inp + noise.reshape(inp.shape),
                                 n_perturb_samples=4)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-4)


def test_saliency_has_zero_infidelity_for_a_linear_model():
    torch.manual_seed(5)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(16, 1))
    x = torch.randn(4, 1, 4, 4)
    attr = Saliency(lin).attribute(x, abs=False)
    assert infidelity(lin, x, attr, torch.randn(4, 6, 1, 4, 4)).max() < 1e-8


def test_randomize_weights_and_helpers():
    net = _seg()
    names = parametrised_layers(net)
    assert names == ["0", "2"]
    r = randomize_weights(net, names[-1:], seed=1)
    assert torch.equal(r[0].weight, net[0].weight) and not torch.equal(r[2].weight, net[2].weight)
    assert torch.equal(randomize_weights(net, seed=1)[2].weight, randomize_weights(net, seed=1)[2].weight)
    with pytest.raises(KeyError):
        randomize_weights(net, ["nope"])
    a = torch.tensor([[[1.0, -3.0], [0.0, 0.0]]])
    assert torch.isclose(mass_inside(a, torch.tensor([[True, False], [False, False]])), torch.tensor(0.25))
    assert torch.isnan(mass_inside(torch.zeros(1, 2, 2), torch.ones(2, 2, dtype=bool)))
    u = torch.randn(2, 50)
    assert torch.allclose(rank_correlation(u, 3 * u), torch.ones(2, dtype=torch.float64))
    from scipy.stats import spearmanr
    v = torch.randn(2, 50)
    assert np.isclose(float(rank_correlation(u, v)[0]), spearmanr(u[0].abs(), v[0].abs()).statistic)
