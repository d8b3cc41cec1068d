"""ECG-image dataset module: real layout, duplicates, validation, simulated printouts, device filter."""
import numpy as np
import pytest
from PIL import Image

from medrepro.data import datasets
from medrepro.data.datasets import ecg_images as ei
from medrepro.data.manifest import check_layout, load as load_manifest, locate
from medrepro.sim.ecg import FINDINGS


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return ei.make_fixture(tmp_path_factory.mktemp("ecg_images"), seed=0, n_per_class=3)


def test_fixture_has_the_real_layout_and_round_trips(fixture_root):
    root = fixture_root
    assert datasets.is_fixture(root) and datasets.get("ecg_images") is ei
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(c.folder for c in ei.CLASSES)
    assert "Normal Person ECG Images (284x12=3408)" in folders
    m = load_manifest("ecg_images")
    check_layout(root, m.layout, "ecg_images")
    assert locate("ecg_images", root, download_ok=False) == root
    # 12 pages, every fifth written twice under the next number (exact duplicates, as in the real set)
    names = sorted(p.name for p in (root / ei.CLASSES[0].folder).iterdir())
    assert names == ["Normal(1).jpg", "Normal(2).jpg", "Normal(3).jpg", "Normal(4).jpg"]
    data = ei.load(root, size=(64, 128))
    assert data.images.shape == (15, 64, 128, 3) and data.images.dtype == np.uint8
    assert np.bincount(data.labels).tolist() == [4, 4, 4, 3] and data.n_unique == 12
    dup = data.paths.index(root / ei.CLASSES[0].folder / "Normal(2).jpg")
    assert data.groups[dup] == data.groups[dup - 1]                   # Normal(1) and Normal(2) are one page
    assert (data.paths[dup].read_bytes() == data.paths[dup - 1].read_bytes())
    gray = ei.load(root, size=(32, 64), gray=True, max_per_class=2, seed=1)
    assert gray.images.shape == (8, 32, 64) and gray.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    with Image.open(data.paths[0]) as im:                             # stored as RGB JPEG pages
        assert im.format == "JPEG" and im.mode == "RGB"


def test_parent_folder_renamed_folders_and_natural_order(tmp_path):
    sim = ei.simulate_classes(1, seed=2)
    pages = ei.render_pages(sim.signals, sim.fs, grid_size=(64, 128))
    inner = tmp_path / "gwbz3fsgp8-2"
    ei.write(inner, pages, sim.labels, copies=[11, 1, 1, 1])          # Normal(1) … Normal(11), all identical
    (inner / ei.CLASSES[3].folder).rename(inner / "ECG Images of Patient that have abnormal heartbeat")
    (inner / "Thumbs.db").write_bytes(b"not an image")
    assert ei.find_root(tmp_path) == inner                            # DATA_DIR may be the parent folder
    paths, labels = ei.list_files(tmp_path)
    normal = [p.name for p, k in zip(paths, labels) if k == 0]
    assert normal[:3] == ["Normal(1).jpg", "Normal(2).jpg", "Normal(3).jpg"] and normal[-1] == "Normal(11).jpg"
    assert len(set(ei.content_groups(paths[:11]))) == 1
    assert ei.class_of_folder("normal person ecg images") == 0 and ei.class_of_folder("Other") is None


def test_crop_recovers_the_lead_grid_and_colours_match_the_renderer(tmp_path):

    sim = ei.simulate_classes(1, seed=0)
    grid = (96, 192)
    pages = ei.render_pages(sim.signals[:1], sim.fs, grid_size=grid, noise_sd=0.0)
    ph, pw = pages.shape[1:]
    assert abs(pw / ph - 2 * (ei.GRID_BOX[3] - ei.GRID_BOX[1]) / (ei.GRID_BOX[2] - ei.GRID_BOX[0])) < 0.05
    ei.write(tmp_path, pages, [0], quality=95)
    img = ei.read_image(tmp_path / ei.CLASSES[0].folder / "Normal(1).jpg", crop=ei.GRID_BOX, gray=True)
    assert abs(img.shape[0] - grid[0]) <= 1 and abs(img.shape[1] - grid[1]) <= 1
    header = ei.read_image(tmp_path / ei.CLASSES[0].folder / "Normal(1).jpg", crop=(0, 0, 1, ei.GRID_BOX[1]), gray=True)
    assert (header < 100).any()                                       # text-like marks in the header band


