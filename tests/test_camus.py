"""CAMUS layout: the fixture is written with nibabel in CAMUS's conventions and the loader reads what nibabel reads."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medrepro.data import manifest
from medrepro.data.datasets import camus, is_fixture


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return camus.make_fixture(tmp_path_factory.mktemp("camus"), seed=0, n_patients=3, size=32)


def test_fixture_layout_matches_the_manifest(root):
    m = manifest.load("camus")
    assert is_fixture(root)
    assert manifest.locate("camus", root) == root / "database_nifti"
    assert not manifest.missing_layout(root / m.root, m.layout)
    d = root / "database_nifti" / "patient0001"
    for view in camus.VIEWS:
        for suffix in ("half_sequence", "half_sequence_gt", "ED", "ED_gt", "ES", "ES_gt"):
            assert (d / f"patient0001_{view}_{suffix}.nii.gz").is_file()
        assert (d / f"Info_{view}.cfg").is_file()


def test_loader_agrees_with_nibabel(root):
    seq = camus.load_sequence(root, "patient0002", "4CH")
    img = nib.load(str(root / "database_nifti" / "patient0002" / "patient0002_4CH_half_sequence.nii.gz"))
    raw = np.asarray(img.dataobj)                          # nibabel: (width, height, frames), uint8
    assert raw.dtype == np.uint8 and raw.shape[2] == len(seq.frames)
    np.testing.assert_allclose(seq.frames, np.transpose(raw, (2, 1, 0)) / 255.0, atol=1e-6)
    gt = np.asarray(nib.load(str(root / "database_nifti" / "patient0002" / "patient0002_4CH_half_sequence_gt.nii.gz")).dataobj)
    np.testing.assert_array_equal(seq.labels, np.transpose(gt, (2, 1, 0)))
    assert set(np.unique(seq.labels)) <= {0, 1, 2, 3} and (seq.labels == 1).any()
    # the ED single-frame file is the first frame of the half-sequence; the sector apex is at the top
    ed = np.asarray(nib.load(str(root / "database_nifti" / "patient0002" / "patient0002_4CH_ED.nii.gz")).dataobj)
    np.testing.assert_allclose(np.transpose(ed, (2, 1, 0))[0] / 255.0, seq.frames[seq.ed], atol=1e-6)
    W = seq.frames.shape[2]
    top = np.flatnonzero(seq.frames[:, 1].max(0) > 0)            # near the top, only the apex of the sector is lit
    assert top.size and abs(top.mean() - W / 2) < W / 6 and top.size < W / 2
    assert seq.spacing_mm[0] == pytest.approx(img.header.get_zooms()[1])
    assert seq.info["ImageQuality"] in ("Good", "Medium", "Poor") and int(seq.info["NbFrame"]) == len(seq.frames)


def test_bad_files_name_the_file(root, tmp_path):
    import shutil

    bad = tmp_path / "database_nifti"
    shutil.copytree(root / "database_nifti", bad)
    (bad / "patient0001" / "Info_4CH.cfg").write_text("ED: 1\nES: 3\nNbFrame: 99\n")
    with pytest.raises(camus.CamusFormatError, match="NbFrame 99"):
        camus.load_sequence(bad, "patient0001", "4CH")
    (bad / "patient0001" / "Info_4CH.cfg").write_text("ED: one\n")
    with pytest.raises(camus.CamusFormatError, match="Info_4CH.cfg"):
        camus.load_sequence(bad, "patient0001", "4CH")
    (bad / "patient0002" / "patient0002_4CH_half_sequence.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match="patient0002_4CH_half_sequence"):
        camus.load_sequence(bad, "patient0002", "4CH")
    with pytest.raises(FileNotFoundError):
        camus.list_patients(tmp_path / "nowhere")
