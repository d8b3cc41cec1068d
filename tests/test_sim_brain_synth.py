"""medrepro.sim.brain_synth: label maps, contrasts, corruption and the mild-to-severe draws (hand-checked cases)."""
import numpy as np
import pytest
import torch

from medrepro.sim import brain_synth as bs


@pytest.fixture(scope="module")
def subs():
    return bs.subjects(4, seed=0)


def test_subjects_are_label_maps_that_differ_and_repeat(subs):
    for s in subs:
        assert s.labels.shape == bs.SHAPE and set(np.unique(s.labels)) == {0, 1, 2, 3}
        assert (s.labels[0] == 0).all()                     # the border row is background
    assert (subs[0].labels != subs[1].labels).mean() > 0.02   # own warp and level: subjects differ
    again = bs.subjects(2, seed=0)
    np.testing.assert_array_equal(again[1].labels, subs[1].labels)


def test_render_without_noise_is_the_tissue_means(subs):
    lab = torch.from_numpy(np.stack([s.labels for s in subs[:2]]))
    g = torch.Generator().manual_seed(0)
    img = bs.render(lab, bs.fixed_means("t2", 2), g, spread=0.0, texture=0.0)
    np.testing.assert_allclose(img.numpy(), np.asarray(bs.CONTRASTS["t2"], np.float32)[lab.numpy()], atol=1e-7)
    np.testing.assert_allclose(bs.anatomy_target(lab).numpy(), np.asarray(bs.CONTRASTS["t1"], np.float32)[lab.numpy()])


def test_corrupt_severity_zero_only_rescales_and_severity_one_degrades(subs):
    lab = torch.from_numpy(np.stack([s.labels for s in subs]))
    g = torch.Generator().manual_seed(1)
    clean = bs.render(lab, bs.fixed_means("t1", 4), g, spread=0.0, texture=0.0)
    out0 = bs.corrupt(clean, torch.zeros(4), g)
    ref = (clean - clean.amin((1, 2), keepdim=True)) / (clean.amax((1, 2), keepdim=True) - clean.amin((1, 2), keepdim=True))
    np.testing.assert_allclose(out0.numpy(), ref.numpy(), atol=1e-6)
    out1 = bs.corrupt(clean, torch.ones(4), g)
    assert out1.min() >= 0 and out1.max() <= 1
    assert float((out1 - ref).abs().mean()) > 0.02


def test_intra_subject_batch_shares_anatomy_but_not_contrast(subs):
    lab = torch.from_numpy(np.stack([s.labels for s in subs]))
    g = torch.Generator().manual_seed(2)
    x = bs.intra_subject_batch(lab, g)
    assert x.shape == (2, 4, *bs.SHAPE)
    # mild draws keep tissue boundaries: every label's pixels are nearly constant within a mild image
    mild = x[0, 0].numpy()
    l0 = lab[0].numpy()
    within = np.mean([mild[l0 == k].std() for k in range(4)])
    assert within < 0.15
    assert not torch.allclose(x[0, 0], x[1, 0])
