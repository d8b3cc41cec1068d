"""The Morlet scalogram puts a sinusoid's energy in its own frequency row; bad frequencies are refused."""
import numpy as np
import pytest

from medrepro.timefreq import morlet_cwt
from medrepro.viz.code import show_code


def test_a_sinusoid_peaks_at_its_frequency_and_a_chirp_moves_across_rows():
    fs = 200.0
    t = np.arange(0, 4, 1 / fs)
    freqs = np.array([40.0, 20.0, 10.0, 5.0, 2.5])
    for k, f in enumerate(freqs):
        w = morlet_cwt(np.sin(2 * np.pi * f * t), fs, freqs)
        assert w.shape == (len(freqs), len(t)) and w.dtype == np.float32
        # normalise each row by its response to its own frequency: the sinusoid's row wins
        assert np.argmax(w[:, 200:-200].mean(1) / np.sqrt(freqs[k] / freqs)) == k
    batch = morlet_cwt(np.zeros((3, 2, 100)), fs, freqs)
    assert batch.shape == (3, 2, len(freqs), 100) and not batch.any()


def test_bad_frequencies_and_show_code(capsys):
    with pytest.raises(ValueError, match="frequencies"):
        morlet_cwt(np.zeros(100), 100.0, np.array([10.0, 60.0]))
    show_code(morlet_cwt)
    out = capsys.readouterr().out
    assert "def morlet_cwt" in out and "Raises:" not in out


def test_segment_scalograms_keep_low_frequencies_alive_and_match_the_whole_record():
    from medrepro.timefreq import morlet_cwt, segment_scalograms

    fs, seg = 100, 100
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * 1.0 * t) * (1 + 0.8 * np.sin(2 * np.pi * 0.1 * t))   # a 1-Hz wave, slowly modulated
    freqs = np.array([1.0, 10.0])
    per_window = morlet_cwt(x.reshape(10, seg), fs, freqs)                      # the old way: each 1-s window alone
    cropped = segment_scalograms(x[None], fs, freqs, seg, pad=200, chunk=1)[0]  # (10 segments, 2 freqs, 100)
    assert cropped.shape == (10, 2, 100)
    # per window the 1-Hz row is nearly constant in time; cut from the whole record it follows the wave's envelope
    assert per_window[:, 0].std(1).mean() < 0.02 * per_window[:, 0].mean()
    whole = morlet_cwt(np.pad(x, 200, mode="reflect"), fs, freqs)[:, 200:1200]
    assert np.allclose(cropped.transpose(1, 0, 2).reshape(2, -1), whole, atol=1e-5)
    assert np.abs(np.diff(cropped[:, 0].mean(1))).max() > 0.05 * cropped[:, 0].mean()
    pooled = segment_scalograms(np.stack([x, x]), fs, freqs, seg, pad=200, pool=4, chunk=1, device="cpu")
    assert pooled.shape == (2, 10, 2, 25) and np.allclose(pooled[0], cropped.reshape(10, 2, 25, 4).mean(-1), atol=1e-5)
    with pytest.raises(ValueError, match="multiple"):
        segment_scalograms(x[None, :990], fs, freqs, seg)
