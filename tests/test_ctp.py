"""SVD deconvolution (medrepro.ctp) against tissue curves made from known residue functions."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro import ctp
from medrepro.sim.perfusion import gamma_variate

DT = 1.0
T = np.arange(60) * DT


def _aif(t0=5.0, beta=1.5, peak=400.0):
    return peak * gamma_variate(T, t0, 3.0, beta)


def _tissue(aif, cbf, mtt, delay=0.0, fine=20):
    """C(t) = rho/kH * CBF * (AIF conv R)(t - delay), R = exp(-t/MTT), integrated on a grid 20x finer."""
    tf = np.arange(len(T) * fine) * DT / fine
    a = np.interp(tf, T, aif)
    lag = tf - delay
    r = np.where(lag >= 0, np.exp(-np.clip(lag, 0, None) / mtt), 0.0)
    conv = np.convolve(a, r)[: len(tf)] * DT / fine
    return ctp.RHO / ctp.KH * cbf / 6000.0 * conv[::fine]


def test_convolution_matrix_is_the_discrete_convolution():
    rng = np.random.default_rng(0)
    a, k = rng.random(12), rng.random(12)
    A = ctp.convolution_matrix(a, 0.5)
    np.testing.assert_allclose(A @ k, 0.5 * np.convolve(a, k)[:12], atol=1e-12)
    Ac = ctp.convolution_matrix(a, 0.5, circulant=True)
    assert Ac.shape == (24, 24)
    kk = np.r_[k, np.zeros(12)]
    np.testing.assert_allclose((Ac @ kk)[:12], A @ k, atol=1e-12)   # no wrap-around within the padded length


def test_noiseless_deconvolution_recovers_the_residue_function():
    aif = _aif(t0=-0.5)                       # AIF(0) > 0: the convolution matrix is invertible
    k_true = 0.01 * np.exp(-T / 4.0)
    c = ctp.convolution_matrix(aif, DT) @ k_true                          # the exact discrete model
    k = ctp.svd_deconvolve(c, aif, DT, threshold=0.0)
    np.testing.assert_allclose(k[:30], k_true[:30], atol=1e-6)


@pytest.mark.parametrize("method", ["tsvd", "csvd"])
def test_maps_of_a_known_tissue(method):
    aif = _aif()
    cbf, mtt = 50.0, 4.0
    c = _tissue(aif, cbf, mtt)
    m = ctp.perfusion_maps(c[None], aif, DT, threshold=0.05, method=method)
    cbv_true = cbf * mtt / 60.0
    assert m["cbv"][0] == pytest.approx(cbv_true, rel=0.03)             # the area ratio is exact up to sampling
    assert 0.55 * cbf <= m["cbf"][0] <= cbf      # truncated SVD underestimates the peak of a sharp residue function
    assert m["mtt"][0] == pytest.approx(60 * m["cbv"][0] / m["cbf"][0])  # central volume principle
    assert m["tmax"][0] <= 2.0


def test_tmax_follows_the_delay_and_circulant_svd_is_delay_insensitive():
    aif = _aif()
    tmax = {}
    cbf = {}
    for method in ("tsvd", "csvd"):
        for delay in (0.0, 3.0, 6.0, 9.0):
            m = ctp.perfusion_maps(_tissue(aif, 50.0, 4.0, delay)[None], aif, DT, threshold=0.05, method=method)
            tmax[method, delay] = m["tmax"][0]
            cbf[method, delay] = m["cbf"][0]
    for d in (3.0, 6.0, 9.0):
        # the sampled step at the delay puts the peak of k(t) one or two frames after it
        assert 0 <= tmax["tsvd", d] - d <= 2.0 and 0 <= tmax["csvd", d] - d <= 2.0
    # the block-circulant CBF changes less with the delay than the standard one
    spread = {k: max(cbf[k, d] for d in (0, 3, 6, 9)) / min(cbf[k, d] for d in (0, 3, 6, 9)) for k in ("tsvd", "csvd")}
    assert spread["csvd"] < spread["tsvd"]


def test_higher_flow_gives_higher_cbf_under_noise():
    rng = np.random.default_rng(1)
    aif = _aif()
    curves = np.stack([_tissue(aif, f, 4.0) for f in (20.0, 40.0, 60.0)])
    noisy = curves[:, None] + rng.normal(0, 1.0, (3, 200, len(T)))
    m = ctp.perfusion_maps(noisy, aif, DT, threshold=0.2)
    med = np.median(m["cbf"], 1)
    assert med[0] < med[1] < med[2]


def test_time_to_peak_and_aif_selection():
    aif = _aif(t0=8.0)
    x = np.zeros((3, 3, 1, len(T))) + 30.0
    x[1, 1, 0] += aif
    x[0, 0, 0] += _tissue(aif, 50.0, 4.0)
    a, idx = ctp.select_aif(x, n_voxels=1)
    assert idx[0] == np.ravel_multi_index((1, 1, 0), (3, 3, 1))
    np.testing.assert_allclose(a, aif, atol=1e-9)
    assert ctp.time_to_peak(aif, DT) == T[np.argmax(aif)]
    m = ctp.maps_from_ctp(x, DT, brain=np.ones((3, 3, 1), bool), smooth=0)
    assert m["cbf"].shape == (3, 3, 1) and m["tmax"][0, 0, 0] <= 2.0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="time points"):
        ctp.svd_deconvolve(np.zeros((2, 10)), np.ones(12), 1.0)
    with pytest.raises(ValueError, match="method"):
        ctp.svd_deconvolve(np.zeros((2, 10)), np.ones(10), 1.0, method="osvd")
    with pytest.raises(ValueError, match="dt"):
        ctp.convolution_matrix(np.ones(5), 0.0)
    with pytest.raises(ValueError, match=r"\(X, Y, Z, T\)"):
        ctp.maps_from_ctp(np.zeros((3, 3, 10)), 1.0)
