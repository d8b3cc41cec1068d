"""ATM encoder: the fused patch embedding equals the official Conv2d + AvgPool2d layers; shapes; the ablation."""
from __future__ import annotations

import torch
from torch import nn

from medrepro.nn.atm import ATM, ChannelAttention, PatchEmbedding


def _reference_patch(pe: PatchEmbedding, n_channels: int) -> nn.Sequential:
    """The official layer sequence with the fused module's weights."""
    f = pe.temporal_weight.shape[0]
    conv1 = nn.Conv2d(1, f, (1, pe.kernel))
    conv2 = nn.Conv2d(f, f, (n_channels, 1))
    conv3 = nn.Conv2d(f, f, 1)
    with torch.no_grad():
        conv1.weight.copy_(pe.temporal_weight[:, None, None, :]); conv1.bias.copy_(pe.temporal_bias)
        conv2.weight.copy_(pe.spatial_weight[..., None]); conv2.bias.copy_(pe.spatial_bias)
        conv3.weight.copy_(pe.mix.weight[..., None, None]); conv3.bias.copy_(pe.mix.bias)
    bn1, bn2 = nn.BatchNorm2d(f), nn.BatchNorm2d(f)
    bn1.load_state_dict(pe.bn1.state_dict()); bn2.load_state_dict(pe.bn2.state_dict())
    return nn.Sequential(conv1, nn.AvgPool2d((1, pe.pool), (1, pe.stride)), bn1, nn.ELU(), conv2, bn2, nn.ELU(), conv3)


def test_fused_patch_embedding_equals_conv_pool_layers():
    torch.manual_seed(0)
    for kernel, pool, stride, t in ((10, 20, 2, 100), (25, 51, 5, 250), (10, 20, 4, 100)):
        pe = PatchEmbedding(7, n_filters=6, kernel=kernel, pool=pool, stride=stride).eval()
        with torch.no_grad():
            pe.bn1.running_mean.uniform_(-1, 1); pe.bn1.running_var.uniform_(0.5, 2)
            pe.bn2.running_mean.uniform_(-1, 1); pe.bn2.running_var.uniform_(0.5, 2)
        ref = _reference_patch(pe, 7).eval()
        x = torch.randn(3, 7, t)
        with torch.no_grad():
            torch.testing.assert_close(pe(x), ref(x.unsqueeze(1)).flatten(1), rtol=1e-5, atol=1e-5)


def test_fused_patch_embedding_train_mode_batchnorm_matches():
    torch.manual_seed(1)
    pe = PatchEmbedding(5, n_filters=4, dropout=0.0).train()
    ref = _reference_patch(pe, 5).train()
    x = torch.randn(6, 5, 100)
    torch.testing.assert_close(pe(x), ref(x.unsqueeze(1)).flatten(1), rtol=1e-5, atol=1e-5)


def test_official_sizes_give_1440_features_and_shapes():
    pe = PatchEmbedding(63, kernel=25, pool=51, stride=5)
    assert pe(torch.randn(2, 63, 250)).shape == (2, 40 * 36)      # the official Proj_eeg input size 1440
    m = ATM(17, 100, 32, n_subjects=3).eval()
    out = m(torch.randn(4, 17, 100), torch.tensor([0, 1, 2, 0]))
    assert out.shape == (4, 32)
    assert ATM(17, 100, 32, attention=False).channel_attention is None
    assert torch.isclose(m.temperature(), torch.tensor(0.07))


def test_subject_token_changes_the_channel_tokens_and_uneven_heads_work():
    torch.manual_seed(0)
    ca = ChannelAttention(250, 2, n_heads=4).eval()                # d_model 250 is not divisible by 4 heads
    x = torch.randn(2, 5, 250)
    a = ca(x, torch.tensor([0, 0]))
    b = ca(x, torch.tensor([1, 1]))
    assert a.shape == (2, 5, 250) and not torch.allclose(a, b)
