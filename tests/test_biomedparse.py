"""BiomedParseData layout (medrepro.data.datasets.biomedparse_data) and the parsing-scenes simulator."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import biomedparse_data as bpd
from medrepro.data.datasets import is_fixture
from medrepro.sim.parsing_scenes import IRREGULAR, TYPES, box_fill, simulate_scenes


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return bpd.make_fixture(tmp_path_factory.mktemp("bpd") / "SimScenes", seed=0, n_train=6, n_test=3, size=32)


def test_fixture_layout_and_loader(root):
    assert is_fixture(root)
    d = bpd.load_split(root, "train")
    assert len(d) == 6 and d.images.shape == (6, 32, 32) and d.images.dtype == np.float32
    assert d.masks.shape == (len(d.pair_image), 32, 32) and d.masks.dtype == bool
    assert set(d.targets) <= set(TYPES) and d.modality[0] == "Sim" and d.site[0] == "phantom"
    assert d.prompt(0).endswith(" in phantom Sim")
    small = bpd.load_split(root.parent, "test", size=16, targets=["gland", "curved fibre"])
    assert small.images.shape[1:] == (16, 16) and small.targets == ["gland", "curved fibre"]
    assert set(small.pair_target) <= {0, 1}


def test_parse_mask_name_follows_the_official_split():
    assert bpd.parse_mask_name("Part_1_516_pathology_breast_neoplastic+cells.png") == (
        "Part_1_516_pathology_breast.png", "neoplastic cells")
    with pytest.raises(bpd.BiomedParseLayoutError, match="must be"):
        bpd.parse_mask_name("nounderscore.png")
    with pytest.raises(bpd.BiomedParseLayoutError, match="must be"):
        bpd.parse_mask_name("a_b_c.png")


def test_bad_input_names_the_file(root, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    mask = sorted((bad / "train_mask").glob("*.png"))[0]
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(mask)
    with pytest.raises(bpd.BiomedParseLayoutError, match="its image is 32"):
        bpd.load_split(bad, "train")
    image = bad / "train" / bpd.parse_mask_name(mask.name)[0]
    image.unlink()
    with pytest.raises(bpd.BiomedParseLayoutError, match="does not exist"):
        bpd.load_split(bad, "train")
    with pytest.raises(FileNotFoundError, match="biomedparse_data.yaml"):
        bpd.load_split(tmp_path / "nothing", "train")
    with pytest.raises(ValueError, match="split must be"):
        bpd.load_split(root, "val")


def test_scenes_are_deterministic_and_irregular_types_fill_little_of_their_box():
    a, b = simulate_scenes(64, seed=3), simulate_scenes(64, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert a.present.sum(1).min() >= 2 and (a.present == a.masks.any((2, 3))).all()
    fill = np.nanmean(box_fill(a.masks), axis=0)
    irr = np.array(IRREGULAR)
    assert fill[irr].max() < 0.45 < 0.6 < fill[~irr].min()


def test_box_fill_matches_a_loop():
    rng = np.random.default_rng(0)
    m = rng.random((5, 12, 12)) > 0.9
    m[0] = False
    got = box_fill(m)
    assert np.isnan(got[0])
    for k in range(1, 5):
        r, c = np.nonzero(m[k])
        assert got[k] == pytest.approx(m[k].sum() / ((r.max() - r.min() + 1) * (c.max() - c.min() + 1)))
