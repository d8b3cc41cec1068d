"""medrepro.data.datasets.erp_core and medrepro.sim.erp: the loader against MNE's EEGLAB reader, bad input, and
what the simulator promises (its ground truth is the ERP the loader cuts)."""
import numpy as np
import pytest

from medrepro.data.datasets import erp_core
from medrepro.sim.erp import ErpCohortSpec, erp_times, simulate_cohort


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return erp_core.make_fixture(tmp_path_factory.mktemp("erp_core"), seed=0, n_subjects=2)


# MNE reading the fixture as the loader does (channels, rate, data, events): tests/test_fixtures_reference.py,
# check_erp_core.


def test_epochs_equal_mne_pipeline_on_the_same_file(fixture_root):
    """Re-referencing, filtering, resampling and cutting by hand on MNE's raw give the loader's epochs."""
    import mne
    from scipy.signal import butter, resample_poly, sosfiltfilt

    rec = erp_core.load_subject(fixture_root, 1)
    ep = erp_core.epochs(rec)
    raw = mne.io.read_raw_eeglab(erp_core.set_path(fixture_root, 1), preload=True, verbose="error")
    d = raw.get_data(picks=["Pz", "P9", "P10"]) * 1e6
    x = d[0] - d[1:].mean(0)
    x = resample_poly(sosfiltfilt(butter(2, 0.1, "highpass", fs=1024.0, output="sos"), x), 1, 8)
    targets = rec.event_samples[np.isin(rec.event_values, erp_core.TARGET_CODES)]
    start = np.round(targets / 8).astype(int) + round(0.026 * 128) + round(-0.2 * 128)
    ref = np.stack([x[a:a + 128] for a in start])
    ref = ref - ref[:, :26].mean(1, keepdims=True)
    np.testing.assert_allclose(ep, ref, atol=1e-4)
    assert ep.shape == (8, 128)


def test_simulated_files_give_back_the_noise_free_erp_timing(tmp_path):
    """Smoke files at 128 Hz: the loader's target epochs line up with the simulator's ground truth."""
    spec = ErpCohortSpec(background_uv=0.0, alpha_uv=0.0, white_uv=0.0)
    cohort = simulate_cohort(2, n_targets=6, n_nontargets=3, spec=spec, seed=3)
    erp_core.write_simulated(tmp_path, cohort, seed=3)
    for c in cohort:
        ep = erp_core.epochs(erp_core.load_subject(tmp_path, c.subject), highpass=None)
        clean = c.clean_uv[c.target]
        clean = clean - clean[:, :26].mean(1, keepdims=True)
        np.testing.assert_allclose(ep, clean, atol=1e-3)      # the common-mode drift is removed by P9/P10
    info = erp_core.participants(tmp_path)
    assert set(info) == {1, 2} and {"age", "depression"} <= set(info[1])


def test_simulator_effects_point_the_right_way():
    spec = ErpCohortSpec()
    cohort = simulate_cohort(80, n_targets=20, n_nontargets=0, spec=spec, seed=1)
    amp = np.array([c.factors["p3_uv"].mean() for c in cohort])
    lat = np.array([c.factors["p3_latency_s"].mean() for c in cohort])
    dep = np.array([c.depressed for c in cohort]); age = np.array([c.age for c in cohort])
    assert amp[dep].mean() < 0.8 * amp[~dep].mean()
    assert np.corrcoef(age, lat)[0, 1] > 0.7
    assert erp_times(spec).shape == (128,) and erp_times(spec)[0] == pytest.approx(-0.203125)


def test_bad_input_names_the_file(tmp_path, fixture_root):
    with pytest.raises(FileNotFoundError, match="sub-009_task-P3_eeg.set"):
        erp_core.load_subject(fixture_root, 9)
    bad = tmp_path / "sub-001" / "eeg"
    bad.mkdir(parents=True)
    (bad / "sub-001_task-P3_eeg.set").write_bytes(b"not a mat file")
    (bad / "sub-001_task-P3_events.tsv").write_text("onset\tsample\tvalue\n0.1\t100\t11\n")
    with pytest.raises(erp_core.ErpCoreFormatError, match="sub-001_task-P3_eeg.set"):
        erp_core.load_subject(tmp_path, 1)
    rec = erp_core.load_subject(fixture_root, 1)
    fdt = erp_core.set_path(fixture_root, 1).with_suffix(".fdt")
    short = tmp_path / "short"
    import shutil
    shutil.copytree(fixture_root, short)
    sfdt = erp_core.set_path(short, 1).with_suffix(".fdt")
    sfdt.write_bytes(fdt.read_bytes()[:-400])
    with pytest.raises(erp_core.ErpCoreFormatError, match="fdt"):
        erp_core.load_subject(short, 1)
    with pytest.raises(erp_core.ErpCoreFormatError, match="no channel 'Oz2'"):
        erp_core.epochs(rec, channel="Oz2")
    ev = erp_core.events_path(short, 2)
    ev.write_text("onset\tduration\ttrial_type\tvalue\tsample\n0\t0\tstimulus\t11\t99999999\n")
    with pytest.raises(erp_core.ErpCoreFormatError, match="outside"):
        erp_core.load_subject(short, 2)
