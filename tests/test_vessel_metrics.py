"""medrepro.metrics.vessels: Dice against scikit-learn, clDice on hand-made cases, thin-vessel recall by hand."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from medrepro.metrics.vessels import cldice, dice, width_recall


def test_dice_equals_sklearn_f1_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, g = rng.random((2, 24, 24)) < rng.uniform(0.05, 0.6, (2, 1, 1))
        assert dice(p, g) == pytest.approx(f1_score(g.ravel(), p.ravel()), abs=1e-12)
    z = np.zeros((4, 4), bool)
    assert dice(z, z) == 1.0


def bar(width, length=30, size=40, row=20, start=5):
    m = np.zeros((size, size), bool)
    m[row - width // 2: row - width // 2 + width, start:start + length] = True
    return m


def test_cldice_hand_cases():
    g = bar(5)
    assert cldice(g, g) == 1.0
    centre = bar(1)                                       # the centreline of the bar: Dice is low, clDice ≈ 1
    assert dice(centre, g) == pytest.approx(2 * 30 / (150 + 30))
    assert cldice(centre, g) > 0.95                       # (the bar's skeleton forks into its corners: not exactly 1)
    assert cldice(bar(5, row=5), bar(5, row=32)) == 0.0  # disjoint vessels
    half = bar(5, length=15)                              # half of the vessel found: Tprec 1, Tsens ≈ 1/2
    assert cldice(half, g) == pytest.approx(2 * 0.5 / 1.5, abs=0.06)
    z = np.zeros_like(g)
    assert cldice(z, z) == 1.0 and cldice(z, g) == 0.0 and cldice(g, z) == 0.0


def test_cldice_is_symmetric_and_matches_the_formula():
    from skimage.morphology import skeletonize

    rng = np.random.default_rng(1)
    from scipy import ndimage
    for _ in range(5):
        p = ndimage.binary_dilation(rng.random((32, 32)) < 0.03, iterations=1)
        g = ndimage.binary_dilation(rng.random((32, 32)) < 0.03, iterations=1) | p & (rng.random((32, 32)) < 0.5)
        sp, sg = skeletonize(p), skeletonize(g)
        tprec, tsens = (sp & g).sum() / sp.sum(), (sg & p).sum() / sg.sum()
        expect = 0.0 if tprec + tsens == 0 else 2 * tprec * tsens / (tprec + tsens)
        assert cldice(p, g) == pytest.approx(expect) and cldice(g, p) == pytest.approx(expect)


def test_width_recall_by_hand():
    w = np.zeros((4, 4)); w[0, :] = 1.0; w[1, :] = 3.0
    p = np.zeros((4, 4), bool); p[0, :2] = True; p[1, :] = True; p[3, :] = True
    assert width_recall(p, w, hi=2) == 0.5                 # thin: 2 of 4 found
    assert width_recall(p, w, lo=2) == 1.0                 # thick: 4 of 4
    assert width_recall(p, w) == 6 / 8
    assert np.isnan(width_recall(p, np.zeros((4, 4)), hi=2))
    with pytest.raises(ValueError):
        width_recall(p, w[:3])
