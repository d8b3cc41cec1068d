"""EEGNet (medrepro.nn.eegnet): shapes, the layers torcheeg names, and the spatial-first variant's algebra."""
from __future__ import annotations

import pytest
import torch

from medrepro.nn.eegnet import EEGNet


@pytest.mark.parametrize("spatial_first", [False, True])
def test_shapes_and_training_step(spatial_first):
    torch.manual_seed(0)
    net = EEGNet(32, 128, 16, F1=4, D=2, F2=8, kernel_1=16, kernel_2=8, spatial_first=spatial_first)
    x = torch.randn(5, 1, 32, 128)
    assert net(x).shape == (5, 16) and net.features(x).shape == (5, net.lin.in_features)
    loss = torch.nn.functional.cross_entropy(net(x), torch.arange(5))
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_default_sizes_follow_torcheeg():
    net = EEGNet()                       # F1 8, D 2, F2 16, kernel 64 / 16, 32 electrodes x 128 samples
    assert net.block1[0].weight.shape == (8, 1, 1, 64) and net.block1[2].weight.shape == (16, 1, 32, 1)
    assert net.lin.in_features == 16 * 4 and net.lin.bias is None
    with pytest.raises(ValueError, match="divisible by 32"):
        EEGNet(32, 100)


def test_spatial_first_block_is_spatial_then_temporal_filter():
    torch.manual_seed(1)
    net = EEGNet(8, 64, 3, F1=2, D=2, F2=4, kernel_1=8, kernel_2=4, spatial_first=True).eval()
    x = torch.randn(3, 1, 8, 64)
    spatial, temporal = net.block1[0].weight, net.block1[1].weight[:, 0, 0]        # (4, 8), (4, 8)
    s = torch.einsum("oc,bct->bot", spatial, x[:, 0])                                # naive spatial filter
    xp = torch.nn.functional.pad(s, (4, 4))
    naive = torch.stack([sum(temporal[o, j] * xp[:, o, j:j + 65] for j in range(8)) for o in range(4)], 1)
    got = net.block1[1](net.block1[0](x))[:, :, 0]
    torch.testing.assert_close(got, naive, rtol=1e-5, atol=1e-5)
