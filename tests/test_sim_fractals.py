"""medrepro.sim.fractals: the σ-factor constraint, the chaos game against known attractors, rendering against
numpy's histogram2d, the multi-instance batches."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.sim import fractals as fr


def test_singular_values_meet_the_sigma_factor_constraint():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        alpha = rng.uniform(0.2, 3 * n - 0.2)
        s = fr.sample_singular_values(n, alpha, rng)
        assert s.shape == (n, 2)
        assert np.all(s >= -1e-12) and np.all(s <= 1 + 1e-12)
        assert np.all(s[:, 0] >= s[:, 1] - 1e-12)
        assert (s[:, 0] + 2 * s[:, 1]).sum() == pytest.approx(alpha)
    with pytest.raises(ValueError):
        fr.sample_singular_values(2, 6.5, rng)


def test_sampled_systems_are_contractive_with_alpha_in_beta():
    rng = np.random.default_rng(1)
    for _ in range(100):
        m = fr.sample_system(rng)
        n = len(m)
        assert 2 <= n <= 7 and m.shape == (n, 2, 3)
        assert (5 + n) / 2 - 1e-9 <= fr.sigma_factor(m) <= (6 + n) / 2 + 1e-9
        assert np.linalg.svd(m[:, :, :2], compute_uv=False).max() <= 1 + 1e-9
        assert np.all(np.abs(m[:, :, 2]) <= 1)
    assert fr.sample_system(rng, 3, constrain=False).shape == (3, 2, 3)


def test_chaos_game_stays_on_the_cantor_dust():
    # two maps x -> x/3 and x -> x/3 + 2/3 (in both coordinates): the attractor is the Cantor dust, whose points
    # have no ternary digit 1
    cantor = np.array([[[1 / 3, 0, 0], [0, 1 / 3, 0]], [[1 / 3, 0, 2 / 3], [0, 1 / 3, 2 / 3]]])
    pts = fr.chaos_game([cantor], 2000, np.random.default_rng(2))[0]
    assert np.isfinite(pts).all()
    for k in range(1, 6):
        below, above = (np.floor(pts * 3 ** k + e) % 3 for e in (-1e-7, 1e-7))   # endpoints have two expansions
        assert not np.any((below == 1) & (above == 1)), f"a point has ternary digit 1 at place {k}"


def test_maps_are_chosen_in_proportion_to_their_determinant():
    # A1 = 0.2 I (image [0, 0.2]²), A2 = 0.6 I shifted by 0.4 (image [0.4, 1]²): |det| 0.04 vs 0.36 -> p1 = 0.1
    sys_ = np.array([[[0.2, 0, 0], [0, 0.2, 0]], [[0.6, 0, 0.4], [0, 0.6, 0.4]]])
    pts = fr.chaos_game([sys_], 20000, np.random.default_rng(3))[0]
    assert np.mean(pts[:, 0] < 0.3) == pytest.approx(0.1, abs=0.015)
    assert fr.map_probabilities(fr.stack_systems([sys_]))[0, :2] == pytest.approx([0.1, 0.9])


def test_render_matches_histogram2d():
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 1, (1, 5000, 2))
    size = 16
    img = fr.render(pts, size, np.array([[0.0, 0.0, 1.0, 1.0]]))
    edges = np.arange(size + 1) / (size - 1)
    ref, _, _ = np.histogram2d(pts[0, :, 0], pts[0, :, 1], bins=[edges, edges])
    assert np.allclose(img[0], ref / ref.max())


def test_spectral_background_has_the_requested_slope():
    img = fr.spectral_background(8, 64, np.random.default_rng(5), slope=2.0)
    assert img.shape == (8, 64, 64) and img.min() >= 0 and img.max() <= 1
    p = np.abs(np.fft.fft2(img - img.mean(axis=(1, 2), keepdims=True))) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64), indexing="ij"))
    band = (f > 0.03) & (f < 0.3)
    slope = np.polyfit(np.log(f[band]), np.log(p.mean(0)[band]), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.3)


def test_multi_and_single_instance_batches():
    rng = np.random.default_rng(6)
    systems = [fr.sample_system(rng) for _ in range(10)]
    spec = fr.FractalSpec(size=24, points=200)
    x, y = fr.multi_instance_batch(systems, 50, np.random.default_rng(7), spec)
    assert x.shape == (50, 24, 24) and y.shape == (50, 10) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert np.all((y.sum(1) >= 1) & (y.sum(1) <= 4))
    x2, y2 = fr.multi_instance_batch(systems, 50, np.random.default_rng(7), spec)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)   # deterministic by seed
    xs = fr.single_instance_batch(systems, np.arange(10), rng, spec)
    assert xs.shape == (10, 24, 24) and (xs > spec.background).mean() > 0.02   # the fractal is visible
    j = fr.jitter_stack(fr.stack_systems(systems), rng)
    assert np.linalg.svd(j[..., :2], compute_uv=False).max() <= 1 + 1e-9


def test_floor_default_is_the_old_rendering_and_one_gives_flat_silhouettes():
    # FractalSpec.floor: a visited pixel is drawn at val * (floor + (1 - floor) * visits / max); the default 0.4 must
    # reproduce the former fixed 0.4 + 0.6 * (visits / max) bit for bit (0.6 == 1 - 0.4 in binary floating point;
    # checked against the former code when the knob was added), and floor = 1 gives a flat silhouette
    systems = [fr.sample_system(np.random.default_rng(8)) for _ in range(4)]
    spec = fr.FractalSpec(size=24, points=300)
    assert spec.floor == 0.4 and (1 - spec.floor) == 0.6
    graded = fr.single_instance_batch(systems, np.arange(4), np.random.default_rng(10),
                                      fr.FractalSpec(size=24, points=300, background=0.0), jitter_maps=False)
    for img in graded:                                 # graded: the brightest pixel is val, the faintest >= 0.4 val
        on = img[img > 0]
        assert len(np.unique(on)) > 1 and on.min() >= 0.4 * on.max() - 1e-6
    flat = fr.single_instance_batch(systems, np.arange(4), np.random.default_rng(10),
                                    fr.FractalSpec(size=24, points=300, floor=1.0, background=0.0), jitter_maps=False)
    for img in flat:                                   # one brightness per image on the fractal, 0 elsewhere
        assert len(np.unique(img[img > 0])) == 1
