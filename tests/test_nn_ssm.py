"""Tests for the state space model kernels (medrepro.nn.ssm)."""
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from medrepro.nn.ssm import S4DLayer, s4d_init, selective_scan, ssm_fftconv, ssm_kernel, ssm_scan, zoh


def test_s4d_init_shapes_and_determinism():
    A, B, C, dt = s4d_init(3, 5, seed=1)
    assert A.shape == B.shape == C.shape == (3, 5) and dt.shape == (3,)
    assert A.is_complex() and C.is_complex() and not dt.is_complex()
    assert torch.all(A.real < 0) and torch.all((dt >= 1e-3) & (dt <= 1e-1))
    assert torch.equal(C, s4d_init(3, 5, seed=1)[2]) and not torch.equal(C, s4d_init(3, 5, seed=2)[2])


def test_zoh_matches_matrix_exponential_of_the_augmented_system():
    """Van Loan: expm([[A, B], [0, 0]] Δ) = [[Ā, B̄], [0, I]] for the exact zero-order hold."""
    A, B, _, dt = s4d_init(2, 4, seed=0)
    A = A.to(torch.complex128) - 0.3 * torch.arange(4)          # distinct decay rates as well
    B = B.to(torch.complex128) * (1 + 0.5j)
    dt = dt.double() * 10
    Abar, Bbar = zoh(A, B, dt)
    for h in range(2):
        M = np.zeros((5, 5), complex)
        M[:4, :4] = np.diag(A[h].numpy())
        M[:4, 4] = B[h].numpy()
        E = scipy.linalg.expm(M * float(dt[h]))
        np.testing.assert_allclose(Abar[h].numpy(), np.diag(E[:4, :4]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(Bbar[h].numpy(), E[:4, 4], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("L", [1, 17, 128])
def test_recurrence_equals_fft_convolution(L):
    A, B, C, dt = s4d_init(3, 8, seed=L)
    dt = dt * 10
    u = torch.randn(2, 3, L, generator=torch.Generator().manual_seed(L))
    Abar, Bbar = zoh(A, B, dt)
    y_rec = ssm_scan(u, Abar, Bbar, C)
    K = ssm_kernel(A, B, C, dt, L)
    y_conv = ssm_fftconv(u, K)
    assert y_rec.shape == y_conv.shape == (2, 3, L) and K.shape == (3, L)
    assert float((y_rec - y_conv).norm() / y_rec.norm()) < 1e-4
    # the impulse response of the recurrence is the kernel
    imp = torch.zeros(1, 3, L)
    imp[..., 0] = 1
    torch.testing.assert_close(ssm_scan(imp, Abar, Bbar, C)[0], K, rtol=1e-4, atol=1e-5)


def test_euler_input_matrix_breaks_the_agreement():
    A, B, C, dt = s4d_init(2, 8, seed=0)
    dt = dt * 10
    u = torch.randn(1, 2, 64, generator=torch.Generator().manual_seed(0))
    Abar, _ = zoh(A, B, dt)
    y_euler = ssm_scan(u, Abar, dt[:, None] * B, C)
    y_conv = ssm_fftconv(u, ssm_kernel(A, B, C, dt, 64))
    assert float((y_euler - y_conv).norm() / y_conv.norm()) > 1e-3


@pytest.mark.parametrize("real", [False, True])
def test_s4d_layer_is_causal_and_trainable(real):
    layer = S4DLayer(4, 6, real=real, seed=0)
    u = torch.randn(2, 4, 32)
    y = layer(u)
    assert y.shape == u.shape
    u2 = u.clone()
    u2[..., 20:] += 1.0                                          # changing the future leaves the past alone
    torch.testing.assert_close(layer(u2)[..., :20], y[..., :20])
    y.square().mean().backward()
    assert layer.log_dt.grad is not None and layer.C.grad is not None and layer.log_neg_re.grad is not None
    if real:
        assert torch.all(layer.kernel(8).isfinite()) and not layer.im.requires_grad


def _reference_selective_scan(x, delta, A, B, C, D):
    h = torch.zeros(x.shape[0], x.shape[2], A.shape[1], dtype=x.dtype)
    ys = []
    for t in range(x.shape[1]):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * x[:, t])[..., None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1) + D * x[:, t])
    return torch.stack(ys, 1), h


@pytest.mark.parametrize("L,block", [(1, None), (64, None), (100, 16), (33, 64), (257, 7)])
def test_selective_scan_equals_sequential_recurrence(L, block):
    g = torch.Generator().manual_seed(L)
    b, d, n = 2, 5, 6
    x = torch.randn(b, L, d, generator=g)
    delta = F.softplus(2 * torch.randn(b, L, d, generator=g))
    A = -torch.rand(d, n, generator=g) * 10 - 0.1
    B, C = torch.randn(b, L, n, generator=g), torch.randn(b, L, n, generator=g)
    D = torch.randn(d, generator=g)
    y_ref, h_ref = _reference_selective_scan(x, delta, A, B, C, D)
    y, h = selective_scan(x, delta, A, B, C, D, block=block, return_state=True)
    assert y.shape == (b, L, d) and h.shape == (b, d, n)
    assert float((y - y_ref).norm() / y_ref.norm()) < 1e-5
    assert float((h - h_ref).norm() / h_ref.norm()) < 1e-5


def test_selective_scan_reduces_to_lti_for_constant_parameters_and_has_gradients():
    """Constant Δ, B, C: the S6 scan is an LTI SSM (real A, Euler B̄ = ΔB) — a convolution."""
    L, d, n = 48, 3, 4
    A = -torch.arange(1.0, n + 1).repeat(d, 1)
    dt = torch.tensor([0.05, 0.2, 0.5])
    Bv, Cv = torch.randn(n), torch.randn(n)
    x = torch.randn(2, L, d, requires_grad=True)
    y = selective_scan(x, dt.expand(2, L, d), A, Bv.expand(2, L, n), Cv.expand(2, L, n), block=16)
    Abar = torch.exp(dt[:, None] * A)
    K = ((Cv * dt[:, None] * Bv)[..., None] * Abar[..., None] ** torch.arange(L)).sum(-2)   # C Ā^k ΔB
    torch.testing.assert_close(y, ssm_fftconv(x.transpose(1, 2), K).transpose(1, 2), rtol=1e-4, atol=1e-5)
    y.sum().backward()
    assert x.grad is not None and torch.all(x.grad.isfinite())


def test_selective_scan_with_one_B_and_C_per_channel():
    """B, C of shape (batch, L, D, N): channel groups with their own B_t, C_t (e.g. scan directions)."""
    g = torch.Generator().manual_seed(3)
    b, L, d, n = 2, 40, 4, 3
    x, delta = torch.randn(b, L, d, generator=g), F.softplus(torch.randn(b, L, d, generator=g))
    A = -torch.rand(d, n, generator=g) - 0.5
    B, C = torch.randn(b, L, d, n, generator=g), torch.randn(b, L, d, n, generator=g)
    y = selective_scan(x, delta, A, B, C, block=6)
    for k in range(d):   # each channel alone, with its own B and C shared "over" one channel
        yk = selective_scan(x[..., k:k + 1], delta[..., k:k + 1], A[k:k + 1], B[:, :, k], C[:, :, k])
        torch.testing.assert_close(y[..., k:k + 1], yk, rtol=1e-5, atol=1e-6)
