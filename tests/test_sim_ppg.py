"""The shared PPG simulator: shapes, determinism, trait effects, session variability, transit delays."""
import numpy as np
import pytest

from medrepro.sim.ppg import PpgNoise, StateSpec, TraitSpec, sample_participants, simulate_ppg


@pytest.fixture(scope="module")
def people():
    return sample_participants(200, seed=0)


def test_shapes_and_determinism(people):
    idx = np.repeat(np.arange(50), 2)
    a = simulate_ppg(people, idx, seconds=8, fs=64, seed=3)
    b = simulate_ppg(people, idx, seconds=8, fs=64, seed=3)
    c = simulate_ppg(people, idx, seconds=8, fs=64, seed=4)
    assert a.signal.shape == (100, 1, 512) and a.signal.dtype == np.float32 and a.ppg.shape == (100, 512)
    assert np.array_equal(a.signal, b.signal) and not np.array_equal(a.signal, c.signal)
    assert np.isfinite(a.signal).all()
    assert a.record_traits("age").shape == (100,) and np.array_equal(a.participant, idx)
    sub = a.subset([0, 5])
    assert sub.signal.shape == (2, 1, 512) and sub.state["hr_bpm"].shape == (2,)


def test_trait_correlations(people):
    r = lambda a, b: np.corrcoef(a, b)[0, 1]  # noqa: E731
    assert r(people.age, people.pwv) > 0.5  # arteries stiffen with age
    assert r(people.age, people.sbp) > 0.3 and r(people.bmi, people.sbp) > 0.1
    assert r(people.age, people.hrv) < -0.4 and r(people.age, people.dicrotic) < -0.4
    assert people.hr_rest[people.female == 1].mean() > people.hr_rest[people.female == 0].mean()
    assert people.subset([1, 2]).age.shape == (2,) and set(people.as_dict()) >= {"age", "female", "bmi"}


def test_heart_rate_is_recovered_from_the_spectrum(people):
    hr = np.linspace(50, 140, 40)
    b = simulate_ppg(people, np.arange(40), seconds=20, fs=64, seed=1, noise=PpgNoise(scale=0.0), hr_bpm=hr)
    spec = np.abs(np.fft.rfft(b.ppg - b.ppg.mean(1, keepdims=True), axis=1))
    f = np.fft.rfftfreq(b.ppg.shape[1], 1 / 64)
    band = (f > 0.6) & (f < 3.5)
    peak = f[band][spec[:, band].argmax(1)] * 60
    assert np.median(np.abs(peak - hr)) < 4.0
    assert np.allclose(b.state["hr_bpm"], hr, rtol=0.08)


def test_age_changes_the_pulse_shape():
    """Old, stiff arteries: the reflected wave merges into systole, the dicrotic wave fades."""
    spec = TraitSpec(morph_sd=0.0, timing_sd=0.0, pwv_sd=0.0, sbp_sd=0.0)
    young = sample_participants(30, seed=1, spec=TraitSpec(**{**spec.__dict__, "age_range": (20, 25)}))
    old = sample_participants(30, seed=1, spec=TraitSpec(**{**spec.__dict__, "age_range": (75, 80)}))
    kw = dict(seconds=10, fs=128, seed=0, noise=PpgNoise(scale=0.0), hr_bpm=np.full(30, 60.0),
              state=StateSpec(contact_sd=0.0, timing_sd=0.0, bp_sd=0.0, perfusion_log_sd=0.0))
    y, o = simulate_ppg(young, np.arange(30), **kw), simulate_ppg(old, np.arange(30), **kw)

    def late_share(b):  # share of the beat's area after 0.35 s from the onset
        out = []
        for i in range(len(b)):
            on = b.beat_onsets[i][np.isfinite(b.beat_onsets[i])]
            s = int(on[1] * 128)
            beat = b.ppg[i, s:s + 128]
            out.append(beat[45:].sum() / beat.sum())
        return np.mean(out)

    assert late_share(y) > late_share(o) + 0.05
    assert old.pwv.mean() > young.pwv.mean() + 3.0


def test_sessions_of_a_participant_differ_and_artefacts_scale():
    people = sample_participants(20, seed=2)
    b = simulate_ppg(people, np.repeat(np.arange(20), 3), seconds=10, fs=64, seed=0)
    hr = b.state["hr_bpm"].reshape(20, 3)
    assert (hr.std(axis=1) > 0.5).mean() > 0.8  # session heart rates differ within a participant
    quiet = simulate_ppg(people, np.arange(20), seconds=10, fs=64, seed=0, noise=PpgNoise(scale=0.0))
    loud = simulate_ppg(people, np.arange(20), seconds=10, fs=64, seed=0,
                        noise=PpgNoise(scale=2.0, motion_prob=1.0))
    assert loud.state["motion"].all() and quiet.state["motion"].dtype == bool
    rough = lambda x: np.abs(np.diff(x, axis=-1)).mean()  # noqa: E731
    assert rough(loud.ppg) > 1.5 * rough(quiet.ppg)


def test_transit_delay_between_sites_follows_pwv_and_pressure():
    people = sample_participants(60, seed=3)
    b = simulate_ppg(people, np.arange(60), seconds=10, fs=250, seed=0, site_distance_m=(0.0, 0.5),
                     noise=PpgNoise(scale=0.0))
    assert b.signal.shape == (60, 2, 2500)
    d = b.state["delay_s"]
    assert np.allclose(d[:, 0], 0) and np.allclose(d[:, 1], 0.5 / b.state["pwv"])
    # the far site is the near site shifted by the delay: cross-correlation peak at the delay
    lag = []
    for i in range(5):
        x, y = b.signal[i, 0] - b.signal[i, 0].mean(), b.signal[i, 1] - b.signal[i, 1].mean()
        cc = np.correlate(y[200:-200], x, mode="valid")
        lag.append((np.argmax(cc) - 200) / 250)
    assert np.allclose(lag, d[:5, 1], atol=0.008)
    assert np.corrcoef(b.state["map"], d[:, 1])[0, 1] < -0.2  # higher pressure, stiffer artery, earlier pulse


def test_speed():
    import time

    people = sample_participants(100, seed=0)
    t = time.perf_counter()
    simulate_ppg(people, np.arange(1000) % 100, seconds=10, fs=64, seed=0)
    assert time.perf_counter() - t < 5.0
