"""medrepro.data.datasets.ptb: the PTB layout round-trip on make_fixture, wfdb agreement, simulator, bad input."""
import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import is_fixture, ptb
from medrepro.data.io import FormatError, WfdbHeaderError
from medrepro.measure import detect_r_peaks


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return ptb.make_fixture(tmp_path_factory.mktemp("ptb"), seed=1, n_patients=6, seconds=6)


def test_layout_matches_manifest(root):
    assert is_fixture(root)
    m = manifest.load("ptb")
    assert not manifest.missing_layout(root, m.layout)
    assert m.layout == ptb.LAYOUT
    names = ptb.list_records(root)
    assert names[0] == "patient001/s0010_re"
    for n in names:
        for ext in (".hea", ".dat", ".xyz"):
            assert (root / f"{n}{ext}").is_file()
    head = (root / "patient001/s0010_re.hea").read_text().splitlines()
    assert head[0].split()[1:3] == ["15", "1000"]
    assert head[1].startswith("s0010_re.dat 16 2000 16 0 ") and head[1].endswith(" i")
    assert head[13].startswith("s0010_re.xyz 16 2000 ") and head[15].endswith(" vz")
    assert "# Reason for admission: " in "\n".join(head)


def test_round_trip_and_labels(root):
    recs = ptb.load(root)
    names = ptb.list_records(root)
    assert [r.name for r in recs] == names  # every record is MI or healthy control
    r = recs[0]
    assert r.signal.shape == (6000, 15) and r.fs == 1000 and r.leads == list(ptb.LEADS)
    assert r.patient == 1 and r.reason in ptb.COMET_CLASSES and r.sex in ("male", "female") and 30 <= r.age < 80
    labels = {rec.patient: ptb.COMET_CLASSES[rec.reason] for rec in recs}
    assert set(labels.values()) == {0, 1}
    for rec in recs:  # a patient's records all carry the patient's diagnosis
        assert ptb.COMET_CLASSES[rec.reason] == labels[rec.patient]


def test_agrees_with_wfdb(root, tmp_path):
    wfdb = pytest.importorskip("wfdb")
    name = ptb.list_records(root)[1]
    ours = ptb.read_record(root, name)
    theirs = wfdb.rdrecord(str(root / name))
    assert theirs.sig_name == list(ptb.LEADS) and theirs.file_name[0].endswith(".dat")
    assert theirs.file_name[-1].endswith(".xyz")
    np.testing.assert_allclose(theirs.p_signal, ours.signal, atol=1e-6)
    assert theirs.comments[4].startswith("Reason for admission:")
    # and the other way round: a two-file record written by wfdb is read identically here
    d = np.round(ours.signal[:500] * 2000).astype(np.int32)
    rec = wfdb.Record(record_name="s0099lre", n_sig=15, fs=1000, sig_len=500,
                      file_name=["s0099lre.dat"] * 12 + ["s0099lre.xyz"] * 3, fmt=["16"] * 15, adc_gain=[2000.0] * 15,
                      baseline=[0] * 15, units=["mV"] * 15, adc_res=[16] * 15, adc_zero=[0] * 15,
                      sig_name=list(ptb.LEADS), d_signal=d, init_value=[int(v) for v in d[0]], block_size=[0] * 15,
                      comments=ptb.summary_comments(ptb.HEALTHY, 50))
    rec.set_d_features(do_adc=False)
    (tmp_path / "patient009").mkdir()
    rec.wrsamp(write_dir=str(tmp_path / "patient009"))
    back = ptb.read_record(tmp_path, "patient009/s0099lre")
    np.testing.assert_allclose(back.signal, d / 2000.0, atol=1e-6)
    assert back.reason == ptb.HEALTHY and back.age == 50


