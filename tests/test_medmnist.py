"""MedMNIST 2-D .npz files (medrepro.data.datasets.medmnist, .bloodmnist): the official layout, numpy as the
reference reader, clear errors naming the file, the manifest's md5 against the official info.py values."""
import numpy as np
import pytest

from medrepro.data import datasets
from medrepro.data.datasets import bloodmnist, medmnist
from medrepro.data.manifest import load as load_manifest, locate


def _splits(n=(6, 2, 3), rgb=True, seed=0):
    rng = np.random.default_rng(seed)
    shape = (28, 28, 3) if rgb else (28, 28)
    return {s: (rng.integers(0, 256, (k, *shape), dtype=np.uint8), rng.integers(0, 8, k))
            for s, k in zip(medmnist.SPLITS, n)}


def test_fixture_has_the_official_layout_and_numpy_reads_it_as_the_loader(tmp_path):
    root = bloodmnist.make_fixture(tmp_path / "bloodmnist", seed=0)
    assert datasets.is_fixture(root) and datasets.get("bloodmnist") is bloodmnist
    assert locate("bloodmnist", root, download_ok=False) == root
    with np.load(root / "bloodmnist.npz") as npz:                     # what medmnist/dataset.py indexes
        assert sorted(npz.files) == sorted(f"{s}_{k}" for s in medmnist.SPLITS for k in ("images", "labels"))
        for s in medmnist.SPLITS:
            imgs, labs = npz[f"{s}_images"], npz[f"{s}_labels"]
            assert imgs.dtype == np.uint8 and imgs.shape[1:] == (28, 28, 3) and labs.shape == (len(imgs), 1)
            data = bloodmnist.load(root, s)
            np.testing.assert_array_equal(data.images, imgs.transpose(0, 3, 1, 2).astype(np.float32) / 255)
            np.testing.assert_array_equal(data.labels, labs[:, 0])
            assert data.labels.max() < bloodmnist.N_CLASSES == len(bloodmnist.CLASS_NAMES)


def test_grayscale_round_trip_and_to_uint8(tmp_path):
    parts = _splits(rgb=False)
    p = medmnist.write(tmp_path / "breastmnist.npz", parts)
    d = medmnist.load(p, "val")
    assert d.images.shape == (2, 1, 28, 28) and d.n_channels == 1 and len(d) == 2
    np.testing.assert_array_equal(medmnist.to_uint8(d.images), parts["val"][0])
    rgb = medmnist.load(medmnist.write(tmp_path / "x.npz", _splits()), "test")
    np.testing.assert_array_equal(medmnist.to_uint8(rgb.images), _splits()["test"][0])
    assert medmnist.filename("pathmnist") == "pathmnist.npz" and medmnist.filename("pathmnist", 64) == "pathmnist_64.npz"


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="bloodmnist.npz"):
        bloodmnist.load(tmp_path)
    p = tmp_path / "bad.npz"
    parts = _splits()
    np.savez(p, **{f"{s}_images": parts[s][0] for s in medmnist.SPLITS}, train_labels=parts["train"][1][:, None])
    with pytest.raises(medmnist.MedMNISTFormatError, match=r"bad.npz: missing key\(s\) val_labels, test_labels"):
        medmnist.load(p)
    arrays = {f"{s}_{k}": v for s in medmnist.SPLITS for k, v in zip(("images", "labels"),
                                                                     (parts[s][0], parts[s][1][:, None]))}
    for change, msg in [(dict(train_images=parts["train"][0].astype(np.float32)), "dtype float32"),
                        (dict(train_images=parts["train"][0][..., :2]), "shape"),
                        (dict(train_images=parts["train"][0][:, :, :27]), "square"),
                        (dict(train_labels=parts["train"][1]), r"expected \(N, 1\)"),
                        (dict(train_labels=parts["train"][1][:4, None]), "6 train_images but 4"),
                        (dict(train_labels=parts["train"][1][:, None] * 0.5), "integer class indices")]:
        np.savez(p, **{**arrays, **change})
        with pytest.raises(medmnist.MedMNISTFormatError, match=f"bad.npz: .*{msg}"):
            medmnist.load(p, "train")
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(medmnist.MedMNISTFormatError, match="bad.npz: not a readable"):
        medmnist.load(p)
    with pytest.raises(ValueError, match="split"):
        medmnist.load(p, "validation")
    with pytest.raises(ValueError, match="'test' is missing"):
        medmnist.write(tmp_path / "y.npz", {s: parts[s] for s in ("train", "val")})


def test_manifest_md5_and_licence_are_the_official_info_values():
    m = load_manifest("bloodmnist")
    f = m.files[0]
    # medmnist/info.py (v3.0.2): INFO["bloodmnist"]["MD5"], ["url"], ["license"]
    assert f.md5 == medmnist.INFO["bloodmnist"]["md5"] == "7053d0359d879ad8a5505303e11de1dc"
    assert f.url == "https://zenodo.org/records/10519652/files/bloodmnist.npz?download=1"
    assert f.filename == "bloodmnist.npz" and f.checksum_source == "publisher"
    assert m.licence.startswith(medmnist.INFO["bloodmnist"]["license"]) and m.layout == ["bloodmnist.npz"]


def test_write_shuffled_round_trip_and_concat_splits(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.random((20, 1, 8, 8)), np.arange(20) % 3
    path, shuf_x, shuf_y = medmnist.write_shuffled(tmp_path / "sim.npz", images, labels, n_val=3, n_test=5, seed=4)
    order = np.random.default_rng(4).permutation(20)
    assert np.array_equal(shuf_y, labels[order]) and np.array_equal(shuf_x, images[order])
    splits = {s: medmnist.load(path, s) for s in medmnist.SPLITS}
    assert [len(splits[s]) for s in medmnist.SPLITS] == [12, 3, 5]
    x, y, names = medmnist.concat_splits(splits)
    assert np.array_equal(y, shuf_y) and list(names[[0, 12, 15]]) == ["train", "val", "test"]
    assert np.abs(x - shuf_x).max() <= 0.5 / 255 + 1e-7          # 8-bit storage
    with pytest.raises(ValueError, match="no training images"):
        medmnist.write_shuffled(tmp_path / "bad.npz", images, labels, n_val=10, n_test=10, seed=0)
    with pytest.raises(ValueError, match="missing"):
        medmnist.concat_splits({"train": splits["train"]})
