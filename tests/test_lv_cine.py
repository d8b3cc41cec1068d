"""The SADM short-axis sequence simulator (medrepro.sim.lv_cine)."""
import numpy as np
import pytest

from medrepro.sim.lv_cine import ACDC_LV, ACDC_MYO, cavity_area, simulate_lv_sequences


def test_shapes_and_the_motion_rule():
    sim = simulate_lv_sequences(400, size=16, k=4, seed=1)
    assert sim.images.shape == (400, 5, 16, 16) and sim.images.dtype == np.float32
    assert sim.radii.shape == (400, 5) and sim.labels.shape == (400, 16, 16) and len(sim) == 400
    # the radius moves by delta per frame in the subject's direction; the last given frame (index k-1) is in range
    np.testing.assert_allclose(np.diff(sim.radii, axis=1), 0.8 * sim.direction[:, None] * np.ones((1, 4)))
    assert sim.radii[:, 3].min() >= 2.8 and sim.radii[:, 3].max() <= 4.6
    # at the extremes one frame fixes the direction; between them both directions occur, about half each
    last = sim.radii[:, 3]
    assert (sim.direction[last >= 4.2] == -1).all() and (sim.direction[last <= 3.2] == 1).all()
    amb = ~sim.determined
    assert np.array_equal(amb, (last > 3.2) & (last < 4.2))
    assert 0.35 < (sim.direction[amb] > 0).mean() < 0.65
    assert set(np.unique(sim.labels)) == {0, ACDC_MYO, ACDC_LV}


def test_the_cavity_occupancy_is_close_to_pi_r_squared():
    # noise-free and no ring: image = gain · (0.1 + 0.9 · occupancy), so the occupancy can be read back exactly
    sim = simulate_lv_sequences(50, size=32, k=4, seed=2, noise=0.0, wall=0.0)
    gain = sim.images.max((-1, -2), keepdims=True)          # the cavity's centre is fully occupied
    occupancy = ((sim.images - 0.1 * gain) / (0.9 * gain)).sum((-1, -2))
    big = sim.radii >= 1.5                                   # a disc of a pixel or two is all edge
    np.testing.assert_allclose(occupancy[big], np.pi * sim.radii[big] ** 2, rtol=0.03, atol=0.5)


def test_cavity_area_is_a_ramp_count():
    img = np.array([[0.0, 0.45, 0.7], [0.95, 1.0, 2.0]])
    assert cavity_area(img) == pytest.approx(0 + 0 + 0.5 + 1 + 1 + 1)
    assert cavity_area(np.stack([img, img])).shape == (2,)
    with pytest.raises(ValueError, match="high > low"):
        cavity_area(img, low=0.5, high=0.5)


def test_seeded_and_checked():
    a, b = simulate_lv_sequences(10, seed=3), simulate_lv_sequences(10, seed=3)
    assert np.array_equal(a.images, b.images)
    with pytest.raises(ValueError, match="k >= 1"):
        simulate_lv_sequences(10, k=0)
    with pytest.raises(ValueError, match="r_range"):
        simulate_lv_sequences(10, r_range=(4.0, 3.0))
