"""The DSAIF no-sibling filter of medrepro.morph, checked against a brute-force threshold decomposition."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro import morph


# ------------------------------------------------------------------ brute-force reference (pure Python)
def _components(f: np.ndarray, k: int, conn: int) -> list[frozenset]:
    """Connected components of the upper level set [f ≥ k], by flood fill."""
    H, W = f.shape
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)] + ([(1, 1), (1, -1), (-1, 1), (-1, -1)] if conn == 8 else [])
    seen, comps = set(), []
    for i in range(H):
        for j in range(W):
            if f[i, j] < k or (i, j) in seen:
                continue
            comp, stack = set(), [(i, j)]
            seen.add((i, j))
            while stack:
                p = stack.pop()
                comp.add(p)
                for di, dj in steps:
                    q = (p[0] + di, p[1] + dj)
                    if 0 <= q[0] < H and 0 <= q[1] < W and q not in seen and f[q] >= k:
                        seen.add(q)
                        stack.append(q)
            comps.append(frozenset(comp))
    return comps


def brute_force_filter(f: np.ndarray, conn: int = 4) -> np.ndarray:
    """The definition, literally: nodes = distinct components of all upper level sets at their minimum level;
    parent = smallest strictly containing node; remove only children; each pixel takes the level of the
    nearest kept node containing it."""
    nodes: dict[frozenset, int] = {}
    for k in sorted(set(f.ravel().tolist())):
        for c in _components(f, k, conn):
            nodes[c] = min(int(f[p]) for p in c)
    items = sorted(nodes, key=len)
    parent = {c: next((d for d in items if len(d) > len(c) and c < d), None) for c in items}
    n_children: dict[frozenset, int] = {}
    for c, p in parent.items():
        if p is not None:
            n_children[p] = n_children.get(p, 0) + 1
    keep = {c: p is None or n_children[p] >= 2 for c, p in parent.items()}
    out = np.empty_like(f)
    for (i, j), _ in np.ndenumerate(f):
        c = next(d for d in items if (i, j) in d)       # the smallest node holding the pixel
        while not keep[c]:
            c = parent[c]
        out[i, j] = nodes[c]
    return out


# ------------------------------------------------------------------------------------------------ tests
def test_matches_brute_force_on_random_small_images():
    rng = np.random.default_rng(0)
    for _ in range(60):
        f = rng.integers(0, rng.integers(2, 6), size=(rng.integers(1, 6), rng.integers(2, 6)))
        for conn in (4, 8):
            np.testing.assert_array_equal(morph.sibling_filter(f, "max", conn), brute_force_filter(f, conn))
            top = f.max()
            np.testing.assert_array_equal(morph.sibling_filter(f, "min", conn), top - brute_force_filter(top - f, conn))


def test_hand_worked_profile():
    f = np.array([[1, 2, 3, 5, 6, 5, 3, 4, 4, 2, 1, 2, 2, 1, 0, 3, 4, 3]])
    # Max-tree: the peak 6 is the only child of {5,6,5} → 5; the component at level 3 around it is the only
    # child of the level-2 component → its 3s drop to 2; the right bump {3,4,3} has a sibling, its 4 drops to 3
    np.testing.assert_array_equal(morph.sibling_filter(f, "max"),
                                  [[1, 2, 2, 5, 5, 5, 2, 4, 4, 2, 1, 2, 2, 1, 0, 3, 3, 3]])
    np.testing.assert_array_equal(morph.sibling_filter(f, "min"),
                                  [[5, 5, 5, 5, 6, 5, 3, 5, 5, 3, 1, 3, 3, 1, 1, 3, 5, 3]])
    tree = morph.component_tree(f)
    assert tree["area"].max() == f.size and (tree["parent"] < 0).sum() == 1        # one root: the image
    child = tree["parent"] >= 0
    assert (tree["level"][child] > tree["level"][tree["parent"][child]]).all()      # children lie higher
    assert morph.regional_extrema_count(f) == 4 and morph.regional_extrema_count(f, "min") == 5


def test_single_smooth_peak_is_flattened_and_a_flat_image_is_unchanged():
    peak = np.array([[0, 2, 4, 6, 4, 2, 0]])           # a chain of only children: all collapse to the root
    np.testing.assert_array_equal(morph.sibling_filter(peak), np.zeros_like(peak))
    flat = np.full((4, 5), 7)
    np.testing.assert_array_equal(morph.sibling_filter(flat), flat)
    np.testing.assert_array_equal(morph.sibling_filter(flat, "min"), flat)


def test_properties_on_noisy_images():
    rng = np.random.default_rng(1)
    f = morph.quantize(np.clip(rng.normal(0.5, 0.2, (6, 24, 24)), 0, 1), 32)
    up, down = morph.sibling_filter(f, "max"), morph.sibling_filter(f, "min")
    assert (up <= f).all() and (down >= f).all()                                     # (anti-)extensive
    np.testing.assert_array_equal(morph.sibling_filter(up, "max"), up)               # idempotent
    np.testing.assert_array_equal(morph.sibling_filter(down, "min"), down)
    np.testing.assert_array_equal(morph.regional_extrema_count(up), morph.regional_extrema_count(f))
    np.testing.assert_array_equal(morph.regional_extrema_count(down, "min"), morph.regional_extrema_count(f, "min"))
    for g in (up, down):                                                             # connected: flat zones only merge
        for axis in (1, 2):
            same = np.diff(f, axis=axis) == 0
            assert (np.diff(g, axis=axis)[same] == 0).all()
    nodes_f, _ = morph.tree_counts(f)
    nodes_up, _ = morph.tree_counts(up)
    assert (nodes_up < nodes_f).all()                                                # the tree is simplified
    np.testing.assert_array_equal(up, np.stack([morph.sibling_filter(x) for x in f]))  # batch = one by one


def test_bad_input_errors():
    with pytest.raises(TypeError, match="quantize"):
        morph.sibling_filter(np.random.rand(4, 4))
    with pytest.raises(ValueError, match="tree"):
        morph.sibling_filter(np.zeros((3, 3), int), "median")
    with pytest.raises(ValueError, match="connectivity"):
        morph.sibling_filter(np.zeros((3, 3), int), connectivity=6)
    with pytest.raises(ValueError, match="shape"):
        morph.component_tree(np.zeros((2, 2, 2, 2), int))
    with pytest.raises(ValueError, match="levels"):
        morph.quantize(np.zeros(3), 1)
