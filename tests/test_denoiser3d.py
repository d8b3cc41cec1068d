"""medrepro.nn.denoiser3d: shapes, the null condition, memory-layout invariance, and that it can learn."""
import pytest
import torch
import torch.nn.functional as F

from medrepro import diffusion as dm
from medrepro.nn.denoiser3d import Denoiser3d


def test_shapes_and_condition():
    torch.manual_seed(0)
    net = Denoiser3d((8, 16), cond_dim=5, in_channels=2)
    x, t, c = torch.randn(3, 2, 4, 6, 8), torch.tensor([0, 3, 9]), torch.rand(3, 5)
    out = net(x, t, c)
    assert out.shape == x.shape
    torch.nn.init.normal_(net.null)
    none, dropped = net(x, t, None), net(x, t, c, drop=torch.tensor([True, True, True]))
    torch.testing.assert_close(none, dropped)                    # drop = the null condition
    mixed = net(x, t, c, drop=torch.tensor([True, False, False]))
    torch.testing.assert_close(mixed[0], none[0])
    torch.testing.assert_close(mixed[1:], out[1:])
    assert not torch.allclose(out[0], none[0])
    with pytest.raises(ValueError, match="even"):
        net(torch.randn(1, 2, 4, 6, 7), t[:1], c[:1])


def test_channels_last_3d_gives_the_same_numbers():
    torch.manual_seed(1)
    net = Denoiser3d((8, 16), cond_dim=3, in_channels=1)
    x, t, c = torch.randn(2, 1, 4, 4, 6), torch.tensor([1, 2]), torch.rand(2, 3)
    ref = net(x, t, c)
    cl = torch.channels_last_3d
    got = net.to(memory_format=cl)(x.contiguous(memory_format=cl), t, c)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_channels_are_coupled():
    """The output of the mask channel depends on the image channel (a joint model, not two stacked ones)."""
    torch.manual_seed(2)
    net = Denoiser3d((8, 16), cond_dim=3, in_channels=2)
    x, t = torch.randn(1, 2, 4, 4, 4), torch.tensor([5])
    y = x.clone()
    y[:, 0] += 1.0
    assert not torch.allclose(net(x, t)[:, 1], net(y, t)[:, 1])


def test_learns_the_noise_of_a_constant_volume():
    torch.manual_seed(3)
    sched = dm.Schedule.cosine(10)
    net = Denoiser3d((8, 8), cond_dim=2, in_channels=1)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x0 = torch.full((16, 1, 4, 4, 4), -0.5)
    losses = []
    for _ in range(60):
        t, eps = torch.randint(0, 10, (16,)), torch.randn_like(x0)
        loss = F.mse_loss(net(dm.q_sample(sched, x0, t, eps), t, torch.zeros(16, 2)), eps)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:5]) / 5
