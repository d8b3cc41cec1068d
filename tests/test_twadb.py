"""medrepro.data.datasets.twadb and medrepro.sim.twa: layout round-trip, alternans injection, bad input."""
import numpy as np
import pytest

from medrepro.data.datasets import is_fixture, twadb
from medrepro.data.io import FormatError
from medrepro.sim.twa import add_alternans, beat_stacks


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return twadb.make_fixture(tmp_path_factory.mktemp("twadb"), seed=1, n_records=3, seconds=20)


def test_layout_and_round_trip(root):
    assert is_fixture(root)
    assert twadb.list_records(root) == ["twa00", "twa01", "twa02"]
    for ext in (".hea", ".dat", ".qrs"):
        assert (root / f"twa00{ext}").is_file()
    rec = twadb.read_record(root, "twa00")
    assert rec.fs == 500 and rec.leads == ["II", "V1"] and rec.signal.shape == (20 * 500, 2)
    data = twadb.load(root)
    sig, qrs = data["twa01"]
    assert sig.ndim == 1 and len(qrs) > 10 and np.all(np.diff(qrs) > 0)


def test_alternans_and_stacks():
    fs, n, T = 500.0, 3, 10_000
    r = np.tile(np.arange(250, T - 300, 400), (n, 1))
    amp = np.array([0.0, 0.05, 0.1])
    out = add_alternans(np.zeros((n, T, 1), np.float32), r, fs, amp, 0.28, 0.05)
    assert np.abs(out[0]).max() == 0
    peak = r[1] + int(0.28 * fs)
    assert np.allclose(out[1, peak[0::2], 0], 0.025, atol=1e-4) and np.allclose(out[1, peak[1::2], 0], -0.025, atol=1e-4)
    x = beat_stacks(out[2, :, 0], r[2], fs, k=8)
    assert x.shape[1:] == (8, 44)
    ab = x[:, 0::2].mean() - x[:, 1::2].mean()
    assert ab > 0 and np.allclose(add_alternans(out, r, fs, amp, 0.28, 0.05), add_alternans(out, r, fs, amp, 0.28, 0.05))


def test_alternans_phase_flips_the_sign():
    fs, T = 500.0, 6000
    r = np.tile(np.arange(250, T - 300, 400), (2, 1))
    out = add_alternans(np.zeros((2, T, 1), np.float32), r, fs, np.array([0.1, 0.1]), 0.28, 0.05,
                        phase=np.array([0, 1]))
    peak = r[0] + int(0.28 * fs)
    assert np.allclose(out[0, peak[0::2], 0], 0.05, atol=1e-4) and np.allclose(out[1, peak[0::2], 0], -0.05, atol=1e-4)
    assert np.allclose(out[0], -out[1])
    with pytest.raises(ValueError, match="phase"):
        add_alternans(out, r, fs, np.array([0.1, 0.1]), phase=np.array([0, 2]))


def test_bad_input(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        twadb.list_records(tmp_path)
    twadb.write_record(tmp_path, "twa00", np.zeros((1000, 2)), ["II", "V1"], np.array([100, 400]))
    (tmp_path / "twa00.qrs").unlink()
    with pytest.raises(FileNotFoundError, match="twa00.qrs"):
        twadb.read_record(tmp_path, "twa00")
    rec = twadb.read_record(root, "twa00")
    with pytest.raises(FormatError, match="V5"):
        rec.lead("V5")
