"""PTB-XL+ loader: fixture layout, manifest, round trip of the intervals, join with PTB-XL, bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import is_fixture, ptbxl, ptbxl_plus
from medrepro.data.io import FormatError
from medrepro.sim.ecg import simulate_12lead

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return ptbxl_plus.make_fixture(tmp_path_factory.mktemp("ptbxl_plus"), seed=0, n=24)


def test_fixture_holds_both_datasets_side_by_side(fixture_root):
    assert is_fixture(fixture_root)
    ptb, plus = fixture_root / ptbxl_plus.PTBXL_DIR, fixture_root / ptbxl_plus.PLUS_DIR
    assert not manifest.missing_layout(ptb, ptbxl.LAYOUT)
    assert not manifest.missing_layout(plus, ptbxl_plus.LAYOUT)
    header = pd.read_csv(plus / "features/12sl_features.csv", nrows=0).columns.tolist()
    assert "ecg_id" in header and header[0] != "ecg_id"  # as in the real 12SL file: found by name, not position
    assert {"PR_Int_Global", "QRS_Dur_Global", "QT_Int_Global", "HR__Global", "RR_Mean_Global"} <= set(header)
    deli = pd.read_csv(plus / "features/ecgdeli_features.csv", nrows=0).columns.tolist()
    assert "HR__Global" not in deli and {"QRS_Dur_Global_iqr", "QRS_Dur_Global_count"} <= set(deli)


def test_manifest_matches_the_loader(fixture_root):
    m = manifest.parse(ROOT / "data_manifests" / "ptbxl_plus.yaml")
    assert m.id == "ptbxl_plus" and m.access == "open" and m.layout == ptbxl_plus.LAYOUT
    assert m.root == ptbxl_plus.PLUS_DIR and manifest.load("ptbxl").root == ptbxl_plus.PTBXL_DIR
    assert m.files[0].url.startswith("https://physionet.org/") and m.files[0].extract == "zip"
    ptb, plus = ptbxl_plus.locate_pair(fixture_root, download_ok=False)  # a complete local copy: no download
    assert ptb == fixture_root / ptbxl_plus.PTBXL_DIR and plus == fixture_root / ptbxl_plus.PLUS_DIR


def test_intervals_round_trip_and_join(tmp_path):
    b = simulate_12lead(30, fs=100, seconds=10.0, seed=3)
    folds = ptbxl.assign_folds(b.patient_id, seed=0)
    ptb, plus = ptbxl_plus.write_simulated(tmp_path, b, ["report"] * 30, strat_fold=folds, rates=(100,))
    truth = b.intervals
    for alg in ("12sl", "unig"):
        iv = ptbxl_plus.load_intervals(plus, alg)
        assert list(iv.columns) == list(ptbxl_plus.INTERVALS) and list(iv.index) == list(range(1, 31))
        assert np.allclose(iv["qrs_ms"], np.round(truth["qrs_ms"])) and np.allclose(iv["hr_bpm"], np.round(truth["hr_bpm"]))
        assert np.array_equal(np.isnan(iv["pr_ms"].to_numpy()), np.isnan(truth["pr_ms"]))  # no PR in AF
    deli = ptbxl_plus.load_intervals(plus, "ecgdeli")
    assert np.allclose(deli["hr_bpm"], truth["hr_bpm"], atol=0.2)  # 60,000 / RR_Mean_Global
    db = ptbxl_plus.join(ptbxl.load_database(ptb), ptbxl_plus.load_intervals(plus))
    assert np.allclose(db["qt_ms"], np.round(truth["qt_ms"]))
    assert np.array_equal(ptbxl.code_labels(db, ptbxl.SIM_CODE_GROUPS).astype(bool), b.labels)
    with pytest.raises(ValueError, match="already has columns"):
        ptbxl_plus.join(db, ptbxl_plus.load_intervals(plus))


def test_measurement_error_is_seeded_and_per_program(tmp_path):
    iv = {"pr_ms": np.full(400, 160.0), "qrs_ms": np.full(400, 90.0), "qt_ms": np.full(400, 380.0),
          "hr_bpm": np.full(400, 70.0)}
    ids = np.arange(1, 401)
    a = ptbxl_plus.load_intervals(ptbxl_plus.write_features(tmp_path / "a", ids, iv, measurement_sd=8.0, seed=1))
    b = ptbxl_plus.load_intervals(ptbxl_plus.write_features(tmp_path / "b", ids, iv, measurement_sd=8.0, seed=1))
    u = ptbxl_plus.load_intervals(tmp_path / "a", "unig")
    pd.testing.assert_frame_equal(a, b)
    assert 6.5 < (a["qrs_ms"] - 90).std() < 9.5 and not np.allclose(a["qrs_ms"], u["qrs_ms"])
    with pytest.raises(ValueError, match="one value per ecg_id"):
        ptbxl_plus.write_features(tmp_path / "c", ids[:5], iv)


def _write(plus: Path, frame: pd.DataFrame, alg: str = "12sl") -> Path:
    (plus / "features").mkdir(parents=True, exist_ok=True)
    frame.to_csv(plus / ptbxl_plus.ALGORITHMS[alg], index=False)
    return plus


def test_bad_input_names_the_file(tmp_path):
    good = pd.DataFrame({"ecg_id": [1, 2], "PR_Int_Global": [150, 160], "QRS_Dur_Global": [90, 95],
                         "QT_Int_Global": [380, 390], "HR__Global": [70, 72]})
    with pytest.raises(FileNotFoundError, match="12sl_features.csv"):
        ptbxl_plus.load_intervals(tmp_path / "none")
    with pytest.raises(ValueError, match="unknown PTB-XL\\+ algorithm"):
        ptbxl_plus.load_intervals(tmp_path, "marquette")
    with pytest.raises(FormatError, match="12sl_features.csv: no 'ecg_id'"):
        ptbxl_plus.load_intervals(_write(tmp_path / "a", good.drop(columns="ecg_id")))
    with pytest.raises(FormatError, match="missing columns \\['HR__Global'\\]"):
        ptbxl_plus.load_intervals(_write(tmp_path / "b", good.drop(columns="HR__Global")))
    with pytest.raises(FormatError, match="QRS_Dur_Global holds a non-numeric value 'wide'"):
        ptbxl_plus.load_intervals(_write(tmp_path / "c", good.assign(QRS_Dur_Global=["wide", 95])))
    with pytest.raises(FormatError, match="ecg_id 1 appears more than once"):
        ptbxl_plus.load_intervals(_write(tmp_path / "d", good.assign(ecg_id=[1, 1])))
    with pytest.raises(FormatError, match="RR_Mean_Global"):
        ptbxl_plus.load_intervals(_write(tmp_path / "e", good, "ecgdeli"), "ecgdeli")
    iv = ptbxl_plus.load_intervals(_write(tmp_path / "f", good.assign(QT_Int_Global=[380, 5000])))
    assert np.isnan(iv.loc[2, "qt_ms"]) and iv.loc[1, "qt_ms"] == 380  # implausible → failed measurement
