"""medrepro.data.datasets.atm22: the ATM'22 layout, written by nibabel, read back; named errors on bad input."""
import gzip

import nibabel as nib
import numpy as np
import pytest

from medrepro.data.datasets import atm22, is_fixture
from medrepro.data.io import NiftiError


def test_fixture_round_trip(tmp_path):
    root = atm22.make_fixture(tmp_path / "atm", n_cases=3, size=16)
    assert is_fixture(root)
    ids = atm22.case_ids(root)
    assert ids == ["ATM_001_0000", "ATM_002_0000", "ATM_003_0000"]          # ATM_164_0000 is on disk, not listed
    assert (root / "TrainBatch2" / "imagesTr" / "ATM_003_0000.nii.gz").is_file()
    c = atm22.load_case(root, "ATM_003_0000")
    ref = nib.load(root / "TrainBatch2" / "imagesTr" / "ATM_003_0000.nii.gz")
    assert ref.get_data_dtype() == np.int16 and c.spacing == pytest.approx((0.7, 0.7, 0.8))
    np.testing.assert_array_equal(c.image, ref.get_fdata(dtype=np.float32))
    assert c.label.dtype == np.uint8 and set(np.unique(c.label)) == {0, 1}


def test_named_errors(tmp_path):
    root = atm22.make_fixture(tmp_path / "atm", n_cases=2, size=16)
    p = atm22.paths(root, "ATM_001_0000")
    with pytest.raises(FileNotFoundError, match="TrainBatch"):
        atm22.case_ids(tmp_path)
    with pytest.raises(ValueError, match="ATM_001_0000"):
        atm22.paths(root, "case1")
    bad = np.asarray(nib.load(p["label"]).dataobj).copy()
    bad[0, 0, 0] = 2
    p["label"].unlink()
    nib.save(nib.Nifti1Image(bad, nib.load(p["image"]).affine), p["label"])
    with pytest.raises(atm22.Atm22FormatError, match="labelsTr/ATM_001_0000.nii.gz.*0/1"):
        atm22.load_case(root, "ATM_001_0000")
    p2 = atm22.paths(root, "ATM_002_0000")
    p2["label"].unlink()
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.uint8), nib.load(p2["image"]).affine), p2["label"])
    with pytest.raises(atm22.Atm22FormatError, match="grid"):
        atm22.load_case(root, "ATM_002_0000")
    p2["image"].write_bytes(gzip.compress(b"not a nifti")[:10])
    with pytest.raises(NiftiError, match="imagesTr/ATM_002_0000.nii.gz"):
        atm22.load_case(root, "ATM_002_0000")
    p2["image"].unlink()
    with pytest.raises(FileNotFoundError, match="imagesTr/ATM_002_0000.nii.gz"):
        atm22.load_case(root, "ATM_002_0000")
    with pytest.raises(FileExistsError):
        atm22.write_case(root, "ATM_001_0000", np.zeros((4, 4, 4)), np.zeros((4, 4, 4)))
