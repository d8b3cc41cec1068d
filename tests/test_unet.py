"""Tests for the configurable 2-D U-Net (medrepro.nn.unet)."""
import pytest
import torch
from torch import nn

from medrepro.nn.unet import ConvBlock, UNet2d, count_parameters, up_bilinear, up_transpose


def test_output_shape_and_features():
    net = UNet2d(1, 4, channels=(8, 16, 32))
    x = torch.randn(2, 1, 32, 48)
    assert net(x).shape == (2, 4, 32, 48)
    feats = net.encode(x)
    assert [f.shape[1] for f in feats] == [8, 16, 32] and feats[-1].shape[-2:] == (8, 12)
    assert net.decode(feats).shape == (2, 8, 32, 48)
    assert net.divisor == 4


def test_swappable_parts():
    calls = []

    class Res(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            calls.append((i, o))
            self.body, self.skip = ConvBlock(i, o, norm="instance"), nn.Conv2d(i, o, 1)

        def forward(self, x):
            return self.body(x) + self.skip(x)

    net = UNet2d(1, 3, channels=(4, 8), encoder_block=Res, upsample=up_bilinear, norm="none")
    assert calls == [(1, 4), (4, 8)]
    assert isinstance(net.ups[0][0], nn.Upsample)
    assert net(torch.randn(1, 1, 16, 16)).shape == (1, 3, 16, 16)
    dec_calls = []
    net2 = UNet2d(2, 2, channels=(4, 8, 16), decoder_block=lambda i, o: dec_calls.append((i, o)) or nn.Conv2d(i, o, 1),
                  upsample=up_transpose)
    assert dec_calls == [(16, 8), (8, 4)]
    assert net2(torch.randn(1, 2, 16, 16)).shape == (1, 2, 16, 16)


def test_norms_and_bad_input():
    for norm in ("batch", "instance", "group", "none"):
        assert UNet2d(1, 2, (4, 8), norm=norm)(torch.randn(2, 1, 8, 8)).shape == (2, 2, 8, 8)
    with pytest.raises(ValueError):
        UNet2d(1, 2, (4, 8), norm="layer")
    with pytest.raises(ValueError):
        UNet2d(1, 2, (4,))
    with pytest.raises(ValueError, match="one value per level"):
        UNet2d(1, 2, (4, 8), dropout=(0.1,))
    net = UNet2d(1, 2, (4, 8), dropout=(0.05, 0.5))
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout2d)] == [0.05, 0.5]
    with pytest.raises(ValueError, match="divisible"):
        UNet2d(1, 2, (4, 8, 16))(torch.randn(1, 1, 10, 12))


def test_trains_and_is_deterministic():
    def run():
        torch.manual_seed(0)
        net = UNet2d(1, 2, (4, 8), norm="instance")
        x = torch.randn(2, 1, 8, 8)
        y = (x[:, 0] > 0).long()
        losses = []
        for _ in range(20):  # plain gradient descent (a torch.optim optimizer would import torch._dynamo: slow)
            loss = nn.functional.cross_entropy(net(x), y)
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= 0.1 * p.grad
            losses.append(loss.item())
        return losses
    a, b = run(), run()
    assert a == b and a[-1] < 0.8 * a[0]
    assert count_parameters(UNet2d(1, 4, (8, 16, 32))) > 1000
