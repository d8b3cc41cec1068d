"""MIMIC-CXR(-JPG) layout: simulated DICOM and JPEG copies read back, report sections and sentences, labels."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from medrepro.data.datasets import is_fixture, mimic_cxr
from medrepro.sim import cxr

# The shape of a MIMIC-CXR report file (title line, upper-case headers, numbered impression); the wording is
# made up here, not copied from a real report.
REPORT = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___ with cough, evaluate for pneumonia.

 COMPARISON:  ___

 FINDINGS:

 Heart size is mildly enlarged. There is a small left pleural effusion.  No
 pneumothorax is seen.

 IMPRESSION:

 1. Small left pleural effusion.
 2. Mild cardiomegaly.
"""


def test_report_sections_and_sentences():
    secs = mimic_cxr.report_sections(REPORT)
    assert secs["INDICATION"].startswith("___ with cough")
    assert secs["FINDINGS"].startswith("Heart size is mildly enlarged.")
    assert "No pneumothorax is seen." in secs["FINDINGS"]             # lines joined, whitespace collapsed
    assert mimic_cxr.report_sentences(REPORT) == [
        "heart size is mildly enlarged", "there is a small left pleural effusion", "no pneumothorax is seen",
        "small left pleural effusion", "mild cardiomegaly"]
    assert mimic_cxr.report_sentences("no acute process. lungs clear.") == ["no acute process", "lungs clear"]


def test_binarise_policies():
    lab = np.array([[1.0, 0.0, -1.0, np.nan]])
    assert mimic_cxr.binarise(lab).tolist() == [[1, 0, 1, 0]]
    assert mimic_cxr.binarise(lab, "zeros").tolist() == [[1, 0, 0, 0]]
    with pytest.raises(ValueError):
        mimic_cxr.binarise(lab, "ignore")


def test_simulated_dicom_layout_reads_back(tmp_path):
    root, truth = mimic_cxr.simulated_layout(tmp_path / "m", 6, size=32, seed=1)
    names = truth["label_names"]
    data = mimic_cxr.load(root, size=32, labels=names)
    assert len(data) == 12 and data.dicom_id == truth["dicom_id"]
    assert np.abs(data.images - truth["images"]).max() <= 0.5 / 4095 + 1e-6      # 12-bit DICOM storage
    assert np.array_equal(data.labels == 1, truth["labels"])
    assert (data.labels[~truth["labels"]] == 0).all()
    assert set(data.split) <= {"train", "test"}
    for s in np.unique(data.subject):                          # split by patient
        assert len(set(data.split[data.subject == s])) == 1
    r = truth["reports"][0]
    assert mimic_cxr.report_sections(data.reports[0])["FINDINGS"] == r.findings
    assert (tmp_path / "m" / "files" / "p10" / "p10000000").is_dir()


def test_fixture_is_jpeg_and_max_images_keeps_whole_patients(tmp_path):
    from PIL import Image

    root = mimic_cxr.make_fixture(tmp_path / "fx", seed=0)
    assert is_fixture(root)
    data = mimic_cxr.load(root, size=64, labels=tuple(mimic_cxr.SIM_TO_CHEXPERT[f] for f in cxr.FINDINGS))
    path = mimic_cxr.study_dir(root, data.subject[0], data.study[0]) / f"{data.dicom_id[0]}.jpg"
    assert np.array_equal(data.images[0], np.asarray(Image.open(path), np.float32) / 255)
    part = mimic_cxr.load(root, size=32, max_images=5, seed=0)
    for s in np.unique(part.subject):
        assert (part.subject == s).sum() == (data.subject == s).sum()
    assert set(part.label_names) == set(mimic_cxr.CHEXPERT5)
    with gzip.open(root / mimic_cxr.CHEXPERT, "rt") as fh:
        header = next(csv.reader(fh))
    assert header == ["subject_id", "study_id", *mimic_cxr.CHEXPERT_LABELS]


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="mimic-cxr-2.0.0-metadata"):
        mimic_cxr.find_root(tmp_path)


def test_prior_index_pairs_by_study_date(tmp_path):
    root, truth = mimic_cxr.simulated_layout(tmp_path / "m", 5, size=32, seed=2, change_prob=1.0, resolve_prob=0.5)
    data = mimic_cxr.load(root, size=32, labels=truth["label_names"])
    prior = mimic_cxr.prior_index(data)
    assert (prior[:5] == -1).all() and (prior[5:] == np.arange(5)).all()   # prior studies first, a year earlier
    assert (data.study_datetime[5:] > data.study_datetime[:5]).all()
    assert (truth["changes"][:5] == -1).all() and (truth["changes"][5:] >= 0).all()
    # comparisons in the current reports agree with the change codes the simulator drew
    from medrepro.text.report_facts import comparison_statements
    for i in range(5, 10):
        for f, change in comparison_statements(data.reports[i]).items():
            assert cxr.CHANGES[truth["changes"][i, cxr.FINDINGS.index(f)]] == change


def test_prior_index_without_dates_and_with_several_studies():
    d = mimic_cxr.MimicCxrData(np.zeros((5, 2, 2), np.float32), np.array([1, 1, 1, 1, 2]),
                               np.array([10, 11, 11, 12, 20]), list("abcde"), np.array(["train"] * 5),
                               np.zeros((5, 1)), ("x",), [""] * 5,
                               np.array([20200101120000, 20200301120000, 20200301120000, 20190101000000, -1]))
    assert mimic_cxr.prior_index(d).tolist() == [3, 0, 0, -1, -1]   # two films of one study share its prior
    d.study_datetime = None
    with pytest.raises(mimic_cxr.MimicCxrFormatError, match="study dates"):
        mimic_cxr.prior_index(d)
