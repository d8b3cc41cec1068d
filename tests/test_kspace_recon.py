"""medrepro.sim.kspace, medrepro.metrics.recon, medrepro.nn.varnet and the CMRxRecon reader/fixture.

Checked against the outside: the FFT against numpy's unshifted FFT and the official loadFun.ifft2c recipe,
the metrics against scikit-image (the challenge's own implementation calls it), the .mat files against
scipy.io (which must recognise them as v7.3 and refuse them, as for MATLAB's files) and against plain h5py
reads in the official loadFun convention (compound real/imag, dimensions reversed).
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from medrepro.data.datasets import cmrxrecon as cx
from medrepro.metrics.recon import challenge_metrics, nmse, ssim_torch
from medrepro.nn.varnet import VarNet
from medrepro.sim import kspace as ks


def _official_ifft2c(x):
    """The official ChallengeDataFormat/loadFun.ifft2c, transcribed (MATLAB order: (kx, ky, ...))."""
    S = x.shape
    fctr = S[0] * S[1]
    x = x.reshape(S[0], S[1], -1)
    res = np.zeros(x.shape, complex)
    for n in range(x.shape[2]):
        res[:, :, n] = np.sqrt(fctr) * np.fft.ifftshift(np.fft.ifft2(np.fft.fftshift(x[:, :, n])))
    return res.reshape(S)


def test_fft_centred_orthonormal_and_official_convention():
    rng = np.random.default_rng(0)
    k = rng.standard_normal((3, 12, 10)) + 1j * rng.standard_normal((3, 12, 10))
    x = ks.ifft2c(k)
    assert np.allclose(np.linalg.norm(x), np.linalg.norm(k))                 # Parseval (orthonormal)
    assert np.allclose(ks.fft2c(x), k)
    off = _official_ifft2c(np.transpose(k, (2, 1, 0)))                       # official, MATLAB order
    assert np.allclose(np.transpose(off, (2, 1, 0)), x)
    xt = ks.ifft2c(torch.from_numpy(k))
    assert np.allclose(xt.numpy(), x)
    img = np.zeros((8, 8)); img[4, 4] = 1                                   # the centre pixel ↔ flat k-space
    assert np.allclose(np.abs(ks.fft2c(img)), 1 / 8)


def test_masks():
    m = ks.equispaced_mask(204, 8, 24)
    assert m[::8].all() and m[ks.acs_lines(204, 24)].all() and m.sum() == len(set(range(0, 204, 8)) | set(ks.acs_lines(204, 24)))
    assert ks.acs_lines(204, 24)[0] == 90 and ks.acs_lines(204, 24)[-1] == 113
    vd = ks.variable_density_mask(128, 4, 10, seed=1)
    assert vd.sum() == 32 and vd[ks.acs_lines(128, 10)].all()
    assert np.array_equal(vd, ks.variable_density_mask(128, 4, 10, seed=1))
    with pytest.raises(ValueError):
        ks.acs_lines(10, 24)


def test_maps_normalised_and_adjoint():
    maps = ks.birdcage_maps(6, (16, 20))
    assert np.allclose(ks.rss(maps, axis=0), 1, atol=1e-5)
    s = torch.from_numpy(maps)[None]
    mask = torch.from_numpy(ks.equispaced_mask(16, 4, 4)).float()[None, None, :, None]
    assert ks.dot_product_test(s, mask) < 1e-5
    # a wrong adjoint (no conjugate on the maps) must fail the test
    bad = lambda k, m, mk: (m * ks.ifft2c(mk * k)).sum(1)
    x = torch.randn(1, 16, 20, dtype=torch.complex64); y = torch.randn(1, 6, 16, 20, dtype=torch.complex64)
    lhs = torch.vdot(ks.sense_forward(x, s, mask).flatten(), y.flatten())
    assert abs(lhs - torch.vdot(x.flatten(), bad(y, s, mask).flatten())) > 1e-2 * abs(lhs)


def test_sense_cg_recovers_noiseless_image_with_true_maps():
    rng = np.random.default_rng(0)
    img = np.zeros((1, 32, 32)); img[0, 8:24, 10:22] = 1 + rng.random((16, 12))
    mc = ks.simulate_multicoil(img, 8, noise=0.0, seed=0)
    mask = torch.from_numpy(ks.equispaced_mask(32, 2, 6)).float()[None, None, :, None]
    k0 = torch.from_numpy(mc.kspace) * mask
    x, hist = ks.sense_cg(k0, torch.from_numpy(mc.maps), mask, iters=40)
    assert hist[-1] < 1e-3 and hist[-1] < hist[0]
    assert np.abs(x.numpy() - mc.image).max() < 1e-2
    assert np.allclose(mc.target, np.abs(mc.image), atol=1e-5)             # Σ|S|² = 1 → RSS = |x|


def test_acs_maps_and_simulation_shapes():
    img = np.ones((2, 24, 24), np.float32)
    mc = ks.simulate_multicoil(img, 4, noise=0.01, groups=[0, 0], seed=3)
    assert mc.kspace.shape == (2, 4, 24, 24) and mc.kspace.dtype == np.complex64
    assert np.array_equal(mc.maps[0], mc.maps[1])                            # one coil geometry per group
    est = ks.acs_maps(torch.from_numpy(mc.kspace), 8).numpy()
    assert np.allclose(ks.rss(est[0], axis=0)[ks.rss(est[0], axis=0) > 0], 1, atol=1e-4)


def test_challenge_metrics_against_skimage():
    rng = np.random.default_rng(1)
    for _ in range(5):
        gt = rng.random((20, 24)) * 3
        pred = gt + 0.1 * rng.standard_normal(gt.shape)
        pred = np.abs(pred)
        m = challenge_metrics(gt, pred)
        g, p = gt / gt.max(), pred / pred.max()
        assert np.isclose(m["psnr"], 10 * np.log10(1.0 / np.mean((g - p) ** 2)))
        assert np.isclose(m["psnr"], peak_signal_noise_ratio(g, p, data_range=1.0))
        assert np.isclose(m["ssim"], structural_similarity(g, p, data_range=1.0))
        assert np.isclose(m["nmse"], np.sum((g - p) ** 2) / np.sum(g ** 2))
    assert challenge_metrics(gt, gt)["ssim"] == pytest.approx(1.0) and nmse(gt, gt) == 0
    with pytest.raises(ValueError):
        challenge_metrics(gt, np.zeros_like(gt))


def test_ssim_torch_equals_skimage():
    rng = np.random.default_rng(2)
    gt = rng.random((3, 30, 26)); pred = np.abs(gt + 0.2 * rng.standard_normal(gt.shape))
    dr = gt.max(axis=(1, 2))
    ours = ssim_torch(torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(dr)).numpy()
    ref = [structural_similarity(g, p, data_range=d) for g, p, d in zip(gt, pred, dr)]
    assert np.allclose(ours, ref, atol=1e-10)


def test_varnet_shapes_and_gradient():
    torch.manual_seed(0)
    net = VarNet(cascades=2, channels=(4, 8), sens_channels=(4, 8), n_acs=6)
    k = torch.randn(2, 3, 20, 18, dtype=torch.complex64)
    mask = torch.from_numpy(ks.equispaced_mask(20, 4, 6)).float()[None, None, :, None]
    out = net(k * mask, mask)
    assert out.shape == (2, 20, 18) and torch.isfinite(out).all()
    out.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


# --------------------------------------------------------------------------- CMRxRecon files
def test_mat73_written_like_matlab(tmp_path):
    rng = np.random.default_rng(0)
    k = (rng.standard_normal((2, 3, 4, 6, 8)) + 1j * rng.standard_normal((2, 3, 4, 6, 8))).astype(np.complex64)
    p = cx.write_kspace(tmp_path / "cine_sax.mat", k, "kspace_full")
    from scipy.io import loadmat
    from scipy.io.matlab import matfile_version
    assert matfile_version(str(p)) == (2, 0)                               # scipy sees a v7.3 header
    with pytest.raises(NotImplementedError):                                 # ... and refuses it, as for MATLAB's
        loadmat(p)
    with h5py.File(p, "r") as f:                                             # the official loadFun recipe
        d = f["kspace_full"][:]
        assert f["kspace_full"].attrs["MATLAB_class"] == b"single"
    matlab_order = np.transpose(d, [4, 3, 2, 1, 0])                          # (kx, ky, coils, slices, frames)
    assert matlab_order.shape == (8, 6, 4, 3, 2)
    assert np.array_equal(d["real"] + 1j * d["imag"], k)
    assert np.array_equal(cx.read_kspace(p), k)
    assert not list(tmp_path.glob("*.part"))


def test_masks_v73_and_v5(tmp_path):
    m = ks.line_mask_2d(ks.equispaced_mask(30, 4, 8), 12)                   # (ky, kx)
    cx.write_masks(tmp_path / "m.mat", {4: m})
    assert np.array_equal(cx.read_mask(tmp_path / "m.mat", 4), m)
    from scipy.io import savemat
    savemat(tmp_path / "v5.mat", {"mask04": m.T.astype(float)})             # MATLAB order (kx, ky), v5
    assert np.array_equal(cx.read_mask(tmp_path / "v5.mat", 4), m)


def test_bad_files_named(tmp_path):
    (tmp_path / "x.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b" " * 200)
    with pytest.raises(cx.CmrxReconFormatError, match="x.mat"):
        cx.read_kspace(tmp_path / "x.mat")
    with h5py.File(tmp_path / "y.mat", "w") as f:
        f["kspace_full"] = np.zeros((2, 2, 2, 2))
    with pytest.raises(cx.CmrxReconFormatError, match="y.mat.*compound"):
        cx.read_kspace(tmp_path / "y.mat")
    with pytest.raises(FileNotFoundError):
        cx.find_root(tmp_path)


def test_fixture_layout_and_loader(tmp_path):
    root = cx.make_fixture(tmp_path / "cmrxrecon", seed=0)
    subs = cx.list_subjects(root)
    assert subs == [f"P{i:03d}" for i in range(1, 11)]
    s = cx.load_subject(root, "P002")
    assert s.kspace.shape == (3, 2, 4, 44, 64) and set(s.masks) == {4, 8, 10}
    assert s.masks[8][:, 0].sum() >= 24 and (s.masks[8] == s.masks[8][:, :1]).all()
    with h5py.File(root / "MultiCoil/Cine/TrainingSet/AccFactor08/P002/cine_sax.mat", "r") as f:
        sub = f["kspace_sub08"][:]
    sub = sub["real"] + 1j * sub["imag"]
    assert np.allclose(sub, s.kspace * s.masks[8])
    assert cx.ranking_crop(np.zeros((44, 64))).shape == (22, 21)


def test_batched_torch_scores_equal_the_challenge_metrics():
    from medrepro.metrics.recon import challenge_metrics_batch, challenge_psnr_torch, challenge_ssim_torch

    rng = np.random.default_rng(3)
    gt = rng.random((4, 24, 20)) + 0.1
    pred = np.abs(gt * rng.uniform(0.5, 2.0, (4, 1, 1)) + rng.normal(0, 0.05, gt.shape))   # scaled: own max matters
    ref = challenge_metrics_batch(gt, pred)                     # scikit-image's PSNR and SSIM
    p, g = torch.from_numpy(pred), torch.from_numpy(gt)
    np.testing.assert_allclose(challenge_psnr_torch(p, g).numpy(), ref["psnr"], atol=1e-9)
    np.testing.assert_allclose(challenge_ssim_torch(p, g).numpy(), ref["ssim"], atol=1e-9)
