"""The CT perfusion simulator (medrepro.sim.ctp): shapes, determinism, the designed control, physics."""
from __future__ import annotations

import numpy as np

from medrepro import ctp
from medrepro.sim.ctp import CTPSpec, simulate_ctp


def test_shapes_determinism_and_masks():
    a, b = simulate_ctp(3, seed=5), simulate_ctp(3, seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.ctp, y.ctp)
        assert x.ctp.dtype == np.int16 and x.ctp.shape[:3] == x.brain.shape and x.ctp.shape[3] == 48
        assert not (x.core & ~x.hypoperfused).any()          # the core lies inside the hypoperfused tissue
        assert x.final.dtype == np.uint8 and not (x.final.astype(bool) & ~x.brain).any()


def test_shared_bolus_keeps_the_patients_and_shares_the_aif():
    vary = simulate_ctp(4, seed=1)
    same = simulate_ctp(4, spec=CTPSpec(same_bolus=True), seed=1)
    for v, s in zip(vary, same):
        np.testing.assert_array_equal(v.final, s.final)         # same lesions, same flags
        assert v.reperfused == s.reperfused
    np.testing.assert_allclose(same[0].aif, same[3].aif)
    assert not np.allclose(vary[0].aif, vary[3].aif)


def test_curves_obey_the_central_volume_principle():
    c = simulate_ctp(1, spec=CTPSpec(noise_hu=(0.0, 0.0)), seed=2)[0]
    enh = c.ctp.astype(float) - c.ctp[..., :3].mean(-1, keepdims=True)
    v = c.brain & (c.truth["severity"] == 0)
    cbv = ctp.KH / ctp.RHO * 100 * enh[v].sum(-1) / c.aif.sum()
    ratio = np.median(cbv / (c.truth["cbf"][v] * c.truth["mtt"][v] / 60))
    assert abs(ratio - 1) < 0.05                                  # integer HU rounding and a 48-s window only


def test_reperfusion_shrinks_the_final_infarct_relative_to_hypoperfusion():
    cases = simulate_ctp(30, seed=3)
    frac = {True: [], False: []}
    for c in cases:
        if c.hypoperfused.sum() > 20:
            frac[c.reperfused].append(c.final.sum() / c.hypoperfused.sum())
    assert np.mean(frac[True]) < np.mean(frac[False])
