"""The facial-video simulator: shapes, determinism, the pulse in the skin colour, phase shift, interpolation."""
import numpy as np
import pytest

from medrepro.sim.face_video import FaceVideoSpec, VideoNoise, face_masks, interpolate_frames, simulate_face_videos


@pytest.fixture(scope="module")
def batch():
    return simulate_face_videos(6, seed=0, spec=FaceVideoSpec(seconds=8), hr_bpm=np.linspace(50, 120, 6))


def test_shapes_determinism_and_ground_truth(batch):
    assert batch.frames.shape == (6, 240, 32, 32, 3) and batch.frames.dtype == np.uint8
    assert batch.pulse.shape == (6, 3, 240) and batch.hr_track.shape == (6, 240)
    again = simulate_face_videos(6, seed=0, spec=FaceVideoSpec(seconds=8), hr_bpm=np.linspace(50, 120, 6))
    assert np.array_equal(batch.frames, again.frames)
    other = simulate_face_videos(6, seed=1, spec=FaceVideoSpec(seconds=8), hr_bpm=np.linspace(50, 120, 6))
    assert not np.array_equal(batch.frames, other.frames)
    assert np.allclose(batch.hr_bpm, np.linspace(50, 120, 6), rtol=0.1)
    assert np.allclose(np.median(batch.hr_track, axis=1), batch.hr_bpm, rtol=0.1)
    m = face_masks(32)
    assert m["forehead"].sum() > 40 and m["cheek"].sum() > 40 and not (m["forehead"] & m["cheek"]).any()


def test_skin_colour_carries_the_pulse():
    quiet = VideoNoise(camera_sd=0.5, illumination=0.0, motion_prob=0.0)
    b = simulate_face_videos(4, seed=2, spec=FaceVideoSpec(seconds=8, pulse_strength=0.01), noise=quiet)
    for i in range(4):
        g = b.frames[i][:, b.masks["forehead"], 1].astype(float).mean(1)
        r = np.corrcoef(g, b.pulse[i, 0])[0, 1]
        assert r < -0.8  # more blood, darker green
    # green carries more pulse than red (blood-volume signature)
    f = b.frames[0][:, b.masks["forehead"]].astype(float).mean(1)
    amp = np.abs(np.corrcoef(np.c_[f, b.pulse[0, 0]].T)[-1, :3]) * f.std(0) / f.mean(0)
    assert amp[1] > amp[0]


def test_sites_are_phase_shifted_by_transit():
    b = simulate_face_videos(5, seed=3, spec=FaceVideoSpec(seconds=8, cheek_distance_m=0.5))
    assert np.allclose(b.delay_s[:, 0], 0) and (b.delay_s[:, 1] > 0.02).all() and (b.delay_s[:, 2] > b.delay_s[:, 1]).all()
    for i in range(5):
        x, y = b.pulse[i, 0] - b.pulse[i, 0].mean(), b.pulse[i, 1] - b.pulse[i, 1].mean()
        lags = np.arange(0, 8)
        cc = [np.dot(x[: len(x) - L], y[L:]) for L in lags]
        assert abs(lags[int(np.argmax(cc))] / b.fps - b.delay_s[i, 1]) <= 1.0 / b.fps


def test_interpolate_frames_scales_time():
    t = np.arange(100, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 3), np.float32)
    fast = interpolate_frames(t, 1.5)
    assert fast.shape[0] == 67 and np.allclose(fast[:, 0, 0, 0], np.arange(67) * 1.5)
    slow = interpolate_frames(t, 0.5, n_out=150)
    assert np.allclose(slow[:3, 0, 0, 0], [0, 0.5, 1.0])
    with pytest.raises(ValueError, match="at most"):
        interpolate_frames(t, 2.0, n_out=80)
    u8 = interpolate_frames(np.zeros((10, 2, 2, 3), np.uint8), 0.7)
    assert u8.dtype == np.uint8
