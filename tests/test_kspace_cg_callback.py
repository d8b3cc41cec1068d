"""sense_cg's optional callback: the images it sees equal those of shorter runs, and the default is unchanged."""
import numpy as np
import torch

from medrepro.sim import kspace as ks


def _problem():
    rng = np.random.default_rng(0)
    img = rng.random((2, 24, 24)).astype(np.float32)
    mc = ks.simulate_multicoil(img, 4, noise=0.02, seed=1)
    m = torch.as_tensor(ks.equispaced_mask(24, 3, 6).astype(np.float32))[None, None, :, None]
    k0 = torch.as_tensor(mc.kspace) * m
    return k0, ks.acs_maps(k0, 6), m


def test_callback_sees_every_shorter_run():
    k0, maps, m = _problem()
    seen = {}
    x_full, hist = ks.sense_cg(k0, maps, m, lam=0.01, iters=8, callback=lambda i, x: seen.__setitem__(i, x.clone()))
    assert sorted(seen) == list(range(1, 9))
    assert torch.equal(seen[8], x_full)
    for n in (1, 3, 5):
        x_n, _ = ks.sense_cg(k0, maps, m, lam=0.01, iters=n)
        assert torch.equal(seen[n], x_n)


def test_no_callback_is_the_default_result():
    k0, maps, m = _problem()
    a, ha = ks.sense_cg(k0, maps, m, lam=0.03, iters=6)
    b, hb = ks.sense_cg(k0, maps, m, lam=0.03, iters=6, callback=None)
    assert torch.equal(a, b) and ha == hb
