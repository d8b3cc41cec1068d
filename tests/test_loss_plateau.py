"""medrepro.train.loss_plateau: the flattened-loss measure behind the notebooks' V claims."""
import numpy as np
import pytest

from medrepro.train import loss_plateau


def test_flat_and_falling_curves():
    flat = 0.5 + 0.01 * np.random.default_rng(0).standard_normal(200)
    assert loss_plateau(flat) < 0.02
    falling = np.linspace(2.0, 0.2, 200)               # still descending: last 20 % far below the 20 % before
    assert loss_plateau(falling) > 0.3
    assert loss_plateau([1, 1, 1, 1, 2]) == pytest.approx(1.0)   # windows of one entry each (frac 0.2)
    near_zero = np.r_[np.full(8, 0.02), np.full(2, 0.01)]        # memorised: tiny in nats, half in relative terms
    assert loss_plateau(near_zero) == pytest.approx(0.5) and loss_plateau(near_zero, relative=False) == pytest.approx(0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="too few"):
        loss_plateau([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="finite"):
        loss_plateau([1.0, np.nan] * 10)
    with pytest.raises(ValueError, match="frac"):
        loss_plateau(np.ones(10), frac=0.7)
