"""Diagonal state space models (S4D-style, time-invariant) and the selective scan (Mamba's S6).

A continuous state space model (SSM) maps an input ``u(t)`` to an output ``y(t)`` through a hidden state
``h(t) ∈ ℂᴺ``::

    h'(t) = A h(t) + B u(t),        y(t) = C h(t)

With ``A`` diagonal and the input held constant over a step Δ (zero-order hold, ZOH) it becomes exactly::

    h_k = Ā h_{k−1} + B̄ u_k,        Ā = exp(ΔA),        B̄ = (Ā − I) A⁻¹ B        (elementwise)

**Time-invariant (LTI) SSMs** (S4, S4D) keep Ā, B̄, C fixed over the sequence, so the same operator is

* a recurrence (:func:`ssm_scan`, O(L) sequential steps), or
* a causal convolution ``y = K * u`` with the kernel ``K_k = Re(C Ā^k B̄)`` (:func:`ssm_kernel`), computed
  for the whole sequence at once by FFT (:func:`ssm_fftconv`, O(L log L), parallel).

:func:`s4d_init` draws the S4D-Lin initialisation; :class:`S4DLayer` is a trainable causal layer of ``H``
independent channels computed by FFT convolution.

**Selective SSMs** (Mamba's S6) make Δ, B and C functions of the input at each position, so Ā_t and B̄_t change
along the sequence and no single kernel exists; the convolution is gone and the model is computed as a scan.
:func:`selective_scan` computes it for a real diagonal ``A`` as a two-level (blockwise) scan — about 2√L
sequential steps instead of L, with cumulative sums of ``log Ā_t = Δ_t A`` carrying the state between blocks —
and is checked in the tests against the plain sequential recurrence. It uses Mamba's discretisation: ZOH for ``A``
and the simplified ``B̄_t = Δ_t B_t`` for ``B``.

Shapes: LTI functions put channels before length, ``u (batch, H, L)``, as a convolution does;
:func:`selective_scan` puts length before channels, ``x (batch, L, D)``, as a token sequence does.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["zoh", "ssm_scan", "ssm_kernel", "ssm_fftconv", "s4d_init", "S4DLayer", "selective_scan"]


# ------------------------------------------------------------------------------------------- LTI (S4D)
def zoh(A: torch.Tensor, B: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-order hold for a diagonal ``A``: ``Ā = exp(ΔA)``, ``B̄ = (Ā − I) A⁻¹ B``, elementwise.

    Args:
        A: (H, N) diagonal of the state matrix per channel (complex or real, entries non-zero).
        B: (H, N) input matrix per channel.
        dt: (H,) step size Δ per channel.

    Returns:
        ``(Ā, B̄)``, each (H, N).
    """
    dtA = dt[:, None] * A                       # ΔA, Δ one per channel
    Abar = torch.exp(dtA)                       # Ā = exp(ΔA)
    return Abar, (Abar - 1) / A * B             # B̄ = (Ā − I) A⁻¹ B


