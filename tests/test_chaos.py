"""Tests for the CHAOS MR loader, writer and fixture (medrepro.data.datasets.chaos)."""
import shutil

import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import chaos, is_fixture
from medrepro.data.io import DicomError


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return chaos.make_fixture(tmp_path_factory.mktemp("chaos"), seed=1, n_patients=3, n_slices=2, size=32)


def test_fixture_has_the_real_layout(fixture_root):
    ts = fixture_root / "Train_Sets"
    assert is_fixture(fixture_root) and is_fixture(ts)
    assert chaos.list_patients(ts) == ["1", "2", "3"]
    p = ts / "MR" / "1"
    assert sorted(f.name for f in (p / "T2SPIR" / "DICOM_anon").iterdir()) == ["IMG-0002-00001.dcm",
                                                                            "IMG-0002-00002.dcm"]
    assert sorted(f.name for f in (p / "T2SPIR" / "Ground").iterdir()) == ["IMG-0002-00001.png", "IMG-0002-00002.png"]
    inphase = sorted(f.stem for f in (p / "T1DUAL" / "DICOM_anon" / "InPhase").iterdir())
    outphase = sorted(f.stem for f in (p / "T1DUAL" / "DICOM_anon" / "OutPhase").iterdir())
    assert sorted(f.stem for f in (p / "T1DUAL" / "Ground").iterdir()) == inphase
    assert not set(inphase) & set(outphase)


def test_manifest_is_valid_and_locates_the_fixture(fixture_root):
    m = manifest.load("chaos")
    assert m.access == "open" and m.root == "Train_Sets" and m.files and len(m.files[0].sha256 or "") == 64
    assert manifest.locate("chaos", fixture_root, manifest=m, download_ok=False) == fixture_root / "Train_Sets"


def test_grey_value_coding_round_trip():
    labels = np.array([[0, 1, 2], [3, 4, 0]], np.uint8)
    grey = chaos.labels_to_grey(labels)
    assert grey.tolist() == [[0, 63, 126], [189, 252, 0]]
    assert np.array_equal(chaos.grey_to_labels(grey), labels)
    assert np.array_equal(chaos.grey_to_labels(np.array([[58, 130, 180, 245]])), [[1, 2, 3, 4]])  # inside ranges
    with pytest.raises(chaos.ChaosFormatError, match="outside the CHAOS organ ranges"):
        chaos.grey_to_labels(np.full((4, 4), 100))


def test_round_trip_through_the_writer(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (3, 24, 20)).astype(np.float32)
    lab = rng.integers(0, 5, (3, 24, 20)).astype(np.uint8)
    chaos.write_patient(tmp_path, 7, img, lab, spacing=(1.5, 1.7, 8.0), sequences=("T2SPIR", "T1DUAL"))
    for seq in chaos.SEQUENCES:
        v = chaos.load_volume(tmp_path, "7", seq)
        assert v.image.shape == (3, 24, 20) and np.array_equal(v.label, lab)
        assert v.spacing == (1.5, 1.7, 8.0)
    v = chaos.load_volume(tmp_path, "7", "T2SPIR")
    assert np.corrcoef(v.image.ravel(), img.ravel())[0, 1] > 0.999          # 12-bit storage
    s = chaos.load_slices(tmp_path, sequence="T2SPIR", size=16)
    assert s.images.shape == (3, 16, 16) and 0 <= s.images.min() and s.images.max() <= 1
    assert np.allclose(s.spacing[0], [1.5 * 24 / 16, 1.7 * 20 / 16, 8.0]) and list(s.slice_index) == [0, 1, 2]


def test_resize_and_simulated_labels(fixture_root):
    s = chaos.load_slices(fixture_root / "Train_Sets", size=32)      # the last subject is stored at 40 × 40
    assert s.images.shape == (6, 32, 32) and set(np.unique(s.labels)) <= {0, 1, 2, 3, 4}
    assert (s.labels == 1).any()                                      # the liver is in the upper abdomen
    with pytest.raises(ValueError, match="pass size="):
        chaos.load_slices(fixture_root / "Train_Sets")


def test_bad_inputs_name_the_file(tmp_path, fixture_root):
    root = tmp_path / "Train_Sets"
    chaos.write_patient(root, 1, np.ones((2, 8, 8)), np.zeros((2, 8, 8), np.uint8))
    png = root / "MR" / "1" / "T2SPIR" / "Ground" / "IMG-0002-00002.png"
    png.unlink()
    with pytest.raises(FileNotFoundError, match="IMG-0002-00002.png"):
        chaos.load_volume(root, "1")
    dcm = root / "MR" / "1" / "T2SPIR" / "DICOM_anon" / "IMG-0002-00001.dcm"
    dcm.write_bytes(b"not a dicom file")
    with pytest.raises(DicomError, match="IMG-0002-00001.dcm"):
        chaos.load_volume(root, "1")
    target = tmp_path / "copy"
    shutil.copytree(fixture_root / "Train_Sets", target)
    first = sorted((target / "MR" / "2" / "T2SPIR" / "Ground").glob("*.png"))[0]
    first.write_bytes(b"\x89PNG broken")
    with pytest.raises(chaos.ChaosFormatError, match=first.name):
        chaos.load_volume(target, "2")
    with pytest.raises(FileNotFoundError, match="Train_Sets"):
        chaos.list_patients(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="numbers"):
        chaos.write_patient(root, "p1", np.ones((1, 4, 4)), np.zeros((1, 4, 4), np.uint8))


def test_from_synapse_labels():
    from medrepro.sim.abdomen import KIDNEY_L, KIDNEY_R, LIVER, PANCREAS, SPLEEN

    syn = np.array([0, LIVER, KIDNEY_R, KIDNEY_L, SPLEEN, PANCREAS])
    assert chaos.from_synapse_labels(syn).tolist() == [0, 1, 2, 3, 4, 0]
