"""Stimulus-driven EEG simulator: shapes, determinism, where the image information sits, PCA stand-in features."""
from __future__ import annotations

import numpy as np

from medrepro.sim.eeg_visual import VisualEegSpec, latent_features, pca_features, simulate_visual_eeg, times


def _latent(n=30, seed=0):
    imgs = np.random.default_rng(seed).random((n, 8, 8))
    (pcs,) = pca_features(imgs, dim=8)
    return latent_features(pcs, 4, brain_pcs=8)


def test_shapes_determinism_and_subjects_differ():
    spec = VisualEegSpec(n_sources=4)
    z = _latent()
    a = simulate_visual_eeg(z, 3, 2, spec=spec, seed=1)
    b = simulate_visual_eeg(z, 3, 2, spec=spec, seed=1)
    assert a[0].eeg.shape == (30, 3, 17, 100) and a[0].eeg.dtype == np.float32
    np.testing.assert_array_equal(a[1].eeg, b[1].eeg)
    assert not np.allclose(a[0].topographies, a[1].topographies)      # per-subject positions/orientations
    np.testing.assert_array_equal(a[0].latencies, a[1].latencies)       # one population layout


def test_image_information_sits_in_the_window():
    """Noise-free difference between images (sensor noise and background off) is zero outside the sources' window."""
    spec = VisualEegSpec(n_sources=4, background_uv=0.0, alpha_uv=0.0, sensor_uv=0.0, latency_jitter_s=0.0,
                         gain_cv=0.0, general_uv=0.0)
    eeg = simulate_visual_eeg(_latent(), 1, 1, spec=spec, seed=0)[0].eeg[:, 0]
    var = eeg.var(0).mean(0)                                            # across images, per time point
    t = times(spec)
    inside = (t >= spec.window[0]) & (t <= spec.window[1])
    assert var[t < 0].max() < 1e-6 * var[inside].max()
    assert t[np.argmax(var)] >= spec.window[0] - 0.02 and t[np.argmax(var)] <= spec.window[1] + 0.02


def test_pca_features_whitened_on_fit():
    x = np.random.default_rng(0).random((50, 6, 6))
    f, g = pca_features(x, x[:5], dim=4)
    np.testing.assert_allclose(f.std(0, ddof=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(g, f[:5], atol=1e-9)
