import numpy as np
import pytest

from medrepro.sim.mednist import CLASS_NAMES, MedNISTSpec, simulate_mednist


def test_shapes_labels_and_dtype():
    b = simulate_mednist(5, seed=0, spec=MedNISTSpec(size=32))
    assert b.images.shape == (30, 32, 32) and b.images.dtype == np.uint8
    assert b.class_names == CLASS_NAMES
    assert np.bincount(b.labels).tolist() == [5] * 6
    assert b.images.max() > 200 and b.images.min() < 30  # uses the intensity range


def test_deterministic_and_seed_dependent():
    a = simulate_mednist(4, seed=3)
    b = simulate_mednist(4, seed=3)
    c = simulate_mednist(4, seed=4)
    assert np.array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


def test_class_streams_do_not_depend_on_other_classes():
    both = simulate_mednist(3, classes=("Hand", "CXR"), seed=1)
    hand = simulate_mednist(3, classes=("Hand",), seed=1)
    assert np.array_equal(both.images[both.labels == 0], hand.images)


def test_classes_differ_more_than_images_within_a_class():
    b = simulate_mednist(20, seed=0)
    x = b.images.reshape(len(b.images), -1).astype(float) / 255
    means = np.stack([x[b.labels == k].mean(0) for k in range(6)])
    within = np.mean([np.linalg.norm(x[b.labels == k] - means[k], axis=1).mean() for k in range(6)])
    between = np.mean([np.linalg.norm(means[i] - means[j]) for i in range(6) for j in range(i + 1, 6)])
    assert between > within  # the layouts tell the classes apart
    assert within > 1.0      # but images of a class vary (not one template)


def test_variability_knob_and_per_class_counts():
    flat = simulate_mednist(6, classes=("HeadCT",), seed=0, spec=MedNISTSpec(variability=0.0, noise=0.0, texture=0.0,
                                                                          bias=0.0))
    varied = simulate_mednist(6, classes=("HeadCT",), seed=0)
    assert flat.images.astype(float).std(axis=0).mean() < varied.images.astype(float).std(axis=0).mean()
    b = simulate_mednist([1, 0, 2, 0, 0, 3], seed=0)
    assert np.bincount(b.labels, minlength=6).tolist() == [1, 0, 2, 0, 0, 3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown MedNIST class"):
        simulate_mednist(2, classes=("Knee",))
    with pytest.raises(ValueError, match="one count per class"):
        simulate_mednist([1, 2], seed=0)
