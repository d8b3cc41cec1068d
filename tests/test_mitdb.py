"""medrepro.data.datasets.mitdb: the MIT-BIH layout round-trip on make_fixture, AAMI mapping, bad input."""
import numpy as np
import pytest

from medrepro.data.datasets import is_fixture, mitdb
from medrepro.data.io import FormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return mitdb.make_fixture(tmp_path_factory.mktemp("mitdb"), seed=1, n_records=4, seconds=20)


def test_layout(root):
    assert is_fixture(root)
    names = mitdb.list_records(root)
    assert names == list(mitdb.DS1[:2]) + list(mitdb.DS2[:2])
    for n in names:
        for ext in (".hea", ".dat", ".atr"):
            assert (root / f"{n}{ext}").is_file()
    assert " 212 " in (root / f"{names[0]}.hea").read_text()


def test_round_trip(root):
    rec = mitdb.read_record(root, mitdb.DS1[0])
    assert rec.fs == 360 and rec.leads == ["MLII", "V1"] and rec.signal.shape == (20 * 360, 2)
    assert set(rec.ann_symbol) <= {"N", "A", "V"}
    beats = mitdb.load_beats(root)
    sig, r, c = beats[mitdb.DS2[0]]
    assert sig.ndim == 1 and len(r) == len(c) > 10 and set(np.unique(c)) <= {0, 1, 2}


def test_aami_mapping_and_splits():
    assert mitdb.aami_class(["N", "L", "A", "V", "F", "/", "+", "~"]).tolist() == [0, 0, 1, 2, 3, 4, -1, -1]
    assert len(mitdb.RECORDS) == 48 and len(mitdb.DS1) == len(mitdb.DS2) == 22
    assert not set(mitdb.DS1) & set(mitdb.DS2) and not (set(mitdb.DS1) | set(mitdb.DS2)) & set(mitdb.PACED)
    assert set(mitdb.DS1) | set(mitdb.DS2) | set(mitdb.PACED) == set(mitdb.RECORDS)


def test_bad_input(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        mitdb.list_records(tmp_path)
    mitdb.write_record(tmp_path, "100", np.zeros((720, 2)), ["MLII", "V1"], np.array([100, 400]), ["N", "V"])
    (tmp_path / "100.atr").unlink()
    with pytest.raises(FileNotFoundError, match="100.atr"):
        mitdb.read_record(tmp_path, "100")
    rec = mitdb.read_record(root, mitdb.DS1[0])
    with pytest.raises(FormatError, match="V5"):
        rec.lead("V5")


def test_subject_disjoint_split_drops_202():
    # 201 (DS1) and 202 (DS2) are one subject: the inter-patient targets must not contain 202
    assert mitdb.subject_of("202") == mitdb.subject_of("201") == "201" and mitdb.subject_of("100") == "100"
    targets = mitdb.subject_disjoint(mitdb.DS1, mitdb.DS2)
    assert "202" not in targets and len(targets) == len(mitdb.DS2) - 1
    assert not {mitdb.subject_of(r) for r in targets} & {mitdb.subject_of(r) for r in mitdb.DS1}
    assert mitdb.subject_disjoint(["100"], mitdb.DS2) == [r for r in mitdb.DS2 if r != "100"]
