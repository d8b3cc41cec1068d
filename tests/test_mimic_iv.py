import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medrepro.data import datasets, manifest
from medrepro.data.datasets import mimic_iv
from medrepro.sim.ehr import simulate_ehr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return mimic_iv.make_fixture(tmp_path_factory.mktemp("mimic") / "mimic-iv", seed=1, n_patients=150)


def test_fixture_has_the_real_layout_and_marker(fixture_root):
    assert datasets.is_fixture(fixture_root)
    assert not manifest.missing_layout(fixture_root, mimic_iv.LAYOUT)
    with gzip.open(fixture_root / "hosp" / "prescriptions.csv.gz", "rt") as fh:
        assert fh.readline().strip().split(",") == list(mimic_iv.COLUMNS["prescriptions"])
    m = manifest.parse(ROOT / "data_manifests" / "mimic-iv.yaml")
    assert m.access == "credentialed" and m.layout == mimic_iv.LAYOUT and m.manual_steps
    assert manifest.locate("mimic-iv", fixture_root, manifest=m) == fixture_root


def test_round_trip_and_cohort_match_the_simulator(fixture_root):
    sim = simulate_ehr(150, seed=1)
    tables = mimic_iv.load_tables(fixture_root)
    assert len(tables["diagnoses_icd"]) == len(sim.tables["diagnoses_icd"])
    assert tables["diagnoses_icd"]["icd_code"].tolist() == sim.tables["diagnoses_icd"]["icd_code"].tolist()
    # prescriptions: repeated orders of a drug in one admission are reduced to one
    assert len(tables["prescriptions"]) == len(sim.tables["prescriptions"].drop_duplicates(["hadm_id", "drug"]))
    events = mimic_iv.code_events(tables)
    assert events["token"].str.match(r"^(DX9|DX10|PX9|PX10|RX):").all()
    assert not events.duplicated(["hadm_id", "token"]).any()
    cohort = mimic_iv.hf_cohort(tables, events, gap_days=180, obs_days=730)
    truth = sim.truth.set_index("subject_id").loc[cohort["subject_id"]]
    assert (truth["hf"].to_numpy() == cohort["label"].to_numpy()).all()
    assert (cohort["n_obs_admissions"] >= 1).all() and (cohort["obs_end"] < cohort["index_t"]).all()
    titles = mimic_iv.code_titles(tables)
    assert titles["DX9:4019"].startswith("essential hypertension")


def test_window_counts_keep_only_the_observation_window():
    events = pd.DataFrame({"subject_id": [1, 1, 1, 2], "hadm_id": [10, 11, 12, 20], "t": [0.0, 50.0, 99.0, 5.0],
                           "token": ["DX9:4019", "DX9:4019", "RX:Heparin", "RX:Heparin"], "source": ["dx", "dx", "rx", "rx"]})
    cohort = pd.DataFrame({"subject_id": [1, 2], "obs_start": [10.0, 0.0], "obs_end": [99.0, 10.0]})
    counts = mimic_iv.window_counts(events, cohort, {"DX9:4019": 0, "RX:Heparin": 1}).toarray()
    assert counts.tolist() == [[1, 0], [0, 1]]                      # t=0 is before, t=99 is at the (open) end


def test_match_controls_limits_controls_per_stratum():
    rng = np.random.default_rng(0)
    cohort = pd.DataFrame({"subject_id": np.arange(400), "label": (rng.random(400) < 0.1).astype(int),
                           "gender": rng.choice(["F", "M"], 400), "age": rng.integers(40, 90, 400)})
    out = mimic_iv.match_controls(cohort, per_case=2, age_band=5, seed=0)
    assert out["label"].sum() == cohort["label"].sum()
    stratum = out["gender"] + (out["age"] // 5).astype(str)
    per = out.groupby(stratum)["label"].agg(["sum", "count"])
    assert ((per["count"] - per["sum"]) <= 2 * per["sum"]).all()
    assert mimic_iv.match_controls(cohort, per_case=None) is cohort


def test_tokens_and_hf_codes():
    assert mimic_iv.dx_token(10, " I509 ") == "DX10:I509" and mimic_iv.px_token("9", "3995") == "PX9:3995"
    assert mimic_iv.rx_token("Sodium Chloride 0.9%  Flush") == "RX:Sodium Chloride 0.9% Flush"
    assert mimic_iv.is_hf_token("DX9:42832") and mimic_iv.is_hf_token("DX10:I5022")
    assert not mimic_iv.is_hf_token("DX10:4280") and not mimic_iv.is_hf_token("RX:I50")


def _write_minimal(root, **changes):
    sim = simulate_ehr(20, seed=0)
    tables = dict(sim.tables)
    tables.update(changes)
    return mimic_iv.write_tables(root, tables)


def test_text_with_commas_and_quotes_round_trips(tmp_path):
    sim = simulate_ehr(20, seed=0)
    rx = sim.tables["prescriptions"].copy()
    rx.loc[0, "drug"] = 'Albuterol, "rescue" inhaler'
    root = _write_minimal(tmp_path, prescriptions=rx)
    back = mimic_iv.load_tables(root)["prescriptions"]
    assert 'Albuterol, "rescue" inhaler' in set(back["drug"])


def test_bad_input_errors_name_the_file(tmp_path):
    root = _write_minimal(tmp_path)
    (root / "hosp" / "procedures_icd.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="procedures_icd.csv.gz"):
        mimic_iv.load_tables(root)
    root = _write_minimal(tmp_path / "b")
    with gzip.open(root / "hosp" / "admissions.csv.gz", "wt") as fh:   # a header without admittime
        fh.write("subject_id,hadm_id,dischtime\n1,2,2150-01-01 00:00:00\n")
    with pytest.raises(mimic_iv.MimicFormatError, match=r"admissions.csv.gz: missing column\(s\) admittime"):
        mimic_iv.load_tables(root)
    adm = simulate_ehr(20, seed=0).tables["admissions"].copy()
    adm.loc[3, "admittime"] = "yesterday"
    root = _write_minimal(tmp_path / "c", admissions=adm)
    with pytest.raises(mimic_iv.MimicFormatError, match="admissions.csv.gz: column admittime"):
        mimic_iv.load_tables(root)
    root = _write_minimal(tmp_path / "d")
    (root / "hosp" / "patients.csv.gz").write_text("subject_id,gender\n1,F\n")   # not gzip
    with pytest.raises(mimic_iv.MimicFormatError, match="patients.csv.gz: not a readable gzip"):
        mimic_iv.load_tables(root)
    with pytest.raises(ValueError, match="no table 'patients'"):
        mimic_iv.write_tables(tmp_path / "e", {})