def test_simulator_determinism_and_classes(tmp_path):
    a = ptb.write_simulated(tmp_path / "a", 4, 4, seconds=4, seed=3)
    b = ptb.write_simulated(tmp_path / "b", 4, 4, seconds=4, seed=3)
    assert a.names == b.names and np.array_equal(a.patient, b.patient) and np.array_equal(a.territory, b.territory)
    x = ptb.read_record(a.root, a.names[0]).signal
    np.testing.assert_array_equal(x, ptb.read_record(b.root, b.names[0]).signal)
    assert set(a.label) == {0, 1} and np.all((a.territory > 0) == (a.label == 1))
    assert np.all(a.q_mV[a.label == 1] > 0) and np.all(a.q_mV[a.label == 0] == 0)
    for p in np.unique(a.patient):  # the infarct is a property of the patient
        assert len(set(a.territory[a.patient == p])) == 1 and len(set(a.q_mV[a.patient == p])) == 1


def test_infarction_adds_q_waves_and_st_elevation():
    from medrepro.sim.ecg import lead_field

    fs, t = 500.0, 2000
    r = np.array([[250, 750, 1250, 1750]])
    fields, _ = lead_field(1, np.random.default_rng(0), 0.0, 0.0, 0.0)
    x = ptb.add_infarction(np.zeros((1, t, 12), np.float32), r, fs, fields, np.array([1]), np.array([0.4]),
                           np.array([0.3]))
    v2 = x[0, :, 7]
    assert v2[750 - int(0.035 * fs)] < -0.3  # anterior infarct: Q wave in V2 before each R peak
    assert v2[750 + int(0.16 * fs)] > 0.2  # and ST elevation after it
    assert np.allclose(ptb.add_infarction(np.zeros((1, t, 12), np.float32), r, fs, fields, np.array([0]),
                                          np.array([0.4]), np.array([0.3])), 0.0)


def test_r_peaks_and_heartbeats(root):
    sim_fs = 1000.0
    rec = ptb.read_record(root, ptb.list_records(root)[0])
    x = rec.signal[: len(rec.signal) // 4 * 4].reshape(-1, 4, 15).mean(1)  # 250 Hz
    x = (x - x.mean(0)) / x.std(0)
    peaks = detect_r_peaks(x, sim_fs / 4)
    assert 3 <= len(peaks) <= 12 and np.all(np.diff(peaks) > 0.25 * 250)
    beats = ptb.heartbeats(x, peaks, 300)
    assert beats.shape == (len(peaks), 300, 15)
    mid = 150
    assert np.all(np.abs(beats[1:-1, mid]).sum(-1) > 0)  # each beat is centred on its R peak
    assert ptb.heartbeats(x, peaks[:1], 300).shape == (0, 300, 15)
    assert ptb.heartbeats(x, peaks, 20).shape == (0, 20, 15)  # median RR longer than the beat: dropped


def test_bad_input(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        ptb.list_records(tmp_path)
    (tmp_path / "RECORDS").write_text("patient001/record1\n")
    with pytest.raises(FormatError, match="not PTB record names"):
        ptb.list_records(tmp_path)
    name = "patient002/s0020_re"
    ptb.write_record(tmp_path, name, np.zeros((100, 15)), ptb.summary_comments(ptb.MI))
    with open(tmp_path / f"{name}.xyz", "r+b") as fh:  # corrupt one sample of vx
        fh.seek(0)
        fh.write(b"\x01\x00")
    with pytest.raises(WfdbHeaderError, match="checksum"):
        ptb.read_record(tmp_path, name)
    ptb.write_record(tmp_path, name, np.zeros((100, 15)))
    (tmp_path / f"{name}.xyz").write_bytes(b"\x00" * 10)
    with pytest.raises(WfdbHeaderError, match="truncated"):
        ptb.read_record(tmp_path, name)
    (tmp_path / f"{name}.xyz").unlink()
    with pytest.raises(FileNotFoundError, match="s0020_re.xyz"):
        ptb.read_record(tmp_path, name)
    with pytest.raises(ValueError, match="15"):
        ptb.write_record(tmp_path, name, np.zeros((100, 12)))
    with pytest.raises(ValueError, match="not a PTB record name"):
        ptb.write_record(tmp_path, "rec1", np.zeros((100, 15)))
    with pytest.raises(WfdbHeaderError, match="sampling rate"):
        ptb.read_record(root, ptb.list_records(root)[0], expect_fs=500)
