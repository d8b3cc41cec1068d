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
