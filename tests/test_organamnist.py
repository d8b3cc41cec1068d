"""OrganAMNIST loader (medrepro.data.datasets.organamnist) and the organ-crop simulator it is filled from."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.data.datasets import medmnist, organamnist
from medrepro.sim.abdomen import KIDNEY_L, LIVER, STOMACH, organ_crops, simulate_abdomen


@pytest.fixture(scope="module")
def cohort():
    return simulate_abdomen(3, 4, seed=1)


def test_info_matches_official_package():
    info = medmnist.INFO["organamnist"]
    assert info["n_classes"] == len(organamnist.CLASS_NAMES) == 11 and info["n_channels"] == 1
    assert info["n_samples"] == {"train": 34561, "val": 6491, "test": 17778}
    assert organamnist.CLASS_NAMES[4] == "kidney-left" and organamnist.CLASS_NAMES[10] == "spleen"
    assert organamnist.path("/x").name == "organamnist.npz" and organamnist.path("/x", 64).name == "organamnist_64.npz"


def test_organ_crops_boxes_and_order(cohort):
    crops = organ_crops(cohort, organs=(KIDNEY_L, LIVER), size=28)
    assert crops.images.shape == (len(crops), 28, 28) and crops.images.dtype == np.float32
    assert 0.0 <= crops.images.min() and crops.images.max() <= 1.0
    assert set(np.unique(crops.organ)) <= {KIDNEY_L, LIVER}
    assert (np.diff(crops.organ) >= 0).all()                       # grouped by organ in the order given
    # one crop per slice in which the organ has at least 4 pixels
    for o in (KIDNEY_L, LIVER):
        want = np.flatnonzero((cohort.labels == o).reshape(len(cohort), -1).sum(1) >= 4)
        np.testing.assert_array_equal(crops.slice[crops.organ == o], want)
    np.testing.assert_array_equal(crops.subject, cohort.subject[crops.slice])


def test_organ_crop_is_the_bounding_box():
    from medrepro.sim.abdomen import AbdomenCohort

    S = 64
    hu = np.full((1, S, S), -125.0, np.float32)             # the bottom of the CT window: 0 after windowing
    lab = np.zeros((1, S, S), np.uint8)
    hu[0, 20:40, 10:30], lab[0, 20:40, 10:30] = 275.0, LIVER  # a 20 x 20 organ at the top of the window: 1
    c = AbdomenCohort(images=hu, labels=lab, subject=np.zeros(1, int), level=np.zeros(1, np.float32))
    tight = organ_crops(c, organs=(LIVER,), size=28, margin=1.0, pad_px=0.0).images[0]
    np.testing.assert_allclose(tight[1:-1, 1:-1], 1.0, atol=1e-5)  # the box fills the crop; the outermost pixels
    assert tight.min() > 0.5                                         # interpolate with the outside by under half
    wide = organ_crops(c, organs=(LIVER,), size=28, margin=2.0, pad_px=0.0).images[0]
    np.testing.assert_allclose(wide[9:19, 9:19], 1.0, atol=1e-5)   # the organ in the middle half
    np.testing.assert_allclose(wide[:5], 0.0, atol=1e-5)           # surroundings around it
    np.testing.assert_allclose(wide[:, -5:], 0.0, atol=1e-5)


def test_organ_crops_refuses_bad_input(cohort):
    with pytest.raises(ValueError, match="unknown organ"):
        organ_crops(cohort, organs=(0,))
    mr = simulate_abdomen(1, 1, seed=0, spec=__import__("medrepro.sim.abdomen", fromlist=["AbdomenSpec"]).AbdomenSpec(
        modality="mr"))
    with pytest.raises(ValueError, match="CT"):
        organ_crops(mr)


def test_fixture_round_trip(tmp_path):
    root = organamnist.make_fixture(tmp_path, seed=0)
    sizes = [len(organamnist.load(root, s)) for s in ("train", "val", "test")]
    assert all(n > 0 for n in sizes)
    d = organamnist.load(root, "train")
    assert d.images.shape[1:] == (1, 28, 28) and set(np.unique(d.labels)) <= set(organamnist.FROM_SYNAPSE.values())


def test_write_simulated_maps_labels_and_refuses_other_organs(tmp_path, cohort):
    crops = organ_crops(cohort)
    parts = {s: (crops.images, crops.organ) for s in ("train", "val", "test")}
    organamnist.write_simulated(tmp_path, parts)
    d = organamnist.load(tmp_path, "val")
    np.testing.assert_array_equal(d.labels, [organamnist.FROM_SYNAPSE[o] for o in crops.organ])
    np.testing.assert_allclose(d.images[:, 0], crops.images, atol=0.5 / 255 + 1e-7)
    bad = {s: (crops.images[:1], np.array([STOMACH])) for s in ("train", "val", "test")}
    with pytest.raises(ValueError, match="no OrganAMNIST class"):
        organamnist.write_simulated(tmp_path / "bad", bad)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="organamnist.npz"):
        organamnist.load(tmp_path)
    rgb = np.zeros((2, 28, 28, 3), np.uint8)
    medmnist.write(organamnist.path(tmp_path), {s: (rgb, np.array([0, 1])) for s in ("train", "val", "test")})
    with pytest.raises(ValueError, match="grayscale"):
        organamnist.load(tmp_path)
    gray = np.zeros((2, 28, 28), np.uint8)
    medmnist.write(organamnist.path(tmp_path), {s: (gray, np.array([0, 11])) for s in ("train", "val", "test")})
    with pytest.raises(ValueError, match=r"0\.\.10"):
        organamnist.load(tmp_path)
