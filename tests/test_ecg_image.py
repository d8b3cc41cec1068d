"""ECG printouts rendered to images: layout, scale, continuity, determinism, file output, bad input."""
import numpy as np
import pytest
from PIL import Image

from medrepro.sim.ecg import LEADS, simulate_12lead
from medrepro.viz.ecg_image import INK, PAPER, render_ecg_images, save_image


def test_flat_record_draws_a_baseline_in_every_row_and_a_one_mv_calibration_pulse():
    fs, seconds = 500.0, 10.0
    flat = np.zeros((int(fs * seconds), 12))
    img = render_ecg_images(flat, fs, LEADS, height=400, width=520, grid=False)
    assert img.shape == (400, 520) and img.dtype == np.float32
    ink_rows = [np.where((img[r * 100:(r + 1) * 100, 100:] == INK).any(axis=1))[0] for r in range(4)]
    for rows in ink_rows:  # one thin horizontal line at the middle of each row
        assert len(rows) == 1 and abs(rows[0] - 50) <= 1
    # calibration pulse: 1 mV = 10 mm; at 520 px over 10.4 s, 1 mm = 2 px, so the pulse is 20 px tall
    pulse_rows = np.where((img[0:100, :20] == INK).any(axis=1))[0]
    assert 19 <= pulse_rows.max() - pulse_rows.min() <= 22


def test_each_panel_shows_its_own_lead_and_time_window():
    fs = 100.0
    sig = np.zeros((1000, 12))
    sig[:250, LEADS.index("I")] = 1.0  # lead I raised during the first 2.5 s only: panel (row 0, col 0)
    sig[500:750, LEADS.index("V3")] = -1.0  # V3 lowered during 5–7.5 s: panel (row 2, col 2)
    img = render_ecg_images(sig, fs, LEADS, height=400, width=520, grid=False, calibration=False)
    mid = 50
    row0 = np.where(img[0:100] == INK)[0]
    assert row0.min() < mid - 5  # lead I drawn above its baseline
    row2 = np.where(img[200:300, 260:390] == INK)[0]
    assert row2.max() > mid + 5  # V3 drawn below its baseline in the third column
    assert (np.where(img[200:300, :260] == INK)[0] == mid).all()  # III and aVF flat


def test_steep_qrs_strokes_are_continuous_and_rendering_is_deterministic():
    batch = simulate_12lead(4, fs=500, seconds=10, seed=0)
    a = render_ecg_images(batch.signals, batch.fs, LEADS, height=256, width=256, noise_sd=0.05, seed=3)
    b = render_ecg_images(batch.signals, batch.fs, LEADS, height=256, width=256, noise_sd=0.05, seed=3)
    assert a.shape == (4, 256, 256) and np.array_equal(a, b)
    clean = render_ecg_images(batch.signals, batch.fs, LEADS, height=256, width=256)
    strip = clean[:, 192:256, 20:250] == INK  # rhythm strip: every pixel column has ink
    assert strip.any(axis=1).all()
    assert 0.0 <= a.min() and a.max() <= 1.0 and (clean == PAPER).mean() > 0.3


def test_save_image_round_trip_and_bad_input(tmp_path):
    img = render_ecg_images(np.zeros((1000, 12)), 100.0, LEADS, height=128, width=128)
    for name in ("a.png", "b.jpg"):
        path = save_image(img, tmp_path / name)
        assert Image.open(path).size == (128, 128) and not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="suffix"):
        save_image(img, tmp_path / "c.gif")
    with pytest.raises(ValueError, match="12 leads"):
        render_ecg_images(np.zeros((1000, 11)), 100.0, LEADS)
    with pytest.raises(ValueError, match="lead 'V6'"):
        render_ecg_images(np.zeros((1000, 12)), 100.0, [*LEADS[:11], "X"])
    with pytest.raises(ValueError, match="too small"):
        render_ecg_images(np.zeros((1000, 12)), 100.0, LEADS, height=16, width=16)
