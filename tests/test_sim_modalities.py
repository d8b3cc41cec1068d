"""medrepro.sim.modalities: shapes, determinism, errors, and checks against scikit-image and Pillow."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.sim import modalities as mod


@pytest.mark.parametrize("modality", mod.MODALITIES)
def test_shapes_ranges_determinism(modality):
    b = mod.simulate(modality, 12, size=32, seed=3)
    assert b.images.shape == (12, mod.CHANNELS[modality], 32, 32) and b.images.dtype == np.float32
    assert np.isfinite(b.images).all() and b.images.min() >= 0 and b.images.max() <= 1
    assert set(np.unique(b.labels)) <= {0, 1} and b.modality == modality
    again = mod.simulate(modality, 12, size=32, seed=3)
    assert np.array_equal(b.images, again.images) and np.array_equal(b.labels, again.labels)
    assert not np.array_equal(b.images, mod.simulate(modality, 12, size=32, seed=4).images)
    assert b.images.std() > 0.02                                  # not blank


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown modality"):
        mod.simulate("pet", 2)
    with pytest.raises(ValueError, match="1 to 5"):
        mod.simulate("microscopy", 2, channels=6)
    with pytest.raises(ValueError, match="channel"):
        mod.simulate("ct", 2, channels=3)
    assert mod.simulate("microscopy", 3, size=16, channels=2).images.shape == (3, 2, 16, 16)


def test_histology_dab_is_recovered_by_skimage_colour_deconvolution():
    from skimage.color import rgb2hed

    b = mod.simulate("histology", 40, size=48, seed=0)
    dab = np.array([rgb2hed(img.transpose(1, 2, 0))[..., 2].mean() for img in b.images])
    assert dab[b.labels == 1].mean() > dab[b.labels == 0].mean() + 0.005


def test_to_gray_matches_pillow_luma():
    from PIL import Image

    b = mod.simulate("fundus", 4, size=32, seed=1)
    u8 = np.round(b.images * 255).astype(np.uint8)
    ours = mod.to_gray(u8.astype(np.float64) / 255)
    ref = np.stack([np.asarray(Image.fromarray(im.transpose(1, 2, 0)).convert("L")) for im in u8]) / 255
    assert np.abs(ours - ref).max() <= 1.5 / 255


def test_findings_change_the_images():
    # each modality's finding must be visible in the pixels: the mean image with and without it differs
    for m in mod.MODALITIES:
        b = mod.simulate(m, 64, size=32, seed=2)
        g = mod.to_gray(b.images)
        diff = np.abs(g[b.labels == 1].mean(0) - g[b.labels == 0].mean(0)).max()
        assert diff > 0.02, m


def test_ct_lesion_contrast_and_size_knobs():
    base = mod.simulate("ct", 24, size=32, seed=5)
    same = mod.simulate("ct", 24, size=32, seed=5, lesion_hu=45.0, lesion_scale=1.0)
    assert np.array_equal(base.images, same.images)                 # the defaults are the earlier images
    faint = mod.simulate("ct", 24, size=32, seed=5, lesion_hu=15.0)
    big = mod.simulate("ct", 24, size=32, seed=5, lesion_scale=2.0)
    varied = mod.simulate("ct", 24, size=32, seed=5, lesion_hu=(10.0, 80.0))
    neg, pos = base.labels == 0, base.labels == 1
    for b in (faint, big):
        assert np.array_equal(b.labels, base.labels)
        assert np.array_equal(b.images[neg], base.images[neg])    # images without a lesion do not change
    assert np.array_equal(varied.labels, base.labels)               # (a drawn contrast moves the noise draws)
    depth = lambda b: (base.images[pos] - b.images[pos]).sum()      # noqa: E731 — how much darker than default
    assert depth(faint) < 0 < depth(big)                            # fainter lesion: brighter; larger: darker
    assert not np.array_equal(varied.images[pos], base.images[pos])
    with pytest.raises(ValueError, match="CT only"):
        mod.simulate("mr", 2, lesion_hu=20.0)
