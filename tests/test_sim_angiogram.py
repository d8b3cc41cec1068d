"""medrepro.sim.angiogram: path lengths against the cylinder formula, CADICA's severity classes, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.sim import angiogram as ag


@pytest.mark.parametrize("s, name", [(0.0, "p0_20"), (0.19, "p0_20"), (0.2, "p20_50"), (0.55, "p50_70"),
                                      (0.8, "p70_90"), (0.95, "p90_98"), (0.99, "p99"), (1.0, "p100")])
def test_severity_classes(s, name):
    assert ag.severity_class(s) == name


def test_path_length_of_a_straight_vessel_is_the_chord_of_its_cylinder():
    size, r = 64, 0.1                                       # radius 0.1 half-sides = 3.2 px
    xs = np.linspace(-0.9, 0.9, 2000)
    y0 = 0.013
    T = ag._thickness([[np.stack([xs, np.full_like(xs, y0)], 1), np.full(len(xs), r)]], size).reshape(size, size)
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    d = np.abs(lin - y0)
    expected = 2 * np.sqrt(np.clip(r ** 2 - d ** 2, 0, None))  # hand formula, per row, at a mid column
    np.testing.assert_allclose(T[:, size // 2], expected, atol=1e-3)
    # two crossing vessels add where they overlap
    ys = np.linspace(-0.9, 0.9, 2000)
    both = ag._thickness([[np.stack([xs, np.full_like(xs, y0)], 1), np.full(len(xs), r)],
                          [np.stack([np.full_like(ys, 0.0), ys], 1), np.full(len(ys), r)]], size).reshape(size, size)
    c = size // 2
    assert both[c, c] == pytest.approx(T[c, c] + 2 * np.sqrt(r ** 2 - (lin[c]) ** 2), abs=1e-3)


def test_opacity_scales_the_path_length():
    xs = np.linspace(-0.9, 0.9, 500)
    v = [np.stack([xs, np.zeros_like(xs)], 1), np.full(len(xs), 0.08)]
    full = ag._thickness([v], 32)
    half = ag._thickness([[*v, np.full(len(xs), 0.5)]], 32)
    np.testing.assert_allclose(half, full / 2)


def test_simulation_is_deterministic_and_consistent():
    spec = ag.AngioSpec(size=40, videos_per_patient=3, frames_per_video=2)
    a, b = ag.simulate_patients(3, spec, seed=5), ag.simulate_patients(3, spec, seed=5)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert len(a) == 3 * 3 * 3 and a.frames.shape[1:] == (40, 40)
    assert a.frames.min() >= 0 and a.frames.max() <= 1
    assert not a.selected[a.frame == 0].any() and a.selected[a.frame > 0].all()   # wash-in frame not selected
    assert not a.lesion[a.frame == 0].any()
    for i in range(len(a)):
        assert (len(a.boxes[i]) == 1) == bool(a.lesion[i])
        if a.lesion[i]:
            x, y, w, h = a.boxes[i][0]
            assert w == h and -w < x < 40 and -h < y < 40
            assert spec.severity[0] <= a.severity[i] <= spec.severity[1]
    for p in range(3):                                     # every patient has lesion and non-lesion videos
        vids = a.video[a.patient == p]
        les = {v for v in vids if a.lesion[(a.patient == p) & (a.video == v)].any()}
        assert 0 < len(les) < 3 or not les  # a lesion can leave the field of view in every frame of a video
    labels = a.severity_labels()
    assert all((lab == "") != bool(les) for lab, les in zip(labels, a.lesion))


def test_a_stenosis_of_severity_s_leaves_a_lumen_of_1_minus_s():
    """The narrowing profile of simulate_patients, 1 − s·exp(−((t − t₀)/w)²), on a straight vessel: the path length
    on the axis at the lesion is 2·r·(1 − s), far from it 2·r."""
    size, r, s = 64, 0.1, 0.6
    xs = np.linspace(-0.9, 0.9, 3000)
    radius = r * (1 - s * np.exp(-((xs - 0.0) / 0.15) ** 2))
    T = ag._thickness([[np.stack([xs, np.zeros_like(xs)], 1), radius]], size).reshape(size, size)
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    row = np.argmin(np.abs(lin))                          # the pixel row nearest the axis
    col_lesion, col_far = np.argmin(np.abs(lin)), np.argmin(np.abs(lin - 0.7))
    d = abs(lin[row])
    r_lesion = r * (1 - s * np.exp(-(lin[col_lesion] / 0.15) ** 2))
    assert T[row, col_lesion] == pytest.approx(2 * np.sqrt(r_lesion ** 2 - d ** 2), abs=2e-3)
    assert T[row, col_far] == pytest.approx(2 * np.sqrt(r ** 2 - d ** 2), abs=2e-3)
