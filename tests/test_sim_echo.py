"""The echo simulator (medrepro.sim.echo) and the DICOM cine reader/writer (medrepro.data.io).

The reader is checked on the real apical four-chamber cine that ships in pydicom-data (JPEG baseline, YBR)
against pydicom's own decoding, and on a cine written by pydicom itself (not by medrepro's writer); the
writer's files are read back by pydicom.
"""
from __future__ import annotations

import time

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medrepro.data import io
from medrepro.sim import echo


@pytest.fixture(scope="module")
def cines():
    return echo.simulate_cines(3, echo.EchoSpec(size=48, seconds=1.5, clutter=1.0, reverberation=1.0), seed=3)


def test_shapes_labels_and_determinism(cines):
    n, T = 3, int(round(30 * 1.5))
    assert cines.frames.shape == (n, T, 48, 48) == cines.clean.shape == cines.labels.shape
    assert cines.frames.dtype == np.float32 and 0 <= cines.frames.min() and cines.frames.max() <= 1
    assert set(np.unique(cines.labels)) == {0, 1, 2, 3}
    assert not cines.labels[:, :, ~cines.sector].any()          # nothing labelled outside the sector
    again = echo.simulate_cines(3, echo.EchoSpec(size=48, seconds=1.5, clutter=1.0, reverberation=1.0), seed=3)
    np.testing.assert_array_equal(again.frames, cines.frames)
    other = echo.simulate_cines(3, echo.EchoSpec(size=48, seconds=1.5, clutter=1.0, reverberation=1.0), seed=4)
    assert not np.array_equal(other.frames, cines.frames)


def test_true_ef_volumes_and_phases(cines):
    # the half-ellipsoid volume falls by exactly the drawn EF from c = 0 (ED) to c = 1 (ES)
    L, a = cines.meta["lv_length_mm"], cines.meta["lv_radius_mm"]
    ls = cines.meta["longitudinal_shortening"]
    as_ = 1 - np.sqrt((1 - cines.ef) / (1 - ls))
    v_es = (2 / 3) * np.pi * (a * (1 - as_)) ** 2 * L * (1 - ls) / 1000
    np.testing.assert_allclose(1 - v_es / cines.meta["edv_ml"], cines.ef, rtol=1e-10)
    for k in range(len(cines)):
        c = cines.contraction[k]
        assert c.min() >= 0 and c.max() <= 1 + 1e-9
        # ED frames sit near c = 0 (largest volume), ES frames near c = 1 (smallest)
        assert (c[cines.ed_frames[k]] < 0.2).all() and (c[cines.es_frames[k]] > 0.8).all()
        cav = (cines.labels[k] == 1).sum((1, 2))
        assert np.corrcoef(cav, cines.volume[k])[0, 1] > 0.9     # the labelled cavity follows the volume


def test_area_length_ef_tracks_true_ef():
    spec = echo.EchoSpec(size=96, seconds=1.2, ef_range=(0.2, 0.75))
    c = echo.simulate_cines(6, spec, seed=0)
    est = [echo.area_length_ef(c.labels[k], c.ed_frames[k][0], c.es_frames[k][0], c.pixel_mm) for k in range(6)]
    assert np.corrcoef(est, c.ef)[0, 1] > 0.8
    assert np.abs(np.asarray(est) - c.ef).mean() < 0.12


def test_contrast_speckle_and_quasi_static_clutter(cines):
    f, lab = cines.clean, cines.labels
    assert f[lab == 2].mean() > f[lab == 1].mean() + 0.3         # bright myocardium, dark blood
    diff = cines.frames - cines.clean
    assert np.abs(diff).mean() > 0.02                            # clutter is visible
    # the clutter pattern barely changes between consecutive frames (quasi-static), the tissue does more
    def frame_corr(x):
        a, b = x[:, :-1].reshape(len(x), -1), x[:, 1:].reshape(len(x), -1)
        return np.mean([np.corrcoef(a[i], b[i])[0, 1] for i in range(len(x))])
    assert frame_corr(diff) > 0.8
    clean_only = echo.simulate_cines(1, echo.EchoSpec(size=32, seconds=0.5), seed=1)
    np.testing.assert_array_equal(clean_only.frames, clean_only.clean)


def test_envelope_is_rayleigh_in_a_homogeneous_region():
    """Fully developed speckle: the envelope of a uniform region has the Rayleigh SNR mean/sd = 1.91."""
    from scipy import ndimage

    # blood as echogenic as myocardium and no texture: the LV cavity is a uniform scattering region
    spec = echo.EchoSpec(size=128, seconds=0.2, texture=0.0, blood=1.0, dynamic_range_db=150.0, noise_db=-120)
    c = echo.simulate_cines(2, spec, seed=2)
    env = 10 ** ((c.clean - 0.7) * spec.dynamic_range_db / 20)   # invert the display mapping (no clipping)
    inner = np.stack([[ndimage.binary_erosion(f == 1, iterations=4) for f in cine] for cine in c.labels])
    vals = env[inner]
    assert vals.size > 2000
    assert 1.75 < vals.mean() / vals.std() < 2.05


def test_vendor_presets_differ_and_validate():
    a = echo.simulate_cines(1, echo.vendor_spec("A", size=48, seconds=0.3), seed=0)
    b = echo.simulate_cines(1, echo.vendor_spec("B", size=48, seconds=0.3), seed=0)
    assert a.sector.sum() * a.pixel_mm ** 2 > b.sector.sum() * b.pixel_mm ** 2   # B has the narrower sector
    contrast = lambda c: c.clean[c.labels == 2].mean() - c.clean[c.labels == 1].mean()
    assert contrast(a) > contrast(b) + 0.05                      # B: brighter blood, narrower dynamic range
    with pytest.raises(ValueError, match="unknown vendor"):
        echo.vendor_spec("C")
    with pytest.raises(ValueError, match="view"):
        echo.EchoSpec(view="plax")
    assert echo.simulate_cines(1, echo.EchoSpec(size=32, seconds=0.3, view="a2c"), seed=0).labels.max() == 3


