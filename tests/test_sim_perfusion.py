"""Tests for the first-pass perfusion simulator (medrepro.sim.perfusion) and the ACDC series reader/writer."""
import numpy as np
import pytest

from medrepro.sim.perfusion import EXTERNAL, INTERNAL, LV, MYO, RV, gamma_variate, simulate_perfusion


@pytest.fixture(scope="module")
def internal():
    return simulate_perfusion(6, n_frames=16, size=32, domain=INTERNAL, seed=3)


def test_gamma_variate_peak_and_onset():
    t = np.linspace(0, 20, 2001)
    c = gamma_variate(t, 2.0, 2.5, 1.2)
    assert (c[t <= 2.0] == 0).all()
    assert np.isclose(c.max(), 1.0, atol=1e-6)
    assert np.isclose(t[np.argmax(c)], 2.0 + 2.5 * 1.2, atol=0.01)     # peak at t0 + alpha * beta


def test_shapes_labels_and_determinism(internal):
    assert internal.images.shape == (6, 16, 32, 32) and internal.images.dtype == np.float32
    assert internal.labels.shape == (6, 32, 32) and set(np.unique(internal.labels)) == {0, RV, MYO, LV}
    assert np.isfinite(internal.images).all() and (internal.images >= 0).all()
    again = simulate_perfusion(6, n_frames=16, size=32, domain=INTERNAL, seed=3)
    assert np.array_equal(again.images, internal.images)
    assert not np.array_equal(simulate_perfusion(6, n_frames=16, size=32, seed=4).images, internal.images)


def test_bolus_arrives_rv_then_lv_then_myocardium(internal):
    peaks = internal.curves.argmax(2)                       # (N, 4) background, RV, MYO, LV
    assert (peaks[:, RV] < peaks[:, LV]).all() and (peaks[:, LV] < peaks[:, MYO]).all()
    # in the images: the RV cavity is brightest before the LV cavity, the myocardium enhances later still
    for i in range(len(internal)):
        m = [internal.images[i][:, internal.labels[i] == k].mean(1) for k in (RV, LV, MYO)]
        assert np.argmax(m[0]) <= np.argmax(m[1]) <= np.argmax(m[2])
        assert m[2].max() < m[1].max()                      # myocardial peak below the blood pool's


def test_defect_sector_enhances_less():
    s = simulate_perfusion(8, n_frames=20, size=32, domain=INTERNAL.__class__(noise=0.0, resp_px=(0.0, 0.0)),
                           seed=1)
    yy, xx = np.mgrid[0:32, 0:32]
    for i in range(len(s)):
        myo = s.labels[i] == MYO
        cy, cx = np.argwhere(s.labels[i] == LV).mean(0)
        d = np.angle(np.exp(1j * (np.arctan2(yy - cy, xx - cx) - s.defect[i])))
        peak = s.images[i].max(0)
        assert peak[myo & (np.abs(d) < 0.3)].mean() < peak[myo & (np.abs(d) > 1.2)].mean()


def test_external_domain_has_less_contrast(internal):
    ext = simulate_perfusion(6, n_frames=16, size=32, domain=EXTERNAL, seed=3)

    def cnr(s):
        return np.mean([(s.images[i][:, s.labels[i] == LV].mean(1).max() - s.images[i][0, s.labels[i] == MYO].mean())
                        for i in range(len(s))])
    assert cnr(ext) < cnr(internal)
    assert (ext.labels == MYO).sum() < (internal.labels == MYO).sum()     # a larger field of view: a smaller heart


def test_series_round_trip_through_acdc_layout(tmp_path, internal):
    import nibabel as nib

    from medrepro.data.datasets import acdc

    for i in range(3):
        info = dict(ED=1, ES=8, Group="NOR", Height=170.0, NbFrame=16, Weight=70.0)
        acdc.write_series(tmp_path, f"patient{i + 1:03d}", series=internal.images[i], label=internal.labels[i],
                          info=info)
    s = acdc.load_series(tmp_path)
    assert s.images.shape == (3, 16, 32, 32) and list(s.patient) == ["patient001", "patient002", "patient003"]
    assert np.array_equal(s.labels, internal.labels[:3])
    # nibabel reads the 4-D file as (X, Y, 1, T) int16; the loader's series is it, scaled to [0, 1]
    ref = np.asanyarray(nib.load(tmp_path / "training" / "patient002" / "patient002_4d.nii.gz").dataobj)
    assert ref.shape == (32, 32, 1, 16) and ref.dtype == np.int16
    series = np.moveaxis(ref[:, :, 0, :].astype(np.float32), 2, 0)
    assert np.corrcoef(series.ravel(), s.images[1].ravel())[0, 1] > 0.999
    assert np.abs(series / 1000.0 - internal.images[1]).max() <= 0.0006
    gt = np.asanyarray(nib.load(tmp_path / "training" / "patient002" / "patient002_frame01_gt.nii.gz").dataobj)
    assert np.array_equal(gt[:, :, 0], internal.labels[1])


def test_series_errors_name_the_file(tmp_path, internal):
    from medrepro.data.datasets import acdc

    info = dict(ED=1, ES=8, Group="NOR", Height=170.0, NbFrame=16, Weight=70.0)
    acdc.write_series(tmp_path, "patient001", series=internal.images[0], label=internal.labels[0], info=info)
    with pytest.raises(ValueError, match="NbFrame"):
        acdc.write_series(tmp_path, "patient002", series=internal.images[0][:5], label=internal.labels[0], info=info)
    (tmp_path / "training" / "patient001" / "patient001_4d.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match="patient001_4d"):
        acdc.load_series(tmp_path)


def test_series_from_the_acdc_fixture(tmp_path):
    from medrepro.data.datasets import acdc

    root = acdc.make_fixture(tmp_path, seed=0, n_training=2, n_testing=1, n_slices=2)
    s = acdc.load_series(root / "database", n_frames=6, size=32)
    assert s.images.shape == (4, 6, 32, 32) and s.labels.shape == (4, 32, 32)
    assert set(np.unique(s.labels)) <= {0, 1, 2, 3} and (s.labels == 2).any()
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0
