"""R peaks, heart rate and intervals measured on simulated records against the simulator's ground truth."""
import numpy as np
import pytest

from medrepro.measure import detect_r_peaks, heart_rate, measure_intervals, median_beat
from medrepro.sim.ecg import simulate_12lead


@pytest.fixture(scope="module")
def batch():
    return simulate_12lead(40, fs=500, seconds=10, seed=1)


def test_r_peaks_match_the_true_beats(batch):
    f1 = []
    for i in range(len(batch)):
        found = detect_r_peaks(batch.signals[i], batch.fs)
        true = batch.r_peaks[i][batch.r_peaks[i] >= 0]
        hits = sum(np.min(np.abs(true - p)) <= 0.05 * batch.fs for p in found)
        f1.append(2 * hits / (len(found) + len(true)))
    assert np.median(f1) == 1.0 and np.mean(f1) > 0.97


def test_heart_rate_and_intervals_track_the_truth(batch):
    m = [measure_intervals(batch.signals[i], batch.fs) for i in range(len(batch))]
    hr = np.array([x["hr_bpm"] for x in m])
    qrs = np.array([x["qrs_ms"] for x in m])
    qt = np.array([x["qt_ms"] for x in m])
    assert np.nanmean(np.abs(hr - batch.intervals["hr_bpm"])) < 2.0
    assert np.nanmean(np.abs(qrs - batch.intervals["qrs_ms"])) < 25.0
    ok = np.isfinite(qt)
    assert ok.mean() > 0.9 and np.corrcoef(qt[ok], batch.intervals["qt_ms"][ok])[0, 1] > 0.7


def test_median_beat_and_bad_input():
    fs = 250.0
    x = np.zeros(int(10 * fs))
    r = np.arange(100, len(x) - 200, 200)
    x[r] = 1.0
    beat = median_beat(x, fs, r)
    assert beat.shape == (int(fs), 1) and beat[int(0.4 * fs), 0] == pytest.approx(1.0)
    assert heart_rate(r, fs) == pytest.approx(75.0)
    assert np.isnan(heart_rate(r[:1], fs))
    with pytest.raises(ValueError, match="at least 2 s"):
        detect_r_peaks(np.zeros(100), fs)
    with pytest.raises(ValueError, match="NaN"):
        detect_r_peaks(np.full(1000, np.nan), fs)
    with pytest.raises(ValueError, match="no beat window"):
        median_beat(x, fs, np.array([1]))


def test_batch_detector_and_median_beats_agree_with_the_truth_and_the_single_record_version():
    from medrepro.measure import median_beats_batch, r_peaks_batch

    b = simulate_12lead(30, fs=100, seconds=10, seed=2)
    x = b.signals - np.median(b.signals, axis=1, keepdims=True)
    peaks = r_peaks_batch(x, b.fs)
    hits = total = 0
    for i in range(len(b)):
        true = b.r_peaks[i][b.r_peaks[i] >= 0]
        found = peaks[i][peaks[i] >= 0]
        hits += sum(np.min(np.abs(found - t)) <= 5 for t in true)
        total += len(true)
    assert hits / total > 0.95
    beats = median_beats_batch(x, peaks, b.fs)
    assert beats.shape == (30, 12, 100)
    one = median_beat(x[0], b.fs, peaks[0][peaks[0] >= 0], before_s=0.35, after_s=0.65)
    # same median, up to the single-record version's baseline subtraction (and its upper/lower median choice)
    assert np.corrcoef(one[:, 1], beats[0, 1])[0, 1] > 0.98
    with pytest.raises(ValueError, match="records, samples, leads"):
        r_peaks_batch(x[0], b.fs)