def ssm_scan(u: torch.Tensor, Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """The recurrence ``h_k = Ā h_{k−1} + B̄ u_k``, ``y_k = Re(C h_k)`` from ``h_{−1} = 0``.

    One Python step per position: O(L·H·N) work, sequential in L. A reference, not fast.

    Args:
        u: (batch, H, L) real input.
        Abar, Bbar, C: (H, N) discrete parameters per channel.

    Returns:
        (batch, H, L) real output.
    """
    h = torch.zeros(*u.shape[:2], Abar.shape[-1], dtype=Abar.dtype, device=u.device)
    ys = []
    for k in range(u.shape[-1]):                # one step per position: O(L · H · N), sequential
        h = Abar * h + Bbar * u[..., k, None]
        ys.append((C * h).sum(-1).real)
    return torch.stack(ys, -1)


def ssm_kernel(A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, dt: torch.Tensor, L: int) -> torch.Tensor:
    """The convolution kernel ``K_k = Re(C Ā^k B̄)``, ``k = 0 … L−1``, with ``Ā^k = exp(kΔA)``.

    A Vandermonde product over the N states: O(H·N·L).

    Args:
        A, B, C: (H, N) continuous parameters per channel; dt: (H,) step sizes; L: kernel length.

    Returns:
        (H, L) real kernel.
    """
    Abar, Bbar = zoh(A, B, dt)
    k = torch.arange(L, device=A.device)
    power = torch.exp((dt[:, None] * A)[..., None] * k)          # Ā^k = exp(kΔA): (H, N, L)
    return ((C * Bbar)[..., None] * power).sum(-2).real          # Σ_n C_n B̄_n Ā_n^k


def ssm_fftconv(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Causal convolution ``y_k = Σ_{j≤k} K_{k−j} u_j`` by FFT, zero-padded to 2L so it does not wrap around.

    Args:
        u: (..., H, L) input; K: (H, L) kernel (or broadcastable to u).

    Returns:
        (..., H, L) output. O(H·L log L).
    """
    L = u.shape[-1]
    return torch.fft.irfft(torch.fft.rfft(u, 2 * L) * torch.fft.rfft(K, 2 * L), 2 * L)[..., :L]


def s4d_init(H: int, N: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """S4D-Lin initialisation: ``A_n = −½ + iπn``, ``B = 1``, ``C ~ CN(0, 1)``, ``log Δ ~ U[log 1e-3, log 1e-1]``.

    Args:
        H: channels; N: states per channel; seed: seeds a private generator (global RNG untouched).

    Returns:
        ``(A, B, C, dt)``: complex64 (H, N) ×3 and float32 (H,).
    """
    g = torch.Generator().manual_seed(seed)
    A = (-0.5 + 1j * math.pi * torch.arange(N)).to(torch.complex64).repeat(H, 1)
    B = torch.ones(H, N, dtype=torch.complex64)
    C = torch.randn(H, N, 2, generator=g).mul(0.5 ** 0.5)
    dt = torch.exp(torch.empty(H).uniform_(math.log(1e-3), math.log(1e-1), generator=g))
    return A, B, torch.view_as_complex(C.contiguous()), dt


class S4DLayer(nn.Module):
    """A trainable time-invariant diagonal SSM over ``H`` independent channels, causal, by FFT convolution.

    ``y = K * u + D ⊙ u`` per channel, ``K_k = Re(C Ā^k B̄)`` (:func:`ssm_kernel`), ZOH-discretised.
    Trainable: ``log(−Re A)`` (so ``Re A < 0``: stable by construction), ``Im A``, ``C``, ``log Δ``, ``D``;
    ``B = 1`` (its scale is absorbed into C).

    Args:
        H: channels; N: states per channel.
        real: ``True`` uses a real ``A_n = −(n + 1)`` (S4D-Real, the initialisation Mamba's S6 uses), with
            real ``C``; ``False`` the complex S4D-Lin ``A_n = −½ + iπn`` (:func:`s4d_init`).
        dt_range: Δ is initialised log-uniformly in this range.
        seed: seeds the initialisation of C and Δ (a private generator; the global RNG is untouched).

    Input and output: (batch, H, L).
    """

    def __init__(self, H: int, N: int, *, real: bool = False, dt_range: tuple[float, float] = (1e-3, 1e-1),
                 seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        n = torch.arange(N, dtype=torch.float32)
        self.real = real
        self.log_neg_re = nn.Parameter(torch.log(n + 1 if real else torch.full((N,), 0.5)).repeat(H, 1))
        self.im = nn.Parameter(torch.zeros(H, N) if real else (math.pi * n).repeat(H, 1),
                               requires_grad=not real)
        c = torch.randn(H, N, 1 if real else 2, generator=g) * (1.0 if real else 0.5 ** 0.5)
        self.C = nn.Parameter(c)
        lo, hi = math.log(dt_range[0]), math.log(dt_range[1])
        self.log_dt = nn.Parameter(torch.empty(H).uniform_(lo, hi, generator=g))
        self.D = nn.Parameter(torch.ones(H))

    def kernel(self, L: int) -> torch.Tensor:
        """The current (H, L) kernel ``K``."""
        A = torch.complex(-torch.exp(self.log_neg_re), self.im)
        C = torch.complex(self.C[..., 0], torch.zeros_like(self.C[..., 0])) if self.real \
            else torch.view_as_complex(self.C.contiguous())
        return ssm_kernel(A, torch.ones_like(A), C, torch.exp(self.log_dt), L)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(batch, H, L) → (batch, H, L)."""
        return ssm_fftconv(u, self.kernel(u.shape[-1])) + self.D[:, None] * u


# ------------------------------------------------------------------------------------ selective (S6)
def selective_scan(x: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor | None = None, *, block: int | None = None,
                   return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Selective scan (Mamba's S6) for a real diagonal ``A``, as a two-level (blockwise) scan.

    Per channel d and state n, from ``h_{−1} = 0``::

        h_t = Ā_t ⊙ h_{t−1} + B̄_t x_t,   Ā_t = exp(Δ_t A),   B̄_t = Δ_t B_t,   y_t = C_t · h_t + D x_t

    (ZOH for A; the simplified ``B̄_t = Δ_t B_t`` for B, as Mamba's reference implementation computes it).
    The sequence is cut into blocks of ``T`` positions (default ≈ √L). Three passes, each exact:

    1. the recurrence inside every block at once, from a zero state: T sequential steps, all blocks in parallel;
    2. the state entering each block: ``h_in[j+1] = P_j ⊙ h_in[j] + h_end[j]``, with ``P_j`` the product of the
       block's Ā — one step per block, L/T sequential steps;
    3. the correction ``h_t += (Ā_{t₀} ⋯ Ā_t) ⊙ h_in[j]``, the decay products taken as ``exp(cumsum(Δ A))``
       within the block (all ≤ 1: nothing overflows), in parallel.

    So about ``2√L`` sequential steps instead of L, and O(L·D·N) work and memory, like the recurrence.
    (Mamba's fused CUDA kernel does the same work as a parallel scan in fast on-chip memory and never writes
    the states h to main memory.)

    Args:
        x: (batch, L, D) input.
        delta: (batch, L, D) step sizes Δ_t > 0 (e.g. ``softplus`` of a projection of x).
        A: (D, N) real, negative diagonal of the state matrix.
        B, C: (batch, L, N) input-dependent input and output matrices, shared over the D channels as in Mamba;
            or (batch, L, D, N), one per channel (e.g. several scan directions folded into the channels).
        D: (D,) skip term, or ``None``.
        block: positions per block T (default ``round(√L)``); L is padded up to a multiple with Δ = 0,
            which leaves the state unchanged.
        return_state: also return the final state h_{L−1}, (batch, D, N).

    Returns:
        y (batch, L, D), and the final state when ``return_state``.
    """
    b, L, d = x.shape
    T = max(1, min(block or round(math.sqrt(L)), L))
    pad = (-L) % T
    if B.dim() == 3:  # shared over the channels: (batch, L, 1, N)
        B, C = B[:, :, None, :], C[:, :, None, :]
    if pad:  # padded positions: Δ = 0, so Ā = 1 and B̄ = 0 — the state passes through unchanged
        x, delta = F.pad(x, (0, 0, 0, pad)), F.pad(delta, (0, 0, 0, pad))
        B, C = F.pad(B, (0, 0, 0, 0, 0, pad)), F.pad(C, (0, 0, 0, 0, 0, pad))
    c = x.shape[1] // T
    log_a = (delta[..., None] * A).view(b, c, T, d, -1)                         # log Ā_t = Δ_t A: (b, c, T, D, N)
    u = ((delta * x)[..., None] * B).view(b, c, T, d, -1)                       # B̄_t x_t = Δ_t B_t x_t
    h, states = torch.zeros_like(u[:, :, 0]), []
    for a_t, u_t in zip(torch.exp(log_a).unbind(2), u.unbind(2)):   # 1. inside every block at once, from h = 0
        h = a_t * h + u_t
        states.append(h)
    h = torch.stack(states, 2)                               # (b, c, T, D, N)
    decay = torch.exp(log_a.cumsum(2))                       # Ā_{t₀} ⋯ Ā_t within each block
    carry, h_in = torch.zeros_like(h[:, 0, 0]), []
    for P_j, end_j in zip(decay[:, :, -1].unbind(1), h[:, :, -1].unbind(1)):   # 2. the state entering each block
        h_in.append(carry)
        carry = P_j * carry + end_j
    h = h + decay * torch.stack(h_in, 1)[:, :, None]         # 3. add the carried state, decayed
    y = (h.reshape(b, c * T, d, -1)[:, :L] * C[:, :L]).sum(-1)                  # y_t = C_t · h_t
    if D is not None:
        y = y + D * x[:, :L]
    return (y, carry) if return_state else y
