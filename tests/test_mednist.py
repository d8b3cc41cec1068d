import numpy as np
import pytest

from medrepro.data import datasets
from medrepro.data.datasets import mednist
from medrepro.data.manifest import check_layout, load as load_manifest, locate
from medrepro.sim.mednist import simulate_mednist


def test_fixture_has_the_real_layout_and_round_trips(tmp_path):
    root = mednist.make_fixture(tmp_path / "mednist", seed=0, n_per_class=3)
    assert datasets.is_fixture(root)
    folder = root / "MedNIST"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == list(mednist.CLASS_NAMES)
    assert sorted(p.name for p in (folder / "Hand").iterdir()) == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
    m = load_manifest("mednist")
    check_layout(folder, m.layout, "mednist")
    assert locate("mednist", root, download_ok=False) == folder   # DATA_DIR may be the parent of MedNIST/
    data = mednist.load(root)
    assert data.images.shape == (18, 64, 64) and data.images.dtype == np.float32
    assert data.class_names == mednist.CLASS_NAMES and np.bincount(data.labels).tolist() == [3] * 6
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0


def test_written_images_read_back_close_to_the_simulated_ones(tmp_path):
    b = simulate_mednist(2, seed=1)
    folder = mednist.write(tmp_path, b.images, b.labels, b.class_names)
    data = mednist.load(folder)
    err = np.abs(data.images * 255 - b.images.astype(np.float32)).mean()
    assert err < 4.0  # JPEG quality 90 on 8-bit images
    small = mednist.load(folder, size=32)
    assert small.images.shape == (12, 32, 32)
    sub = mednist.load(folder, classes=["HeadCT", "Hand"], max_per_class=1, seed=0)
    assert sub.class_names == ("HeadCT", "Hand") and sub.labels.tolist() == [0, 1]


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MedNIST class folder"):
        mednist.load(tmp_path)
    b = simulate_mednist(1, seed=0)
    folder = mednist.write(tmp_path, b.images, b.labels, b.class_names)
    bad = folder / "CXR" / "000000.jpeg"
    bad.write_bytes(bad.read_bytes()[:40])                    # a truncated JPEG
    with pytest.raises(mednist.ImageFormatError, match="CXR/000000.jpeg"):
        mednist.load(folder)
    from PIL import Image

    Image.new("RGB", (64, 64)).save(bad, format="JPEG")       # a colour image
    with pytest.raises(mednist.ImageFormatError, match="mode 'RGB'"):
        mednist.read_image(bad)
    with pytest.raises(FileNotFoundError, match="missing class folder"):
        mednist.load(folder, classes=["Knee"])
    with pytest.raises(ValueError, match="uint8"):
        mednist.write(tmp_path, b.images.astype(float), b.labels, b.class_names)


def test_mixed_sizes_need_resizing(tmp_path):
    from PIL import Image

    b = simulate_mednist(1, seed=0)
    folder = mednist.write(tmp_path, b.images, b.labels, b.class_names)
    Image.new("L", (32, 32)).save(folder / "Hand" / "000001.jpeg", format="JPEG")
    with pytest.raises(mednist.ImageFormatError, match="000001.jpeg: shape"):
        mednist.load(folder)
    assert mednist.load(folder, size=64).images.shape == (7, 64, 64)
