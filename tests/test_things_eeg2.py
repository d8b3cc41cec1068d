"""THINGS-EEG2 loader: both ways the official code saves the dicts, the ATM ``times`` convention, bad input."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from medrepro.data.datasets import is_fixture, things_eeg2 as te


def _write(path, data, names=("O1", "Oz", "O2"), times=None, style="numpy"):
    times = np.arange(data.shape[-1]) / 100.0 if times is None else times
    return te.write_part(path, data, names, times, style=style)


@pytest.mark.parametrize("style", ["numpy", "pickle"])
def test_roundtrip_matches_numpy_allow_pickle(tmp_path, style):
    data = np.random.default_rng(0).standard_normal((5, 4, 3, 20)).astype(np.float32)
    path = _write(tmp_path / "x.npy", data, style=style)
    part = te.load_part(path)
    ref = np.load(path, allow_pickle=True)                     # what the official loaders call
    ref = ref.item() if isinstance(ref, np.ndarray) else ref
    np.testing.assert_array_equal(part.data, ref["preprocessed_eeg_data"])
    assert part.ch_names == ("O1", "Oz", "O2")


def test_atm_times_longer_than_data_keep_the_last(tmp_path):
    data = np.zeros((2, 4, 3, 10), np.float32)
    t = np.arange(-5, 10) / 100.0                              # 5 extra leading samples, as ATM saves them
    part = te.load_part(_write(tmp_path / "x.npy", data, times=t, style="pickle"))
    np.testing.assert_allclose(part.times, np.arange(10) / 100.0)


def test_bad_inputs_raise_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        te.load_part(tmp_path / "missing.npy")
    np.save(tmp_path / "plain.npy", np.zeros((2, 3)))
    with pytest.raises(te.ThingsEeg2FormatError, match="plain.npy"):
        te.load_part(tmp_path / "plain.npy")
    with pytest.raises(te.ThingsEeg2FormatError, match="shape"):
        te.load_part(_write(tmp_path / "d3.npy", np.zeros((2, 3, 20), np.float32)))
    with pytest.raises(te.ThingsEeg2FormatError, match="channel names"):
        te.load_part(_write(tmp_path / "names.npy", np.zeros((2, 4, 3, 20), np.float32), names=("O1",)))
    with pytest.raises(te.ThingsEeg2FormatError, match="time points"):
        te.load_part(_write(tmp_path / "t.npy", np.zeros((2, 4, 3, 20), np.float32), times=np.arange(5.0)))
    with pytest.raises(te.ThingsEeg2FormatError, match="repetitions"):
        te.load_part(_write(tmp_path / "r.npy", np.zeros((2, 4, 3, 20), np.float32)), n_reps=80)
    (tmp_path / "junk.npy").write_bytes(b"not a pickle at all")
    with pytest.raises(te.ThingsEeg2FormatError, match="junk.npy"):
        te.load_part(tmp_path / "junk.npy")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "evil.npy"
    with open(path, "wb") as fh:
        pickle.dump({"preprocessed_eeg_data": _Evil(), "ch_names": [], "times": []}, fh, protocol=4)
    with pytest.raises(te.ThingsEeg2FormatError, match="evil.npy"):
        te.load_part(path)


def test_fixture_layout_and_features(tmp_path):
    root = te.make_fixture(tmp_path / "t", n_subjects=2)
    assert is_fixture(root) and te.subjects_present(root) == [1, 2]
    for s in (1, 2):
        train, test = te.load_subject(root, s)
        assert train.data.shape[1] == 4 and train.data.shape[2:] == test.data.shape[2:] == (17, 100)
        assert np.isclose(train.times[0], -0.2)
    f = te.load_features(root)
    assert f["train_img"].shape[0] == 24 and f["train_text"].shape[0] == 12 and f["test_img"].shape[0] == 8
    (root / "ViT-H-14_features_test.pt").unlink()
    with pytest.raises(FileNotFoundError, match="ViT-H-14_features_test.pt"):
        te.load_features(root)
