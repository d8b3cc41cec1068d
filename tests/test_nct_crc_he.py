"""medrepro.data.datasets.nct_crc_he and medrepro.sim.histology.simulate_tissue_slides: the archive layout read back
as Pillow and tifffile read it; bad input named in the error; the simulated slides' tissue maps and tiles."""
import numpy as np
import pytest
import tifffile
from PIL import Image

from medrepro.data.datasets import is_fixture, nct_crc_he as nct
from medrepro.sim.histology import TISSUES, simulate_tissue_slides, voronoi_tile_map


@pytest.fixture()
def root(tmp_path):
    return nct.make_fixture(tmp_path / "nct", seed=1, n_train_slides=2, n_test_slides=1, tile=24)


def test_layout_classes_and_pixels(root):
    assert is_fixture(root)
    tr, te = nct.load(root, "train"), nct.load(root, "test")
    assert tr.images.shape == (32, 3, 24, 24) and te.images.shape == (16, 3, 24, 24)
    assert set(tr.labels) <= set(nct.SIM_TO_CLASS)
    for k, p in enumerate(tr.paths):
        assert p.parent.parent.name == "NCT-CRC-HE-100K" and p.parent.name == nct.CLASSES[tr.labels[k]]
        assert p.name.startswith(p.parent.name + "-") and p.suffix == ".tif" and len(p.stem.split("-")[1]) == 8
        np.testing.assert_array_equal(tr.images[k], tifffile.imread(p).astype(np.float32).transpose(2, 0, 1) / 255)
    assert len(nct.load(root / "CRC-VAL-HE-7K", "test").paths) == 16          # the split folder itself


def test_resize_and_max_per_class(root):
    d = nct.load(root, "train", size=16, max_per_class=2, seed=3)
    assert d.images.shape[1:] == (3, 16, 16) and np.bincount(d.labels).max() == 2
    with Image.open(d.paths[0]) as im:
        ref = np.asarray(im.resize((16, 16), Image.BILINEAR), np.float32).transpose(2, 0, 1) / 255
    np.testing.assert_array_equal(d.images[0], ref)
    assert nct.load(root, "train", max_per_class=2, seed=3).names == d.names        # same draw for the same seed


def test_written_equals_read(tmp_path):
    x = np.random.default_rng(0).random((5, 3, 8, 8)).astype(np.float32)
    names = nct.write(tmp_path, x, [0, 1, 3, 7, 8], "test", seed=2)
    d = nct.load(tmp_path, "test")
    order = [d.names.index(n) for n in names]
    np.testing.assert_array_equal(d.images[order], np.round(x * 255) / 255)
    assert [nct.CLASSES[k] for k in d.labels[order]] == ["ADI", "BACK", "LYM", "STR", "TUM"]


def test_bad_input_is_named(root, tmp_path):
    with pytest.raises(nct.NctCrcLayoutError, match="NCT-CRC-HE-100K"):
        nct.load(tmp_path / "empty", "train")
    with pytest.raises(ValueError, match="split must be"):
        nct.load(root, "val")
    p = next(iter(sorted((root / "NCT-CRC-HE-100K" / "ADI").glob("*.tif"))))
    p.rename(p.with_name("TUM-" + p.name.split("-", 1)[1]))
    with pytest.raises(ValueError, match="class prefix"):
        nct.index(root, "train")
    (root / "CRC-VAL-HE-7K" / "XYZ").mkdir()
    with pytest.raises(ValueError, match="not a tissue class folder"):
        nct.index(root, "test")
    with pytest.raises(ValueError, match="labels must index"):
        nct.write(tmp_path, np.zeros((1, 3, 4, 4)), [9])


def test_tissue_slides_maps_and_tiles():
    b = simulate_tissue_slides(6, grid=4, tile=8, regions=3, seed=2)
    assert b.images.shape == (6, 3, 32, 32) and b.images.dtype == np.float32
    assert 0 <= b.images.min() and b.images.max() <= 1
    for m in b.tile_labels:                                   # three distinct tissues per slide
        assert len(np.unique(m)) == 3 and set(np.unique(m)) <= set(range(len(TISSUES)))
    x, y, s, pos = b.tiles()
    assert x.shape == (96, 3, 8, 8) and (s == np.repeat(np.arange(6), 16)).all()
    k = 16 * 2 + 4 * 1 + 3                                    # slide 2, row 1, column 3
    np.testing.assert_array_equal(x[k], b.images[2, :, 8:16, 24:32])
    assert y[k] == b.tile_labels[2, 1, 3] and tuple(pos[k]) == (1, 3)
    # the tissues differ in colour: adipose is the brightest, tumour the darkest on average
    means = [x[y == i].mean() for i in range(len(TISSUES))]
    assert np.argmax(means) == TISSUES.index("ADI") and np.argmin(means) == TISSUES.index("TUM")
    np.testing.assert_array_equal(simulate_tissue_slides(2, seed=5).images, simulate_tissue_slides(2, seed=5).images)


def test_voronoi_map_regions_are_contiguous():
    from scipy import ndimage

    maps = voronoi_tile_map(20, 5, 3, 4, rng=1)
    assert maps.shape == (20, 5, 5)
    for m in maps:
        for k in np.unique(m):
            assert ndimage.label(m == k, np.ones((3, 3)))[1] == 1    # each region is one piece (8-connected)
    with pytest.raises(ValueError, match="regions"):
        voronoi_tile_map(1, 2, 5, 4)
    with pytest.raises(ValueError, match="simulate_tissue_slides"):
        simulate_tissue_slides(0)
