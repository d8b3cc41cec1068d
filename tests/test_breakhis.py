"""medrepro.data.datasets.breakhis and medrepro.sim.histology: BreakHis's layout read back as Pillow reads it; the
file-name convention parsed as kaiko-ai/eva parses it; bad input named in the error; the simulator's two kinds of
evidence."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from medrepro.data.datasets import breakhis as bh, is_fixture
from medrepro.sim.histology import CLASSES, LAYOUTS, simulate_he


@pytest.fixture()
def root(tmp_path):
    return bh.make_fixture(tmp_path / "bh", seed=1, n_patients=8, images_per_patient=2, size=24)


def test_layout_names_and_pixels_against_pil(root):
    assert is_fixture(root)
    d = bh.load(root)
    assert d.images.shape == (16, 3, 24, 24) and sorted(set(d.labels)) == list(range(8))
    for k, p in enumerate(d.paths):
        rel = p.relative_to(root / "BreaKHis_v1" / "histology_slides" / "breast").parts
        assert rel[0] == ("malignant" if d.labels[k] >= 4 else "benign") and rel[1] == "SOB"
        assert rel[2] == bh.CLASSES[d.labels[k]] and rel[4] == "40X" and rel[3].endswith(d.patient[k])
        # eva's conventions: the class is name.split("-")[0].split("_")[-1], the patient name.split("-")[2]
        assert p.name.split("-")[0].split("_")[-1] == bh.ABBREV[d.labels[k]]
        assert p.name.split("-")[2] == d.patient[k]
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            np.testing.assert_array_equal(d.images[k], np.asarray(im, np.float32).transpose(2, 0, 1) / 255)
    assert bh.count_images(root) == {"40X": 16, "100X": 0, "200X": 0, "400X": 0}
    assert len(bh.load(root / "BreaKHis_v1").paths) == 16                          # the BreaKHis_v1 folder itself


def test_resize_max_per_patient_and_magnifications(root):
    d = bh.load(root, size=16, max_per_patient=1)
    assert d.images.shape == (8, 3, 16, 16) and len(set(d.patient)) == 8
    with Image.open(d.paths[0]) as im:
        ref = np.asarray(im.resize((16, 16), Image.BILINEAR), np.float32).transpose(2, 0, 1) / 255
    np.testing.assert_array_equal(d.images[0], ref)
    with pytest.raises(bh.BreakHisLayoutError, match="100X"):
        bh.load(root, ["100X"])
    with pytest.raises(ValueError, match="magnifications"):
        bh.load(root, ["50X"])


def test_real_name_parsed_and_mismatch_named(root):
    f = bh.parse_name("SOB_B_A-14-22549AB-40-001.png")
    assert (f["tumour"], f["cls"], f["slide"], f["mag"], f["seq"]) == ("B", "A", "22549AB", "40", "001")
    with pytest.raises(ValueError, match="not a BreakHis file name"):
        bh.parse_name("image_001.png")
    p = next(iter(sorted((root / "BreaKHis_v1").rglob("*.png"))))
    bad = p.with_name(p.name.replace("-40-", "-100-"))
    p.rename(bad)
    with pytest.raises(ValueError, match="100X, the folder 40X"):
        bh.index(root)


def test_missing_layout_is_named(tmp_path):
    with pytest.raises(bh.BreakHisLayoutError, match="histology_slides/breast"):
        bh.load(tmp_path)


def test_simulator_shapes_determinism_and_patients():
    a = simulate_he(16, 3, size=24, seed=5)
    b = simulate_he(16, 3, size=24, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (48, 3, 24, 24) and a.images.dtype == np.float32
    assert 0 <= a.images.min() and a.images.max() <= 1
    assert list(a.labels[::3]) == [p % 8 for p in range(16)] and (a.malignant == (a.labels >= 4)).all()
    assert (a.patient == np.repeat(np.arange(16), 3)).all()
    with pytest.raises(ValueError):
        simulate_he(0)
    with pytest.raises(ValueError, match="classes"):
        simulate_he(4, classes=(9,))


def test_simulator_evidence_malignant_nuclei_and_layout_frequency():
    s = simulate_he(64, 4, size=32, seed=0, texture=0.0)
    hema = -np.log10(np.clip(s.images, 1e-3, 1)).mean(1)              # optical density, nuclei dominate
    dark = (hema > np.quantile(hema, 0.9)).mean((1, 2))
    assert dark[s.malignant == 1].mean() > dark[s.malignant == 0].mean()   # more, larger, darker nuclei
    # eosin by colour deconvolution: per subtype, its mean |DCT coefficient| (DC excluded) peaks at its (u, v)
    from scipy.fft import dctn
    from skimage.color import rgb2hed
    eosin = ndimage.gaussian_filter(rgb2hed(s.images.transpose(0, 2, 3, 1))[..., 1], (0, 2, 2))
    coef = np.abs(dctn(eosin, axes=(1, 2), norm="ortho"))[:, :3, :3]
    coef[:, 0, 0] = 0
    for sub, (u, v) in enumerate(LAYOUTS):
        mean = coef[s.labels % 4 == sub].mean(0)
        assert np.unravel_index(np.argmax(mean), mean.shape) == (v, u), (sub, mean.round(3))   # rows: y, columns: x
    assert len(CLASSES) == 8
