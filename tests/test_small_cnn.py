"""medrepro.nn.small_cnn.StridedConvEncoder: shapes, and the same layers as the stride-2 encoder written out."""
import torch
from torch import nn

from medrepro.nn.small_cnn import StridedConvEncoder


def test_strided_encoder_matches_the_layers_written_out():
    torch.manual_seed(0)
    enc = StridedConvEncoder(1, 8, 16)
    torch.manual_seed(0)
    ref_body = nn.Sequential(*[nn.Sequential(nn.Conv2d(i, o, 3, stride=2, padding=1), nn.GroupNorm(4, o), nn.SiLU())
                               for i, o in ((1, 8), (8, 16), (16, 32))])
    ref_proj = nn.Linear(32, 16)
    x = torch.randn(5, 1, 28, 28)
    assert torch.equal(enc(x), ref_proj(ref_body(x).mean(dim=(2, 3))))   # same initial weights, same output
    assert enc.out_dim == 16
    plain = StridedConvEncoder(3, 4)
    assert plain(torch.randn(2, 3, 32, 32)).shape == (2, 16) and plain.out_dim == 16
