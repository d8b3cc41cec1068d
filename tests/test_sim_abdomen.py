"""Tests for the abdominal multi-organ slice simulator (medrepro.sim.abdomen)."""
import numpy as np
import pytest

from medrepro.sim.abdomen import (AORTA, CT_WINDOW, GALLBLADDER, KIDNEY_L, KIDNEY_R, LABELS, LIVER, PANCREAS,
                                  SMALL_ORGANS, SPLEEN, STOMACH, AbdomenSpec, ct_window, organ_fractions,
                                  presence, simulate_abdomen)


@pytest.fixture(scope="module")
def cohort():
    return simulate_abdomen(12, 8, spec=AbdomenSpec(size=64), seed=3)


def test_shapes_types_and_labels(cohort):
    assert cohort.images.shape == (96, 64, 64) and cohort.labels.shape == (96, 64, 64)
    assert cohort.images.dtype == np.float32 and cohort.labels.dtype == np.uint8
    assert set(np.unique(cohort.labels)) <= set(LABELS)
    assert np.isfinite(cohort.images).all()
    assert cohort.subject.shape == (96,) and cohort.subject.max() == 11 and cohort.n_subjects == 12
    assert ((cohort.level >= 0) & (cohort.level <= 1)).all() and len(cohort) == 96
    assert cohort.spacing == (6.0, 6.0, 3.0)


def test_synapse_label_convention():
    assert LABELS == {0: "background", 1: "aorta", 2: "gallbladder", 3: "kidney_L", 4: "kidney_R", 5: "liver",
                      6: "pancreas", 7: "spleen", 8: "stomach"}
    assert (AORTA, GALLBLADDER, KIDNEY_L, KIDNEY_R, LIVER, PANCREAS, SPLEEN, STOMACH) == tuple(range(1, 9))


def test_deterministic_by_seed():
    a = simulate_abdomen(3, 2, spec=AbdomenSpec(size=32), seed=7)
    b = simulate_abdomen(3, 2, spec=AbdomenSpec(size=32), seed=7)
    c = simulate_abdomen(3, 2, spec=AbdomenSpec(size=32), seed=8)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_every_organ_present_and_small_organs_small(cohort):
    frac = organ_fractions(cohort.labels)
    assert (frac[1:] > 0).all()
    pres = presence(cohort.labels)
    assert pres[:, AORTA].mean() > 0.95                      # the aorta runs through every level
    # mean area where present: pancreas and gallbladder are far smaller than liver, spleen, stomach
    area = np.array([(cohort.labels == k).sum() / max(pres[:, k].sum(), 1) for k in LABELS])
    for small in SMALL_ORGANS:
        assert area[small] < 0.2 * area[LIVER] and area[small] < 0.6 * area[SPLEEN]
        assert area[small] < 0.6 * area[STOMACH]


def test_anatomy_sides_and_levels(cohort):
    lab = cohort.labels
    cols = np.arange(64)[None, None, :]
    def mean_col(k):
        m = lab == k
        return (m * cols).sum() / m.sum()
    # radiological convention: the patient's right (liver, right kidney) on the image left
    assert mean_col(LIVER) < 32 < mean_col(SPLEEN)
    assert mean_col(KIDNEY_R) < 32 < mean_col(KIDNEY_L)
    # liver dominates cranial slices, kidneys caudal ones
    pres = presence(lab)
    cranial, caudal = cohort.level < 0.3, cohort.level > 0.75
    assert pres[cranial, LIVER].mean() > 0.9 and pres[caudal, LIVER].mean() < 0.3
    assert pres[caudal, KIDNEY_L].mean() > pres[cranial, KIDNEY_L].mean()


def test_ct_contrast_and_window(cohort):
    img, lab = cohort.images, cohort.labels
    mean = {k: img[lab == k].mean() for k in (AORTA, GALLBLADDER, LIVER, PANCREAS)}
    assert mean[AORTA] > mean[LIVER] > mean[PANCREAS] > mean[GALLBLADDER]
    # the pancreas is the low-contrast organ: closer to its surroundings than the liver is to fat
    w = ct_window(img)
    assert w.min() >= 0 and w.max() <= 1 and w.dtype == np.float32
    assert np.isclose(ct_window(np.array([CT_WINDOW[0], CT_WINDOW[1]])), [0, 1]).all()


def test_harder_spec_lowers_pancreas_contrast():
    easy = simulate_abdomen(6, 6, spec=AbdomenSpec(size=48, pancreas_contrast=1.0, noise=(5, 6)), seed=1)
    hard = simulate_abdomen(6, 6, spec=AbdomenSpec(size=48, pancreas_contrast=0.0, noise=(5, 6)), seed=1)
    def gap(c):
        return c.images[c.labels == LIVER].mean() - c.images[c.labels == PANCREAS].mean()
    assert gap(hard) > gap(easy) + 5


def test_mr_modality_and_bad_arguments():
    mr = simulate_abdomen(2, 3, spec=AbdomenSpec(size=32, modality="mr"), seed=0)
    assert mr.modality == "mr" and (mr.images >= 0).all()
    # T2-like: fluid-filled gallbladder brighter than the liver
    if (mr.labels == GALLBLADDER).any():
        assert mr.images[mr.labels == GALLBLADDER].mean() > mr.images[mr.labels == LIVER].mean()
    with pytest.raises(ValueError, match="modality"):
        simulate_abdomen(1, 1, spec=AbdomenSpec(modality="pet"))
    with pytest.raises(ValueError, match="at least one"):
        simulate_abdomen(0, 1)
    with pytest.raises(ValueError, match="multiple of 4"):
        simulate_abdomen(1, 1, spec=AbdomenSpec(size=30))
