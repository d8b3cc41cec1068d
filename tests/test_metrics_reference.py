"""Segmentation metrics checked against references the project did not write (DESIGN.md, "Checked against the outside").

HD95 in its two conventions:
- ``"pooled"`` against medpy's definition of ``medpy.metric.binary.hd95``, written here with scipy from its
  documentation (medpy is GPL, so it is neither installed nor copied): surface = mask XOR its erosion by
  ``generate_binary_structure(ndim, 1)``; distances by ``distance_transform_edt`` with ``sampling``;
  ``hd95 = percentile(hstack(d(A→B), d(B→A)), 95)``;
- ``"max_directed"`` against MONAI's ``compute_hausdorff_distance(percentile=95)`` itself (same edges: scipy's
  erosion with the connectivity-1 structure after a zero-padded crop; exact Euclidean distances between edge
  voxels; results in float32, hence the tolerance).
"""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import ndimage

from medrepro.metrics import HD95_CONVENTIONS, hd95, hd95_per_class
from medrepro.segmentation import volume_scores

monai_metrics = pytest.importorskip("monai.metrics")


def medpy_hd95(a: np.ndarray, b: np.ndarray, spacing=None) -> float:
    """medpy.metric.binary.hd95's documented definition (connectivity 1), with scipy."""
    cross = ndimage.generate_binary_structure(a.ndim, 1)
    sa = a ^ ndimage.binary_erosion(a, structure=cross, iterations=1)
    sb = b ^ ndimage.binary_erosion(b, structure=cross, iterations=1)
    d_ab = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    d_ba = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    return float(np.percentile(np.hstack((d_ab, d_ba)), 95))


def monai_hd95(a: np.ndarray, b: np.ndarray, spacing=None) -> float:
    """MONAI's compute_hausdorff_distance(percentile=95) on one image, one channel (no background dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # MONAI's deprecation and empty-mask warnings
        out = monai_metrics.compute_hausdorff_distance(
            torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None],
            include_background=True, percentile=95, spacing=spacing)
    return float(out[0, 0])


def random_mask(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Smooth random blobs (several components, holes, often touching the border), 10–50 % foreground."""
    field = ndimage.gaussian_filter(rng.normal(size=shape), rng.uniform(1.0, 3.0))
    return field > np.quantile(field, rng.uniform(0.5, 0.9))


