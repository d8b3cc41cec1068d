"""DEAP (preprocessed Python release): loader, windows and labels as torcheeg and the official code use them."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from medrepro.data.datasets import deap
from medrepro.sim.eeg_affect import DEAP_EEG, AffectSpec, simulate_affect


def test_fixture_layout_and_loader(tmp_path):
    root = deap.make_fixture(tmp_path / "deap", seed=0, n_subjects=2)
    assert deap.subjects_present(root) == [1, 2]
    data, labels = deap.load_subject(root / "s01.dat")
    assert data.shape == (8, 40, int((3 + 4) * 128)) and data.dtype == np.float32
    assert labels.shape == (8, 4) and 1 <= labels.min() and labels.max() <= 9
    assert 5 < data[:, :32].std() < 60                                       # µV, as the preprocessed files


def test_read_as_torcheeg_reads_it(tmp_path):
    """torcheeg: pickle.load(f, encoding='iso-8859-1'), data[trial, :32], 128-sample chunks after 3 x 128."""
    root = deap.make_fixture(tmp_path / "deap", seed=1, n_subjects=1)
    with open(root / "s01.dat", "rb") as f:
        ref = pickle.load(f, encoding="iso-8859-1")
    data, labels = deap.load_subject(root / "s01.dat")
    np.testing.assert_array_equal(data, ref["data"])
    np.testing.assert_array_equal(labels, ref["labels"])
    X, trial = deap.windows(data)
    chunks = [ref["data"][t, :32, s:s + 128] for t in range(len(ref["data"]))
              for s in range(384, ref["data"].shape[2] - 127, 128)]
    np.testing.assert_array_equal(X, np.stack(chunks))
    assert (np.bincount(trial) == 4).all()


def test_categories_follow_binary_then_binaries_to_category():
    # torcheeg Binary(5.0): int(y >= 5); BinariesToCategory: sum(v * 2**i for i, v in enumerate(reversed(bits)))
    labels = np.array([[5.0, 4.99, 9, 1], [1, 9, 5, 5], [4.9, 4.9, 4.9, 4.9], [9, 9, 9, 9]])
    ref = [sum(int(v >= 5.0) * 2 ** i for i, v in enumerate(reversed(list(row)))) for row in labels]
    assert deap.categories(labels).tolist() == ref == [10, 7, 0, 15]
    assert deap.categories(labels, ("valence", "arousal")).tolist() == [2, 1, 0, 3]


@pytest.mark.parametrize("content,match", [
    ({"data": np.zeros((2, 40, 500))}, "keys 'data' and 'labels'"),
    ({"data": np.zeros((2, 32, 500)), "labels": np.full((2, 4), 5.0)}, "expected \\(trials, 40, samples\\)"),
    ({"data": np.zeros((2, 40, 500)), "labels": np.full((3, 4), 5.0)}, "'labels' has shape"),
    ({"data": np.zeros((2, 40, 500)), "labels": np.full((2, 4), 0.0)}, "ratings must lie in 1-9"),
    (b"not a pickle", "not a DEAP preprocessed-python file"),
])
def test_bad_files_raise_naming_the_file(tmp_path, content, match):
    path = tmp_path / "s07.dat"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with open(path, "wb") as f:
            pickle.dump(content, f, protocol=2)
    with pytest.raises(deap.DeapFormatError, match="s07.dat.*" + match):
        deap.load_subject(path)


def test_writer_refuses_to_overwrite(tmp_path):
    deap.write_subject(tmp_path / "s01.dat", np.zeros((2, 40, 500)), np.full((2, 4), 5.0))
    with pytest.raises(FileExistsError):
        deap.write_subject(tmp_path / "s01.dat", np.zeros((2, 40, 500)), np.full((2, 4), 5.0))


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_unpickler_refuses_anything_but_arrays(tmp_path, capsys):
    with open(tmp_path / "s05.dat", "wb") as f:
        pickle.dump({"data": _Evil(), "labels": np.ones((1, 4))}, f, protocol=2)
    with pytest.raises(deap.DeapFormatError, match="s05.dat.*refusing to load .*print"):
        deap.load_subject(tmp_path / "s05.dat")
    assert "must never run" not in capsys.readouterr().out


def test_simulated_affect_carries_designed_cues():
    recs = simulate_affect(6, 16, spec=AffectSpec(trial_s=4.0), seed=3)
    f3, f4 = DEAP_EEG.index("F3"), DEAP_EEG.index("F4")
    asym, val = [], []
    for r in recs:
        x = r.data[:, :, 384:]
        asym.append(np.log(x[:, f4].var(-1)) - np.log(x[:, f3].var(-1)))
        val.append(r.labels[:, 0])
    r_ = np.corrcoef(np.concatenate(asym), np.concatenate(val))[0, 1]
    assert r_ > 0.2                                                          # more right-frontal power, higher valence
    again = simulate_affect(6, 16, spec=AffectSpec(trial_s=4.0), seed=3)[5]
    np.testing.assert_array_equal(again.data, recs[5].data)                  # deterministic by seed
    assert recs[0].data.shape == (16, 40, 7 * 128)
