"""medrepro.sim.distant_cue: the designed global-context miniature keeps its design promises."""
import numpy as np
import pytest

from medrepro.sim.distant_cue import CUE, LABELS, ORGAN_BRIGHT, ORGAN_DARK, simulate_distant_cue


def test_shapes_labels_and_determinism():
    d = simulate_distant_cue(6, 4, height=24, width=72, seed=3)
    assert d.images.shape == d.labels.shape == d.swapped.shape == (24, 24, 72) and len(d) == 24
    assert set(np.unique(d.labels)) <= set(LABELS) and d.images.min() >= 0 and d.images.max() <= 1
    assert np.array_equal(d.patient, np.repeat(np.arange(6), 4))
    again = simulate_distant_cue(6, 4, height=24, width=72, seed=3)
    assert np.array_equal(d.images, again.images) and np.array_equal(d.labels, again.labels)
    assert not np.array_equal(d.images, simulate_distant_cue(6, 4, seed=4).images)


def test_organ_label_follows_the_cue_and_nothing_else():
    d = simulate_distant_cue(40, 8, seed=0)
    has = lambda lab: (d.labels == lab).reshape(len(d), -1).any(1)
    assert np.array_equal(has(ORGAN_BRIGHT), d.cue_bright) and np.array_equal(has(ORGAN_DARK), ~d.cue_bright)
    assert has(CUE).all()
    assert 0.4 < d.cue_bright.mean() < 0.6
    # the cue is brighter or darker than the background around it, as its kind says
    bg = np.array([im[lab == 0].mean() for im, lab in zip(d.images, d.labels)])
    cue = np.array([im[lab == CUE].mean() for im, lab in zip(d.images, d.labels)])
    assert np.all((cue > bg) == d.cue_bright)
    # the organ looks the same whatever its label: its contrast to the background does not tell them apart
    organ = np.array([im[(lab == ORGAN_BRIGHT) | (lab == ORGAN_DARK)].mean() for im, lab in zip(d.images, d.labels)])
    contrast = organ - bg
    assert abs(contrast[d.cue_bright].mean() - contrast[~d.cue_bright].mean()) < 0.02


def test_swapped_images_differ_only_on_the_cue():
    d = simulate_distant_cue(5, 4, seed=1)
    diff = d.images != d.swapped
    assert np.all(diff <= (d.labels == CUE))                   # nothing outside the cue changes
    cue_mean = lambda x: np.array([im[lab == CUE].mean() for im, lab in zip(x, d.labels)])
    assert np.all((cue_mean(d.swapped) > cue_mean(d.images)) == ~d.cue_bright)


def test_distant_and_near_gaps():
    far = simulate_distant_cue(20, 8, height=24, width=72, seed=2)
    assert far.gap.min() >= 25 and not far.near.any()         # far: the cue is beyond a small receptive field
    near = simulate_distant_cue(20, 8, height=24, width=72, seed=2, near_fraction=1.0)
    assert near.near.all() and near.gap.max() <= 6
    mixed = simulate_distant_cue(40, 8, seed=2, near_fraction=0.5)
    assert 0.4 < mixed.near.mean() < 0.6 and mixed.gap[mixed.near].max() < mixed.gap[~mixed.near].min()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="width"):
        simulate_distant_cue(2, 2, height=32, width=64)
    with pytest.raises(ValueError, match="near_fraction"):
        simulate_distant_cue(2, 2, near_fraction=1.5)
    with pytest.raises(ValueError, match="patient"):
        simulate_distant_cue(0, 2)
