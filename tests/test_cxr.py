"""The chest X-ray pieces: simulator, radiograph reader/writer, report generator and labeller, report metrics
(BLEU against nltk, ROUGE-L against rouge-score, CIDEr-D against values worked by hand), box metrics (IoU
against MONAI, IoBB against pixel counts), CAM and Grad-CAM (against captum)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from medrepro.data.io import DicomError, ImageFormatError
from medrepro.data.radiograph import read_radiograph, write_radiograph_dicom, write_radiograph_png
from medrepro.metrics import localization as loc
from medrepro.metrics import text as tm
from medrepro.sim import cxr
from medrepro.sim.cxr_reports import generate_reports, reports_for_batch
from medrepro.text import cxr_labeler as lab


# ------------------------------------------------------------------------------------------------ simulator
def test_simulator_shapes_determinism_and_truth():
    spec = cxr.with_prevalence(cxr.CxrSpec(size=64), **{f: 0.4 for f in cxr.FINDINGS})
    a = cxr.simulate_cxr(40, spec, seed=3)
    b = cxr.simulate_cxr(40, spec, seed=3)
    assert a.images.shape == (40, 64, 64) and a.images.dtype == np.float32
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert 0 <= a.images.min() and a.images.max() <= 1
    K = len(cxr.FINDINGS)
    assert a.masks.shape == (40, K, 64, 64) and a.boxes.shape == (40, K, 4)
    # a mask exists exactly for the present findings, and its box is its bounding box
    has = a.masks.any((-1, -2))
    assert np.array_equal(has, a.labels)
    assert np.isnan(a.boxes[~a.labels]).all() and np.isfinite(a.boxes[a.labels]).all()
    i, k = np.argwhere(a.labels)[0]
    ys, xs = np.nonzero(a.masks[i, k])
    assert tuple(a.boxes[i, k]) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    # cardiomegaly is a cardiothoracic ratio above 0.5, the others below
    card = a.labels[:, cxr.FINDINGS.index("cardiomegaly")]
    assert (a.meta["ctr"][card] > 0.5).all() and (a.meta["ctr"][~card] < 0.5).all()
    # focal findings lie in the lungs: most of their mask is inside the lung mask
    for f in ("nodule", "consolidation", "pneumothorax"):
        k = cxr.FINDINGS.index(f)
        m = a.masks[:, k]
        assert (m & a.lung_mask).sum() >= 0.8 * m.sum()


def test_simulator_findings_change_the_image_where_they_are():
    spec = cxr.with_prevalence(cxr.CxrSpec(size=64, noise=(0, 0), marker_prob=0), **{f: 0.0 for f in cxr.FINDINGS})
    p = cxr.sample_params(8, spec, seed=0)
    base = cxr.render(p, 64).images
    k = cxr.FINDINGS.index("nodule")
    p.labels[:, k], p.severity[:, k] = True, 0.8
    with_nodule = cxr.render(p, 64)
    diff = with_nodule.images - base
    inside = diff[with_nodule.masks[:, k]].mean()
    far = diff[~with_nodule.masks[:, k]].mean()
    assert inside > 0.05 > abs(far)          # a nodule is an opacity (brighter) at its mask

    # finding_centre says where render put it: the nodule mask's centroid is that point (fractions of the film)
    cy, cx = cxr.finding_centre(p, "nodule")
    rows, cols = np.nonzero(with_nodule.masks[0, k])
    assert abs((rows.mean() + 0.5) / 64 - cy[0, 0, 0]) < 2 / 64 and abs((cols.mean() + 0.5) / 64 - cx[0, 0, 0]) < 2 / 64
    assert cy.shape == cx.shape == (8, 1, 1)
    with pytest.raises(ValueError, match="not a focal finding"):
        cxr.finding_centre(p, "effusion")


def test_prior_study_changes_are_consistent():
    p = cxr.sample_params(300, seed=1)
    prior, code = cxr.prior_params(p, seed=2)
    names = np.array(cxr.CHANGES)[code]
    assert (prior.labels[names == "new"] == 0).all() and (p.labels[names == "new"] == 1).all()
    assert (prior.labels[names == "resolved"] == 1).all() and (p.labels[names == "resolved"] == 0).all()
    assert (prior.severity[names == "worse"] < p.severity[names == "worse"]).all()
    assert (prior.severity[names == "improved"] > p.severity[names == "improved"]).all()
    assert np.array_equal(prior.anatomy["cx"], p.anatomy["cx"])          # same patient


def test_fast_enough():
    import time
    t = time.perf_counter()
    cxr.simulate_cxr(200, cxr.CxrSpec(size=64), seed=0)
    assert time.perf_counter() - t < 10


# ------------------------------------------------------------------------------------- radiograph I/O
def test_reader_on_the_real_rg1_uncr_monochrome1():
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("RG1_UNCR.dcm")
    ds = pydicom.dcmread(path)
    r = read_radiograph(path, normalise="none")
    assert r.photometric == "MONOCHROME1" and r.modality == "CR" and r.bits_stored == 15
    # display convention: MONOCHROME1 inverted over the stored range, as DICOM defines it
    assert np.array_equal(r.image, (2 ** 15 - 1 - ds.pixel_array.astype(np.float64)).astype(np.float32))
    small = read_radiograph(path, size=64, normalise="percentile")
    assert small.image.shape == (64, 64) and 0 <= small.image.min() and small.image.max() <= 1
    # on a PA chest film the lungs (air) are darker than the mediastinum in display convention
    assert small.image[24:40, 10:22].mean() < small.image[24:40, 28:36].mean()


@pytest.mark.parametrize("modality", ["CR", "DX"])
def test_writer_round_trip_read_by_pydicom(tmp_path, modality):
    import pydicom

    img = cxr.simulate_cxr(1, seed=0).images[0]
    u = cxr.to_uint(img, 12)
    p1 = write_radiograph_dicom(tmp_path / "m1.dcm", u, photometric="MONOCHROME1", modality=modality)
    p2 = write_radiograph_dicom(tmp_path / "m2.dcm", u, photometric="MONOCHROME2", modality=modality)
    d1, d2 = pydicom.dcmread(p1), pydicom.dcmread(p2)
    assert d1.SOPClassUID == cxr_sop(modality) and d1.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(d2.pixel_array, u) and np.array_equal(d1.pixel_array, 4095 - u)   # pydicom's view
    a, b = read_radiograph(p1).image, read_radiograph(p2).image
    assert np.array_equal(a, b) and np.abs(a - img).max() <= 0.5 / 4095 + 1e-6


def cxr_sop(modality):
    return {"CR": "1.2.840.10008.5.1.4.1.1.1", "DX": "1.2.840.10008.5.1.4.1.1.1.1"}[modality]


def test_reader_on_a_file_written_by_pydicom_alone(tmp_path):
    """A MONOCHROME1 CR file assembled with pydicom (not this project's writer) reads as its display image."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    disp = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 1024
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.1", generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "CR"
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 10, 9, 0
    ds.PixelData = (1023 - disp).astype("<u2").tobytes()
    ds.save_as(tmp_path / "x.dcm", enforce_file_format=True)
    r = read_radiograph(tmp_path / "x.dcm", normalise="none")
    assert np.array_equal(r.image, disp.astype(np.float32))


def test_png_round_trip_and_rgba(tmp_path):
    from PIL import Image

    img = cxr.simulate_cxr(1, seed=1).images[0]
    p = write_radiograph_png(tmp_path / "00000001_000.png", img)
    ref = np.asarray(Image.open(p), np.float32) / 255
    assert np.array_equal(read_radiograph(p).image, ref)
    rgba = np.stack([np.round(img * 255).astype(np.uint8)] * 3 + [np.full_like(img, 255, np.uint8)], -1)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert np.abs(read_radiograph(tmp_path / "rgba.png").image - ref).max() <= 1 / 255 + 1e-6


def test_reader_errors_name_the_file_and_writer_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.dcm"):
        read_radiograph(tmp_path / "nope.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"not dicom at all")
    with pytest.raises(DicomError, match="junk.dcm"):
        read_radiograph(tmp_path / "junk.dcm")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageFormatError, match="bad.png"):
        read_radiograph(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="do not fit"):
        write_radiograph_dicom(tmp_path / "big.dcm", np.full((4, 4), 5000, np.uint16), bits_stored=12)
    assert not list(tmp_path.glob("big.dcm*"))


# ------------------------------------------------------------------------------------ reports, labeller
@pytest.mark.parametrize("text, finding, code", [
    ("FINDINGS: moderate left pleural effusion.", "effusion", 1),
    ("FINDINGS: no pleural effusion.", "effusion", 0),
    ("FINDINGS: no pleural effusion or pneumothorax.", "pneumothorax", 0),
    ("FINDINGS: no pneumothorax but there is a small right pleural effusion.", "effusion", 1),
    ("FINDINGS: no pneumothorax but there is a small right pleural effusion.", "pneumothorax", 0),
    ("FINDINGS: previously seen apical pneumothorax has resolved.", "pneumothorax", 0),
    ("FINDINGS: possible right lower zone nodule.", "nodule", -1),
    ("FINDINGS: consolidation is not excluded.", "consolidation", -1),
    ("FINDINGS: heart size is normal.", "cardiomegaly", 0),
    ("INDICATION: evaluate for pneumothorax. FINDINGS: the lungs are clear.", "pneumothorax", None),
])
def test_labeller_rules(text, finding, code):
    got = lab.label_report(text)[lab.FINDINGS.index(finding)]
    assert (np.isnan(got) if code is None else got == code)


def test_keyword_baseline_ignores_negation_and_sections():
    t = "INDICATION: evaluate for pneumothorax. FINDINGS: no pleural effusion."
    kw = lab.label_report(t, negation=False, use_sections=False)
    assert kw[lab.FINDINGS.index("pneumothorax")] == 1 and kw[lab.FINDINGS.index("effusion")] == 1


def test_rules_recover_the_simulated_truth_better_than_keywords():
    b = cxr.simulate_cxr(300, seed=0)
    reps = [r.text for r in reports_for_batch(b, seed=1)]
    rules = lab.binarise(lab.label_reports(reps))
    kw = lab.binarise(lab.label_reports(reps, negation=False, use_sections=False))
    prec = lambda L: (L & b.labels).sum() / L.sum()   # noqa: E731
    assert prec(rules) > 0.8 > 0.5 > prec(kw)


def test_reports_are_deterministic_and_have_sections():
    p = cxr.sample_params(20, seed=0)
    _, ch = cxr.prior_params(p, seed=1)
    a = generate_reports(p.labels, p.severity, p.side, p.where, changes=ch, seed=2)
    b = generate_reports(p.labels, p.severity, p.side, p.where, changes=ch, seed=2)
    assert [r.text for r in a] == [r.text for r in b]
    assert all("FINDINGS:" in r.text and "IMPRESSION:" in r.text and "COMPARISON:" in r.text for r in a)


# ---------------------------------------------------------------------------------------- text metrics
def _corpus(seed):
    rng = np.random.default_rng(seed)
    vocab = "no pleural effusion small left right pneumothorax heart size is normal the lungs are clear".split()
    hyps = [list(rng.choice(vocab, rng.integers(3, 12))) for _ in range(6)]
    refs = [[list(rng.choice(vocab, rng.integers(3, 12))) for _ in range(rng.integers(1, 3))] for _ in range(6)]
    return refs, hyps


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("smoothing", ["none", "method1", "method2"])
def test_bleu_matches_nltk(seed, smoothing):
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu

    refs, hyps = _corpus(seed)
    sf = {"none": SmoothingFunction().method0, "method1": SmoothingFunction().method1,
          "method2": SmoothingFunction().method2}[smoothing]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = corpus_bleu(refs, hyps, smoothing_function=sf)
        want_s = sentence_bleu(refs[0], hyps[0], smoothing_function=sf)
    assert tm.bleu(refs, hyps, smoothing=smoothing) == pytest.approx(want, abs=1e-12)
    assert tm.sentence_bleu(refs[0], hyps[0], smoothing=smoothing) == pytest.approx(want_s, abs=1e-12)


def test_bleu_edge_cases():
    from nltk.translate.bleu_score import corpus_bleu

    assert tm.bleu([["no pleural effusion"]], ["no pleural effusion"], max_n=3) == pytest.approx(1.0)
    assert tm.bleu([["a b c d"]], ["e f g h"]) == 0.0
    same = [["the heart size is normal".split()]], ["the heart size is normal".split()]
    assert tm.bleu(*same) == pytest.approx(corpus_bleu(*same)) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(4))
