"""ISLES lesion metrics (medrepro.metrics.lesion) against MONAI, scikit-image and the challenge's definitions."""
import numpy as np
import pytest

from medrepro.metrics import lesion


def _blobs(seed, shape=(24, 24, 16), p=0.02):
    rng = np.random.default_rng(seed)
    from scipy import ndimage

    return ndimage.binary_dilation(rng.random(shape) < p, iterations=1) & (rng.random(shape) < 0.9)


@pytest.mark.parametrize("seed", range(6))
def test_dice_matches_monai(seed):
    import torch
    from monai.metrics import compute_dice

    gt, pred = _blobs(seed), _blobs(seed + 100)
    ref = compute_dice(torch.from_numpy(pred[None, None].astype(float)), torch.from_numpy(gt[None, None].astype(float)),
                       include_background=True, ignore_empty=False)
    assert lesion.dice(gt, pred) == pytest.approx(float(ref), abs=1e-6)


def test_dice_empty_cases_follow_the_isles_code():
    z = np.zeros((4, 4, 4), bool)
    one = z.copy()
    one[1, 1, 1] = True
    assert lesion.dice(z, z) == 1.0                 # both empty: empty_value
    assert lesion.dice(one, z) == 0.0 and lesion.dice(z, one) == 0.0
    with pytest.raises(ValueError, match="shape mismatch"):
        lesion.dice(z, np.zeros((4, 4, 5)))


@pytest.mark.parametrize("seed", range(6))
def test_lesion_count_matches_skimage_26_connectivity(seed):
    from skimage.measure import label

    m = _blobs(seed)
    assert lesion.label_lesions(m)[1] == label(m, connectivity=3).max()
    assert lesion.label_lesions(m, connectivity=6)[1] == label(m, connectivity=1).max()


def test_lesion_f1_definitions():
    gt = np.zeros((10, 10, 10), bool)
    gt[1, 1, 1] = gt[2, 2, 2] = True          # diagonal neighbours: one lesion under 26-connectivity
    gt[6:8, 6:8, 6:8] = True                  # a second lesion
    pred = np.zeros_like(gt)
    pred[2, 2, 2] = True                      # touches lesion 1 in one voxel: a true positive
    pred[0, 9, 0] = True                      # touches nothing: a false positive
    c = lesion.lesion_counts(gt, pred)
    assert (c.tp, c.fn, c.fp, c.n_gt, c.n_pred) == (1, 1, 1, 2, 2)
    assert lesion.lesion_f1(gt, pred) == pytest.approx(1 / (1 + (1 + 1) / 2))
    assert lesion.lesion_count_difference(gt, pred) == 0
    # one predicted blob covering both lesions: two true positives, no false positive
    big = np.zeros_like(gt)
    big[1:8, 1:8, 1:8] = True
    assert lesion.lesion_f1(gt, big) == 1.0
    assert lesion.lesion_count_difference(gt, big) == 1
    z = np.zeros_like(gt)
    assert lesion.lesion_f1(z, z) == 1.0 and lesion.lesion_f1(gt, z) == 0.0 and lesion.lesion_f1(z, pred) == 0.0


def test_volume_difference_in_ml():
    gt = np.zeros((5, 5, 5), bool)
    gt[:2] = True                              # 50 voxels
    pred = np.zeros_like(gt)
    pred[:1] = True                            # 25 voxels
    assert lesion.absolute_volume_difference(gt, pred, 0.002) == pytest.approx(0.05)
    m = lesion.isles_metrics(gt, pred, 0.002)
    assert set(m) == {"dice", "abs_volume_diff_ml", "abs_lesion_count_diff", "lesion_f1"}
    assert m["dice"] == pytest.approx(2 * 25 / 75)
