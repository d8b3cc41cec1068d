"""run_arms: parallel arms give bit-identical results to serial ones; errors and output come back."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from medrepro.train import arm_workers, run_arms


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _train(seed: int, width: int, steps: int = 30):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 1, 3, padding=1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 1, 16, 16, generator=g)
    losses = []
    for _ in range(steps):
        loss = ((model(x) - x.roll(1, -1)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"arm {seed} done")
    return model, losses, np.random.default_rng(seed).normal(size=3)


def test_parallel_equals_serial_bit_for_bit(capsys):
    torch.set_num_threads(1)
    calls = [(0, 4), (1, 6), {"seed": 2, "width": 4}]
    serial = run_arms(_train, calls, workers=1)
    serial_out = capsys.readouterr().out
    parallel = run_arms(_train, calls, workers=2)
    parallel_out = capsys.readouterr().out
    for (m1, l1, r1), (m2, l2, r2) in zip(serial, parallel):
        assert l1 == l2
        assert np.array_equal(r1, r2)
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert torch.equal(p, q)
    assert serial_out == parallel_out == "arm 0 done\narm 1 done\narm 2 done\n"


def _fails(x: int) -> int:
    if x == 1:
        raise ValueError(f"arm {x} failed")
    return x


def test_an_arm_error_is_raised_in_the_caller():
    with pytest.raises(ValueError, match="arm 1 failed"):
        run_arms(_fails, [(0,), (1,)], workers=2)
    assert run_arms(_fails, [(0,), (2,)], workers=2) == [0, 2]


def test_closures_need_no_pickling():
    offset = 10
    assert run_arms(lambda x: x + offset, [(1,), (2,)], workers=2) == [11, 12]


def test_arm_workers(monkeypatch):
    monkeypatch.setenv("MEDREPRO_ARM_WORKERS", "1")
    assert arm_workers() == 1
    monkeypatch.delenv("MEDREPRO_ARM_WORKERS")
    torch.set_num_threads(2)
    assert arm_workers() == 1            # more than one thread (full mode): one arm at a time
    torch.set_num_threads(1)
    assert arm_workers() in (1, 2)


def _fit_arm(seed: int):
    from medrepro.train import fit

    torch.manual_seed(seed)
    model = nn.Linear(3, 1)
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(seed))
    res = fit(model, lambda b: ((model(b) - 1) ** 2).mean(), lambda: [x], optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
              steps=20, desc="arm", progress=True)
    return res.losses


def test_fit_in_a_worker_draws_no_bar(capsys):
    serial = run_arms(_fit_arm, [(0,), (1,)], workers=1)
    capsys.readouterr()
    parallel = run_arms(_fit_arm, [(0,), (1,)], workers=2)
    assert serial == parallel
    assert "arm" not in capsys.readouterr().err           # no progress bar text came back from the workers