def test_rouge_l_matches_rouge_score(seed):
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rougeL"])
    refs, hyps = _corpus(seed)
    for r, h in zip(refs, hyps):
        r, h = " ".join(r[0]), " ".join(h)
        assert tm.rouge_l(r, h) == pytest.approx(sc.score(r, h)["rougeL"].fmeasure, abs=1e-12)
    assert tm.rouge_l("No pleural effusion.", "no pleural-effusion") == pytest.approx(
        sc.score("No pleural effusion.", "no pleural-effusion")["rougeL"].fmeasure)
    assert tm.rouge_l("a b", "c d") == 0.0


def test_cider_d_worked_by_hand():
    # corpus 1: N = 2 items, each n-gram in one item's references: idf = ln 2 for all
    # item A identical ("a b"): unigram and bigram cosines 1, no 3-/4-grams -> 10 * (1 + 1 + 0 + 0) / 4 = 5
    # item B "c e" vs "c d": unigram cosine (ln2·ln2) / (√2 ln2 · √2 ln2) = 1/2, bigram 0 -> 10 * 0.5 / 4 = 1.25
    mean, per = tm.cider_d([["a b"], ["c d"]], ["a b", "c e"])
    assert per == pytest.approx([5.0, 1.25]) and mean == pytest.approx(3.125)
    # corpus 2: item A "a b" vs "a b c": unigram 2/√6, bigram 1/√2, bigram counts 1 vs 2 -> penalty e^{-1/72}
    mean, per = tm.cider_d([["a b c"], ["d e"]], ["a b", "d e"])
    want_a = 10 * (2 / math.sqrt(6) + 1 / math.sqrt(2)) * math.exp(-1 / 72) / 4
    assert per == pytest.approx([want_a, 5.0])
    # clipping: repeating a matched word cannot raise the score above the unrepeated hypothesis
    _, rep = tm.cider_d([["a b"], ["c d"]], ["a a a b", "c d"])
    assert rep[0] < 5.0


