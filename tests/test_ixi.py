"""medrepro.data.datasets.ixi: layout, resampling onto the T2 grid and clear errors on bad files."""
import gzip

import nibabel as nib
import numpy as np
import pytest

from medrepro.data.datasets import ixi
from medrepro.data.io import NiftiError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return ixi.make_fixture(tmp_path_factory.mktemp("ixi") / "IXI", seed=0, n_subjects=3)


def test_ids_and_paths(root):
    ids = ixi.subject_ids(root)
    assert ids == ["IXI002-Guys-1000", "IXI003-HH-1001", "IXI004-IOP-1002"]
    assert ixi.path(root, ids[1], "PD") == root / "IXI-PD" / "IXI003-HH-1001-PD.nii.gz"


def test_load_equals_nibabel_and_resamples_t1(root):
    ids = ixi.subject_ids(root)
    s = ixi.load_subject(root, ids[1])
    for seq in ixi.SEQUENCES:
        np.testing.assert_array_equal(s.images[seq], nib.load(ixi.path(root, ids[1], seq)).get_fdata(dtype=np.float32))
    s0 = ixi.load_subject(root, ids[0])          # its T1 is stored on a coarser grid
    assert nib.load(ixi.path(root, ids[0], "T1")).shape != s0.images["T2"].shape
    assert s0.images["T1"].shape == s0.images["T2"].shape
    assert s0.site == "Guys"


def test_files_in_the_root_are_found(tmp_path):
    vol = np.ones((4, 4, 2), np.float32)
    for seq in ixi.SEQUENCES:
        nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / f"IXI012-HH-1211-{seq}.nii.gz")
    assert ixi.subject_ids(tmp_path) == ["IXI012-HH-1211"]
    assert ixi.load_subject(tmp_path, "IXI012-HH-1211").images["PD"].shape == (4, 4, 2)


def test_bad_files_name_the_file(tmp_path):
    ixi.write_subject(tmp_path, "IXI002-Guys-0828", {"T1": np.ones((4, 4, 2)), "T2": np.ones((4, 4, 2))}, np.eye(4))
    with pytest.raises(FileNotFoundError, match="IXI002-Guys-0828-PD.nii.gz"):
        ixi.load_subject(tmp_path, "IXI002-Guys-0828")
    p = ixi.path(tmp_path, "IXI002-Guys-0828", "T2")
    p.write_bytes(gzip.compress(b"not a nifti"))
    with pytest.raises(NiftiError, match="IXI002-Guys-0828-T2.nii.gz"):
        ixi.load_subject(tmp_path, "IXI002-Guys-0828", ("T1", "T2"))
    with pytest.raises(FileExistsError):
        ixi.write_subject(tmp_path, "IXI002-Guys-0828", {"T1": np.ones((4, 4, 2))}, np.eye(4))
