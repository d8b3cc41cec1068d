"""medrepro.sim.tubular_tree and the 3-D tree metrics (BD, TD) of medrepro.metrics.vessels, on hand-made trees."""
import numpy as np
import pytest

from medrepro.metrics.vessels import branches_detected, skeleton_parsing, tree_length_detected
from medrepro.sim.tubular_tree import LungSpec, Tree, grow_tree, paired_tree, rasterize, simulate_lung_trees


def _y_tree() -> Tree:
    """A hand-made Y: a trunk along z and two daughters in the z-x plane (voxel coordinates)."""
    s = np.array([[2.0, 16, 16], [12, 16, 16], [12, 16, 16]])
    e = np.array([[12.0, 16, 16], [22, 16, 8], [22, 16, 24]])
    r = np.array([2.0, 1.4, 1.2])
    return Tree(s, e, r, r, np.array([-1, 0, 0]), np.array([0, 1, 1]))


def test_rasterize_tube_volume_and_centreline():
    t = Tree(np.array([[4.0, 16, 16]]), np.array([[28.0, 16, 16]]), np.array([3.0]), np.array([3.0]),
             np.array([-1]), np.array([0]))
    occ, branch, cen = rasterize(t, (32, 32, 32))
    # partial-volume occupancy integrates to the capsule's volume (cylinder + two half spheres) within a few %
    vol = np.pi * 9 * 24 + 4 / 3 * np.pi * 27
    assert abs(occ.sum() - vol) / vol < 0.05
    assert set(np.unique(branch)) == {0, 1}
    assert (cen[4:29, 16, 16] == 1).all() and cen.sum() == 25


def test_grow_tree_follows_murray_law():
    rng = np.random.default_rng(0)
    t = grow_tree(rng, np.zeros(3), np.array([1.0, 0, 0]), 3.0, generations=4, murray_exponent=3.0, min_radius=0.0)
    assert len(t) == 31
    for i in range(len(t)):
        ch = t.children(i)
        if len(ch) == 2:
            assert np.isclose((t.r_start[ch] ** 3).sum(), t.r_end[i] ** 3)
            assert np.allclose(t.start[ch], t.end[i])


def test_paired_tree_stays_connected_at_offset():
    rng = np.random.default_rng(1)
    t = grow_tree(rng, np.zeros(3), np.array([1.0, 0, 0]), 2.0, generations=3, min_radius=0.0)
    a = paired_tree(t, rng, offset=5.0, ref=np.array([0.0, 1, 0]))
    kids = a.parent >= 0
    assert np.allclose(a.start[kids], a.end[a.parent[kids]])
    assert np.allclose(np.linalg.norm(a.end - t.end, axis=1), 5.0)


def test_bd_td_on_a_hand_made_tree():
    occ, branch, cen = rasterize(_y_tree(), (32, 32, 32))
    gt = occ >= 0.5
    assert branches_detected(gt, cen) == (3, 3, 1.0) and tree_length_detected(gt, cen > 0) == 1.0
    # remove the lower half of the right daughter: it is no longer detected (coverage < 0.8)
    pred = gt.copy()
    pred[17:, :, 17:] = False
    total, det, ratio = branches_detected(pred, cen)
    assert (total, det) == (3, 2) and np.isclose(ratio, 2 / 3)
    cover = (pred & (cen > 0)).sum() / (cen > 0).sum()
    assert np.isclose(tree_length_detected(pred, cen > 0), cover) and cover < 1
    # the 0.8 rule: a branch covered on exactly 80 % of its centreline is detected, one voxel less is not
    lab = np.zeros((1, 1, 10), int)
    lab[0, 0, :] = 7
    p = np.zeros((1, 1, 10), bool)
    p[0, 0, :8] = True
    assert branches_detected(p, lab)[1] == 1
    p[0, 0, 7] = False
    assert branches_detected(p, lab)[1] == 0
    assert np.isnan(branches_detected(p, np.zeros_like(lab))[2])
    with pytest.raises(ValueError):
        branches_detected(p, lab[..., :5])


def test_skeleton_parsing_finds_three_branches_of_a_y():
    occ, _, _ = rasterize(_y_tree(), (32, 32, 32))
    sk, parsing = skeleton_parsing(occ >= 0.5)
    assert sk.any() and set(np.unique(parsing[sk])) == set(range(1, parsing.max() + 1))
    assert 3 <= parsing.max() <= 5          # trunk + two daughters (thinning may leave a short spur)
    assert branches_detected(occ >= 0.5, parsing)[2] == 1.0


def test_lung_scene_labels_and_intensities():
    d = simulate_lung_trees(3, LungSpec(size=24, generations=3), seed=0)
    assert d.image.shape == (3, 24, 24, 24) and d.label.dtype == np.uint8
    assert set(np.unique(d.label)) <= {0, 1, 2, 3} and all((d.label == c).any() for c in (1, 2, 3))
    assert (d.centreline // 1000 == d.label)[d.centreline > 0].all()
    # air lumen darker than lung, vessels brighter; arteries and veins drawn with one CT value
    core = lambda c: d.image[(d.label == c) & (d.radius > 1.2)].mean()
    assert core(1) < d.image[(d.label == 0) & d.lung].mean() < core(2)
    assert abs(core(2) - core(3)) < 120
    again = simulate_lung_trees(3, LungSpec(size=24, generations=3), seed=0)
    assert np.array_equal(again.image, d.image)