def test_clinical_f1_matches_sklearn():
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y = rng.random((50, 6)) < 0.3
    p = rng.random((50, 6)) < 0.3
    for avg, sk in (("micro", "micro"), ("macro", "macro"), ("example", "samples")):
        want = precision_recall_fscore_support(y, p, average=sk, zero_division=1.0 if sk == "samples" else 0.0)
        got = tm.clinical_f1(y, p, average=avg)
        assert (got["precision"], got["recall"]) == pytest.approx(want[:2])
        if avg != "macro":
            assert got["f1"] == pytest.approx(want[2])


# -------------------------------------------------------------------------------------- localisation
def test_box_iou_matches_monai_and_iobb_matches_pixel_counts():
    import torch
    from monai.data.box_utils import box_iou as monai_iou

    rng = np.random.default_rng(0)
    a = np.sort(rng.integers(0, 32, (20, 2, 2)), axis=1).transpose(0, 2, 1).reshape(20, 4)[:, [0, 2, 1, 3]]
    b = np.sort(rng.integers(0, 32, (20, 2, 2)), axis=1).transpose(0, 2, 1).reshape(20, 4)[:, [0, 2, 1, 3]]
    a[:, 2:] += 1
    b[:, 2:] += 1
    want = monai_iou(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)).numpy()
    assert loc.box_iou(a, b) == pytest.approx(np.diag(want))
    for bd, bt in zip(a, b):
        md = np.zeros((40, 40), bool)
        mt = np.zeros((40, 40), bool)
        md[bd[1]:bd[3], bd[0]:bd[2]] = True
        mt[bt[1]:bt[3], bt[0]:bt[2]] = True
        assert loc.iobb(bd, bt) == pytest.approx((md & mt).sum() / md.sum())
    assert loc.iobb([0, 0, 0, 0], [0, 0, 5, 5]) == 0.0


