"""The EEG simulator (medrepro.sim.eeg) and the BNCI 2014-001 reader, checked against MNE, scipy and physics."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.io import loadmat, savemat
from scipy.signal import welch

from medrepro.data.datasets import bnci2014_001 as bnci
from medrepro.sim import eeg


def test_head_model_is_mnes_forward_solution_and_decays_with_distance():
    model = eeg.head_model(eeg.BNCI_EEG)
    assert model.gain.shape[0] == 22 and model.gain.shape[2] == 3
    assert eeg.head_model(eeg.BNCI_EEG) is model                       # cached per process
    point, radial = model.under("C3", depth=0.25)
    pattern = model.dipole(point, radial)
    pattern = pattern * np.sign(pattern[np.argmax(np.abs(pattern))])
    assert eeg.BNCI_EEG[int(np.argmax(pattern))] in ("C3", "C5", "C1", "FC3", "CP3")
    dist = np.linalg.norm(model.ch_pos - model.montage_pos["C3"], axis=1)
    assert np.corrcoef(dist, pattern)[0, 1] < -0.6                    # a radial dipole's potential falls off
    with pytest.raises(ValueError, match="standard_1020"):
        eeg.head_model(("C3", "NotAChannel"))


def test_rhythm_and_aperiodic_spectra():
    rng = np.random.default_rng(0)
    x = eeg.oscillation(4, 250 * 60, 10.3, fs=250.0, rng=rng)
    f, p = welch(x, fs=250.0, nperseg=1000)
    centroid = (f * p).sum(1) / p.sum(1)                             # the spectral peak's centre of mass
    assert np.all(np.abs(centroid - 10.3) < 0.2)
    y = eeg.aperiodic_noise(4, 250 * 60, exponent=1.4, fs=250.0, rng=rng)
    f, p = welch(y, fs=250.0, nperseg=1000)
    band = (f >= 2) & (f <= 40)
    slope = np.polyfit(np.log10(f[band]), np.log10(p.mean(0)[band]), 1)[0]
    assert abs(-slope - 1.4) < 0.15
    np.testing.assert_allclose(y.std(1), 1.0, rtol=1e-6)


def test_motor_imagery_erd_lowers_contralateral_mu_power():
    spec = replace(eeg.MotorImagerySpec(), fs=125.0, erd=0.6, erd_sd=0.0, coupling=0.0)
    run = eeg.simulate_motor_imagery(1, sessions=("T",), trials_per_class=15, spec=spec, seed=1)[0][0]
    assert run.eeg.shape[0] == 22 and run.eog.shape[0] == 3 and run.trial.min() >= 1
    X, y = bnci.epochs([bnci.Run(np.c_[run.eeg.T, run.eog.T], run.trial - 1, run.y, run.fs, np.zeros(30))],
                       tmin=2.5, tmax=5.5, band=(8, 13))
    c3, c4 = bnci.EEG_CHANNELS.index("C3"), bnci.EEG_CHANNELS.index("C4")
    lat = np.log(X[:, c4].var(-1)) - np.log(X[:, c3].var(-1))      # > 0 when C3 desynchronised
    assert lat[y == 2].mean() > lat[y == 1].mean()                 # right hand: left hemisphere (C3) drops


def test_same_seed_same_simulation():
    spec = replace(eeg.MotorImagerySpec(), fs=125.0)
    a = eeg.simulate_motor_imagery(1, trials_per_class=2, spec=spec, seed=3)[0][1]
    b = eeg.simulate_motor_imagery(1, trials_per_class=2, spec=spec, seed=3)[0][1]
    np.testing.assert_array_equal(a.eeg, b.eeg)


def test_erp_peaks_at_the_set_latencies():
    epochs, times = eeg.simulate_erp(120, seed=0)
    ch = list(eeg.STANDARD_1020_21)
    evoked = epochs.mean(0)
    p3 = times[np.argmax(np.where((times > 0.25) & (times < 0.5), evoked[ch.index("Pz")], -np.inf))]
    assert abs(p3 - 0.35) < 0.04


def test_edf_round_trip_through_mne(tmp_path):
    import mne

    sig, _ = eeg.simulate_resting(1, 10.0, seed=0)
    path = eeg.write_edf(tmp_path / "rest.edf", sig[0], eeg.STANDARD_1020_21, 250.0)
    back, names, fs = eeg.read_edf(path)
    assert names == eeg.STANDARD_1020_21 and fs == 250.0
    raw = mne.io.read_raw_edf(path, preload=True, verbose="ERROR")        # the reference reader, directly
    step = (sig[0].max(1) - sig[0].min(1)) / 65535                        # 16-bit EDF resolution per channel
    assert np.all(np.abs(raw.get_data() * 1e6 - sig[0]).max(1) <= 2 * step + 1e-3)
    with pytest.raises(FileExistsError):
        eeg.write_edf(path, sig[0], eeg.STANDARD_1020_21, 250.0)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       not an edf header")
    with pytest.raises(ValueError, match="bad.edf"):
        eeg.read_edf(bad)


def test_bnci_files_read_the_moabb_way_and_by_our_loader(tmp_path):
    root = bnci.make_fixture(tmp_path / "bnci", seed=0, n_subjects=2)
    assert bnci.subjects_present(root) == [1, 2]
    assert (root / "A01T.mat").is_file() and (root / "A02E.mat").is_file()
    # MOABB's access pattern (scipy.io.loadmat with struct_as_record=False, squeeze_me=True)
    data = loadmat(root / "A01T.mat", struct_as_record=False, squeeze_me=True)["data"]
    assert len(data) == 2 and data[1].X.shape[1] == 25 and data[1].fs == 250
    assert len(np.atleast_1d(data[0].trial)) == 0                       # the calibration run has no trials
    runs = bnci.load_session(root / "A01T.mat")
    np.testing.assert_array_equal(runs[1].starts, np.asarray(data[1].trial, int) - 1)
    np.testing.assert_allclose(runs[1].X, data[1].X)
    X, y = bnci.epochs(runs, classes=(1, 2))
    assert X.shape == (16, 22, 1000) and set(y) == {1, 2}


def test_bnci_reader_names_the_file_on_bad_input(tmp_path):
    savemat(tmp_path / "A01T.mat", {"notdata": np.zeros(3)})
    with pytest.raises(bnci.BnciFormatError, match="A01T.mat.*no variable 'data'"):
        bnci.load_session(tmp_path / "A01T.mat")
    bnci.write_session(tmp_path / "A02T.mat", [{"X": np.zeros((100, 24)), "trial": [1], "y": [1], "fs": 250}])
    with pytest.raises(bnci.BnciFormatError, match="A02T.mat.*expected \\(samples, 25\\)"):
        bnci.load_session(tmp_path / "A02T.mat")
    bnci.write_session(tmp_path / "A03T.mat", [{"X": np.zeros((100, 25)), "trial": [500], "y": [1], "fs": 250}])
    with pytest.raises(bnci.BnciFormatError, match="A03T.mat.*outside"):
        bnci.load_session(tmp_path / "A03T.mat")
    (tmp_path / "A04T.mat").write_bytes(b"garbage")
    with pytest.raises(bnci.BnciFormatError, match="A04T.mat"):
        bnci.load_session(tmp_path / "A04T.mat")
    with pytest.raises(FileExistsError):
        bnci.write_session(tmp_path / "A03T.mat", [])
    assert not list(tmp_path.glob("*.part"))
