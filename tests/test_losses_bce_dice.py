"""medrepro.losses.bce_soft_dice_loss against MONAI's DiceLoss and PyTorch's BCE, and the notebooks' own expression."""
import pytest
import torch
import torch.nn.functional as F

from medrepro.losses import bce_soft_dice_loss


def test_matches_monai_dice_plus_bce():
    from monai.losses import DiceLoss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 1, 12, 12, generator=g)
    target = (torch.rand(6, 1, 12, 12, generator=g) < 0.2).float()
    monai = DiceLoss(sigmoid=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)(logits, target)
    ref = F.binary_cross_entropy_with_logits(logits, target) + monai
    assert torch.allclose(bce_soft_dice_loss(logits, target), ref, atol=1e-6)


def test_gradient_equals_the_written_out_expression():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(4, 1, 8, 8, generator=g, requires_grad=True)
    z2 = z1.detach().clone().requires_grad_(True)
    y = (torch.rand(4, 1, 8, 8, generator=g) < 0.3).float()
    bce_soft_dice_loss(z1, y).backward()
    p = z2.sigmoid()
    (F.binary_cross_entropy_with_logits(z2, y) + (1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1))).backward()
    assert torch.equal(z1.grad, z2.grad)


def test_perfect_prediction_leaves_only_a_small_loss_and_shapes_are_checked():
    y = torch.zeros(2, 1, 8, 8)
    y[:, :, 2:5, 2:5] = 1
    assert float(bce_soft_dice_loss(40 * (2 * y - 1), y)) < 1e-6
    with pytest.raises(ValueError, match=r"logits \(2, 1, 8, 8\) and target \(2, 8, 8\) differ"):
        bce_soft_dice_loss(y, y[:, 0])