def test_heatmap_to_box_keeps_the_region_of_the_maximum():
    h = np.zeros((20, 20))
    h[2:5, 3:9] = 1.0
    h[12:18, 12:14] = 0.8
    assert tuple(loc.heatmap_to_box(h, 0.5)) == (3, 2, 9, 5)
    assert tuple(loc.heatmap_to_box(np.ones((8, 8)))) == (0, 0, 8, 8)


def test_grad_cam_matches_captum_and_cam_matches_the_logits():
    import torch
    from captum.attr import LayerGradCam
    from torch import nn

    torch.manual_seed(0)
    feat = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1), nn.ReLU())
    head = nn.Linear(5, 3)
    model = nn.Sequential(feat, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    x = torch.randn(2, 1, 12, 12)
    ours = loc.grad_cam(model, feat[3], x, target=1)
    ref = LayerGradCam(model, feat[3]).attribute(x, target=1, relu_attributions=True)[:, 0]
    assert torch.allclose(ours, ref, atol=1e-6)
    with torch.no_grad():
        maps = loc.class_activation_map(feat(x), head.weight)      # for GAP + linear: mean of CAM = logit - bias
        assert torch.allclose(maps.mean((2, 3)) + head.bias, model(x), atol=1e-5)


def test_jpeg_is_read_as_pillow_decodes_it(tmp_path):
    from PIL import Image

    img = cxr.simulate_cxr(1, seed=2).images[0]
    Image.fromarray(np.round(img * 255).astype(np.uint8), "L").save(tmp_path / "a.jpg", quality=95)
    ref = np.asarray(Image.open(tmp_path / "a.jpg"), np.float32) / 255
    assert np.array_equal(read_radiograph(tmp_path / "a.jpg").image, ref)
    (tmp_path / "bad.jpeg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ImageFormatError, match="bad.jpeg"):
        read_radiograph(tmp_path / "bad.jpeg")


def test_prior_params_resolve_prob_only_for_drawn_findings():
    spec = cxr.with_prevalence(cxr.CxrSpec(), nodule=0.0, pneumothorax=0.0)
    p = cxr.sample_params(400, spec, seed=3)
    _, code = cxr.prior_params(p, seed=4, spec=spec, resolve_prob=0.5, change_prob=1.0)
    resolved = code == cxr.CHANGES.index("resolved")
    for f in ("nodule", "pneumothorax", "cardiomegaly"):
        assert not resolved[:, cxr.FINDINGS.index(f)].any()
    k = cxr.FINDINGS.index("effusion")
    absent = ~p.labels[:, k]
    assert 0.4 < resolved[absent, k].mean() < 0.6
    assert not (code[p.labels] == cxr.CHANGES.index("stable")).any()       # change_prob 1: every present one changed
