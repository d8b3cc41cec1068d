"""medrepro.data.datasets.paxray: the PAXRay layout (paxray.json, images/*.png, labels/*.npy) and its errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import is_fixture, paxray


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return paxray.make_fixture(tmp_path_factory.mktemp("pax") / "paxray_dataset", seed=0, n_patients=4, size=32)


def test_fixture_layout_and_loader(root):
    assert is_fixture(root)
    index = json.loads((root / "paxray.json").read_text())
    assert set(index) >= {"label_dict", "train", "val", "test"}
    d = paxray.load_split(root, "train")
    assert d.labels.shape == (len(d), 8, 32, 32) and d.images.dtype == np.float32
    assert set(d.view) == {"frontal", "lateral"} and d.case[0] == "RibFrac1"
    front = paxray.load_split(root.parent, "test", views=("frontal",), channels=[4, 0], size=16)
    assert front.labels.shape[1:] == (2, 16, 16) and front.class_names == ["heart", "lung_right"]
    assert paxray.find_classes(paxray.label_names(root), {"heart": "^heart$"}) == {"heart": 4}
    with pytest.raises(KeyError, match="no PAXRay label"):
        paxray.find_classes(["lung"], {"x": "clavicle"})


def test_bad_input_names_the_file(root, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    stem = json.loads((bad / "paxray.json").read_text())["train"][0]
    np.save(bad / stem["target"], np.zeros((3, 32, 32), bool))
    with pytest.raises(paxray.PaxrayLayoutError, match="expected \\(8, H, W\\)"):
        paxray.load_split(bad, "train")
    np.save(bad / stem["target"], np.zeros((8, 16, 16), bool))
    with pytest.raises(paxray.PaxrayLayoutError, match="the image is 32"):
        paxray.load_split(bad, "train")
    (bad / stem["image"]).unlink()
    with pytest.raises(FileNotFoundError, match="not found"):
        paxray.load_split(bad, "train")
    (bad / "paxray.json").write_text("{not json")
    with pytest.raises(paxray.PaxrayLayoutError, match="not valid JSON"):
        paxray.read_index(bad)
    with pytest.raises(FileNotFoundError, match="no PAXRay index"):
        paxray.load_split(tmp_path / "nothing", "train")
    with pytest.raises(ValueError, match="split"):
        paxray.load_split(root, "validation")


def test_rgb_png_reads_its_first_channel(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(np.stack([img] * 3, -1)).save(tmp_path / "x.png")
    np.testing.assert_array_equal(paxray.read_image(tmp_path / "x.png"), img / np.float32(255))
