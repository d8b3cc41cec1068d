"""medrepro.sim.retina: deterministic, fundus-like, and an annotator that errs where the module says it does."""
import numpy as np
import pytest

from medrepro.sim.retina import FundusSpec, simulate_fundus


@pytest.fixture(scope="module")
def batch():
    return simulate_fundus(8, seed=3)


def test_shapes_types_and_determinism(batch):
    n, S = 8, FundusSpec().size
    assert batch.images.shape == (n, S, S, 3) and batch.images.dtype == np.uint8
    for a in (batch.clean, batch.annotated, batch.fov):
        assert a.shape == (n, S, S) and a.dtype == bool
    again = simulate_fundus(8, seed=3)
    np.testing.assert_array_equal(batch.images, again.images)
    np.testing.assert_array_equal(batch.annotated, again.annotated)
    assert not np.array_equal(batch.images, simulate_fundus(8, seed=4).images)
    assert set(batch.disease) <= set("ADGN")


def test_vessels_inside_fov_with_thin_and_thick_widths(batch):
    assert not (batch.clean & ~batch.fov).any() and not (batch.annotated & ~batch.fov).any()
    assert (batch.images[~batch.fov] == 0).all()                          # black outside the field of view
    frac = batch.clean.mean(axis=(1, 2))
    assert ((frac > 0.04) & (frac < 0.2)).all()                          # a vessel tree, not noise or a blob
    w = batch.width[batch.clean]
    assert (w > 0).all() and (batch.width[~batch.clean] == 0).all()
    assert (w < 2).mean() > 0.2 and (w >= 3).mean() > 0.1                # thin and thick vessels both present


def test_vessels_are_darker_in_green(batch):
    from scipy import ndimage
    g = batch.images[..., 1].astype(float)
    for i in range(len(batch)):
        thick = batch.width[i] >= 3
        ring = ndimage.binary_dilation(batch.clean[i], iterations=3) & ~batch.clean[i] & batch.fov[i]
        near = ring & ndimage.binary_dilation(thick, iterations=3)
        assert g[i][thick].mean() < g[i][near].mean() - 10          # darker than the background beside them


def test_annotator_errs_on_thin_vessels_and_boundaries():
    spec = FundusSpec(width_jitter=0.0, thin_shift=0.0, thin_drop=0.0)
    exact = simulate_fundus(4, spec, seed=5)
    assert (exact.clean == exact.annotated).mean() > 0.995                # no noise: the annotator draws the truth
    noisy = simulate_fundus(4, seed=5)
    err = noisy.clean != noisy.annotated
    thin = (noisy.width > 0) & (noisy.width < 2)
    assert err.any()
    # the errors sit on thin vessels or within a pixel of a vessel boundary, not in the open background
    from scipy import ndimage
    near = np.stack([ndimage.binary_dilation(c, iterations=2) for c in noisy.clean | noisy.annotated])
    assert (err & ~near).sum() == 0
    assert (~noisy.annotated[thin]).mean() > (~noisy.annotated[noisy.width >= 3]).mean()
