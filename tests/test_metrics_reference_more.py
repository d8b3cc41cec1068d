"""Metrics checked against implementations this project did not write (DESIGN: "Checked against the outside").

Dice against MONAI's ``compute_dice``; macro AUROC against scikit-learn; the Fréchet distance against MONAI's
``FIDMetric``; binary STAPLE against ITK's ``STAPLEImageFilter`` (SimpleITK, Apache-2.0, test extra). HD95 is
checked in ``test_metrics_reference.py``. Deliberate differences are stated where they are tested.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medrepro.metrics import dice_per_class, macro_auroc
from medrepro.metrics.consensus import staple
from medrepro.metrics.generative import fid_from_features


def _one_hot(labels: np.ndarray, k: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.as_tensor(labels).long(), k).movedim(-1, 0)[None].float()


@pytest.mark.parametrize("ndim", [2, 3])
def test_dice_matches_monai_on_random_label_maps(ndim):
    from monai.metrics import compute_dice

    rng = np.random.default_rng(ndim)
    shape = (24, 20) if ndim == 2 else (12, 10, 8)
    for _ in range(20):
        truth = rng.integers(0, 4, shape)
        pred = np.where(rng.random(shape) < 0.3, rng.integers(0, 4, shape), truth)
        ours = dice_per_class(pred, truth, [1, 2, 3])
        ref = compute_dice(_one_hot(pred, 4), _one_hot(truth, 4), include_background=False)[0].numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_dice_edge_cases_against_monai_conventions():
    """Ours: NaN only when a class is absent from both (it is then skipped in means); MONAI with
    ``ignore_empty=False`` gives 1.0 there. A class absent from the truth but predicted is 0 in both."""
    from monai.metrics import compute_dice

    truth = np.zeros((8, 8), int); truth[2:5, 2:5] = 1
    pred = truth.copy(); pred[6, 6] = 2                              # class 2 predicted, absent from the truth
    ours = dice_per_class(pred, truth, [1, 2, 3])
    ref = compute_dice(_one_hot(pred, 4), _one_hot(truth, 4), include_background=False, ignore_empty=False)[0]
    assert ours[0] == pytest.approx(float(ref[0])) == 1.0
    assert ours[1] == pytest.approx(float(ref[1])) == 0.0
    assert np.isnan(ours[2]) and float(ref[2]) == 1.0               # absent from both: the deliberate difference


def test_macro_auroc_matches_sklearn_and_skips_single_class_columns():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (200, 5))
    s = y + rng.normal(0, 1.5, y.shape)
    assert macro_auroc(y, s) == pytest.approx(roc_auc_score(y, s, average="macro"))
    y[:, 2] = 0                                                      # scikit-learn raises; ours skips the column
    keep = [0, 1, 3, 4]
    assert macro_auroc(y, s) == pytest.approx(roc_auc_score(y[:, keep], s[:, keep], average="macro"))


def test_frechet_distance_matches_monai_fid():
    from monai.metrics import FIDMetric

    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (400, 8))
    b = rng.normal(0.3, 1.2, (300, 8)) @ rng.normal(0, 0.5, (8, 8))
    ref = float(FIDMetric()(torch.as_tensor(b, dtype=torch.float64), torch.as_tensor(a, dtype=torch.float64)))
    assert fid_from_features(a, b) == pytest.approx(ref, rel=1e-4)


def test_staple_matches_itk():
    import SimpleITK as sitk  # the test extra installs it
    rng = np.random.default_rng(0)
    truth = np.zeros((40, 40), bool)
    truth[10:30, 12:28] = True
    raters = np.array([np.where(truth, rng.random(truth.shape) < p, rng.random(truth.shape) > q)
                       for p, q in [(0.9, 0.95), (0.7, 0.99), (0.95, 0.8)]])
    ours = staple(raters, tol=1e-10, max_iter=1000)
    f = sitk.STAPLEImageFilter()
    f.SetForegroundValue(1)
    f.SetMaximumIterations(1000)
    ref = sitk.GetArrayFromImage(f.Execute([sitk.GetImageFromArray(r.astype(np.uint8)) for r in raters]))
    np.testing.assert_allclose(ours.posterior, ref, atol=1e-4)
    np.testing.assert_allclose(ours.sensitivity, f.GetSensitivity(), atol=1e-5)
    np.testing.assert_allclose(ours.specificity, f.GetSpecificity(), atol=1e-5)


def test_binary_dice_equals_sklearn_f1_per_image():
    """medrepro.metrics.binary_dice (one value per image) equals scikit-learn's f1_score on each flattened pair,
    including empty masks (``empty`` plays the role of ``zero_division``), and keeps leading batch axes."""
    from sklearn.metrics import f1_score

    from medrepro.metrics import binary_dice

    rng = np.random.default_rng(0)
    pred = rng.random((3, 4, 9, 11)) < rng.random((3, 4, 1, 1))
    target = rng.random((3, 4, 9, 11)) < 0.3
    pred[0, 0] = False
    target[0, 0] = False                                         # both empty
    pred[1, 1] = False                                           # prediction empty only
    for empty in (1.0, 0.0):
        got = binary_dice(pred, target, empty=empty)
        assert got.shape == (3, 4)
        ref = np.array([[f1_score(t.ravel(), p.ravel(), zero_division=empty) for p, t in zip(pr, tr)]
                        for pr, tr in zip(pred, target)])
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert float(binary_dice(pred[0, 1], target[0, 1])) == pytest.approx(f1_score(target[0, 1].ravel(),
                                                                                  pred[0, 1].ravel()))
    np.testing.assert_array_equal(binary_dice(pred, target[:, :1]),                       # targets broadcast
                                  binary_dice(pred, np.broadcast_to(target[:, :1], pred.shape)))
    with pytest.raises(ValueError, match="one shape"):
        binary_dice(pred[0], target[1, :2])
