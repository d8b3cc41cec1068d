"""ASOCA loader (medrepro.data.datasets.asoca) and the coronary simulator: layout, both cohort layouts, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.data.datasets import asoca, is_fixture
from medrepro.data.datasets.la2018 import write_nrrd
from medrepro.sim.tubular_tree import CoronarySpec, simulate_coronary_trees


def test_fixture_layout_and_round_trip(tmp_path):
    root = asoca.make_fixture(tmp_path / "asoca", seed=0, n_cases=3, size=16)
    assert asoca.list_cases(root) == ["0", "1", "2"] and is_fixture(root)
    assert (root / "Train" / "0.nrrd").is_file() and (root / "Train_Masks" / "0.nrrd").is_file()
    assert (root / "Test" / "0.nrrd").is_file()
    c = asoca.load_case(root, "1")
    assert c.image.shape == c.label.shape == (16, 16, 16) and c.image.dtype == np.float32
    assert set(np.unique(c.label)) <= {0, 1} and c.label.any()
    assert c.spacing == pytest.approx(asoca.FIXTURE_SPACING)


def test_cohort_layout(tmp_path):
    img = np.zeros((4, 5, 6), np.int16)
    lab = np.zeros((4, 5, 6), np.uint8); lab[1, 2, 3] = 1
    for cohort, n in (("Normal", 2), ("Diseased", 1), ("Normal", 10)):
        write_nrrd(tmp_path / cohort / "CTCA" / f"{cohort}_{n}.nrrd", img)
        write_nrrd(tmp_path / cohort / "Annotations" / f"{cohort}_{n}.nrrd", lab)
    assert asoca.list_cases(tmp_path) == ["Diseased_1", "Normal_2", "Normal_10"]
    assert asoca.load_case(tmp_path, "Normal_10").label.sum() == 1


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ASOCA layout"):
        asoca.list_cases(tmp_path)
    write_nrrd(tmp_path / "Train" / "0.nrrd", np.zeros((4, 4, 4), np.int16))
    with pytest.raises(asoca.AsocaFormatError, match="has no mask"):
        asoca.list_cases(tmp_path)
    write_nrrd(tmp_path / "Train_Masks" / "0.nrrd", np.full((4, 4, 4), 7, np.uint8))
    with pytest.raises(asoca.AsocaFormatError, match="mask values"):
        asoca.load_case(tmp_path, "0")
    write_nrrd(tmp_path / "Train_Masks" / "0.nrrd", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(asoca.AsocaFormatError, match="equal 3-D volumes"):
        asoca.load_case(tmp_path, "0")
    with pytest.raises(FileNotFoundError, match="not found"):
        asoca.load_case(tmp_path, "5")


def test_simulator_topology_and_contrast():
    sim = simulate_coronary_trees(3, CoronarySpec(size=20, generations=2), seed=1)
    assert sim.image.shape == (3, 20, 20, 20) and len(sim.trees) == 3
    assert all(len(t) == 7 for t in sim.trees)                         # full binary tree, 2 levels
    for t in sim.trees:                                                 # Murray's law at every bifurcation
        for i in range(len(t)):
            ch = t.children(i)
            if len(ch):
                np.testing.assert_allclose((t.r_start[ch] ** 3).sum(), t.r_end[i] ** 3, rtol=1e-9)
    lumen, tissue = sim.image[sim.label > 0].mean(), sim.image[sim.occupancy == 0].mean()
    assert lumen - tissue > 150                                        # contrast-filled lumen stands out
    np.testing.assert_array_equal(simulate_coronary_trees(3, CoronarySpec(size=20, generations=2), seed=1).image,
                                  sim.image)