def test_simulated_classes_have_their_findings_and_are_deterministic():
    a = ei.simulate_classes(40, seed=3)
    b = ei.simulate_classes(40, seed=3)
    assert a.signals.shape == (160, 1000, 12) and a.signals.dtype == np.float32 and a.fs == 100.0
    assert np.array_equal(a.signals, b.signals) and a.labels[:4].tolist() == [0, 1, 2, 3]
    col = {f: a.findings[:, FINDINGS.index(f)] for f in FINDINGS}
    k = a.labels
    assert col["STE"][k == 1].all() and not col["STE"][k != 1].any()
    assert col["QMI"][k == 2].all() and not col["QMI"][k != 2].any()
    assert not col["AFIB"][k != 3].any() and col["AFIB"][k == 3].mean() > 0.2
    rate_off = (a.hr_bpm < 58) | (a.hr_bpm > 102)
    assert rate_off[k == 3].mean() > rate_off[k == 0].mean() + 0.2
    assert abs(float(a.signals.mean())) < 0.02                        # the device filter removes the baseline
    assert not np.array_equal(ei.simulate_classes(40, seed=4).signals, a.signals)


def test_device_filter_passes_the_band_and_blocks_drift():
    fs, t = 100.0, np.arange(1000) / 100.0
    x = np.stack([np.sin(2 * np.pi * 10 * t), 0.5 + 0.3 * np.sin(2 * np.pi * 0.05 * t)], axis=1)  # (T, 2)
    y = ei.device_filter(x, fs)
    assert y.shape == x.shape and y.dtype == np.float32
    mid = slice(200, 800)
    assert abs(np.std(y[mid, 0]) / np.std(x[mid, 0]) - 1) < 0.02     # 10 Hz passes
    assert np.abs(y[mid, 1]).max() < 0.05                             # DC and 0.05 Hz drift are removed
    assert np.allclose(ei.device_filter(x[None], fs)[0], y, atol=1e-5)


def test_bad_inputs_name_the_file(tmp_path, fixture_root):
    with pytest.raises(FileNotFoundError, match="four class folders"):
        ei.load(tmp_path)
    src = next((fixture_root / ei.CLASSES[1].folder).iterdir())
    bad = tmp_path / "MI(1).jpg"
    bad.write_bytes(src.read_bytes()[:200])                           # a truncated JPEG
    with pytest.raises(ei.ImageFormatError, match=r"MI\(1\)\.jpg"):
        ei.read_image(bad, size=(64, 128))
    Image.new("CMYK", (300, 200)).save(bad, format="JPEG")            # a colour space a scan does not use
    with pytest.raises(ei.ImageFormatError, match="mode 'CMYK'"):
        ei.read_image(bad)
    Image.new("RGB", (40, 30)).save(bad, format="JPEG")
    with pytest.raises(ei.ImageFormatError, match="too small"):
        ei.read_image(bad)
    with pytest.raises(FileNotFoundError, match="image not found"):
        ei.read_image(tmp_path / "missing.jpg")
    for c in ei.CLASSES:
        (tmp_path / "set" / c.folder).mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds no"):
        ei.list_files(tmp_path / "set")
    with pytest.raises(ValueError, match="one label each"):
        ei.write(tmp_path, np.zeros((2, 40, 60)), [0])
    with pytest.raises(ValueError, match="labels must be"):
        ei.write(tmp_path, np.zeros((1, 40, 60)), [7])
    with pytest.raises(ValueError, match="crop must be"):
        ei.read_image(src, crop=(0.5, 0, 0.2, 1))
