"""LoRA adapters (medrepro.nn.lora): identity at start, only adapters train, merged weight equals the adapter."""
import copy

import pytest
import torch
from torch import nn

from medrepro.nn.lora import LoRALinear, add_lora, trainable_fraction


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 8)
        self.block = nn.Sequential(nn.Linear(8, 8))

    def forward(self, x):
        return self.q(x) + self.k(x) * self.v(x) + self.block(x)


def test_lora_equals_base_at_init_and_trains_only_adapters():
    torch.manual_seed(0)
    m = Two()
    ref = copy.deepcopy(m)
    names = add_lora(m, ("q", "v"), r=2, alpha=4)
    assert names == ["q", "v"]
    x = torch.randn(5, 8)
    assert torch.equal(m(x), ref(x))                       # B = 0: the adapted model is the base model
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"q.lora_A", "q.lora_B", "v.lora_A", "v.lora_B"}
    assert trainable_fraction(m)[0] == 2 * (2 * 8 + 8 * 2)
    frozen = {n: p.detach().clone() for n, p in m.named_parameters() if not p.requires_grad}
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (m(x) ** 2).mean().backward()
        opt.step()
    assert all(torch.equal(p, frozen[n]) for n, p in m.named_parameters() if n in frozen)
    assert not torch.equal(m(x), ref(x))


def test_merged_weight_matches_the_adapted_layer():
    torch.manual_seed(1)
    layer = LoRALinear(nn.Linear(6, 4), r=3, alpha=6)
    nn.init.normal_(layer.lora_B)
    x = torch.randn(7, 6)
    want = x @ layer.merged_weight().T + layer.base.bias
    torch.testing.assert_close(layer(x), want)


def test_bad_targets_and_rank():
    with pytest.raises(ValueError, match="no nn.Linear child"):
        add_lora(Two(), ("nothing",))
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(2, 2), r=0)
    with pytest.raises(TypeError):
        LoRALinear(nn.Conv1d(2, 2, 1))
