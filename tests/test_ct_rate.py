"""medrepro.data.datasets.ct_rate and medrepro.sim.chest_ct: CT-RATE's layout written through nibabel and read back
as CT-CLIP's preprocessing reads it; named errors on bad input; the simulator's geometry."""
import csv

import nibabel as nib
import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import ct_rate, is_fixture
from medrepro.data.io import NiftiError
from medrepro.sim.chest_ct import REPORTS, simulate_chest_volumes


def test_names_and_paths():
    assert ct_rate.parse_name("train_12_b_2.nii.gz") == {"split": "train", "patient": "12", "scan": "b", "recon": "2"}
    assert str(ct_rate.relative_path("valid_3_a_1.nii.gz")) == "valid/valid_3/valid_3_a/valid_3_a_1.nii.gz"
    assert str(ct_rate.relative_path("train_3_a_1.nii.gz", "train_fixed")) == \
        "train_fixed/train_3/train_3_a/train_3_a_1.nii.gz"
    for bad in ("train_12_b.nii.gz", "test_1_a_1.nii.gz", "train_1_a_1.nii"):
        with pytest.raises(ct_rate.CtRateFormatError, match="volume name"):
            ct_rate.parse_name(bad)


def test_fixture_layout_and_loader(tmp_path):
    base = ct_rate.make_fixture(tmp_path / "ct", n_train=6, n_valid=2, shape=(8, 10, 12))
    assert is_fixture(base) and base.name == "dataset"
    assert (base / "train" / "train_3" / "train_3_b" / "train_3_b_1.nii.gz").is_file()   # two scans per patient
    assert manifest.locate("ct_rate", base) == base                                        # the manifest's layout
    tr = ct_rate.load(tmp_path / "ct", "train")                                            # root or root/dataset
    assert tr.names[:2] == ["train_1_a_1.nii.gz", "train_1_b_1.nii.gz"]
    assert tr.patients[:3] == ["train_1", "train_1", "train_2"]
    assert tr.volumes.shape == (6, 8, 10, 12) and tr.masks is None
    assert tr.volumes.min() >= -1 and tr.volumes.max() <= 1 and set(tr.findings) <= set(REPORTS)
    va = ct_rate.load(base, "valid", size=(4, 4, 6), max_volumes=1)
    assert va.volumes.shape == (1, 4, 4, 6) and va.names == ["valid_1_a_1.nii.gz"]
    with pytest.raises(ValueError, match="split"):
        ct_rate.load(base, "test")
    with pytest.raises(FileNotFoundError, match="radiology_text_reports"):
        ct_rate.load(tmp_path)


def test_write_read_round_trip_with_masks_as_ct_clip_reads_it(tmp_path):
    sim = simulate_chest_volumes(5, seed=3)
    base = ct_rate.write(tmp_path, sim.hu, sim.reports, masks=sim.mask, mask_dir=tmp_path / "masks")
    got = ct_rate.load(base, mask_dir=tmp_path / "masks")
    np.testing.assert_array_equal(got.volumes, ct_rate.to_unit(np.round(sim.hu)))
    np.testing.assert_array_equal(got.masks, sim.mask)
    assert got.findings == sim.reports
    # CT-CLIP's rule, written out: nibabel's get_fdata() * RescaleSlope + RescaleIntercept, clip, / 1000, (2, 0, 1)
    meta = {r["VolumeName"]: r for r in csv.DictReader(open(base / "metadata" / "train_metadata.csv"))}
    for k, name in enumerate(got.names):
        img = nib.load(base / ct_rate.relative_path(name))
        assert img.get_data_dtype() == np.int16
        hu = float(meta[name]["RescaleSlope"]) * img.get_fdata() + float(meta[name]["RescaleIntercept"])
        np.testing.assert_allclose(got.volumes[k], (np.clip(hu, -1000, 1000) / 1000).transpose(2, 0, 1), atol=1e-7)
    raw = ct_rate.load(base, rescale=False)                 # stored values are HU + 1024: soft tissue reads +1.0
    assert raw.volumes.mean() > got.volumes.mean() + 0.5


def test_named_errors(tmp_path):
    sim = simulate_chest_volumes(2, seed=0)
    base = ct_rate.write(tmp_path, sim.hu, sim.reports)
    rows = list(csv.DictReader(open(base / "metadata" / "train_metadata.csv")))
    with open(base / "metadata" / "train_metadata.csv", "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows[:1])
    with pytest.raises(ct_rate.CtRateFormatError, match="train_metadata.csv: no row for train_2_a_1.nii.gz"):
        ct_rate.load(base)
    assert len(ct_rate.load(base, max_volumes=1)) == 1
    (base / ct_rate.relative_path("train_1_a_1.nii.gz")).write_bytes(b"not a nifti")
    with pytest.raises(NiftiError, match="train_1_a_1.nii.gz"):
        ct_rate.load(base)
    for name in ("train_1_a_1.nii.gz", "train_2_a_1.nii.gz"):
        (base / ct_rate.relative_path(name)).unlink()
    with pytest.raises(FileNotFoundError, match="none of the 2 volumes"):
        ct_rate.load(base)


def test_mask_grid_must_match(tmp_path):
    sim = simulate_chest_volumes(1, seed=0)
    base = ct_rate.write(tmp_path, sim.hu, sim.reports, masks=sim.mask[:, :, :4], mask_dir=tmp_path / "m")
    with pytest.raises(ct_rate.CtRateFormatError, match="mask shape"):
        ct_rate.load(base, mask_dir=tmp_path / "m")


def test_resize():
    v = np.random.default_rng(0).normal(size=(4, 6, 8)).astype(np.float32)
    assert ct_rate.resize(v, (4, 6, 8)) is v
    assert ct_rate.resize(v, (2, 3, 4)).shape == (2, 3, 4)
    m = v > 0
    assert set(np.unique(ct_rate.resize(m.astype(np.float32), (8, 12, 16), nearest=True))) <= {0.0, 1.0}


def test_simulator_geometry_and_reports():
    a, b = simulate_chest_volumes(90, seed=1), simulate_chest_volumes(90, seed=1)
    np.testing.assert_array_equal(a.hu, b.hu)
    assert a.hu.shape == a.mask.shape == (90, 8, 8, 12) and a.mask.dtype == bool
    assert set(np.unique(a.side)) == {0, 1, 2} and a.reports[0] == REPORTS[a.side[0]]
    lung = a.hu[a.mask].mean()
    assert -900 < lung < -700 and abs(a.hu[~a.mask].mean()) < 150
    sizes = a.mask.sum((1, 2, 3))
    assert sizes.std() > 0.1 * sizes.mean()                     # lung size varies between patients
    bright = a.hu > 450
    left, right = bright[..., :6].sum((1, 2, 3)), bright[..., 6:].sum((1, 2, 3))
    assert (left[a.side == 1] > right[a.side == 1]).all() and (right[a.side == 2] > left[a.side == 2]).all()
    assert (np.maximum(left, right)[a.side == 0] <= 2).all()     # at most a noise voxel or two without a nodule
    assert np.maximum(left, right)[a.side > 0].min() >= 4
    big = simulate_chest_volumes(4, shape=(16, 16, 24), seed=2)
    assert big.hu.shape == (4, 16, 16, 24) and 0.15 < big.mask.mean() < 0.6