def test_speed_two_second_cine():
    echo.simulate_cines(1, echo.EchoSpec(size=64), seed=0)       # warm-up
    t0 = time.process_time()                                     # CPU time: less sensitive to a busy machine
    echo.simulate_cines(2, echo.EchoSpec(size=64), seed=1)
    assert (time.process_time() - t0) / 2 < 3.0                  # ~0.6 s of CPU per cine measured; lenient


# ------------------------------------------------------------------------------------------ DICOM cine
def test_reader_on_the_real_apical_four_chamber_cine():
    from pydicom.data import get_testdata_file

    path = get_testdata_file("color3d_jpeg_baseline.dcm")
    cine = io.read_dicom_cine(path, frames=[0, 50, 119])
    assert cine.frames.shape == (3, 480, 640) and cine.frames.dtype == np.uint8
    assert cine.n_frames_in_file == 120 and abs(cine.fps - 30.0) < 0.01
    assert cine.pixel_mm == pytest.approx((0.5105, 0.5105), abs=1e-4) and cine.region == (84, 31, 595, 414)
    ref = pydicom.dcmread(path).pixel_array[50].astype(float)    # pydicom's decoding (YBR → RGB), all frames
    luma = np.rint(ref @ [0.299, 0.587, 0.114])
    assert np.abs(luma - cine.frames[1]).max() <= 1
    rgb = io.read_dicom_cine(path, frames=[50], gray=False)
    np.testing.assert_array_equal(rgb.frames[0], ref.astype(np.uint8))


def _pydicom_cine(path, frames, frame_time_vector=None):
    """A cine written by pydicom directly (not medrepro's writer)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SamplesPerPixel, ds.PhotometricInterpretation = "US", 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = frames.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frame_time_vector is not None:
        ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1065)
        ds.FrameTimeVector = frame_time_vector
    ds.PixelData = frames.tobytes()
    ds.save_as(str(path), enforce_file_format=True)
    return path


def test_reader_on_a_cine_written_by_pydicom(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 20, 24), dtype=np.uint8)
    p = _pydicom_cine(tmp_path / "c.dcm", frames, frame_time_vector=[0, 20, 20, 20, 20])
    cine = io.read_dicom_cine(p)
    np.testing.assert_array_equal(cine.frames, frames)
    assert cine.frame_time_ms == 20 and cine.fps == 50 and cine.pixel_mm is None
    np.testing.assert_array_equal(io.read_dicom_cine(p, frames=slice(1, 4)).frames, frames[1:4])


def test_writer_is_read_identically_by_pydicom(tmp_path):
    c = echo.simulate_cines(1, echo.EchoSpec(size=32, seconds=0.5), seed=0)
    u8 = c.to_uint8()[0]
    p = io.write_dicom_cine(tmp_path / "sim.dcm", u8, fps=c.fps, pixel_mm=c.pixel_mm)
    ds = pydicom.dcmread(p)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.3.1" and int(ds.NumberOfFrames) == len(u8)
    np.testing.assert_array_equal(ds.pixel_array, u8)
    back = io.read_dicom_cine(p)
    np.testing.assert_array_equal(back.frames, u8)
    assert back.fps == pytest.approx(c.fps, rel=1e-4) and back.pixel_mm[0] == pytest.approx(c.pixel_mm)


def test_bad_input_names_the_file_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.read_dicom_cine(tmp_path / "missing.dcm")
    bad = tmp_path / "not.dcm"
    bad.write_bytes(b"hello, not DICOM")
    with pytest.raises(io.DicomError, match="not.dcm"):
        io.read_dicom_cine(bad)
    p = _pydicom_cine(tmp_path / "c.dcm", np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(io.DicomError, match="has 2 frames"):
        io.read_dicom_cine(p, frames=[5])
    with pytest.raises(ValueError, match="uint8"):
        io.write_dicom_cine(tmp_path / "x.dcm", np.zeros((2, 4, 4), np.float32), fps=30, pixel_mm=0.3)
    assert not (tmp_path / "x.dcm").exists() and not list(tmp_path.glob("*.part"))


def test_add_clutter_is_quasi_static_and_leaves_the_outside_black():
    c = echo.simulate_cines(2, echo.EchoSpec(size=40, seconds=0.5), seed=0)
    d = echo.add_clutter(c.clean, seed=1)
    assert d.shape == c.clean.shape and d.dtype == np.float32
    assert not d[:, :, ~c.sector].any()                          # nothing outside the sector
    assert np.abs(d - c.clean).mean() > 0.005
    near = d[:, :, :8].mean() - c.clean[:, :, :8].mean()         # haze brightens the near field ...
    far = d[:, :, 25:].mean() - c.clean[:, :, 25:].mean()
    assert near > far                                            # ... more than the far field
    np.testing.assert_array_equal(echo.add_clutter(c.clean, seed=1), d)     # deterministic by seed
    none = echo.add_clutter(c.clean, seed=1, haze=0.0, reverberation=0.0)
    assert np.abs(none - c.clean).max() < 2e-3                   # no clutter: the round trip keeps the image
    with pytest.raises(ValueError, match="n, T, H, W"):
        echo.add_clutter(c.clean[0])
