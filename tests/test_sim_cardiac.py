"""Tests for the cardiac short-axis simulator (medrepro.sim.cardiac)."""
import numpy as np
import pytest

from medrepro.sim.cardiac import CLASSES, GROUPS, LV, MYO, RV, CardiacSpec, class_fractions, simulate_cohort


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(10, 4, spec=CardiacSpec(size=48), seed=3)


def test_shapes_and_types(cohort):
    assert cohort.images.shape == (10, 2, 4, 48, 48)
    assert cohort.labels.shape == cohort.images.shape
    assert cohort.images.dtype == np.float32 and cohort.labels.dtype == np.uint8
    assert set(np.unique(cohort.labels)) <= set(range(len(CLASSES)))
    assert np.isfinite(cohort.images).all() and (cohort.images >= 0).all()
    im, lab, p, ph, z = cohort.slices()
    assert im.shape == (80, 48, 48) and p.max() == 9 and set(ph) == {0, 1} and z.max() == 3
    assert len(cohort.info) == 10 and {"ED", "ES", "Group", "Height", "Weight", "NbFrame"} <= set(cohort.info[0])
    assert all(1 <= i["ED"] < i["ES"] <= i["NbFrame"] for i in cohort.info)


def test_deterministic_by_seed():
    a = simulate_cohort(3, 2, spec=CardiacSpec(size=32), seed=7)
    b = simulate_cohort(3, 2, spec=CardiacSpec(size=32), seed=7)
    c = simulate_cohort(3, 2, spec=CardiacSpec(size=32), seed=8)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_every_class_present_and_lv_inside_myocardium(cohort):
    frac = class_fractions(cohort.labels)
    assert (frac[1:] > 0.01).all()
    lab = cohort.labels.reshape(-1, 48, 48)
    # every slice has an LV cavity surrounded by myocardium: the LV never touches the background
    from scipy import ndimage
    for k in range(len(lab)):
        lv = lab[k] == LV
        assert lv.any()
        ring = ndimage.binary_dilation(lv) & ~lv
        assert not (lab[k][ring] == 0).any()


def test_es_cavity_smaller_than_ed(cohort):
    lv_area = (cohort.labels == LV).sum(axis=(3, 4))  # (P, phase, Z)
    assert (lv_area[:, 1] <= lv_area[:, 0]).all()
    assert lv_area[:, 1].sum() < 0.85 * lv_area[:, 0].sum()


def test_blood_brighter_than_myocardium(cohort):
    im, lab = cohort.images, cohort.labels
    for p in range(im.shape[0]):
        assert im[p][lab[p] == LV].mean() > im[p][lab[p] == MYO].mean()


def test_groups_differ():
    c = simulate_cohort(10, 3, spec=CardiacSpec(size=48), groups=["DCM"] * 5 + ["HCM"] * 5, seed=0)
    lv = (c.labels[:, 0] == LV).sum(axis=(1, 2, 3))
    myo = (c.labels[:, 0] == MYO).sum(axis=(1, 2, 3))
    assert lv[:5].mean() > 1.5 * lv[5:].mean()          # dilated cavities are larger
    assert (myo / np.maximum(lv, 1))[5:].mean() > (myo / np.maximum(lv, 1))[:5].mean()  # hypertrophy: thick wall
    assert all(g in GROUPS for g in ("NOR", "MINF", "DCM", "HCM", "RV"))


def test_noise_knob_changes_images():
    quiet = simulate_cohort(2, 2, spec=CardiacSpec(size=32, noise=(0.0, 0.0)), seed=1)
    noisy = simulate_cohort(2, 2, spec=CardiacSpec(size=32, noise=(0.2, 0.2)), seed=1)
    assert np.array_equal(quiet.labels, noisy.labels)
    assert not np.allclose(quiet.images, noisy.images)


def test_bad_arguments():
    with pytest.raises(ValueError):
        simulate_cohort(0)
    with pytest.raises(ValueError):
        simulate_cohort(2, groups=["NOR", "XYZ"])
