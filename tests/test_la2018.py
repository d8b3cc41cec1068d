"""Tests for the LA 2018 loader, NRRD reader/writer and fixture (medrepro.data.datasets.la2018)."""
import gzip

import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import is_fixture, la2018


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return la2018.make_fixture(tmp_path_factory.mktemp("la"), seed=2, n_train=3, n_test=1, shape=(20, 18, 6))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
@pytest.mark.parametrize("encoding", ["gzip", "raw"])
def test_nrrd_round_trip(tmp_path, dtype, encoding):
    a = (np.random.default_rng(0).random((5, 4, 3)) * 100).astype(dtype)
    p = la2018.write_nrrd(tmp_path / "x.nrrd", a, spacing=(0.5, 0.625, 2.0), encoding=encoding)
    b, head = la2018.read_nrrd(p)
    assert b.shape == (5, 4, 3) and b.dtype == dtype and np.array_equal(a, b)
    assert la2018.nrrd_spacing(head) == (0.5, 0.625, 2.0)
    assert p.read_bytes().startswith(b"NRRD0004\n")


def test_nrrd_axis_order_is_fastest_first(tmp_path):
    # hand-made file: sizes 3 2 → the first three values form the first column of a (3, 2) array
    body = gzip.compress(np.arange(6, dtype="<i2").tobytes())
    (tmp_path / "h.nrrd").write_bytes(b"NRRD0004\ntype: short\ndimension: 2\nsizes: 3 2\nencoding: gzip\n"
                                      b"endian: little\nspacings: 1.5 2\n\n" + body)
    a, head = la2018.read_nrrd(tmp_path / "h.nrrd")
    assert a.tolist() == [[0, 3], [1, 4], [2, 5]] and la2018.nrrd_spacing(head) == (1.5, 2.0)


def test_nrrd_errors_name_the_file(tmp_path):
    (tmp_path / "bad.nrrd").write_bytes(b"P5\n")
    with pytest.raises(la2018.La2018FormatError, match="bad.nrrd.*not a NRRD"):
        la2018.read_nrrd(tmp_path / "bad.nrrd")
    p = la2018.write_nrrd(tmp_path / "t.nrrd", np.zeros((8, 8, 8), np.uint8), encoding="raw")
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(la2018.La2018FormatError, match="t.nrrd.*truncated"):
        la2018.read_nrrd(p)
    with pytest.raises(FileNotFoundError, match="missing.nrrd"):
        la2018.read_nrrd(tmp_path / "missing.nrrd")


def test_fixture_has_the_real_layout(root):
    assert is_fixture(root)
    cases = la2018.list_cases(root)
    assert len(cases) == 4 and all(len(c) == 20 for c in cases)
    assert sorted(la2018.list_cases(root, "train") + la2018.list_cases(root, "test")) == cases
    folder = root / la2018.TRAIN_DIR / cases[0]
    assert {p.name for p in folder.iterdir()} == {"lgemri.nrrd", "laendo.nrrd"}
    lab, _ = la2018.read_nrrd(folder / "laendo.nrrd")
    assert set(np.unique(lab)) == {0, 255}                      # the challenge's mask convention
    m = manifest.load("la2018")
    assert m.access == "registration" and m.manual_steps
    assert manifest.locate("la2018", root, manifest=m) == root


def test_load_case_and_slices(root):
    c = la2018.load_case(root, la2018.list_cases(root)[0])
    assert c.image.shape == (20, 18, 6) and c.image.dtype == np.float32 and c.source == "nrrd"
    assert set(np.unique(c.label)) == {0, 1} and c.spacing == (0.625, 0.625, 0.625)
    s = la2018.load_slices(root, la2018.list_cases(root, "train"), size=16)
    assert s.images.shape == (18, 16, 16) and 0 <= s.images.min() and s.images.max() <= 1
    assert set(np.unique(s.labels)) <= {0, 1} and list(s.slice_index[:6]) == list(range(6))
    assert np.allclose(s.spacing[0], (0.625 * 20 / 16, 0.625 * 18 / 16, 0.625))
    every = la2018.load_slices(root, la2018.list_cases(root, "train")[:1], size=None, every=2, drop_empty=True)
    assert every.images.shape[1:] == (20, 18) and (every.slice_index % 2 == 0).all()
    assert every.labels.reshape(len(every), -1).any(1).all()


def test_crop_to_label_keeps_the_atrium():
    lab = np.zeros((200, 180, 10), np.uint8)
    lab[90:110, 80:100, 3:7] = 1
    img = np.random.default_rng(0).random(lab.shape).astype(np.float32)
    ci, cl = la2018.crop_to_label(img, lab, margin=(5, 5, 2), min_size=(40, 40, 4))
    assert cl.sum() == lab.sum() and ci.shape == cl.shape and ci.shape[2] == 10
    assert ci.shape[0] < 200 and ci.shape[1] < 180


def test_bad_input_errors(tmp_path, root):
    with pytest.raises(FileNotFoundError, match="2018LA_Seg_Training Set"):
        la2018.list_cases(tmp_path)
    bad = tmp_path / "bad"
    la2018.make_fixture(bad, n_train=1, n_test=1, shape=(8, 8, 4))
    (bad / "train.list").write_text("NOSUCHCASE\n")
    with pytest.raises(la2018.La2018FormatError, match="NOSUCHCASE"):
        la2018.list_cases(bad, "train")
    case = la2018.list_cases(bad)[0]
    la2018.write_nrrd(bad / la2018.TRAIN_DIR / case / "laendo.nrrd", np.full((8, 8, 4), 7, np.uint8))
    with pytest.raises(la2018.La2018FormatError, match="laendo.nrrd.*mask values"):
        la2018.load_case(bad, case)
    la2018.write_nrrd(bad / la2018.TRAIN_DIR / case / "laendo.nrrd", np.zeros((8, 8, 5), np.uint8))
    with pytest.raises(la2018.La2018FormatError, match="equal 3-D"):
        la2018.load_case(bad, case)
    (bad / la2018.TRAIN_DIR / "EMPTY").mkdir()
    with pytest.raises(FileNotFoundError, match="EMPTY"):
        la2018.load_case(bad, "EMPTY")


def test_uamt_h5_copy(tmp_path):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path / la2018.TRAIN_DIR / "CASE01"
    folder.mkdir(parents=True)
    img = np.random.default_rng(0).normal(size=(12, 10, 4)).astype(np.float32)
    lab = (img > 1).astype(np.uint8)
    with h5py.File(folder / la2018.H5_NAME, "w") as f:
        f.create_dataset("image", data=img, compression="gzip")
        f.create_dataset("label", data=lab, compression="gzip")
    c = la2018.load_case(tmp_path, "CASE01")
    assert c.source == "h5" and np.array_equal(c.image, img) and np.array_equal(c.label, lab)
