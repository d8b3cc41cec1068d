"""DFUC 2021 loader, the foot-ulcer simulator and the MBConv / TinyEfficientNet blocks (dfu-pix2pixhd)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medrepro.data.datasets import dfuc2021
from medrepro.nn.small_cnn import MBConv, SqueezeExcite, TinyEfficientNet
from medrepro.sim import foot_ulcer as fu


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return dfuc2021.make_fixture(tmp_path_factory.mktemp("dfuc"), seed=0, n_labelled=12, n_unlabelled=4, size=16)


def test_layout_and_round_trip(root):
    base = dfuc2021.find_root(root)
    assert base.name == "DFUC2021_train" and dfuc2021.find_root(base) == base
    d = dfuc2021.load(root)
    assert d.images.shape == (16, 3, 16, 16) and d.images.dtype == np.float32
    assert (d.labels[:12] >= 0).all() and (d.labels[12:] == -1).all()
    assert d.names[0] == "100001.jpg" and d.paths[0] == base / "images" / "100001.jpg"
    assert len(dfuc2021.load(root, which="unlabelled").labels) == 4
    lab = dfuc2021.load(root, which="labelled", size=8)
    assert lab.images.shape == (12, 3, 8, 8) and lab.labelled.all()


def test_jpeg_round_trip_is_close_and_order_kept(tmp_path):
    b = fu.simulate_ulcers(10, spec=fu.UlcerSpec(size=16), seed=3)
    labels = b.labels.copy()
    labels[[1, 4]] = -1
    dfuc2021.write_simulated(tmp_path, b.images, labels)
    d = dfuc2021.load(tmp_path)
    order = dfuc2021.written_order(labels)
    np.testing.assert_array_equal(d.labels, labels[order])
    assert list(order[-2:]) == [1, 4]
    assert np.abs(d.images - b.images[order]).mean() < 0.03


def test_clear_errors(tmp_path, root):
    with pytest.raises(dfuc2021.Dfuc2021LayoutError, match="train.csv"):
        dfuc2021.load(tmp_path)
    bad = tmp_path / "DFUC2021_train"
    (bad / "images").mkdir(parents=True)
    (bad / "train.csv").write_text("image,none,infection,ischaemia,both\na.jpg,1,1,0,0\n")
    with pytest.raises(ValueError, match="line 2 .*one-hot"):
        dfuc2021.read_index(tmp_path)
    (bad / "train.csv").write_text("image,none,infection,ischaemia,both\na.jpg,1,0,0,0\n")
    with pytest.raises(dfuc2021.Dfuc2021LayoutError, match="a.jpg"):
        dfuc2021.load(tmp_path)
    (bad / "train.csv").write_text("image,normal\na.jpg,1\n")
    with pytest.raises(ValueError, match="header"):
        dfuc2021.read_index(tmp_path)
    with pytest.raises(ValueError, match="which"):
        dfuc2021.load(root, which="test")


def test_simulator_classes_follow_the_maps():
    b = fu.simulate_ulcers(200, seed=1)
    np.testing.assert_array_equal(fu.label_of_map(b.maps), b.labels)
    assert b.images.shape == (200, 3, 32, 32) and 0 <= b.images.min() and b.images.max() <= 1
    counts = np.bincount(b.labels, minlength=4)
    np.testing.assert_allclose(counts / 200, fu.DFUC_PREVALENCE, atol=0.01)
    again = fu.simulate_ulcers(200, seed=1)
    np.testing.assert_array_equal(again.images, b.images)
    # the ischaemic patch darkens the skin towards blue: blue/red ratio higher inside the patch than on skin
    patch = b.maps == 3
    img = b.images.transpose(0, 2, 3, 1)
    assert (img[patch][:, 2] / img[patch][:, 0]).mean() > (img[b.maps == 0][:, 2] / img[b.maps == 0][:, 0]).mean()


def test_add_patch_turns_common_maps_rare():
    b = fu.simulate_ulcers(60, seed=2, labels=np.repeat([0, 1], 30))
    edited = fu.add_patch(b.maps, np.random.default_rng(0))
    new = fu.label_of_map(edited)
    np.testing.assert_array_equal(new, np.repeat([2, 3], 30))
    np.testing.assert_array_equal(edited == 1, b.maps == 1)       # the wound bed is kept
    with pytest.raises(ValueError):
        fu.draw_labels(10, prevalence=(1, 1))


def test_mbconv_and_tiny_efficientnet():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 16, 16)
    blk = MBConv(8, 8).eval()
    assert blk.residual and blk(x).shape == x.shape
    down = MBConv(8, 12, stride=2).eval()
    assert not down.residual and down(x).shape == (4, 12, 8, 8)
    se = SqueezeExcite(8, 2)
    w = torch.sigmoid(se.expand(torch.nn.functional.silu(se.reduce(x.mean((2, 3), keepdim=True)))))
    torch.testing.assert_close(se(x), x * w)                       # the SE written out
    net = TinyEfficientNet(widths=(8, 16, 24), stem=8, head=32).eval()
    assert net(torch.rand(2, 3, 16, 16)).shape == (2, 4) and net.features(torch.rand(2, 3, 16, 16)).shape == (2, 32)
