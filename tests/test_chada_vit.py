"""The multi-assay cell simulator (medrepro.sim.cell_assays) and the IDRCell100k loader."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import idrcell100k as idr
from medrepro.sim.cell_assays import PHENOTYPES, STAINS, simulate_assay


def test_simulator_shapes_determinism_and_fields():
    a = simulate_assay(40, ("ER", "DNA"), seed=3, size=24, cells_per_field=8)
    assert a.images.shape == (40, 2, 24, 24) and a.images.dtype == np.float32
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert a.stains == ("ER", "DNA") and set(a.phenotype) <= set(range(len(PHENOTYPES)))
    np.testing.assert_array_equal(a.field, np.arange(40) // 8)
    b = simulate_assay(40, ("ER", "DNA"), seed=3, size=24, cells_per_field=8)
    np.testing.assert_array_equal(a.images, b.images)
    c = simulate_assay(30, ("DNA",), phenotypes=(0, 1), seed=1)
    assert set(c.phenotype) <= {0, 1}


def test_phenotype_evidence_sits_in_its_stain():
    a = simulate_assay(400, STAINS, seed=0, size=24)
    top = np.quantile(a.images.reshape(len(a.images), len(STAINS), -1), 0.95, axis=2)   # (n, stains)
    m = {p: top[a.phenotype == p].mean(0) for p in range(4)}
    mito, er, dna = STAINS.index("mito"), STAINS.index("ER"), STAINS.index("DNA")
    assert m[2][mito] > m[0][mito] + 0.1 and abs(m[2][er] - m[0][er]) < 0.05        # mito puncta: mito only
    assert m[3][er] > m[0][er] + 0.1 and abs(m[3][mito] - m[0][mito]) < 0.05        # ER puncta: ER only
    peak = np.quantile(a.images[:, dna].reshape(len(a.images), -1), 0.99, axis=1)
    assert peak[a.phenotype == 1].mean() > peak[a.phenotype == 0].mean() + 0.05      # condensed nucleus: brighter
    # mito and ER are drawn by one generator: in control cells their statistics agree
    assert abs(m[0][mito] - m[0][er]) < 0.03


def test_simulator_rejects_bad_input():
    with pytest.raises(ValueError, match="stains"):
        simulate_assay(4, ("DNA", "GFP"))
    with pytest.raises(ValueError, match="twice"):
        simulate_assay(4, ("DNA", "DNA"))
    with pytest.raises(ValueError, match="phenotypes"):
        simulate_assay(4, ("DNA",), phenotypes=(7,))


def test_fixture_round_trip_and_layout(tmp_path):
    root = idr.make_fixture(tmp_path / "idr", seed=0, n_per_assay=8)
    rows = list(csv.reader(open(root / "train.csv")))
    assert len(rows) == 24 and rows[0][1].startswith("[")                         # no header, a list per row
    s = idr.load_split(root, "train")
    assert [len(x) for x in s.images[:24:8]] == [5, 3, 1]
    assert s.stains[8] == ("ER", "DNA", "mito") and s.experiment[0] == "A"
    sim = simulate_assay(8, idr.FIXTURE_ASSAYS["B"], phenotypes=(0, 1, 2, 3), size=24, cells_per_field=8,
                         seed=1, assay="B")
    np.testing.assert_allclose(np.stack(s.images[8:16]), np.round(sim.images * 255) / 255, atol=1e-6)
    np.testing.assert_array_equal(s.phenotype[8:16], sim.phenotype)


def test_loader_without_metadata_and_with_imgs_folder(tmp_path):
    root = tmp_path / "real"
    (root / "imgs" / "exp1" / "plate1").mkdir(parents=True)
    for c in range(2):
        Image.fromarray((np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000 * (c + 1)).astype(np.uint16)).save(
            root / "imgs" / "exp1" / "plate1" / f"a_c{c}.png")
    (root / "train.csv").write_text("a,\"['exp1/plate1/a_c0.png', 'exp1/plate1/a_c1.png']\"\n")
    s = idr.load_split(root, "train")
    assert s.images[0].shape == (2, 8, 8) and s.phenotype.tolist() == [-1] and s.stains == [None]
    assert s.experiment == ["exp1"] and s.field == ["exp1/plate1"]
    np.testing.assert_allclose(s.images[0][1, 0, 1], 2000 / 65535)                  # 16-bit scaled by 65535


def test_loader_errors_name_what_and_where(tmp_path):
    with pytest.raises(idr.IDRCellLayoutError, match="train.csv"):
        idr.index(tmp_path, "train")
    (tmp_path / "images").mkdir()
    (tmp_path / "train.csv").write_text("x,\"['gone.png']\"\n")
    with pytest.raises(idr.IDRCellLayoutError, match="gone.png"):
        idr.load_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        idr.index(tmp_path, "val")
