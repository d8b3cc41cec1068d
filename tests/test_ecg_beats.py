"""medrepro.sim.ecg_beats: shapes, determinism, beat classes and their timing."""
import numpy as np
import pytest

from medrepro.sim.ecg_beats import BEAT_CLASSES, BeatConfig, beat_windows, rr_features, simulate_beat_records


@pytest.fixture(scope="module")
def sim():
    return simulate_beat_records(12, seconds=60, fs=360, seed=3, config=BeatConfig(p_has_v=1.0, p_has_s=1.0))


def test_shapes_and_padding(sim):
    assert sim.signals.shape == (12, 60 * 360, 2) and sim.signals.dtype == np.float32
    assert sim.r_peaks.shape == sim.beat_class.shape
    pad = sim.r_peaks < 0
    assert np.all(sim.beat_class[pad] == -1) and np.all(sim.beat_class[~pad] >= 0)
    assert sim.r_peaks[~pad].max() < sim.signals.shape[1]
    r, c = sim.beats(0)
    assert len(r) == len(c) == len(sim.symbols(0)) and np.all(np.diff(r) > 0)


def test_deterministic():
    a = simulate_beat_records(3, seconds=20, seed=5)
    b = simulate_beat_records(3, seconds=20, seed=5)
    c = simulate_beat_records(3, seconds=20, seed=6)
    assert np.array_equal(a.signals, b.signals) and np.array_equal(a.beat_class, b.beat_class)
    assert not np.array_equal(a.signals, c.signals)


def test_classes_present_and_premature(sim):
    cls = sim.beat_class[sim.beat_class >= 0]
    assert set(np.unique(cls)) == set(range(len(BEAT_CLASSES)))
    pre = []
    for i in range(len(sim)):
        r, c = sim.beats(i)
        f = rr_features(r, sim.fs)
        pre.append((f[:, 0], c))
    ratio = {k: np.concatenate([f[c == k] for f, c in pre]).mean() for k in range(3)}
    assert ratio[1] < 0.95 * ratio[0] and ratio[2] < 0.9 * ratio[0]  # S and V beats come early


def test_pvc_differs_from_normal_within_patient(sim):
    for i in range(len(sim)):
        r, c = sim.beats(i)
        if (c == 2).sum() >= 3:
            w, kept = beat_windows(sim.signals[i, :, 0], r, 36, 72)
            cc = c[kept]
            n_mean, v_mean = w[cc == 0].mean(0), w[cc == 2].mean(0)
            assert np.abs(n_mean - v_mean).max() > 0.2  # mV
            return
    pytest.fail("no patient with PVCs")


def test_beat_windows_and_rr_features():
    x = np.arange(100.0)
    w, kept = beat_windows(x, np.array([2, 50, 98]), 5, 10)
    assert kept.tolist() == [False, True, False] and w.shape == (1, 15) and w[0, 5] == 50
    f = rr_features(np.array([0, 360, 720, 900, 1440]), 360.0)
    assert f.shape == (5, 2) and f[3, 0] < 0.8 and f[3, 1] > 1.2


def test_bad_input():
    with pytest.raises(ValueError):
        simulate_beat_records(0)
