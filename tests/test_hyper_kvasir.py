"""medrepro.data.datasets.hyper_kvasir: the loader against PIL on its fixture, and clear errors on bad input."""
import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import hyper_kvasir as hk
from medrepro.data.io import ImageFormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return hk.make_fixture(tmp_path_factory.mktemp("hk"), seed=0, n=18)


def test_layout_and_split_lists(root):
    files = hk.labeled_files(root)
    assert set(files) == {"plain", "stripes-0", "stripes-45", "stripes-90", "stripes-135", "spots"}
    for p in sum(files.values(), []):
        rel = p.relative_to(root).parts
        assert rel[0] == "labeled-images" and rel[1:3] == hk.SIM_PARENT and p.suffix == ".jpg"
    lines = (root / "HKVASIR_train.txt").read_text().splitlines()
    assert lines[0] == "image_id class_id path" and len(lines) == 1 + 12
    _, cid, path = lines[1].split()
    assert (root / path).is_file() and 1 <= int(cid) <= 6


def test_loader_equals_pil(root):
    data = hk.load_labeled(root, size=32, split="train")
    assert data.images.shape == (12, 3, 32, 32)
    for img, p in zip(data.images, data.paths):
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            np.testing.assert_array_equal(img, np.asarray(im, np.float32).transpose(2, 0, 1) / 255)
    rows = [ln.split() for ln in (root / "HKVASIR_train.txt").read_text().splitlines()[1:]]
    np.testing.assert_array_equal(data.labels, [int(r[1]) - 1 for r in rows])
    assert all(data.classes[k] == p.parent.name for k, p in zip(data.labels, data.paths))
    every = hk.load_labeled(root, size=16)
    assert len(every) == 18 and every.images.shape[-1] == 16


def test_segmented_equals_pil(root):
    seg = hk.load_segmented(root, size=32)
    assert len(seg) == 6 and seg.masks.dtype == bool and seg.masks.any()
    for m, p in zip(seg.masks, seg.paths):
        with Image.open(root / "segmented-images" / "masks" / p.name) as im:
            np.testing.assert_array_equal(m, np.asarray(im.convert("L")) >= 128)


def test_errors_name_the_file(root, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    seg_img = sorted((bad / "segmented-images" / "images").iterdir())[0]
    (bad / "segmented-images" / "masks" / seg_img.name).unlink()
    with pytest.raises(hk.HyperKvasirLayoutError, match=seg_img.name):
        hk.load_segmented(bad)
    victim = sorted(hk.labeled_files(bad)["spots"])[0]
    victim.write_bytes(b"not a jpeg")
    with pytest.raises(ImageFormatError, match=victim.name):
        hk.load_labeled(bad)
    with open(bad / "HKVASIR_test.txt", "a") as fh:
        fh.write("99 1 labeled-images/nowhere/missing.jpg\n")
    with pytest.raises(hk.HyperKvasirLayoutError, match="missing.jpg"):
        hk.read_split(bad, "test")
    with pytest.raises(FileNotFoundError, match="labeled-images"):
        hk.load_labeled(tmp_path / "empty")
