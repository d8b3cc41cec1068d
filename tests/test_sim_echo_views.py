"""The still-frame view simulator (medrepro.sim.echo_views): shapes, determinism, and a grade that follows its
acquisition errors exactly as documented."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.sim.echo_views import VIEWS, ViewSpec, simulate_views


@pytest.fixture(scope="module")
def frames():
    return simulate_views(6, 3, VIEWS, ViewSpec(size=32), n_random=2, seed=1)


def test_shapes_order_and_determinism(frames):
    n = 6 * (len(VIEWS) * 3 + 2)
    assert frames.images.shape == (n, 32, 32) and frames.images.dtype == np.float32
    assert 0 <= frames.images.min() and frames.images.max() <= 1
    assert frames.views == VIEWS + ("Random",)
    assert (np.diff(frames.scan) >= 0).all()                           # scan by scan
    assert np.bincount(frames.view).tolist() == [18] * len(VIEWS) + [12]
    assert not frames.images[:, ~frames.sector].any()
    again = simulate_views(6, 3, VIEWS, ViewSpec(size=32), n_random=2, seed=1)
    np.testing.assert_array_equal(again.images, frames.images)
    np.testing.assert_array_equal(again.grade, frames.grade)
    assert not np.array_equal(simulate_views(6, 3, VIEWS, ViewSpec(size=32), n_random=2, seed=2).images,
                              frames.images)


def test_grade_is_the_documented_function(frames):
    e, spec = frames.errors, ViewSpec(size=32)
    assert ((0 <= frames.grade) & (frames.grade <= 10)).all()
    np.testing.assert_allclose(frames.grade, 10 * frames.completeness * frames.clarity)
    assert (frames.grade[frames.view == len(VIEWS)] == 0).all()         # Random: no standard view shown
    # clarity: gain and too-deep terms are exact; the shadow factor lies in [1 - A/40, 1]
    base = np.exp(-(e["gain_db"] / spec.gain_scale_db) ** 2) * np.exp(
        -(np.maximum(0, np.log(e["depth_factor"])) / spec.depth_scale) ** 2)
    shadow = frames.clarity / base
    assert (shadow <= 1 + 1e-9).all() and (shadow >= 1 - e["shadow_db"] / 40 - 1e-9).all()
    assert np.allclose(shadow[e["shadow_db"] == 0], 1)


def test_each_error_lowers_the_grade():
    def one(**kw):
        spec = ViewSpec(size=32, max_off_axis_deg=0.0, depth_log_sd=0.0, gain_sd_db=0.0, shadow_prob=0.0,
                        placement_mm=0.0, placement_deg=0.0, size_sd=0.0)
        spec.__dict__.update(kw)
        return simulate_views(3, 2, ("A4C",), spec, seed=0)
    clean = one()
    np.testing.assert_allclose(clean.completeness, 1.0, atol=0.02)   # on axis, ideal depth: every pool whole
    np.testing.assert_allclose(clean.grade, 10.0, atol=0.2)
    assert one(max_off_axis_deg=40.0).completeness.mean() < 0.9          # off axis: sections shrink and vanish
    assert one(gain_sd_db=12.0).clarity.mean() < 0.8
    assert one(shadow_prob=1.0).clarity.mean() < 1.0
    shallow = one(depth_log_sd=0.0)
    shallow_spec_frames = simulate_views(3, 2, ("A4C",), ViewSpec(size=32, depth_mm=90.0, max_off_axis_deg=0.0,
                                                                   shadow_prob=0.0, gain_sd_db=0.0), seed=0)
    assert shallow_spec_frames.completeness.mean() < shallow.completeness.mean()   # far structures cut off


def test_unknown_view_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown view"):
        simulate_views(1, 1, ("A3C",))
    with pytest.raises(ValueError):
        simulate_views(0, 1)
    with pytest.raises(ValueError):
        ViewSpec(size=8)


def test_per_scan_phenotypes_change_only_their_views():
    """heart_scale, pool_scale and wall_mm act per scan (and view) and draw no random numbers: frames without them
    are unchanged, and a thick wall in one view leaves the other view's frames alike."""
    spec = ViewSpec(size=32)
    base = simulate_views(4, 2, ("A4C", "PL"), spec, seed=3)
    same = simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, heart_scale=np.ones(4), pool_scale=np.ones((4, 2, 1)),
                          wall_mm=np.full((4, 2), spec.wall_mm))
    np.testing.assert_array_equal(same.images, base.images)
    np.testing.assert_array_equal(same.grade, base.grade)
    wall = np.full((4, 2), spec.wall_mm)
    wall[:, 1] = 14.0                                                       # thick walls, PL only
    thick = simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, wall_mm=wall)
    a4c = base.view == 0
    np.testing.assert_array_equal(thick.images[a4c], base.images[a4c])
    assert thick.images[~a4c].mean() > base.images[~a4c].mean()          # more bright myocardium in PL
    lv = np.ones((4, 2, 1))
    lv[:, 0, 0] = 1.3                                                       # a dilated LV cavity, A4C only
    dil = simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, pool_scale=lv)
    np.testing.assert_array_equal(dil.images[~a4c], base.images[~a4c])
    assert (dil.images[a4c] < 0.1).mean() > (base.images[a4c] < 0.1).mean()   # more dark blood pool
    big = simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, heart_scale=np.full(4, 1.2))
    assert not np.array_equal(big.images[a4c], base.images[a4c]) and not np.array_equal(big.images[~a4c],
                                                                                        base.images[~a4c])
    with pytest.raises(ValueError, match="wall_mm"):
        simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, wall_mm=np.ones((3, 2)))
    with pytest.raises(ValueError, match="pool_scale"):
        simulate_views(4, 2, ("A4C", "PL"), spec, seed=3, pool_scale=np.ones((4, 1, 1)))
