"""The DRR and any-hit label projectors (medrepro.sim.drr), the torso phantom (medrepro.sim.torso) and the
multi-label IoU (medrepro.metrics.binary_iou), checked against direct loops, Beer–Lambert identities,
analytic chords and scikit-learn / MONAI."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.metrics import binary_dice, binary_iou
from medrepro.sim import drr, torso


def test_line_integral_equals_the_ray_by_ray_loop():
    rng = np.random.default_rng(0)
    mu = rng.uniform(0, 0.05, (7, 9, 5))
    pix = [(z, x) for z in range(7) for x in range(5)]
    ref = drr.ray_by_ray(mu, 2.5, pix)
    got = drr.line_integral(mu, 2.5)[tuple(np.array(pix).T)]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


def test_line_integral_of_a_ball_is_its_chord():
    n = 201
    c = np.linspace(-1, 1, n)
    zz, yy, xx = np.meshgrid(c, c, c, indexing="ij")
    ball = (zz ** 2 + yy ** 2 + xx ** 2 <= 0.8 ** 2).astype(float)
    mu = 0.02
    p = drr.line_integral(mu * ball, spacing=c[1] - c[0])
    chord = 2 * np.sqrt(np.clip(0.8 ** 2 - c[:, None] ** 2 - c[None, :] ** 2, 0, None))   # exact chord length
    assert np.abs(p - mu * chord).max() < mu * 3 * (c[1] - c[0])


def test_beer_lambert_identities():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 0.03, (2, 4, 6, 4, 5))
    pa, pb, pab = drr.line_integral(a, 1.5), drr.line_integral(b, 1.5), drr.line_integral(a + b, 1.5)
    np.testing.assert_allclose(drr.transmission(pab), drr.transmission(pa) * drr.transmission(pb), rtol=1e-12)
    slab = np.full((3, 10, 3), 0.0206)                 # 10 voxels of 2 mm of water at 60 keV: I/I0 = exp(-0.412)
    np.testing.assert_allclose(drr.transmission(drr.line_integral(slab, 2.0)), np.exp(-0.0206 * 20), rtol=1e-12)
    np.testing.assert_allclose(drr.drr(a, 1.5), pa)   # without noise the display image is the line integral
    noisy = drr.drr(a, 1.5, noise=0.01, rng=np.random.default_rng(0))
    assert noisy.shape == pa.shape and 0 < np.abs(noisy - pa).mean() < 0.05


def test_project_labels_is_any_hit_and_overlaps():
    rng = np.random.default_rng(2)
    lab = rng.random((2, 3, 5, 6, 4)) > 0.9
    got = drr.project_labels(lab)
    ref = np.zeros((2, 3, 5, 4), bool)
    for idx in np.ndindex(2, 3, 5, 4):
        n, c, z, x = idx
        ref[idx] = any(lab[n, c, z, y, x] for y in range(6))
    np.testing.assert_array_equal(got, ref)
    front = np.zeros((1, 2, 1, 4, 1), bool)           # structure 0 in front of structure 1 on the same ray
    front[0, 0, 0, 0, 0] = front[0, 1, 0, 3, 0] = True
    assert drr.project_labels(front)[0, :, 0, 0].all()
    with pytest.raises(ValueError):
        drr.project_labels(lab.astype(int))
    with pytest.raises(ValueError):
        drr.line_integral(-np.ones((2, 2, 2)), 1.0)


def test_torso_phantom_projects_overlapping_labels():
    spec = torso.TorsoSpec(size=32, depth=16)
    b = torso.simulate_torso(6, spec, seed=3, keep_volumes=True)
    assert b.images.shape == (6, 32, 32) and b.labels.shape == (6, len(torso.CLASSES), 32, 32)
    np.testing.assert_array_equal(b.labels, drr.project_labels(b.labels3d))
    v = torso.visible_labels(b.labels)
    assert (v <= b.labels).all()                                   # visible ⊆ projected
    assert (b.labels[:, torso.LUNG_L] & ~v[:, torso.LUNG_L]).any()  # lung hidden behind heart / dome
    assert not (v[:, torso.HEART] & v[:, torso.LUNG_L]).any()      # no overlap in the 2-D labels
    np.testing.assert_array_equal(v[:, torso.RIBS], b.labels[:, torso.RIBS])
    # lungs are darker (less attenuating) than the mediastinum on the DRR
    lung = b.labels[:, torso.LUNG_R] & ~torso.occluders(b.labels)
    assert b.images[lung].mean() < b.images[b.labels[:, torso.SPINE]].mean()
    again = torso.simulate_torso(6, spec, seed=3)
    np.testing.assert_array_equal(again.images, b.images)


def test_binary_iou_and_dice_match_scikit_learn_and_monai():
    from sklearn.metrics import f1_score, jaccard_score

    rng = np.random.default_rng(4)
    p, t = rng.random((5, 3, 8, 8)) > 0.6, rng.random((5, 3, 8, 8)) > 0.5
    p[0, 0] = t[0, 0] = False                                      # both empty
    iou, dice = binary_iou(p, t), binary_dice(p, t)
    for i in range(5):
        for c in range(3):
            assert iou[i, c] == pytest.approx(jaccard_score(t[i, c].ravel(), p[i, c].ravel(), zero_division=1.0))
            assert dice[i, c] == pytest.approx(f1_score(t[i, c].ravel(), p[i, c].ravel(), zero_division=1.0))
    assert binary_iou(p[0, 0], t[0, 0], empty=0.0) == 0.0
    monai_metrics = pytest.importorskip("monai.metrics")
    import torch

    m_iou = monai_metrics.compute_iou(torch.from_numpy(p).float(), torch.from_numpy(t).float(), include_background=True)
    m_dice = monai_metrics.compute_dice(torch.from_numpy(p).float(), torch.from_numpy(t).float(), include_background=True)
    ok = ~(~p.any((2, 3)) & ~t.any((2, 3)))                        # MONAI gives NaN where both are empty
    np.testing.assert_allclose(m_iou.numpy()[ok], iou[ok], atol=1e-6)
    np.testing.assert_allclose(m_dice.numpy()[ok], dice[ok], atol=1e-6)
    with pytest.raises(ValueError):
        binary_iou(p[:, :, :4], t)
