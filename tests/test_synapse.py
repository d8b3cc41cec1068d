"""Tests for the Synapse (TransUNet layout) loader: medrepro.data.datasets.synapse."""
import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import is_fixture, synapse


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return synapse.make_fixture(tmp_path_factory.mktemp("syn"), seed=0, n_train_cases=3, n_test_cases=2,
                                n_slices=4, size=32)


def test_fixture_layout_and_manifest(fixture_root):
    ds = fixture_root / "Synapse"
    assert is_fixture(ds)
    names = sorted(p.name for p in (ds / "train_npz").iterdir())
    assert names[0] == "case0005_slice000.npz" and len(names) == 12          # TransUNet's case ids
    m = manifest.load("synapse")
    assert m.access == "registration" and m.root == "Synapse" and m.manual_steps
    assert manifest.locate("synapse", fixture_root) == ds                    # DATA_DIR may hold Synapse/


def test_round_trip_and_labels(fixture_root):
    ds = fixture_root / "Synapse"
    s = synapse.load_train_slices(ds)
    assert s.images.shape == (12, 32, 32) and s.labels.dtype == np.uint8 and s.images.dtype == np.float32
    assert 0 <= s.images.min() and s.images.max() <= 1
    assert set(np.unique(s.labels)) <= set(synapse.LABELS) and len(np.unique(s.labels)) > 4
    assert list(np.unique(s.case)) == sorted(synapse.TRAIN_CASES[:3]) and list(s.slice_index[:4]) == [0, 1, 2, 3]
    one = synapse.load_train_slices(ds, ["case0006"], size=48, drop_empty=True)
    assert one.images.shape[1:] == (48, 48) and set(one.case) == {"case0006"}
    assert synapse.list_cases(ds) == sorted(synapse.TRAIN_CASES[:3])
    # the written file holds float arrays named image / label, as TransUNet's npz files
    with np.load(ds / "train_npz" / "case0005_slice001.npz") as f:
        assert sorted(f.files) == ["image", "label"] and f["label"].dtype == np.float32


def test_split_constants_match_transunet_lists():
    assert len(synapse.TRAIN_CASES) == 18 and len(synapse.TEST_CASES) == 12
    assert not set(synapse.TRAIN_CASES) & set(synapse.TEST_CASES)
    assert synapse.LABELS[1] == "aorta" and synapse.LABELS[6] == "pancreas" and synapse.LABELS[8] == "stomach"


def test_bad_inputs_name_the_file(tmp_path):
    bad = tmp_path / "Synapse" / "train_npz"
    bad.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no slice files"):
        synapse.load_train_slices(tmp_path / "Synapse")
    np.savez(bad / "case0001_slice000.npz", image=np.zeros((8, 8), np.float32))
    with pytest.raises(synapse.SynapseFormatError, match="case0001_slice000.npz.*lacks"):
        synapse.read_slice(bad / "case0001_slice000.npz")
    np.savez(bad / "case0001_slice001.npz", image=np.zeros((8, 8), np.float32), label=np.full((8, 8), 9.0))
    with pytest.raises(synapse.SynapseFormatError, match="slice001.npz.*0..8"):
        synapse.read_slice(bad / "case0001_slice001.npz")
    np.savez(bad / "case0001_slice002.npz", image=np.zeros((8, 8), np.float32), label=np.zeros((8, 9)))
    with pytest.raises(synapse.SynapseFormatError, match="must be equal"):
        synapse.read_slice(bad / "case0001_slice002.npz")
    (bad / "case0001_slice003.npz").write_bytes(b"not a zip")
    with pytest.raises(synapse.SynapseFormatError, match="slice003.npz: not a readable"):
        synapse.read_slice(bad / "case0001_slice003.npz")
    with pytest.raises(FileNotFoundError, match="Synapse training folder not found"):
        synapse.list_slices(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="case0099"):
        synapse.load_train_slices(tmp_path / "Synapse", ["case0099"])
    with pytest.raises(ValueError, match="equal 2-D"):
        synapse.write_slice(tmp_path / "x.npz", np.zeros((4, 4)), np.zeros((4, 5)))


def test_test_volumes_need_h5py(fixture_root):
    ds = fixture_root / "Synapse"
    if not synapse.has_h5py():
        assert synapse.list_cases(ds, "test") == []                  # the fixture skips test_vol_h5 without it
        with pytest.raises(ImportError, match="h5py"):
            synapse.write_volume(ds / "test_vol_h5" / "case0001.npy.h5", np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))
        return
    vols = synapse.load_test_volumes(ds)
    assert [v.case for v in vols] == list(synapse.TEST_CASES[:2])
    assert vols[0].image.shape == (4, 32, 32) and vols[0].label.dtype == np.uint8
