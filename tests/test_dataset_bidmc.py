"""BIDMC loader: round trip through make_fixture / write_dataset, and clear errors on bad input."""
import numpy as np
import pytest

from medrepro.data import datasets, manifest
from medrepro.data.datasets import bidmc
from medrepro.data.io import FormatError, WfdbHeaderError


def test_fixture_round_trip(tmp_path):
    root = bidmc.make_fixture(tmp_path / "bidmc", seed=0, n=4, seconds=20)
    assert datasets.is_fixture(root)
    assert not manifest.missing_layout(root, manifest.load("bidmc").layout)
    data = bidmc.load(root)
    assert data.records == ["bidmc01", "bidmc02", "bidmc03", "bidmc04"] and data.fs == 125.0
    assert all(x.shape == (2500,) and x.dtype == np.float32 for x in data.ppg)
    assert data.age.shape == (4,) and set(data.female) <= {0, 1} and (data.age >= 18).all()
    assert datasets.get("bidmc") is bidmc


def test_write_read_values_and_names(tmp_path):
    rng = np.random.default_rng(0)
    ppg = rng.normal(size=(2, 1000))
    bidmc.write_dataset(tmp_path, ppg, 125.0, age=[33.4, 90], female=[1, 0])
    x, fs, names = bidmc.read_record(tmp_path / "bidmc01")
    assert names == list(bidmc.SIGNALS) and fs == 125.0 and x.shape == (1000, 5)
    data = bidmc.load(tmp_path)
    assert np.abs(data.ppg[1] - ppg[1]).max() < 2e-3
    assert data.age.tolist() == [33.0, 90.0] and data.female.tolist() == [1, 0]
    assert (tmp_path / "bidmc_csv" / "bidmc_01_Fix.txt").read_text().startswith("Age: 33")


def test_age_from_header_comments_when_fix_file_lacks_it(tmp_path):
    bidmc.write_record(tmp_path / "bidmc01", np.zeros((100, 5)), 125.0, comments=["<age>: 90+ <sex>: F"])
    (tmp_path / "bidmc_csv").mkdir()
    (tmp_path / "RECORDS").write_text("bidmc01\nbidmc01n\n")
    assert bidmc.list_records(tmp_path) == ["bidmc01"]
    assert bidmc.read_fixed(tmp_path, "bidmc01") == (90.0, 1)


def test_bad_inputs_name_the_file(tmp_path):
    root = bidmc.make_fixture(tmp_path / "b", n=2, seconds=10)
    fix = root / "bidmc_csv" / "bidmc_02_Fix.txt"
    fix.write_text("Location: sicu\n")
    with pytest.raises(FormatError, match="bidmc_02_Fix.txt"):
        bidmc.load(root)
    root = bidmc.make_fixture(tmp_path / "c", n=2, seconds=10)
    dat = root / "bidmc01.dat"
    dat.write_bytes(dat.read_bytes()[:500])
    with pytest.raises(WfdbHeaderError, match="bidmc01.hea declares 5 signals.*truncated"):
        bidmc.load(root)
    root = bidmc.make_fixture(tmp_path / "d", n=2, seconds=10)
    raw = bytearray((root / "bidmc02.dat").read_bytes())
    raw[11] ^= 0x40
    (root / "bidmc02.dat").write_bytes(bytes(raw))
    with pytest.raises(WfdbHeaderError, match="checksum"):
        bidmc.load(root)
    (root / "RECORDS").unlink()
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        bidmc.load(root)
    with pytest.raises(FileNotFoundError, match="nope.hea"):
        bidmc.read_record(tmp_path / "nope")
