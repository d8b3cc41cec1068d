"""PTB-XL loader: round trip on make_fixture, agreement with wfdb, labels, splits, manifest, bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import is_fixture, ptbxl
from medrepro.data.io import FormatError, WfdbHeaderError, read_wfdb
from medrepro.sim.ecg import simulate_12lead
from medrepro.sim.reports import generate_reports

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return ptbxl.make_fixture(tmp_path_factory.mktemp("ptbxl"), seed=0, n=40)


def test_fixture_has_the_real_layout(fixture_root):
    assert is_fixture(fixture_root)
    assert not manifest.missing_layout(fixture_root, ptbxl.LAYOUT)
    assert (fixture_root / "records100/00000/00001_lr.hea").is_file()
    assert (fixture_root / "records500/00000/00040_hr.dat").is_file()
    header = pd.read_csv(fixture_root / ptbxl.DATABASE, nrows=0).columns.tolist()
    assert header == list(ptbxl.DATABASE_COLUMNS)
    first = (fixture_root / "records500/00000/00001_hr.hea").read_text().splitlines()
    assert first[0] == "00001_hr 12 500 5000" and first[1].startswith("00001_hr.dat 16 1000.0(0)/mV 16 0 ")


def test_manifest_matches_the_loader(fixture_root):
    m = manifest.parse(ROOT / "data_manifests" / "ptbxl.yaml")
    assert m.id == "ptbxl" and m.access == "open" and m.layout == ptbxl.LAYOUT
    assert m.files[0].url.startswith("https://physionet.org/") and m.files[0].extract == "zip"
    # a complete local copy is used as it is (no download)
    assert manifest.locate("ptbxl", fixture_root, manifest=m, download_ok=False) == fixture_root


def test_database_labels_and_splits(fixture_root):
    db = ptbxl.load_database(fixture_root)
    st = ptbxl.load_statements(fixture_root)
    assert len(db) == 40 and db.index.name == "ecg_id" and isinstance(db["scp_codes"].iloc[0], dict)
    y = ptbxl.superclass_labels(db, st)
    assert y.shape == (40, 5) and set(np.unique(y)) <= {0, 1}
    assert st.loc["IMI", "diagnostic_class"] == "MI" and st.loc["CLBBB", "diagnostic_class"] == "CD"
    split = ptbxl.split_by_fold(db)
    assert len(split["train"]) == 32 and len(split["val"]) == 4 and len(split["test"]) == 4
    assert not set(split["train"]) & set(split["test"])


def test_signals_agree_with_wfdb(fixture_root):
    db = ptbxl.load_database(fixture_root)
    x100 = ptbxl.load_signals(fixture_root, db, 100)
    x500 = ptbxl.load_signals(fixture_root, db, 500, leads_first=True)
    assert x100.shape == (40, 1000, 12) and x500.shape == (40, 12, 5000)
    ref = read_wfdb(fixture_root / db["filename_hr"].iloc[7])        # the core reader (wfdb.rdrecord)
    assert [n.upper() for n in ref.lead_names] == list(ptbxl.LEADS) and ref.fs == 500
    assert np.allclose(ref.signal.T, x500[7], atol=1e-6)
    # 100 Hz records are the anti-aliased 500 Hz records: low-frequency content agrees
    assert np.corrcoef(x100[7, ::2, 1], x500[7, 1, ::10])[0, 1] > 0.9


def test_simulated_round_trip_keeps_labels_and_signals(tmp_path):
    b = simulate_12lead(30, fs=100, seconds=4.0, seed=2)
    reps = generate_reports(b, seed=2)
    folds = ptbxl.assign_folds(b.patient_id, seed=0, test_fraction=0.3)
    root = ptbxl.write_simulated(tmp_path / "sim", b, reps, strat_fold=folds, rates=(100,))
    db = ptbxl.load_database(root)
    assert db["report"].tolist() == reps
    assert np.array_equal(ptbxl.code_labels(db, ptbxl.SIM_CODE_GROUPS).astype(bool), b.labels)
    x = ptbxl.load_signals(root, db, 100)
    assert np.abs(x - b.signals).max() <= 0.0005 + 1e-6  # 1 µV steps
    assert set(db["strat_fold"]) <= set(range(1, 11))


# The kind of each PTB-XL statement the simulator's findings map to, from PTB-XL 1.0.3's scp_statements.csv
# (columns diagnostic / form / rhythm): STE_ and STD_ are form statements, the rhythms are rhythm statements.
PTBXL_STATEMENT_KIND = {"NORM": "diagnostic", "IMI": "diagnostic", "ASMI": "diagnostic", "LVH": "diagnostic",
                        "1AVB": "diagnostic", "CRBBB": "diagnostic", "CLBBB": "diagnostic", "STE_": "form",
                        "STD_": "form", "AFIB": "rhythm", "AFLT": "rhythm", "SBRAD": "rhythm", "STACH": "rhythm"}
FINDING_KIND = {"NORM": "diagnostic", "AFIB": "rhythm", "SBRAD": "rhythm", "STACH": "rhythm", "AVB1": "diagnostic",
                "BBB": "diagnostic", "STE": "form", "STD": "form", "QMI": "diagnostic", "LVH": "diagnostic"}


def test_code_groups_use_statements_of_the_findings_kind():
    for finding, codes in ptbxl.SIM_CODE_GROUPS.items():
        for code in codes:
            assert PTBXL_STATEMENT_KIND[code] == FINDING_KIND[finding], (finding, code)
            assert ptbxl.SIM_STATEMENTS[code][3] == PTBXL_STATEMENT_KIND[code], code
    assert ptbxl.SIM_CODE_GROUPS["STD"] == ("STD_",)          # the form statement, not ISC_ (diagnostic)
    assert set(ptbxl.SIM_CODE_GROUPS["AFIB"]) == {"AFIB", "AFLT"}


def test_flutter_counts_as_afib_and_form_codes_carry_no_likelihood(tmp_path):
    b = simulate_12lead(40, fs=100, seconds=2.0, seed=3)
    codes = ptbxl.sim_scp_codes(b)
    for c, std, ste in zip(codes, b.label("STD"), b.label("STE")):
        assert ("STD_" in c) == bool(std) and ("STE_" in c) == bool(ste) and "ISC_" not in c
        assert all(c[k] == 0.0 for k in ("STD_", "STE_") if k in c)   # likelihoods are for diagnostic codes only
    assert not any("LVOLT" in c for c in codes)
    b.meta["low_voltage"] = np.arange(len(b)) % 4 == 0               # a notebook marks the records it scaled down
    assert [("LVOLT" in c) for c in ptbxl.sim_scp_codes(b)] == b.meta["low_voltage"].tolist()
    assert ptbxl.SIM_STATEMENTS["LVOLT"][3] == "form"
    db = pd.DataFrame({"scp_codes": [{"AFLT": 0.0}, {"AFIB": 0.0}, {"SR": 0.0, "STD_": 0.0}, {"ISC_": 100.0}]})
    y = ptbxl.code_labels(db, ptbxl.SIM_CODE_GROUPS)
    groups = list(ptbxl.SIM_CODE_GROUPS)
    assert y[:, groups.index("AFIB")].tolist() == [1, 1, 0, 0]
    assert y[:, groups.index("STD")].tolist() == [0, 0, 1, 0]


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_bad_records_raise_naming_the_file(fixture_root, tmp_path):
    root = _copy(fixture_root, tmp_path / "bad")
    stem = root / "records100/00000/00003_lr"
    dat = stem.with_name(stem.name + ".dat")
    data = dat.read_bytes()
    dat.write_bytes(data[: len(data) // 2])
    with pytest.raises(WfdbHeaderError, match="00003_lr.*truncated"):
        ptbxl.read_record(stem)
    dat.write_bytes(data[:-2] + b"\x01\x02")
    with pytest.raises(WfdbHeaderError, match="checksum"):
        ptbxl.read_record(stem)
    (root / "records100/00000/00004_lr.hea").unlink()
    with pytest.raises(FileNotFoundError, match="00004_lr.hea"):
        ptbxl.read_record(root / "records100/00000/00004_lr")
    with pytest.raises(WfdbHeaderError, match="sampling rate"):
        ptbxl.read_record(root / "records100/00000/00005_lr", expect_fs=500)


def test_bad_index_files_raise(fixture_root, tmp_path):
    root = _copy(fixture_root, tmp_path / "badcsv")
    db = pd.read_csv(root / ptbxl.DATABASE)
    db.loc[2, "scp_codes"] = "{'NORM': 100.0"
    db.to_csv(root / ptbxl.DATABASE, index=False)
    with pytest.raises(FormatError, match="ecg_id 3"):
        ptbxl.load_database(root)
    db.drop(columns=["strat_fold"]).to_csv(root / ptbxl.DATABASE, index=False)
    with pytest.raises(FormatError, match="strat_fold"):
        ptbxl.load_database(root)
    with pytest.raises(FileNotFoundError, match="ptbxl_database.csv"):
        ptbxl.load_database(tmp_path)
    with pytest.raises(ValueError, match="100 and 500"):
        ptbxl.load_signals(fixture_root, ptbxl.load_database(fixture_root), 250)