def random_cases(n: int = 60):
    """n 2-D and n 3-D pairs with anisotropic spacing (the 3-D slice axis thick, as in cine MR)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (int(rng.integers(20, 48)), int(rng.integers(20, 48)))
        yield random_mask(rng, shape), random_mask(rng, shape), tuple(rng.uniform(0.5, 2.0, 2).tolist())
    for i in range(n):
        shape = (int(rng.integers(12, 24)), int(rng.integers(12, 24)), int(rng.integers(6, 12)))
        sp = (*rng.uniform(0.6, 1.6, 2).tolist(), float(rng.uniform(5.0, 10.0)))
        yield random_mask(rng, shape), random_mask(rng, shape), sp


CASES = list(random_cases())


def test_pooled_matches_medpy_definition_on_random_2d_and_3d_cases():
    for a, b, sp in CASES:
        assert hd95(a, b, sp, convention="pooled") == pytest.approx(medpy_hd95(a, b, sp), rel=1e-12, abs=1e-12)
        assert hd95(a, b, convention="pooled") == pytest.approx(medpy_hd95(a, b), rel=1e-12, abs=1e-12)


def test_max_directed_matches_monai_on_random_2d_and_3d_cases():
    for a, b, sp in CASES:
        assert hd95(a, b, sp, convention="max_directed") == pytest.approx(monai_hd95(a, b, sp), rel=1e-5, abs=1e-5)
        assert hd95(a, b, convention="max_directed") == pytest.approx(monai_hd95(a, b), rel=1e-5, abs=1e-5)


def test_the_conventions_differ_on_most_random_cases():
    """The two conventions are not interchangeable (so each test above tests its own reference)."""
    differ = [not np.isclose(hd95(a, b, sp, convention="pooled"), hd95(a, b, sp, convention="max_directed"))
              for a, b, sp in CASES]
    assert np.mean(differ) > 0.5


def test_distant_false_positive_blob_is_invisible_pooled_and_dominates_max_directed():
    target = np.zeros((96, 96), bool)
    target[10:50, 10:50] = True                  # 156 surface pixels
    pred = target.copy()
    pred[85:90, 85:90] = True                    # a 5 × 5 false positive, 16 surface pixels: < 5 % pooled
    assert hd95(pred, target, convention="pooled") == medpy_hd95(pred, target) == 0.0
    far = hd95(pred, target, convention="max_directed")
    assert far == pytest.approx(monai_hd95(pred, target), rel=1e-5) and far > 30
    assert hd95(pred, target, (2.0, 2.0), convention="max_directed") == pytest.approx(2 * far)


def test_mask_touching_the_border_has_a_surface_there():
    """Outside the array is background (medpy's and MONAI's border_value=0): a full mask is all surface at the rim."""
    full = np.ones((10, 12), bool)
    half = np.zeros((10, 12), bool)
    half[:, :6] = True
    for conv, ref in (("pooled", medpy_hd95), ("max_directed", monai_hd95)):
        assert hd95(full, half, convention=conv) == pytest.approx(ref(full, half), rel=1e-5)
        assert hd95(full, half, convention=conv) > 0


def test_connectivity_one_surface_is_what_the_references_use():
    """A diagonal staircase: a full-connectivity (8-neighbour) erosion would give a thicker surface and another HD95."""
    rng = np.random.default_rng(3)
    a, b = random_mask(rng, (30, 30)), random_mask(rng, (30, 30))
    full = ndimage.generate_binary_structure(2, 2)
    sa, sb = a ^ ndimage.binary_erosion(a, full), b ^ ndimage.binary_erosion(b, full)
    d = np.hstack((ndimage.distance_transform_edt(~sb)[sa], ndimage.distance_transform_edt(~sa)[sb]))
    assert medpy_hd95(a, b) != pytest.approx(float(np.percentile(d, 95)))     # the test can tell them apart
    assert hd95(a, b, convention="pooled") == pytest.approx(medpy_hd95(a, b))


@pytest.mark.parametrize("convention", sorted(HD95_CONVENTIONS))
def test_empty_masks(convention):
    """Both empty → 0, one empty → NaN: deliberate (medpy raises for either; MONAI gives NaN for both)."""
    z = np.zeros((8, 9, 4), bool)
    m = z.copy()
    m[2:5, 3:6, 1:3] = True
    assert hd95(z, z, convention=convention) == 0.0
    assert np.isnan(hd95(m, z, convention=convention)) and np.isnan(hd95(z, m, convention=convention))
    assert np.isnan(monai_hd95(z, z)) and np.isnan(monai_hd95(m, z)) and np.isnan(monai_hd95(z, m))


@pytest.mark.parametrize("convention", sorted(HD95_CONVENTIONS))
def test_spacing_forms(convention):
    a, b, sp = CASES[70]                          # a 3-D case
    expected = hd95(a, b, sp, convention=convention)
    assert hd95(a, b, np.asarray(sp), convention=convention) == expected        # was: `spacing or ...` raised
    assert hd95(a, b, list(sp), convention=convention) == expected
    assert hd95(a, b, 2.0, convention=convention) == pytest.approx(2 * hd95(a, b, convention=convention))
    with pytest.raises(ValueError, match="2 values; the masks are 3-D"):
        hd95(a, b, (1.0, 1.0), convention=convention)
    with pytest.raises(ValueError, match="finite and positive"):
        hd95(a, b, (1.0, 0.0, 1.0), convention=convention)


def test_shape_mismatch_names_both_shapes():
    a, b = np.ones((4, 5), bool), np.ones((4, 6), bool)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(4, 6\)"):
        hd95(a, b, convention="pooled")
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(4, 6\)"):
        hd95_per_class(a.astype(int), b.astype(int), [1], convention="pooled")
    s = SimpleNamespace(volume_id=np.array(["a"] * 4), spacing=np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 4, 5\).*\(4, 4, 6\)"):
        volume_scores(np.ones((4, 4, 5), int), np.ones((4, 4, 6), int), s, (1,), convention="pooled")


def test_convention_is_required_and_checked():
    a = np.ones((4, 4), bool)
    with pytest.raises(TypeError):
        hd95(a, a)                                 # no silent default
    with pytest.raises(TypeError):
        hd95_per_class(a, a, [1])
    with pytest.raises(ValueError, match="unknown HD95 convention 'monai'"):
        hd95(a, a, convention="monai")


def test_per_class_and_volume_scores_pass_the_convention_through():
    rng = np.random.default_rng(5)
    gt = np.stack([random_mask(rng, (24, 24)) for _ in range(6)]).astype(int) * 2
    pred = np.stack([random_mask(rng, (24, 24)) for _ in range(6)]).astype(int) * 2
    spacing = np.full((6, 3), (1.2, 0.8, 6.0))
    s = SimpleNamespace(volume_id=np.array(["a"] * 3 + ["b"] * 3), spacing=spacing)
    for conv, ref in (("pooled", medpy_hd95), ("max_directed", monai_hd95)):
        _, hd = volume_scores(pred, gt, s, (2,), convention=conv)
        for k, sl in enumerate((slice(0, 3), slice(3, 6))):
            p, t = np.moveaxis(pred[sl], 0, -1) == 2, np.moveaxis(gt[sl], 0, -1) == 2
            assert hd[k, 0] == pytest.approx(ref(p, t, (1.2, 0.8, 6.0)), rel=1e-5)
        assert hd95_per_class(pred[0], gt[0], [2], (1.2, 0.8), convention=conv)[0] == pytest.approx(
            ref(pred[0] == 2, gt[0] == 2, (1.2, 0.8)), rel=1e-5)
