"""medrepro.data.datasets.chapman_shaoxing: layout round-trip on make_fixture, SNOMED grouping, bad input."""
import numpy as np
import pytest

from medrepro.data.datasets import chapman_shaoxing as cs
from medrepro.data.datasets import is_fixture
from medrepro.data.io import FormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return cs.make_fixture(tmp_path_factory.mktemp("chapman"), seed=2, n=8)


def test_layout_and_round_trip(root):
    assert is_fixture(root)
    heads = cs.list_headers(root)
    assert [h.relative_to(root).as_posix() for h in heads[:2]] == ["WFDBRecords/01/010/JS00001.hea",
                                                                   "WFDBRecords/01/010/JS00002.hea"]
    assert heads[0].with_suffix(".mat").is_file()
    assert "JS00001.mat 16+24 1000/mV" in heads[0].read_text()
    data = cs.load(root)
    assert data.signals.shape == (8, 5000, 12) and data.records[0] == "JS00001"
    assert [cs.rhythm_group(d) for d in data.dx] == [0, 1, 2, 3] * 2
    assert np.all(np.isfinite(data.age))


def test_signal_values_survive(tmp_path):
    sig = np.random.default_rng(0).normal(0, 0.5, (5000, 12))
    cs.write_record(tmp_path / "WFDBRecords/01/010/JS00001", sig, ["426783006"])
    back = cs.load(tmp_path).signals[0]
    assert np.abs(back - sig).max() < 1e-3  # 1 µV steps


def test_rhythm_groups():
    assert cs.rhythm_group(["426177001"]) == 0 and cs.rhythm_group(["427393009"]) == 1
    assert cs.rhythm_group(["164890007", "426783006"]) == 2  # AF/flutter wins over sinus
    assert cs.rhythm_group(["427084000"]) == 3 and cs.rhythm_group(["59118001"]) == -1
    assert cs.record_stem("r", 1234).as_posix() == "r/WFDBRecords/02/022/JS01235"


def test_bad_input(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="WFDBRecords"):
        cs.list_headers(tmp_path)
    with pytest.raises(ValueError):
        cs.write_record(tmp_path / "x", np.zeros((100, 12)), ["426783006"])
    bad = tmp_path / "WFDBRecords/01/010/JS00001"
    cs.write_record(bad, np.zeros((5000, 12)), ["426783006"])
    bad.with_suffix(".mat").write_bytes(bad.with_suffix(".mat").read_bytes()[:1000])  # truncated
    with pytest.raises((FormatError, ValueError)):
        cs.load(tmp_path)
