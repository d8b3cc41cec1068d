"""medrepro.nn.patches.patchify: a Linear on its output equals the stride-equals-kernel Conv2d it replaces."""
import pytest
import torch

from medrepro.nn.patches import patchify


def test_linear_on_patches_equals_the_patchifying_convolution():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 12, 8, dtype=torch.float64)
    conv = torch.nn.Conv2d(2, 5, 4, stride=4).double()
    lin = torch.nn.Linear(2 * 16, 5).double()
    with torch.no_grad():
        lin.weight.copy_(conv.weight.reshape(5, -1))
        lin.bias.copy_(conv.bias)
        ours = lin(patchify(x, 4)).permute(0, 3, 1, 2)
        assert ours.shape == (3, 5, 3, 2)
        assert torch.allclose(ours, conv(x), atol=1e-12)


def test_patch_vectors_match_torch_unfold_and_bad_sizes_raise():
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    ref = torch.nn.functional.unfold(x, 3, stride=3).transpose(1, 2).reshape(2, 2, 2, 27)
    assert torch.equal(patchify(x, 3), ref)
    with pytest.raises(ValueError, match="not a multiple"):
        patchify(x, 4)


def test_patch_embed_equals_the_convolution_it_replaces():
    from medrepro.nn.patches import PatchEmbed

    torch.manual_seed(1)
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
    emb = PatchEmbed(4, 3, 6).double()
    conv = torch.nn.Conv2d(3, 6, 4, stride=4).double()
    with torch.no_grad():
        conv.weight.copy_(emb.proj.weight.reshape(6, 3, 4, 4))
        conv.bias.copy_(emb.proj.bias)
        assert torch.allclose(emb(x), conv(x), atol=1e-12) and emb(x).shape == (2, 6, 2, 3)
