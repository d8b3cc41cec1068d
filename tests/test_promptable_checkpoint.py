"""Loading released SAM / SAM-Med2D checkpoints into medrepro.nn.promptable (no download: synthetic tensors).

The parameter names below are written out from the official code (OpenGVLab/SAM-Med2D @bfd2b93,
``segment_anything/modeling``: ``ImageEncoderViT`` with ``PatchEmbed.proj``, ``Block.{norm1, attn.{qkv, proj,
rel_pos_h, rel_pos_w}, norm2, mlp.{lin1, lin2}, Adapter.{channel.0, channel.2, spatial.0, spatial.2, norm}}`` and
``neck.0-3``; ``PromptEncoder.{pe_layer.positional_encoding_gaussian_matrix, point_embeddings.0-3,
not_a_point_embed, mask_downscaling.{0,1,3,4,6}, no_mask_embed}``; ``MaskDecoder.{iou_token, mask_tokens,
transformer.{layers.i.{self_attn, cross_attn_token_to_image, cross_attn_image_to_token}.{q,k,v,out}_proj,
layers.i.norm1-4, layers.i.mlp.{lin1, lin2}, final_attn_token_to_image, norm_final_attn}, output_upscaling.{0,1,3},
output_hypernetworks_mlps.i.layers.j, iou_prediction_head.layers.j}``; ``train.py`` saves ``{"model": state_dict,
"optimizer": ...}``), not generated from this module, so a renamed or reshaped parameter here fails the test.
The attention reference is written from the official ``Attention.forward`` and ``add_decomposed_rel_pos``.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from medrepro.nn import promptable as P

# a tiny configuration: 32 px, patch 8 (grid 4), width 16, 2 blocks (block 1 global), windows of 2, 2 heads
CFG = dict(img_size=32, patch=8, in_chans=3, dim=16, depth=2, heads=2, prompt_dim=16, decoder_heads=2,
           decoder_depth=2, window=2, global_blocks=(1,), rel_pos=True, decoder_mlp=32, iou_hidden=8)


def official_state_dict(g: torch.Generator, adapters: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under SAM-Med2D's parameter names and shapes for CFG."""
    C, D, grid, hd = CFG["dim"], CFG["prompt_dim"], CFG["img_size"] // CFG["patch"], CFG["dim"] // CFG["heads"]
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {"image_encoder.patch_embed.proj.weight": r(C, 3, 8, 8), "image_encoder.patch_embed.proj.bias": r(C),
          "image_encoder.pos_embed": r(1, grid, grid, C)}
    for i in range(CFG["depth"]):
        b = f"image_encoder.blocks.{i}."
        side = grid if i in CFG["global_blocks"] else CFG["window"]
        sd.update({b + "norm1.weight": r(C), b + "norm1.bias": r(C), b + "attn.qkv.weight": r(3 * C, C),
                   b + "attn.qkv.bias": r(3 * C), b + "attn.proj.weight": r(C, C), b + "attn.proj.bias": r(C),
                   b + "attn.rel_pos_h": r(2 * side - 1, hd), b + "attn.rel_pos_w": r(2 * side - 1, hd),
                   b + "norm2.weight": r(C), b + "norm2.bias": r(C), b + "mlp.lin1.weight": r(4 * C, C),
                   b + "mlp.lin1.bias": r(4 * C), b + "mlp.lin2.weight": r(C, 4 * C), b + "mlp.lin2.bias": r(C)})
        if adapters:
            sd.update({b + "Adapter.norm.weight": r(C), b + "Adapter.norm.bias": r(C),
                       b + "Adapter.channel.0.weight": r(C // 4, C), b + "Adapter.channel.2.weight": r(C, C // 4),
                       b + "Adapter.spatial.0.weight": r(C, C, 3, 3), b + "Adapter.spatial.2.weight": r(C, C, 4, 4)})
    sd.update({"image_encoder.neck.0.weight": r(D, C, 1, 1), "image_encoder.neck.1.weight": r(D),
               "image_encoder.neck.1.bias": r(D), "image_encoder.neck.2.weight": r(D, D, 3, 3),
               "image_encoder.neck.3.weight": r(D), "image_encoder.neck.3.bias": r(D)})
    p = "prompt_encoder."
    sd.update({p + "pe_layer.positional_encoding_gaussian_matrix": r(2, D // 2), p + "not_a_point_embed.weight": r(1, D),
               p + "no_mask_embed.weight": r(1, D), **{f"{p}point_embeddings.{j}.weight": r(1, D) for j in range(4)},
               p + "mask_downscaling.0.weight": r(4, 1, 2, 2), p + "mask_downscaling.0.bias": r(4),
               p + "mask_downscaling.1.weight": r(4), p + "mask_downscaling.1.bias": r(4),
               p + "mask_downscaling.3.weight": r(16, 4, 2, 2), p + "mask_downscaling.3.bias": r(16),
               p + "mask_downscaling.4.weight": r(16), p + "mask_downscaling.4.bias": r(16),
               p + "mask_downscaling.6.weight": r(D, 16, 1, 1), p + "mask_downscaling.6.bias": r(D)})
    m = "mask_decoder."
    sd.update({m + "iou_token.weight": r(1, D), m + "mask_tokens.weight": r(4, D)})

    def attn(prefix: str, inner: int) -> None:
        sd.update({f"{prefix}.{n}_proj.weight": r(inner, D) for n in "qkv"})
        sd.update({f"{prefix}.{n}_proj.bias": r(inner) for n in "qkv"})
        sd.update({f"{prefix}.out_proj.weight": r(D, inner), f"{prefix}.out_proj.bias": r(D)})

    for i in range(CFG["decoder_depth"]):
        t = f"{m}transformer.layers.{i}."
        attn(t + "self_attn", D)
        attn(t + "cross_attn_token_to_image", D // 2)
        attn(t + "cross_attn_image_to_token", D // 2)
        sd.update({f"{t}norm{k}.{w}": r(D) for k in range(1, 5) for w in ("weight", "bias")})
        sd.update({t + "mlp.lin1.weight": r(32, D), t + "mlp.lin1.bias": r(32), t + "mlp.lin2.weight": r(D, 32),
                   t + "mlp.lin2.bias": r(D)})
    attn(m + "transformer.final_attn_token_to_image", D // 2)
    sd.update({m + "transformer.norm_final_attn.weight": r(D), m + "transformer.norm_final_attn.bias": r(D),
               m + "output_upscaling.0.weight": r(D, D // 4, 2, 2), m + "output_upscaling.0.bias": r(D // 4),
               m + "output_upscaling.1.weight": r(D // 4), m + "output_upscaling.1.bias": r(D // 4),
               m + "output_upscaling.3.weight": r(D // 4, D // 8, 2, 2), m + "output_upscaling.3.bias": r(D // 8)})
    for i in range(4):
        for j, (a, b) in enumerate(((D, D), (D, D), (D, D // 8))):
            sd[f"{m}output_hypernetworks_mlps.{i}.layers.{j}.weight"] = r(b, a)
            sd[f"{m}output_hypernetworks_mlps.{i}.layers.{j}.bias"] = r(b)
    for j, (a, b) in enumerate(((D, 8), (8, 8), (8, 4))):
        sd[f"{m}iou_prediction_head.layers.{j}.weight"] = r(b, a)
        sd[f"{m}iou_prediction_head.layers.{j}.bias"] = r(b)
    return sd


class Adapter(nn.Module):
    """The layout of SAM-Med2D's Adapter_Layer (names and shapes; the forward is not needed here)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.channel = nn.Sequential(nn.Linear(dim, dim // 4, bias=False), nn.ReLU(), nn.Linear(dim // 4, dim, bias=False))
        self.spatial = nn.Sequential(nn.Conv2d(dim, dim, 3, 2, 1, bias=False), nn.ReLU(),
                                     nn.ConvTranspose2d(dim, dim, 4, 2, 1, bias=False))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(x)


def tiny_model(adapters: bool = True) -> P.PromptableSegmenter:
    m = P.build_tiny_sam(seed=0, **CFG)
    if adapters:
        for blk in m.image_encoder.blocks:
            blk.side = Adapter(CFG["dim"])
    return m


def reference_attention(x, qkv_w, qkv_b, proj_w, proj_b, rel_h, rel_w, heads):
    """SAM's encoder Attention.forward with decomposed relative positions, written from the official code."""
    B, H, W, C = x.shape
    qkv = (x @ qkv_w.T + qkv_b).reshape(B, H * W, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, B * heads, H * W, -1).unbind(0)
    attn = (q * (C // heads) ** -0.5) @ k.transpose(-2, -1)

    def table(size, rel):
        coords = torch.arange(size)[:, None] - torch.arange(size)[None, :] + (size - 1)
        return rel[coords]

    Rh, Rw = table(H, rel_h), table(W, rel_w)
    r_q = q.reshape(B * heads, H, W, -1)
    rh = torch.einsum("bhwc,hkc->bhwk", r_q, Rh)
    rw = torch.einsum("bhwc,wkc->bhwk", r_q, Rw)
    attn = (attn.view(-1, H, W, H, W) + rh[:, :, :, :, None] + rw[:, :, :, None, :]).view(-1, H * W, H * W)
    out = (attn.softmax(-1) @ v).view(B, heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
    return out @ proj_w.T + proj_b


def test_released_names_land_where_they_belong(tmp_path):
    sd = official_state_dict(torch.Generator().manual_seed(0))
    path = tmp_path / "sam-med2d_tiny.pth"
    torch.save({"model": sd, "epoch": 3}, path)          # train.py's wrapper (here without the optimizer object)
    model = tiny_model()
    info = P.load_released_sam(model, path)
    own = model.state_dict()
    assert not info["missing"] and len(info["loaded"]) == len(own)
    C = CFG["dim"]
    for i in range(CFG["depth"]):
        qkv = sd[f"image_encoder.blocks.{i}.attn.qkv.weight"]
        for j, n in enumerate("qkv"):                  # SAM reshapes qkv as (3, heads, head_dim): q rows first
            assert torch.equal(own[f"image_encoder.blocks.{i}.attn.{n}.weight"], qkv[j * C:(j + 1) * C])
        assert torch.equal(own[f"image_encoder.blocks.{i}.rel_pos_w"], sd[f"image_encoder.blocks.{i}.attn.rel_pos_w"])
        assert torch.equal(own[f"image_encoder.blocks.{i}.side.spatial.2.weight"],
                           sd[f"image_encoder.blocks.{i}.Adapter.spatial.2.weight"])
    assert torch.equal(own["prompt_encoder.pe.gaussian"], sd["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"])
    assert torch.equal(own["mask_decoder.layers.1.norms.3.bias"], sd["mask_decoder.transformer.layers.1.norm4.bias"])
    assert torch.equal(own["mask_decoder.layers.0.t2i.out.weight"],
                       sd["mask_decoder.transformer.layers.0.cross_attn_token_to_image.out_proj.weight"])
    assert torch.equal(own["mask_decoder.iou_head.layers.2.weight"], sd["mask_decoder.iou_prediction_head.layers.2.weight"])
    # every released tensor was used exactly once (qkv weight and bias count three times each)
    assert len(info["loaded"]) == len(sd) + 4 * CFG["depth"]


def test_loaded_encoder_attention_matches_the_official_computation():
    sd = official_state_dict(torch.Generator().manual_seed(1), adapters=False)
    model = tiny_model(adapters=False)
    P.load_released_sam(model, sd)
    blk = model.image_encoder.blocks[1]                 # the global block: attention over the whole 4 × 4 grid
    x = torch.randn(2, 4, 4, CFG["dim"], generator=torch.Generator().manual_seed(2))
    b = "image_encoder.blocks.1.attn."
    ref = reference_attention(x, sd[b + "qkv.weight"], sd[b + "qkv.bias"], sd[b + "proj.weight"], sd[b + "proj.bias"],
                              sd[b + "rel_pos_h"], sd[b + "rel_pos_w"], CFG["heads"])
    torch.testing.assert_close(blk._attend(x), ref, rtol=1e-4, atol=1e-4)
    # a windowed block: the same computation inside each 2 × 2 window
    blk0 = model.image_encoder.blocks[0]
    b = "image_encoder.blocks.0.attn."
    n = blk0.norm1(x)
    windows, padded = P.window_partition(n, 2)
    ref0 = reference_attention(windows, sd[b + "qkv.weight"], sd[b + "qkv.bias"], sd[b + "proj.weight"],
                               sd[b + "proj.bias"], sd[b + "rel_pos_h"], sd[b + "rel_pos_w"], CFG["heads"])
    out = blk0(x)
    a = P.window_unpartition(ref0, 2, padded, (4, 4))
    t = x + a
    t = t + blk0.mlp(blk0.norm2(t))
    torch.testing.assert_close(out, t, rtol=1e-4, atol=1e-4)


def test_window_partition_pads_and_round_trips():
    x = torch.randn(2, 5, 7, 3)
    w, padded = P.window_partition(x, 3)
    assert w.shape == (2 * 2 * 3, 3, 3, 3) and padded == (6, 9)
    assert torch.equal(P.window_unpartition(w, 3, padded, (5, 7)), x)


def test_defaults_unchanged_global_attention_without_relative_positions():
    m = P.build_tiny_sam(img_size=16, patch=4, dim=16, depth=2, heads=2, prompt_dim=16, seed=0)
    assert all(b.window == 0 and b.rel_pos_h is None for b in m.image_encoder.blocks)
    assert "rel_pos_h" not in "".join(m.state_dict())


def test_mismatches_raise_clear_errors(tmp_path):
    sd = official_state_dict(torch.Generator().manual_seed(0))
    with pytest.raises(P.CheckpointMismatch, match="adapters in 2 encoder blocks.*Adapter"):
        P.load_released_sam(tiny_model(adapters=False), sd)
    bad = dict(sd)
    bad["image_encoder.pos_embed"] = torch.zeros(1, 8, 8, CFG["dim"])     # trained at another image size
    with pytest.raises(P.CheckpointMismatch, match=r"image_encoder\.pos_embed: checkpoint \(1, 8, 8, 16\)"):
        P.load_released_sam(tiny_model(), bad)
    extra = dict(sd, **{"mask_decoder.new_head.weight": torch.zeros(1)})
    with pytest.raises(P.CheckpointMismatch, match="mask_decoder.new_head.weight"):
        P.load_released_sam(tiny_model(), extra)
    partial = {k: v for k, v in sd.items() if not k.startswith("mask_decoder.")}
    with pytest.raises(P.CheckpointMismatch, match="not in the checkpoint"):
        P.load_released_sam(tiny_model(), partial)
    info = P.load_released_sam(tiny_model(), partial, strict=False)            # the encoder alone, on purpose
    assert info["missing"] and all(k.startswith("mask_decoder.") for k in info["missing"])
    with pytest.raises(FileNotFoundError, match="sam_med2d_weights"):
        P.load_released_sam(tiny_model(), tmp_path / "absent.pth")


def test_pickled_objects_are_refused_unless_trusted(tmp_path):
    sd = official_state_dict(torch.Generator().manual_seed(0))
    path = tmp_path / "with_optimizer.pth"
    torch.save({"model": sd, "optimizer": torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)}, path)
    with pytest.raises(P.CheckpointMismatch, match="allow_pickle=True"):
        P.load_released_sam(tiny_model(), path)
    P.load_released_sam(tiny_model(), path, allow_pickle=True)


def test_vit_b_shapes_are_sam_med2d_s():
    with torch.device("meta"):
        m = P.build_sam_vit_b(256)
    sd = m.state_dict()
    assert sd["image_encoder.pos_embed"].shape == (1, 16, 16, 768)
    assert sd["image_encoder.blocks.0.rel_pos_h"].shape == (27, 64)      # windows of 14 tokens
    assert sd["image_encoder.blocks.2.rel_pos_h"].shape == (31, 64)      # global block over the 16 × 16 grid
    assert sd["mask_decoder.iou_head.layers.0.weight"].shape == (256, 256)
    assert sd["mask_decoder.layers.0.mlp.0.weight"].shape == (2048, 256)
    n_enc = sum(p.numel() for p in m.image_encoder.parameters())
    assert 85e6 < n_enc < 92e6                                             # SAM ViT-B's encoder: about 89 M


def test_sam_normalise():
    x = torch.rand(2, 1, 8, 8) * 7 + 3
    y = P.sam_normalise(x)
    assert y.shape == (2, 3, 8, 8)
    lo = (0 - torch.tensor(P.SAM_PIXEL_MEAN)) / torch.tensor(P.SAM_PIXEL_STD)
    torch.testing.assert_close(y.amin((-2, -1))[0], lo, rtol=1e-5, atol=1e-5)
    assert math.isclose(float(y[0, 0].max()), (255 - P.SAM_PIXEL_MEAN[0]) / P.SAM_PIXEL_STD[0], rel_tol=1e-5)
