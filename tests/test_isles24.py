"""ISLES'24 loader (medrepro.data.datasets.isles24): layout, name variants, clinical flag, clear errors."""
from __future__ import annotations


import nibabel as nib
import numpy as np
import pytest

from medrepro.data.datasets import isles24


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return isles24.make_fixture(tmp_path_factory.mktemp("isles24"), seed=0, n_cases=3)


def test_layout_and_round_trip(root):
    ids = isles24.case_ids(root)
    assert ids == ["sub-stroke0001", "sub-stroke0002", "sub-stroke0003"]
    p = isles24.paths(root, ids[0])
    assert p["tmax"].relative_to(root).as_posix() == (
        "derivatives/sub-stroke0001/ses-01/perfusion-maps/sub-stroke0001_ses-01_space-ncct_tmax.nii.gz")
    assert p["msk"].relative_to(root).as_posix() == "derivatives/sub-stroke0001/ses-02/sub-stroke0001_ses-02_lesion-msk.nii.gz"
    assert p["ctp"].relative_to(root).as_posix() == "raw_data/sub-stroke0001/ses-01/sub-stroke0001_ses-01_ctp.nii.gz"
    # the second case uses the later archive's mask name
    assert isles24.paths(root, ids[1])["msk"].name == "sub-stroke0002_ses-02_space-ncct_lesion-msk.nii.gz"
    c = isles24.load_case(root, ids[0], ctp=True)
    np.testing.assert_array_equal(c.maps["tmax"], nib.load(p["tmax"]).get_fdata(dtype=np.float32))
    assert c.ctp.ndim == 4 and c.dt == 1.0 and c.ncct.shape == c.mask.shape
    assert c.voxel_ml == pytest.approx(0.064)
    assert isles24.reperfusion(c.clinical) in (True, False)


def test_downsample_block_means(root):
    c = isles24.load_case(root, "sub-stroke0001")
    d = isles24.load_case(root, "sub-stroke0001", downsample=(2, 2, 1))
    np.testing.assert_allclose(d.maps["cbf"][0, 0, 0], c.maps["cbf"][:2, :2, 0].mean(), rtol=1e-6)
    assert d.voxel_ml == pytest.approx(4 * c.voxel_ml)


@pytest.mark.parametrize("text, expected", [("2b", True), ("3", True), ("mTICI 2c", True), ("2a", False),
                                            ("0", False), ("", None), ("n/a", None)])
def test_reperfusion_parses_mtici(text, expected):
    assert isles24.reperfusion({"mTICI postinterventional": text}) is expected
    assert isles24.reperfusion({"Age": "70"}) is None


def test_missing_file_is_named(root, tmp_path):
    import shutil

    r = tmp_path / "copy"
    shutil.copytree(root, r)
    p = isles24.paths(r, "sub-stroke0001")["cbv"]
    p.unlink()
    with pytest.raises(isles24.Isles24FormatError, match="missing file: .*space-ncct_cbv"):
        isles24.load_case(r, "sub-stroke0001")


def test_malformed_files_are_named(root, tmp_path):
    import shutil

    r = tmp_path / "copy"
    shutil.copytree(root, r)
    p = isles24.paths(r, "sub-stroke0001")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.float32), np.eye(4)), p["mtt"])          # wrong grid
    with pytest.raises(isles24.Isles24FormatError, match="space-ncct_mtt.*differs from the lesion mask"):
        isles24.load_case(r, "sub-stroke0001")
    raw = p["cbf"].read_bytes()
    p["cbf"].write_bytes(raw[: len(raw) // 2])                                              # truncated gzip
    with pytest.raises(isles24.Isles24FormatError, match="space-ncct_cbf.*not a readable NIfTI"):
        isles24.load_case(r, "sub-stroke0001")
    m = nib.load(p["msk"])
    nib.save(nib.Nifti1Image(np.asarray(m.dataobj) * 2, m.affine), p["msk"])                # not 0/1
    with pytest.raises(isles24.Isles24FormatError, match="lesion-msk.*expected 0/1"):
        isles24.load_case(r, "sub-stroke0001")
    with pytest.raises(FileNotFoundError, match="derivatives"):
        isles24.case_ids(tmp_path)
    q = isles24.paths(r, "sub-stroke0002")["outcome"]
    q.write_text("a,b\n1\n")
    with pytest.raises(isles24.Isles24FormatError, match="outcome.csv"):
        isles24.load_case(r, "sub-stroke0002")


def test_write_refuses_to_overwrite(root):
    c = isles24.load_case(root, "sub-stroke0001")
    with pytest.raises(FileExistsError):
        isles24.write_case(root, "sub-stroke0001", maps=c.maps, mask=c.mask, affine=c.affine)
    with pytest.raises(ValueError, match="sub-stroke0001"):
        isles24.write_case(root, "sub-strokecase0001", maps=c.maps, mask=c.mask, affine=c.affine)
