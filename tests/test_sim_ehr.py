import numpy as np
import pandas as pd
import pytest

from medrepro.data.datasets import mimic_iv
from medrepro.sim import ehr


@pytest.fixture(scope="module")
def cohort():
    return ehr.simulate_ehr(400, seed=3)


def test_vocabulary_is_consistent():
    v = ehr.vocabulary()
    assert not v["token"].duplicated().any()
    assert not v.loc[v["group"] != "HF", "token"].map(mimic_iv.is_hf_token).any()  # only HF codes look like HF
    assert v.loc[v["group"] == "HF"].query("kind == 'dx'")["token"].map(mimic_iv.is_hf_token).all()
    sums = v.groupby(["concept", "version"])["weight"].sum()
    assert np.allclose(sums[~sums.index.get_level_values(0).str.startswith("noise")], 1.0)
    for (group, concept, kind, _rate, codes) in ehr.CONCEPTS:   # every coded concept has both ICD versions
        if kind != "rx":
            assert {c.split(":")[0] for c in codes} == {"9", "10"}, concept
    assert (v["group"] == "TAIL").sum() == ehr.EhrSimConfig().n_tail


def test_tables_have_mimic_columns_and_sizes(cohort):
    t = cohort.tables
    for name, df in t.items():
        assert set(df.columns) <= set(mimic_iv.COLUMNS[name]), name
        assert set(mimic_iv.NEEDED[name]) <= set(df.columns), name
    assert len(t["patients"]) == 400 and t["patients"]["subject_id"].is_unique
    assert t["admissions"]["hadm_id"].is_unique
    per_patient = t["admissions"].groupby("subject_id").size()
    assert per_patient.min() >= 2                                   # one before the index and the index itself
    assert set(t["diagnoses_icd"]["hadm_id"]) <= set(t["admissions"]["hadm_id"])
    assert 0.15 < cohort.truth["hf"].mean() < 0.6


def test_same_seed_same_data_other_seed_differs(cohort):
    again = ehr.simulate_ehr(400, seed=3)
    pd.testing.assert_frame_equal(again.tables["diagnoses_icd"], cohort.tables["diagnoses_icd"])
    pd.testing.assert_frame_equal(again.tables["prescriptions"], cohort.tables["prescriptions"])
    other = ehr.simulate_ehr(400, seed=4)
    assert not other.tables["diagnoses_icd"]["icd_code"].equals(cohort.tables["diagnoses_icd"]["icd_code"])


def test_cases_carry_more_risk_disease_and_hf_codes_only_from_the_index(cohort):
    truth = cohort.truth
    risk = truth[list(ehr.RISK_DISEASES)].sum(axis=1)
    assert risk[truth["hf"] == 1].mean() > risk[truth["hf"] == 0].mean() + 0.8
    dx = cohort.tables["diagnoses_icd"]
    tok = [mimic_iv.dx_token(v, c) for v, c in zip(dx["icd_version"], dx["icd_code"])]
    hf_subjects = set(dx.loc[pd.Series(tok).map(mimic_iv.is_hf_token).to_numpy(), "subject_id"])
    assert hf_subjects == set(truth.loc[truth["hf"] == 1, "subject_id"])   # every case, no control


def test_an_admission_bills_one_icd_version(cohort):
    dx = cohort.tables["diagnoses_icd"]
    assert (dx.groupby("hadm_id")["icd_version"].nunique() == 1).all()
    assert set(dx["icd_version"]) == {9, 10}                        # both eras occur in the cohort


def test_knobs_change_the_cohort():
    few = ehr.simulate_ehr(300, seed=0, hf_base=-12.0)
    assert few.truth["hf"].mean() < 0.02
    with pytest.raises(ValueError, match="n_patients"):
        ehr.simulate_ehr(0)
    with pytest.raises(TypeError):
        ehr.simulate_ehr(10, not_a_knob=1)


def test_code_group_table(cohort):
    g = ehr.code_group_table(cohort.vocabulary, ["DX9:4019", "RX:Warfarin", "nope"])
    assert g["group"].tolist() == ["HTN", "AF", "?"]
