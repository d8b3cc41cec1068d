"""medrepro.data.datasets.fives: the FIVES layout read back as PIL reads it; bad input named in the error."""
import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import fives, is_fixture
from medrepro.data.io import ImageFormatError


@pytest.fixture()
def root(tmp_path):
    return fives.make_fixture(tmp_path / "FIVES", seed=1, n_train=3, n_test=2, size=32)


def test_layout_and_roundtrip_against_pil(root):
    assert is_fixture(root)
    assert sorted(p.name for p in (root / "train" / "Original").iterdir()) == sorted(
        p.name for p in (root / "train" / "Ground truth").iterdir())
    for split, n in (("train", 3), ("test", 2)):
        d = fives.load(root, split)
        assert len(d) == n and d.images.shape == (n, 32, 32, 3) and d.masks.dtype == bool
        for k, p in enumerate(d.paths):
            with Image.open(p) as im:
                assert im.format == "PNG" and im.mode == "RGB"
                np.testing.assert_array_equal(d.images[k], np.asarray(im, np.float32) / 255)
            with Image.open(p.parent.parent / "Ground truth" / p.name) as m:
                assert m.mode == ("L" if split == "train" else "RGB")   # both mask conventions are read
                np.testing.assert_array_equal(d.masks[k], np.asarray(m.convert("L")) > 127)
    assert fives.load(root.parent, "train").names == fives.load(root, "train").names   # parent holding FIVES/


def test_names_in_numeric_order_and_categories(tmp_path):
    imgs = np.zeros((11, 8, 8, 3), np.uint8)
    fives.write(tmp_path, "train", imgs, np.zeros((11, 8, 8), bool), list("ADGNADGNADG"))
    d = fives.load(tmp_path, "train")
    assert d.names[:3] == ["1_A.png", "2_D.png", "3_G.png"] and d.names[-1] == "11_G.png"   # 11 after 2, not 1
    assert list(d.category[:4]) == list("ADGN")


def test_resize_and_groundtruth_folder_renamed(root, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (copy / "test" / "Ground truth").rename(copy / "test" / "GroundTruth")    # as the SAUNA code expects it
    d = fives.load(copy, "test", size=16)
    assert d.images.shape == (2, 16, 16, 3) and d.masks.shape == (2, 16, 16)


def test_bad_input_names_the_file(root):
    name = sorted((root / "train" / "Original").iterdir())[0].name
    (root / "train" / "Ground truth" / name).unlink()
    with pytest.raises(fives.FivesLayoutError, match=name):
        fives.load(root, "train")
    bad = sorted((root / "test" / "Original").iterdir())[0]
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageFormatError, match=bad.name):
        fives.load(root, "test")


def test_mask_of_another_size_is_an_error(tmp_path):
    fives.write(tmp_path, "test", np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 8, 8), bool), ["N"])
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(tmp_path / "test" / "Ground truth" / "1_N.png")
    with pytest.raises(fives.FivesLayoutError, match="1_N.png"):
        fives.load(tmp_path, "test")
    with pytest.raises(FileNotFoundError):
        fives.load(tmp_path / "nowhere", "train")
    with pytest.raises(ValueError):
        fives.load(tmp_path, "val")
