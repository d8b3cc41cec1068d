"""Tests for the ACDC loader, writer and fixture (medrepro.data.datasets.acdc)."""
import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import acdc, is_fixture
from medrepro.data.io import NiftiError
from medrepro.sim.cardiac import CardiacSpec, simulate_cohort


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return acdc.make_fixture(tmp_path_factory.mktemp("acdc"), seed=1, n_training=4, n_testing=1, n_slices=2)


def test_fixture_has_the_real_layout(fixture_root):
    db = fixture_root / "database"
    assert is_fixture(fixture_root) and is_fixture(db)
    assert (db / "MANDATORY_CITATION.md").is_file()
    assert acdc.list_patients(db) == ["patient001", "patient002", "patient003", "patient004"]
    assert acdc.list_patients(db, "testing") == ["patient101"]
    p = db / "training" / "patient001"
    info = acdc.read_info(p / "Info.cfg")
    names = {f.name for f in p.iterdir()}
    assert names == {"Info.cfg", "patient001_4d.nii.gz", f"patient001_frame{info['ED']:02d}.nii.gz",
                     f"patient001_frame{info['ED']:02d}_gt.nii.gz", f"patient001_frame{info['ES']:02d}.nii.gz",
                     f"patient001_frame{info['ES']:02d}_gt.nii.gz"}
    text = (p / "Info.cfg").read_text()
    assert text.startswith("ED: 1\nES: ") and "Group: " in text and "NbFrame: " in text


def test_manifest_is_valid_and_locates_the_fixture(fixture_root):
    m = manifest.load("acdc")
    assert m.access == "registration" and m.manual_steps and m.root == "database"
    assert manifest.locate("acdc", fixture_root, manifest=m) == fixture_root / "database"


def test_round_trip_through_the_writer(tmp_path):
    c = simulate_cohort(2, 3, spec=CardiacSpec(size=32), seed=4)
    for i in range(2):
        acdc.write_patient(tmp_path, f"patient{i + 1:03d}", ed=(c.images[i, 0], c.labels[i, 0]),
                           es=(c.images[i, 1], c.labels[i, 1]), info=c.info[i], spacing=c.spacing, cine=i == 0)
    s = acdc.load_slices(tmp_path)
    assert s.images.shape == (12, 32, 32) and s.images.dtype == np.float32
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0
    assert np.array_equal(s.labels.reshape(2, 2, 3, 32, 32), c.labels)
    assert list(s.phase[:6]) == ["ED"] * 3 + ["ES"] * 3 and list(s.slice_index[:3]) == [0, 1, 2]
    assert np.allclose(s.spacing[0], c.spacing)
    assert set(s.volume_id) == {"patient001_ED", "patient001_ES", "patient002_ED", "patient002_ES"}
    cine = acdc.read_nifti(tmp_path / "training" / "patient001" / "patient001_4d.nii.gz", ndim=4)
    assert cine.array.shape == (32, 32, 3, c.info[0]["NbFrame"])
    # the images are stored as int16 after rounding: correlation with the simulator output is ~1
    img = acdc.load_patient(tmp_path, "patient001")[0].image
    assert np.corrcoef(img.ravel(), np.moveaxis(c.images[0, 0], 0, 2).ravel())[0, 1] > 0.999


def test_resize_to_square(fixture_root):
    db = fixture_root / "database"
    s = acdc.load_slices(db, ["patient001", "patient002"], size=32)
    assert s.images.shape[1:] == (32, 32) and set(np.unique(s.labels)) <= {0, 1, 2, 3}
    raw = acdc.load_patient(db, "patient001")[0]
    assert np.allclose(s.spacing[0, :2], np.asarray(raw.spacing[:2]) * np.asarray(raw.image.shape[:2]) / 32)
    assert len(acdc.load_slices(db, ["patient001"], size=32, drop_empty=True)) <= len(s) // 2


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="training"):
        acdc.list_patients(tmp_path)
    c = simulate_cohort(1, 2, spec=CardiacSpec(size=16), seed=0)
    folder = acdc.write_patient(tmp_path, "patient001", ed=(c.images[0, 0], c.labels[0, 0]),
                                es=(c.images[0, 1], c.labels[0, 1]), info=c.info[0], cine=False)
    info_path = folder / "Info.cfg"
    good = info_path.read_text()
    info_path.write_text(good.replace("Group: ", "Group "))
    with pytest.raises(acdc.AcdcFormatError, match="Info.cfg"):
        acdc.read_info(info_path)
    info_path.write_text(good.replace("NbFrame", "Frames"))
    with pytest.raises(acdc.AcdcFormatError, match="missing NbFrame"):
        acdc.load_patient(tmp_path, "patient001")
    info_path.write_text(good)
    es = acdc.read_info(info_path)["ES"]
    gt = folder / f"patient001_frame{es:02d}_gt.nii.gz"
    acdc.write_nifti(gt, np.full((16, 16, 2), 7), dtype=np.uint8)
    with pytest.raises(acdc.AcdcFormatError, match=gt.name):
        acdc.load_patient(tmp_path, "patient001")
    acdc.write_nifti(gt, np.zeros((16, 16, 3)), dtype=np.uint8)
    with pytest.raises(acdc.AcdcFormatError, match="shape"):
        acdc.load_patient(tmp_path, "patient001")
    gt.write_bytes(b"not a nifti")
    with pytest.raises(NiftiError, match=gt.name):
        acdc.load_patient(tmp_path, "patient001")
    gt.unlink()
    with pytest.raises(FileNotFoundError, match=gt.name):
        acdc.load_patient(tmp_path, "patient001")
    with pytest.raises(ValueError):
        acdc.write_patient(tmp_path, "pat1", ed=(c.images[0, 0], c.labels[0, 0]), es=(c.images[0, 1], c.labels[0, 1]),
                           info=c.info[0])


def test_mixed_shapes_need_a_size(tmp_path):
    for i, size in enumerate((16, 24)):
        c = simulate_cohort(1, 2, spec=CardiacSpec(size=size), seed=i)
        acdc.write_patient(tmp_path, f"patient{i + 1:03d}", ed=(c.images[0, 0], c.labels[0, 0]),
                           es=(c.images[0, 1], c.labels[0, 1]), info=c.info[0], cine=False)
    with pytest.raises(ValueError, match="size="):
        acdc.load_slices(tmp_path)
    assert acdc.load_slices(tmp_path, size=16).images.shape == (8, 16, 16)
