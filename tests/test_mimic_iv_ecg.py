"""MIMIC-IV-ECG loader (medrepro.data.datasets.mimic_iv_ecg): layout, index, resampling, linking, errors."""
import numpy as np
import pytest

from medrepro.data.datasets import mimic_iv_ecg as m


def test_record_path_follows_the_release():
    assert m.record_path(10000032, 40689238) == "files/p1000/p10000032/s40689238/40689238"


def test_write_read_roundtrip_and_lead_order(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.5, (3, 1000, 12))
    m.write_layout(tmp_path, x, 100.0, [10000001, 10000002, 10000002], [1, 2, 3],
                   ["2180-01-01 10:00:00", "2180-02-01 10:00:00", "2180-05-01 10:00:00"],
                   [["sinus rhythm", "normal ecg"], ["atrial fibrillation"], []])
    idx = m.read_index(tmp_path)
    assert idx.reports == ["sinus rhythm. normal ecg", "atrial fibrillation", ""]
    y = m.read_signals(tmp_path, idx.path, fs=100.0)
    assert y.shape == (3, 12, 1000)
    np.testing.assert_allclose(y, x.transpose(0, 2, 1), atol=0.5 / 200 + 1e-6)   # format 16 at 200 adu/mV
    y50 = m.read_signals(tmp_path, idx.path, fs=50.0)
    np.testing.assert_allclose(y50, y.reshape(3, 12, 500, 2).mean(-1), atol=1e-6)
    sub = m.read_index(tmp_path, subjects=[10000002])
    assert sub.study.tolist() == [2, 3]


def test_link_nearest_within_60_days(tmp_path):
    m.write_layout(tmp_path, np.zeros((3, 1000, 12)), 100.0, [1, 2, 2], [11, 21, 22],
                   ["2180-01-10 00:00:00", "2180-03-01 00:00:00", "2180-01-20 00:00:00"], [[], [], []])
    idx = m.read_index(tmp_path)
    films = np.array(["2180-01-01T00:00:00", "2180-01-01T00:00:00", "2181-01-01T00:00:00"], dtype="datetime64[s]")
    link = m.link_nearest(np.array([1, 2, 2]), films, idx, max_days=60)
    assert link.tolist() == [0, 2, -1]
    t = m.cxr_times(np.array([21800101123000, -1]))
    assert str(t[0]) == "2180-01-01T12:30:00" and np.isnat(t[1])


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="record_list.csv"):
        m.read_index(tmp_path)
    m.write_layout(tmp_path, np.zeros((1, 300, 12)), 100.0, [1], [5], ["2180-01-01 00:00:00"], [[]])
    idx = m.read_index(tmp_path)
    with pytest.raises(m.MimicIvEcgFormatError, match="fewer than"):
        m.read_signals(tmp_path, idx.path, fs=100.0)
    with pytest.raises(m.MimicIvEcgFormatError, match="integer multiple"):
        m.read_signals(tmp_path, idx.path, fs=30.0, seconds=1.0)
    (tmp_path / m.RECORD_LIST).write_text("subject_id,study_id\n1,5\n")
    with pytest.raises(m.MimicIvEcgFormatError, match="missing"):
        m.read_index(tmp_path)
