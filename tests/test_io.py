import numpy as np
import pytest

from medrepro.data import io


def test_wfdb_round_trip(tmp_path):
    sig = np.random.default_rng(0).normal(scale=0.5, size=(500, 3))
    io.write_wfdb(tmp_path / "r1", sig, fs=250, lead_names=["I", "II", "V1"], comments=["age: 50"])
    rec = io.read_wfdb(tmp_path / "r1", expect_leads=["I", "II", "V1"], expect_fs=250)
    assert rec.signal.shape == (500, 3) and rec.fs == 250 and rec.comments == ["age: 50"]
    assert np.abs(rec.signal - sig).max() < 1e-3


def test_wfdb_truncated_signal_file(tmp_path):
    io.write_wfdb(tmp_path / "r1", np.zeros((1000, 2)), fs=100, lead_names=["I", "II"])
    dat = tmp_path / "r1.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(io.WfdbHeaderError, match=r"r1.hea declares 2 signals × 1000 samples.*truncated"):
        io.read_wfdb(tmp_path / "r1")


def test_wfdb_header_disagrees_with_data(tmp_path):
    io.write_wfdb(tmp_path / "r1", np.zeros((100, 2)), fs=100, lead_names=["I", "II"])
    hea = tmp_path / "r1.hea"
    hea.write_text(hea.read_text().replace("r1 2 100 100", "r1 2 100 5000"))
    with pytest.raises(io.WfdbHeaderError, match="5000"):
        io.read_wfdb(tmp_path / "r1")


def test_wfdb_unexpected_leads_and_missing_files(tmp_path):
    io.write_wfdb(tmp_path / "r1", np.zeros((100, 2)), fs=100, lead_names=["I", "II"])
    with pytest.raises(io.WfdbHeaderError, match="expected"):
        io.read_wfdb(tmp_path / "r1", expect_leads=["I", "III"])
    with pytest.raises(io.WfdbHeaderError, match="sampling rate"):
        io.read_wfdb(tmp_path / "r1", expect_fs=500)
    (tmp_path / "r1.dat").unlink()
    with pytest.raises(FileNotFoundError, match="r1.dat"):
        io.read_wfdb(tmp_path / "r1")
    with pytest.raises(FileNotFoundError, match="nope.hea"):
        io.read_wfdb(tmp_path / "nope")


def test_wfdb_malformed_header(tmp_path):
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(io.WfdbHeaderError, match="bad.hea"):
        io.read_wfdb(tmp_path / "bad")


def test_write_wfdb_refuses_nan(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        io.write_wfdb(tmp_path / "r", np.full((10, 1), np.nan), fs=10, lead_names=["I"])


def test_nifti_round_trip_and_validation(tmp_path):
    vol = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    io.write_nifti(tmp_path / "v.nii.gz", vol, spacing=(1.5, 1.5, 10))
    img = io.read_nifti(tmp_path / "v.nii.gz", ndim=3)
    assert np.allclose(img.array, vol) and img.spacing == (1.5, 1.5, 10.0)
    with pytest.raises(io.NiftiError, match="has 3 dimensions"):
        io.read_nifti(tmp_path / "v.nii.gz", ndim=(2, 4))
    vol[0, 0, 0] = np.nan
    io.write_nifti(tmp_path / "nan.nii.gz", vol)
    with pytest.raises(io.NiftiError, match="nan.nii.gz: contains 1 NaN"):
        io.read_nifti(tmp_path / "nan.nii.gz")
    assert not list(tmp_path.glob(".tmp-*"))


def test_nifti_truncated(tmp_path):
    io.write_nifti(tmp_path / "v.nii.gz", np.ones((32, 32, 8)))
    p = tmp_path / "v.nii.gz"
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(io.NiftiError, match="v.nii.gz"):
        io.read_nifti(p)


def test_dicom_without_pixel_data(tmp_path):
    from pydicom import examples

    ds = examples.ct
    del ds.PixelData
    path = tmp_path / "nopix.dcm"
    ds.save_as(path)
    with pytest.raises(io.DicomError, match="nopix.dcm: has no pixel data"):
        io.read_dicom(path)


def test_dicom_reads_pixels_and_rejects_garbage(tmp_path):
    from pydicom import examples

    path = tmp_path / "ct.dcm"
    examples.ct.save_as(path)
    px, ds = io.read_dicom(path)
    assert px.shape == (128, 128)
    (tmp_path / "junk.dcm").write_bytes(b"junk" * 10)
    with pytest.raises(io.DicomError, match="junk.dcm"):
        io.read_dicom(tmp_path / "junk.dcm")


def test_dicom_waveform_12_lead():
    from pydicom.data import get_testdata_file

    sig, fs, names = io.read_dicom_waveform(get_testdata_file("waveform_ecg.dcm"))
    assert sig.shape == (10000, 12) and fs == 1000.0 and len(names) == 12
    assert 0.05 < np.abs(sig).max() < 10  # millivolts


def test_fast_format16_round_trip_and_faults(tmp_path):
    sig = np.random.default_rng(1).normal(scale=0.8, size=(400, 3))
    io.write_wfdb16(tmp_path / "r", sig, fs=100, lead_names=["I", "II", "V1"], comments=["age: 61"])
    rec = io.read_wfdb16(tmp_path / "r", expect_leads=["I", "II", "V1"], expect_fs=100)
    assert np.abs(rec.signal - sig).max() < 1e-3 and rec.comments == ["age: 61"]
    slow = io.read_wfdb(tmp_path / "r")                      # the wfdb package agrees with the fast path
    assert np.allclose(slow.signal, rec.signal, atol=1e-6)
    dat = tmp_path / "r.dat"
    raw = bytearray(dat.read_bytes())
    raw[10] ^= 0x01
    dat.write_bytes(bytes(raw))
    with pytest.raises(io.WfdbHeaderError, match="checksum"):
        io.read_wfdb16(tmp_path / "r")
    dat.write_bytes(bytes(raw[:100]))
    with pytest.raises(io.WfdbHeaderError, match="r.hea declares 3 signals × 400 samples.*truncated"):
        io.read_wfdb16(tmp_path / "r")
