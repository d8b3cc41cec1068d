"""Simulated stroke MRI (medrepro.sim.stroke_mri) and the ISLES 2022 BIDS reader, checked with nibabel."""
import json
from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest

from medrepro.data.datasets import isles22
from medrepro.sim import stroke_mri


def test_mni_tissues_are_the_shipped_template():
    t = stroke_mri.mni_tissues(4)
    assert t["t1"].shape == (197 // 4, 233 // 4, 189 // 4)
    vol_ml = t["mask"].sum() * 64 / 1000
    assert 1000 < vol_ml < 2000                                       # an adult brain: about 1.1-1.6 litres
    np.testing.assert_allclose(np.diag(t["affine"])[:3], [4, 4, 4])


def test_contrast_rules_hold_in_every_case():
    cases = stroke_mri.simulate_stroke(4, spec=replace(stroke_mri.StrokeSpec(), noise=0.0, bias=0.0), seed=1)
    for c in cases:
        if not c.mask.any():
            continue
        les, normal = c.mask > 0, (c.brain > 0) & (c.mask == 0)
        # restricted diffusion: bright DWI; S = S0·exp(-b·ADC) with a 30-50 % ADC drop gives at least ~1.25x
        assert np.median(c.dwi[les]) > 1.2 * np.median(c.dwi[normal])
        assert np.median(c.adc[les]) < 0.8 * np.median(c.adc[normal])     # and dark ADC
    early = stroke_mri.simulate_stroke(1, spec=replace(stroke_mri.StrokeSpec(), onset_h=(0.5, 0.9), noise=0.0,
                                                       bias=0.0, p_territorial=1.0), seed=2)[0]
    late = stroke_mri.simulate_stroke(1, spec=replace(stroke_mri.StrokeSpec(), onset_h=(20, 24), noise=0.0,
                                                      bias=0.0, p_territorial=1.0), seed=2)[0]
    ratio = lambda c: np.median(c.flair[c.mask > 0]) / np.median(c.flair[(c.brain > 0) & (c.mask == 0)])  # noqa
    assert ratio(late) > ratio(early) + 0.2                               # DWI-FLAIR mismatch early on


def test_isles22_layout_read_identically_by_nibabel(tmp_path):
    root = isles22.make_fixture(tmp_path / "isles22", seed=0, n_cases=2)
    ids = isles22.case_ids(root)
    assert ids == ["sub-strokecase0001", "sub-strokecase0002"]
    p = isles22.paths(root, ids[1])
    assert p["dwi"].name == "sub-strokecase0002_ses-0001_dwi.nii.gz"
    assert p["msk"].parent == root / "derivatives" / ids[1] / "ses-0001"
    assert json.loads(p["dwi"].with_name(p["dwi"].name.replace(".nii.gz", ".json")).read_text())["dataset"] == "ISLES_22"
    case = isles22.load_case(root, ids[1])
    np.testing.assert_array_equal(case.dwi, nib.load(p["dwi"]).get_fdata(dtype=np.float32))
    np.testing.assert_array_equal(case.mask, np.asarray(nib.load(p["msk"]).dataobj))
    # the first case's FLAIR lies on a coarser grid; the loader resamples it onto the DWI grid
    first = isles22.load_case(root, ids[0])
    assert nib.load(isles22.paths(root, ids[0])["flair"]).shape != first.dwi.shape
    assert first.flair.shape == first.dwi.shape
    assert first.voxel_ml == pytest.approx(0.064, rel=1e-5)


def test_isles22_reader_names_the_file_on_bad_input(tmp_path):
    root = isles22.make_fixture(tmp_path / "isles22", seed=0, n_cases=1)
    cid = isles22.case_ids(root)[0]
    p = isles22.paths(root, cid)
    img = nib.load(p["msk"])
    bad = np.asarray(img.dataobj).copy()
    bad[0, 0, 0] = 2
    nib.save(nib.Nifti1Image(bad, img.affine), p["msk"])
    with pytest.raises(isles22.Isles22FormatError, match="msk.nii.gz.*expected 0/1"):
        isles22.load_case(root, cid)
    p["adc"].write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(isles22.Isles22FormatError, match="adc.nii.gz"):
        isles22.load_case(root, cid)
    p["dwi"].unlink()
    with pytest.raises(isles22.Isles22FormatError, match="missing file.*dwi.nii.gz"):
        isles22.load_case(root, cid)
    with pytest.raises(FileExistsError):
        isles22.write_case(root, cid, {m: np.zeros((2, 2, 2)) for m in isles22.MODALITIES}, np.zeros((2, 2, 2)),
                           np.eye(4))
