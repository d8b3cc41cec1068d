"""medrepro.xai.linear: the linear interpreter of piecewise-linear networks, checked against torch autograd."""
import pytest
import torch
from torch import nn

from medrepro.xai.linear import (LinearScope, NotPiecewiseLinearError, check_piecewise_linear, columns,
                                 linear_interpreter, rows)


def _cnn(pool: type[nn.Module] = nn.MaxPool2d) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), pool(2), nn.Conv2d(4, 4, 3, padding=1),
                         nn.LeakyReLU(0.1), nn.BatchNorm2d(4), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3)).eval()


class _Skip(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU())
        self.b = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(3, 3, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2))
        self.c = nn.Conv2d(6, 1, 1)

    def forward(self, x):
        e = self.a(x)
        return self.c(torch.cat([e, self.b(e)], 1))


@pytest.mark.parametrize("make", [_cnn, _Skip])
def test_exact_and_equal_to_jacobian(make):
    torch.manual_seed(1)
    net = make().eval()
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        parts = linear_interpreter(net, x)
        y = net(x)
    assert torch.allclose(parts.y, y, atol=1e-6)                               # the hooks do not change f(x)
    assert torch.allclose(parts.Av[0] + parts.bias, y, atol=1e-5)               # f(x) = A(x)x + b(x)
    x1 = x[:1]
    J = torch.func.jacrev(lambda z: net(z[None])[0])(x1[0]).detach().reshape(y[0].numel(), -1)
    cols = columns(net, x1, chunk=100).reshape(x1[0].numel(), -1).T
    assert torch.allclose(cols, J, atol=1e-5)
    r = rows(net, x1, outputs=torch.arange(min(3, y[0].numel()))).reshape(-1, x1[0].numel())
    assert torch.allclose(r, J[: len(r)], atol=1e-5)
    # b(x) = f(x) − J x, with J from autograd (no hook involved)
    assert torch.allclose(parts.bias[0].flatten(), y[0].flatten() - J @ x1.flatten(), atol=1e-4)


def test_probes_are_linear_and_use_the_reference_masks():
    net = _cnn()
    x = torch.randn(2, 1, 16, 16)
    u, v = torch.randn(2, 1, 16, 16), torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        p = linear_interpreter(net, x, torch.stack([u, v, 2 * u - 3 * v]))
    assert torch.allclose(p.Av[2], 2 * p.Av[0] - 3 * p.Av[1], atol=1e-4)
    # a probe equal to another reference image is NOT that image's output in general (masks of x are used)
    with torch.no_grad():
        q = linear_interpreter(net, x[:1], x[1:][None])
        assert not torch.allclose(q.Av[0] + q.bias, net(x[1:]), atol=1e-3)


def test_model_restored_and_refusals():
    net = _cnn()
    before = [type(m) for m in net.modules()]
    linear_interpreter(net, torch.randn(1, 1, 16, 16))
    assert [type(m) for m in net.modules()] == before and not any(isinstance(m, LinearScope) for m in net.modules())
    with pytest.raises(NotPiecewiseLinearError, match="SiLU"):
        check_piecewise_linear(nn.Sequential(nn.Conv2d(1, 1, 3), nn.SiLU()))
    with pytest.raises(NotPiecewiseLinearError, match="training mode"):
        check_piecewise_linear(_cnn().train())
    with pytest.raises(NotPiecewiseLinearError, match="GroupNorm"):
        linear_interpreter(nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(1, 2)), torch.randn(1, 1, 8, 8))
    with pytest.raises(ValueError, match="probes must have shape"):
        linear_interpreter(net, torch.randn(2, 1, 16, 16), torch.randn(1, 3, 1, 16, 16))


def test_maxpool_3d_and_1d():
    torch.manual_seed(2)
    for net, shape in ((nn.Sequential(nn.Conv3d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2), nn.Flatten(),
                                      nn.Linear(2 * 8, 2)), (2, 1, 4, 4, 4)),
                       (nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.MaxPool1d(2), nn.ReLU()), (2, 1, 8))):
        x = torch.randn(*shape)
        with torch.no_grad():
            p = linear_interpreter(net.eval(), x)
            assert torch.allclose(p.Av[0] + p.bias, net(x), atol=1e-5)
