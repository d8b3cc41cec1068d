"""A small promptable segmenter in the shape of SAM (Kirillov et al., ICCV 2023), and prompt simulation.

SAM segments the object a user points at: an **image encoder** (a ViT) turns the image into an embedding
grid once; a **prompt encoder** turns clicks and boxes into sparse tokens and a previous mask into a dense
embedding added to the image embedding; a light **mask decoder** (two-way attention between the tokens and
the embedding, then upsampling and a hypernetwork per output token) predicts masks and their IoU. This
module builds the same three parts at a size a CPU trains in seconds::

    model = build_tiny_sam(img_size=48, patch=4, dim=48, depth=3)
    emb = model.encode(images)                                   # (B, D, 12, 12), once per image
    logits, iou = model.decode(emb, points=(xy, labels))         # (B, 1, 48, 48), (B, 1)
    logits, iou = model.decode(emb, boxes=boxes, mask_input=previous_logits)

Layout conventions follow SAM: tokens inside the encoder are (B, H, W, C); points are (x, y) in input
pixels with labels 1 (foreground), 0 (background) and -1 (padding, "not a point"); boxes are
(x0, y0, x1, y1) and are embedded as their two corners; the dense mask prompt is at 4× the embedding
resolution. :class:`Block` has one hook, ``side``: a module applied to the MLP's input *in parallel* with
the MLP, its output added to the residual stream — where adapter methods (e.g. SAM-Med2D) insert their
adapters. The adapter itself belongs to the notebook of the paper that proposes it.

The encoder blocks also take SAM's windowed attention and decomposed relative positions (both off by default),
so that :func:`build_sam_vit_b` builds SAM ViT-B at SAM-Med2D's 256-pixel size and :func:`load_released_sam`
loads a released SAM / SAM-Med2D checkpoint into it: the official parameter names are translated to this
module's (``attn.qkv`` is split into ``q``, ``k``, ``v``; ``Adapter`` becomes ``side``), every shape is checked,
and anything that does not match raises :class:`CheckpointMismatch` naming the keys.

The prompt simulators at the end (:func:`boxes_from_masks`, :func:`sample_points`,
:func:`random_error_clicks`, :func:`center_error_clicks`) produce the boxes and clicks that interactive
training and evaluation protocols feed such a model.
"""
from __future__ import annotations

import math
import os
import pickle
import re
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Points = tuple[torch.Tensor, torch.Tensor]


# ----------------------------------------------------------------------------------------- pieces
class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) tensor."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLP(nn.Module):
    """``layers`` linear layers with ReLU between them (SAM's hypernetwork and IoU head)."""

    def __init__(self, d_in: int, hidden: int, d_out: int, layers: int, sigmoid_output: bool = False) -> None:
        super().__init__()
        dims = [d_in] + [hidden] * (layers - 1) + [d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


class Attention(nn.Module):
    """Multi-head attention with separate q/k/v projections, optionally to a smaller internal width."""

    def __init__(self, dim: int, heads: int, downsample: int = 1) -> None:
        super().__init__()
        inner = dim // downsample
        if inner % heads:
            raise ValueError(f"internal width {inner} is not divisible by {heads} heads")
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                bias: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Attention of queries ``q`` (B, N, C) over keys ``k`` and values ``v`` (B, M, C).

        ``bias``, when given, maps the per-head queries (B, heads, N, C / heads) — before the 1/√d scaling —
        to an additive term of the attention logits (B, heads, N, M), e.g. SAM's relative positions.
        """
        def split(t: torch.Tensor) -> torch.Tensor:  # (B, N, C) → (B, heads, N, C / heads)
            b, n, c = t.shape
            return t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

        qh = split(self.q(q))
        o = F.scaled_dot_product_attention(qh, split(self.k(k)), split(self.v(v)),
                                           attn_mask=None if bias is None else bias(qh))
        b, h, n, c = o.shape
        return self.out(o.transpose(1, 2).reshape(b, n, h * c))


# ------------------------------------------------------------------------------------ image encoder
def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) tokens → (B · windows, window, window, C), zero-padded to multiples of ``window``.

    Returns the windows and the padded size (Hp, Wp), as SAM's ViTDet-style encoder does.
    """
    b, h, w, c = x.shape
    ph, pw = (-h) % window, (-w) % window
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.reshape(b, hp // window, window, wp // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window, window, c), (hp, wp)


def window_unpartition(windows: torch.Tensor, window: int, padded: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B · windows, window, window, C) → (B, H, W, C), padding removed."""
    (hp, wp), (h, w) = padded, size
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.reshape(b, hp // window, wp // window, window, window, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, hp, wp, -1)[:, :h, :w]


def rel_pos_table(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """(q_size, k_size, C) embeddings of the relative offsets between q and k positions along one axis.

    ``rel_pos`` is (2·max(q_size, k_size) − 1, C), one row per offset (linearly interpolated when it has
    another length, as SAM does for a checkpoint trained at another size).
    """
    n = 2 * max(q_size, k_size) - 1
    if rel_pos.shape[0] != n:
        rel_pos = F.interpolate(rel_pos.T[None], size=n, mode="linear")[0].T
    q = torch.arange(q_size, device=rel_pos.device)[:, None] * max(k_size / q_size, 1.0)
    k = torch.arange(k_size, device=rel_pos.device)[None, :] * max(q_size / k_size, 1.0)
    return rel_pos[((q - k) + (k_size - 1) * max(q_size / k_size, 1.0)).long()]


def decomposed_rel_pos(qh: torch.Tensor, rel_h: torch.Tensor, rel_w: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """SAM's decomposed relative-position term of the attention logits (MViTv2).

    For a query at (i, j) and a key at (k, l): ``q · R_h[i − k] + q · R_w[j − l]``, with the unscaled per-head
    query ``qh`` (B, heads, h·w, C). Returns (B, heads, h·w, h·w).
    """
    h, w = size
    b, nh, _, c = qh.shape
    r = qh.reshape(b, nh, h, w, c)
    th = torch.einsum("bnhwc,hkc->bnhwk", r, rel_pos_table(h, h, rel_h))      # (B, heads, h, w, h)
    tw = torch.einsum("bnhwc,wkc->bnhwk", r, rel_pos_table(w, w, rel_w))      # (B, heads, h, w, w)
    return (th[..., :, None] + tw[..., None, :]).reshape(b, nh, h * w, h * w)


class Block(nn.Module):
    """A pre-norm ViT block on (B, H, W, C) tokens.

    ``x ← x + Attn(LN₁(x))``, then ``x ← x + MLP(LN₂(x)) [+ side(LN₂(x))]``. ``side`` is ``None`` by
    default; setting it to a module (e.g. an adapter) adds a parallel branch beside the MLP.

    Args:
        dim, heads, mlp_ratio: width, attention heads, MLP expansion.
        window: 0 (default) for global attention; otherwise attention inside non-overlapping windows of
            ``window`` × ``window`` tokens (the map zero-padded to a multiple), as SAM's encoder blocks.
        rel_pos: ``None`` (default) for no relative positions; otherwise the side of the token grid the block
            attends over (``window``, or the whole grid for a global block): SAM's decomposed relative
            position tables ``rel_pos_h``, ``rel_pos_w`` of shape (2·rel_pos − 1, dim / heads), zero-initialised.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, window: int = 0,
                 rel_pos: int | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))
        self.side: nn.Module | None = None
        self.window = window
        if rel_pos is not None:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * rel_pos - 1, dim // heads))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * rel_pos - 1, dim // heads))
        else:
            self.rel_pos_h = self.rel_pos_w = None

    def _attend(self, n: torch.Tensor) -> torch.Tensor:
        """Self-attention over a (B, h, w, C) map (global, or per window), with relative positions if any."""
        b, h, w, c = n.shape
        bias = None
        if self.rel_pos_h is not None:
            bias = lambda qh: decomposed_rel_pos(qh, self.rel_pos_h, self.rel_pos_w, (h, w))   # noqa: E731
        t = n.reshape(b, h * w, c)
        return self.attn(t, t, t, bias=bias).reshape(b, h, w, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        n = self.norm1(x)
        if self.window:
            windows, padded = window_partition(n, self.window)
            a = window_unpartition(self._attend(windows), self.window, padded, (h, w))
        else:
            a = self._attend(n)
        t = (x + a).reshape(b, h * w, c)
        n = self.norm2(t)
        out = t + self.mlp(n)
        if self.side is not None:
            out = out + self.side(n.reshape(b, h, w, c)).reshape(b, h * w, c)
        return out.reshape(b, h, w, c)


class ImageEncoder(nn.Module):
    """SAM's image encoder in miniature: patch embedding, absolute positions, ViT blocks, a conv neck.

    Input (B, in_chans, img_size, img_size) → embedding (B, out_dim, img_size / patch, img_size / patch).
    ``window``, ``global_blocks`` and ``rel_pos`` give SAM's ViT its windowed attention (every block not in
    ``global_blocks`` attends within windows of ``window`` tokens) and relative positions (see :class:`Block`);
    by default every block attends globally without relative positions.
    """

    def __init__(self, img_size: int = 48, patch: int = 4, in_chans: int = 1, dim: int = 48, depth: int = 3,
                 heads: int = 3, out_dim: int = 32, mlp_ratio: float = 4.0, stem: int = 0, window: int = 0,
                 global_blocks: Sequence[int] = (), rel_pos: bool = False) -> None:
        super().__init__()
        if img_size % patch:
            raise ValueError(f"img_size {img_size} must be a multiple of the patch size {patch}")
        self.img_size, self.patch, self.grid = img_size, patch, img_size // patch
        # stem > 0: a 3×3 convolution with `stem` channels before the patchifying convolution (a small
        # conv-ViT hybrid; SAM's ViT patchifies the pixels directly, stem = 0)
        self.stem = (nn.Sequential(nn.Conv2d(in_chans, stem, 3, padding=1), nn.GELU()) if stem else nn.Identity())
        self.patch_embed = nn.Conv2d(stem or in_chans, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid, self.grid, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        wins = [0 if (window == 0 or i in global_blocks) else window for i in range(depth)]
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, window=wn, rel_pos=(wn or self.grid) if rel_pos else None)
                                    for wn in wins)
        self.neck = nn.Sequential(nn.Conv2d(dim, out_dim, 1, bias=False), LayerNorm2d(out_dim),
                                  nn.Conv2d(out_dim, out_dim, 3, padding=1, bias=False), LayerNorm2d(out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f"expected {self.img_size}×{self.img_size} images, got {tuple(x.shape[-2:])}")
        x = self.patch_embed(self.stem(x)).permute(0, 2, 3, 1) + self.pos_embed   # (B, h, w, C)
        for blk in self.blocks:
            x = blk(x)
        return self.neck(x.permute(0, 3, 1, 2))


# ----------------------------------------------------------------------------------- prompt encoder
class PositionEmbeddingRandom(nn.Module):
    """Random Fourier features of (x, y) in [0, 1]²: ``[sin(2π·(2p−1)G), cos(2π·(2p−1)G)]``, G ~ N(0, 1)."""

    def __init__(self, num_feats: int, scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("gaussian", scale * torch.randn(2, num_feats))

    def encode(self, coords01: torch.Tensor) -> torch.Tensor:
        c = (2 * coords01 - 1) @ self.gaussian * (2 * math.pi)
        return torch.cat([torch.sin(c), torch.cos(c)], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        """(2·num_feats, h, w) encoding of the centres of an h × w grid."""
        dev = self.gaussian.device
        ys = (torch.arange(h, device=dev, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=dev, dtype=torch.float32) + 0.5) / w
        xy = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)      # (h, w, 2) as (x, y)
        return self.encode(xy).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Points, boxes and a dense mask → sparse tokens (B, N, D) and a dense embedding (B, D, h, w).

    A point's token is its positional encoding plus a learned embedding of its label (negative,
    positive); a box is two tokens, its corners, each with its own learned embedding; a padding point
    (label -1) gets only the "not a point" embedding. The mask prompt (B, 1, 4h, 4w) is downscaled by two
    stride-2 convolutions; without one, a learned "no mask" vector fills the grid.
    """

    def __init__(self, embed_dim: int, grid: int, input_size: int, mask_chans: int = 16) -> None:
        super().__init__()
        self.embed_dim, self.grid, self.input_size = embed_dim, grid, input_size
        self.pe = PositionEmbeddingRandom(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))  # neg, pos, corner 1, 2
        self.not_a_point = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_chans // 4, 2, stride=2), LayerNorm2d(mask_chans // 4), nn.GELU(),
            nn.Conv2d(mask_chans // 4, mask_chans, 2, stride=2), LayerNorm2d(mask_chans), nn.GELU(),
            nn.Conv2d(mask_chans, embed_dim, 1))
        self.no_mask = nn.Embedding(1, embed_dim)

    @property
    def mask_input_size(self) -> int:
        return 4 * self.grid

    def dense_pe(self) -> torch.Tensor:
        """(1, D, h, w) positional encoding of the image-embedding grid."""
        return self.pe.grid(self.grid, self.grid)[None]

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        coords = coords.float() + 0.5                                    # pixel centres
        if pad:  # SAM appends one padding point when there is no box
            coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 1, 2)], 1)
            labels = torch.cat([labels, labels.new_full((labels.shape[0], 1), -1)], 1)
        emb = self.pe.encode(coords / self.input_size)
        labels = labels[..., None]
        emb = torch.where(labels == -1, torch.zeros_like(emb), emb)
        emb = emb + (labels == -1) * self.not_a_point.weight + (labels == 0) * self.point_embeddings[0].weight \
            + (labels == 1) * self.point_embeddings[1].weight
        return emb

    def _embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        corners = (boxes.float() + 0.5).reshape(-1, 2, 2)
        emb = self.pe.encode(corners / self.input_size)
        return emb + torch.cat([self.point_embeddings[2].weight, self.point_embeddings[3].weight])[None]

    def forward(self, points: Points | None = None, boxes: torch.Tensor | None = None,
                masks: torch.Tensor | None = None, batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        bs = (points[0].shape[0] if points is not None else boxes.shape[0] if boxes is not None
              else masks.shape[0] if masks is not None else batch or 1)
        dev = self.no_mask.weight.device
        sparse = torch.empty(bs, 0, self.embed_dim, device=dev)
        if points is not None:
            sparse = torch.cat([sparse, self._embed_points(points[0], points[1], pad=boxes is None)], 1)
        if boxes is not None:
            sparse = torch.cat([sparse, self._embed_boxes(boxes)], 1)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = self.no_mask.weight.reshape(1, -1, 1, 1).expand(bs, -1, self.grid, self.grid)
        return sparse, dense


# ------------------------------------------------------------------------------------- mask decoder
class TwoWayBlock(nn.Module):
    """Tokens self-attend, attend to the image, pass an MLP; then the image attends to the tokens."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, skip_first_pe: bool = False) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.t2i = Attention(dim, heads, downsample=2)
        self.i2t = Attention(dim, heads, downsample=2)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(), nn.Linear(mlp_dim, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.skip_first_pe = skip_first_pe

    def forward(self, q: torch.Tensor, k: torch.Tensor, q_pe: torch.Tensor,
                k_pe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.skip_first_pe:
            q = self.self_attn(q, q, q)
        else:
            qq = q + q_pe
            q = q + self.self_attn(qq, qq, q)
        q = self.norms[0](q)
        q = self.norms[1](q + self.t2i(q + q_pe, k + k_pe, k))      # tokens → image
        q = self.norms[2](q + self.mlp(q))
        k = self.norms[3](k + self.i2t(k + k_pe, q + q_pe, q))      # image → tokens
        return q, k


class MaskDecoder(nn.Module):
    """SAM's mask decoder: output tokens (IoU + masks) and prompt tokens attend two-way with the image.

    Returns mask logits at 4× the embedding resolution, (B, M, 4h, 4w), and predicted IoUs (B, M), where
    M = ``num_multimask`` with ``multimask=True`` (three candidate masks for ambiguous prompts) or 1.
    """

    def __init__(self, dim: int = 32, heads: int = 2, depth: int = 2, mlp_dim: int = 64,
                 num_multimask: int = 3, iou_hidden: int | None = None) -> None:
        super().__init__()
        self.num_mask_tokens = num_multimask + 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.layers = nn.ModuleList(TwoWayBlock(dim, heads, mlp_dim, skip_first_pe=i == 0) for i in range(depth))
        self.final_attn = Attention(dim, heads, downsample=2)
        self.norm_final = nn.LayerNorm(dim)
        self.upscale = nn.Sequential(nn.ConvTranspose2d(dim, dim // 4, 2, stride=2), LayerNorm2d(dim // 4), nn.GELU(),
                                     nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2), nn.GELU())
        self.hyper = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_head = MLP(dim, iou_hidden or 2 * dim, self.num_mask_tokens, 3)   # SAM: 256 hidden

    def forward(self, image_embedding: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor,
                dense: torch.Tensor, multimask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        b = sparse.shape[0]
        out_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight])[None].expand(b, -1, -1)
        tokens = torch.cat([out_tokens, sparse], 1)                        # (B, 1 + M + N, D)
        src = image_embedding + dense                                      # dense prompt added to the image
        _, d, h, w = src.shape
        keys = src.flatten(2).transpose(1, 2)                              # (B, h·w, D)
        k_pe = image_pe.flatten(2).transpose(1, 2).expand(b, -1, -1)
        q = tokens
        for layer in self.layers:
            q, keys = layer(q, keys, tokens, k_pe)
        q = self.norm_final(q + self.final_attn(q + tokens, keys + k_pe, keys))
        iou_out, mask_out = q[:, 0], q[:, 1:1 + self.num_mask_tokens]
        up = self.upscale(keys.transpose(1, 2).reshape(b, d, h, w))       # (B, D/8, 4h, 4w)
        hyper = torch.stack([mlp(mask_out[:, i]) for i, mlp in enumerate(self.hyper)], 1)   # (B, M+1, D/8)
        masks = (hyper @ up.flatten(2)).reshape(b, -1, *up.shape[-2:])
        iou = self.iou_head(iou_out)
        sl = slice(1, None) if multimask else slice(0, 1)
        return masks[:, sl], iou[:, sl]


# ------------------------------------------------------------------------------------------- model
class PromptableSegmenter(nn.Module):
    """Image encoder + prompt encoder + mask decoder, with SAM's encode-once / decode-per-prompt split."""

    def __init__(self, image_encoder: ImageEncoder, prompt_encoder: PromptEncoder, mask_decoder: MaskDecoder) -> None:
        super().__init__()
        self.image_encoder, self.prompt_encoder, self.mask_decoder = image_encoder, prompt_encoder, mask_decoder

    @property
    def img_size(self) -> int:
        return self.image_encoder.img_size

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) images → (B, D, S/patch, S/patch) image embeddings."""
        return self.image_encoder(images)

    def decode(self, embedding: torch.Tensor, points: Points | None = None, boxes: torch.Tensor | None = None,
               mask_input: torch.Tensor | None = None, multimask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits (B, 1, 4h, 4w) and predicted IoU (B, 1) for one prompt set per embedding.

        With ``multimask=True`` the decoder proposes three masks and the one with the highest predicted
        IoU is returned (as SAM-Med2D's training and test scripts do).
        """
        sparse, dense = self.prompt_encoder(points, boxes, mask_input, batch=embedding.shape[0])
        masks, iou = self.mask_decoder(embedding, self.prompt_encoder.dense_pe(), sparse, dense, multimask)
        if masks.shape[1] > 1:
            best = iou.argmax(1)
            idx = torch.arange(len(best), device=best.device)
            masks, iou = masks[idx, best][:, None], iou[idx, best][:, None]
        return masks, iou

    def forward(self, images: torch.Tensor, points: Points | None = None, boxes: torch.Tensor | None = None,
                mask_input: torch.Tensor | None = None, multimask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.encode(images), points, boxes, mask_input, multimask)


def build_tiny_sam(img_size: int = 48, patch: int = 4, in_chans: int = 1, dim: int = 48, depth: int = 3,
                   heads: int = 3, prompt_dim: int = 32, decoder_heads: int = 2, decoder_depth: int = 2,
                   stem: int = 0, seed: int | None = None, *, window: int = 0, global_blocks: Sequence[int] = (),
                   rel_pos: bool = False, decoder_mlp: int | None = None,
                   iou_hidden: int | None = None) -> PromptableSegmenter:
    """A SAM-shaped model small enough for a CPU (about 0.1 M parameters with the defaults).

    SAM ViT-B for comparison: 1024 px input (SAM-Med2D: 256), patch 16, width 768, depth 12, prompt width 256
    (:func:`build_sam_vit_b`). ``seed`` makes the initial weights (and the random positional-encoding matrix)
    reproducible. The keyword-only options give SAM's windowed attention and relative positions
    (:class:`ImageEncoder`), the decoder MLP width (default 2 × ``prompt_dim``) and the IoU head's hidden width.
    """
    if seed is not None:
        torch.manual_seed(seed)
    grid = img_size // patch
    return PromptableSegmenter(
        ImageEncoder(img_size, patch, in_chans, dim, depth, heads, prompt_dim, stem=stem, window=window,
                     global_blocks=global_blocks, rel_pos=rel_pos),
        PromptEncoder(prompt_dim, grid, img_size, mask_chans=16),
        MaskDecoder(prompt_dim, decoder_heads, decoder_depth, mlp_dim=decoder_mlp or 2 * prompt_dim,
                    iou_hidden=iou_hidden))


#: SAM ViT-B as SAM-Med2D builds it (``build_sam_vit_b`` with ``--image_size 256``): patch 16, width 768, 12 blocks of
#: 12 heads, windows of 14 tokens except the global blocks 2, 5, 8, 11, relative positions, prompt width 256,
#: decoder: 8 heads, 2 two-way layers, MLP 2048, IoU head hidden width 256; RGB input normalised by SAM's
#: pixel mean and standard deviation (:func:`sam_normalise`).
SAM_VIT_B = dict(patch=16, in_chans=3, dim=768, depth=12, heads=12, prompt_dim=256, decoder_heads=8, decoder_depth=2,
                 window=14, global_blocks=(2, 5, 8, 11), rel_pos=True, decoder_mlp=2048, iou_hidden=256)
SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)


def build_sam_vit_b(img_size: int = 256, seed: int | None = None) -> PromptableSegmenter:
    """SAM ViT-B in this module's classes (:data:`SAM_VIT_B`), at SAM-Med2D's 256 × 256 input by default.

    About 90 M parameters: build it on a GPU, or on the ``meta`` device to count. Load released weights with
    :func:`load_released_sam` (attach adapters to ``image_encoder.blocks[i].side`` first for SAM-Med2D's).
    """
    return build_tiny_sam(img_size=img_size, seed=seed, **SAM_VIT_B)


def sam_normalise(images: torch.Tensor) -> torch.Tensor:
    """Grey images (B, 1, H, W) → SAM's input: each image min–max scaled to 0–255 (as an 8-bit PNG would be),
    repeated to RGB, minus SAM's pixel mean, divided by its standard deviation (B, 3, H, W)."""
    x = images.float()
    lo = x.amin((-2, -1), keepdim=True)
    hi = x.amax((-2, -1), keepdim=True)
    x = 255 * (x - lo) / (hi - lo).clamp_min(1e-8)
    mean = torch.tensor(SAM_PIXEL_MEAN, device=x.device)[:, None, None]
    std = torch.tensor(SAM_PIXEL_STD, device=x.device)[:, None, None]
    return (x.expand(-1, 3, -1, -1) - mean) / std


# ----------------------------------------------------------------------------- released checkpoints
class CheckpointMismatch(ValueError):
    """A released checkpoint does not fit the model it is loaded into; the message lists what differs."""


#: Official (segment_anything / SAM-Med2D) parameter-name patterns → this module's names. ``{i}``-style groups
#: are carried over. Checked in order; the first that matches wins.
_RENAMES: tuple[tuple[str, str], ...] = (
    (r"image_encoder\.patch_embed\.proj\.(weight|bias)$", r"image_encoder.patch_embed.\1"),
    (r"image_encoder\.blocks\.(\d+)\.attn\.proj\.(weight|bias)$", r"image_encoder.blocks.\1.attn.out.\2"),
    (r"image_encoder\.blocks\.(\d+)\.attn\.(rel_pos_[hw])$", r"image_encoder.blocks.\1.\2"),
    (r"image_encoder\.blocks\.(\d+)\.mlp\.lin1\.(weight|bias)$", r"image_encoder.blocks.\1.mlp.0.\2"),
    (r"image_encoder\.blocks\.(\d+)\.mlp\.lin2\.(weight|bias)$", r"image_encoder.blocks.\1.mlp.2.\2"),
    (r"image_encoder\.blocks\.(\d+)\.Adapter\.(.+)$", r"image_encoder.blocks.\1.side.\2"),
    (r"image_encoder\.blocks\.(\d+)\.(norm[12])\.(weight|bias)$", r"image_encoder.blocks.\1.\2.\3"),
    (r"image_encoder\.(pos_embed|neck\.\d\.(?:weight|bias))$", r"image_encoder.\1"),
    (r"prompt_encoder\.pe_layer\.positional_encoding_gaussian_matrix$", r"prompt_encoder.pe.gaussian"),
    (r"prompt_encoder\.not_a_point_embed\.weight$", r"prompt_encoder.not_a_point.weight"),
    (r"prompt_encoder\.no_mask_embed\.weight$", r"prompt_encoder.no_mask.weight"),
    (r"prompt_encoder\.(point_embeddings\.\d\.weight|mask_downscaling\.\d\.(?:weight|bias))$", r"prompt_encoder.\1"),
    (r"mask_decoder\.transformer\.layers\.(\d+)\.self_attn\.(q|k|v|out)_proj\.(weight|bias)$",
     r"mask_decoder.layers.\1.self_attn.\2.\3"),
    (r"mask_decoder\.transformer\.layers\.(\d+)\.cross_attn_token_to_image\.(q|k|v|out)_proj\.(weight|bias)$",
     r"mask_decoder.layers.\1.t2i.\2.\3"),
    (r"mask_decoder\.transformer\.layers\.(\d+)\.cross_attn_image_to_token\.(q|k|v|out)_proj\.(weight|bias)$",
     r"mask_decoder.layers.\1.i2t.\2.\3"),
    (r"mask_decoder\.transformer\.layers\.(\d+)\.mlp\.lin1\.(weight|bias)$", r"mask_decoder.layers.\1.mlp.0.\2"),
    (r"mask_decoder\.transformer\.layers\.(\d+)\.mlp\.lin2\.(weight|bias)$", r"mask_decoder.layers.\1.mlp.2.\2"),
    (r"mask_decoder\.transformer\.final_attn_token_to_image\.(q|k|v|out)_proj\.(weight|bias)$",
     r"mask_decoder.final_attn.\1.\2"),
    (r"mask_decoder\.transformer\.norm_final_attn\.(weight|bias)$", r"mask_decoder.norm_final.\1"),
    (r"mask_decoder\.(iou_token|mask_tokens)\.weight$", r"mask_decoder.\1.weight"),
    (r"mask_decoder\.output_upscaling\.(\d)\.(weight|bias)$", r"mask_decoder.upscale.\1.\2"),
    (r"mask_decoder\.output_hypernetworks_mlps\.(\d+)\.layers\.(\d+)\.(weight|bias)$", r"mask_decoder.hyper.\1.layers.\2.\3"),
    (r"mask_decoder\.iou_prediction_head\.layers\.(\d+)\.(weight|bias)$", r"mask_decoder.iou_head.layers.\1.\2"),
)
_QKV = re.compile(r"image_encoder\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)$")
_NORM_N = re.compile(r"mask_decoder\.transformer\.layers\.(\d+)\.norm([1-4])\.(weight|bias)$")
_NOT_PARAMETERS = ("pixel_mean", "pixel_std")   # SAM's non-persistent buffers, if a checkpoint carries them


def translate_sam_state_dict(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename a released SAM / SAM-Med2D state dict to this module's names.

    ``attn.qkv`` (3·C, C) of each encoder block is split into ``attn.q``, ``attn.k``, ``attn.v`` (in that order,
    as SAM's attention reshapes it); ``transformer.layers.i.norm1…4`` become ``layers.i.norms.0…3``; the
    SAM-Med2D adapters ``blocks.i.Adapter.*`` become ``blocks.i.side.*``. Returns the renamed tensors and the
    keys that have no counterpart here.
    """
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in state.items():
        if key in _NOT_PARAMETERS:
            continue
        m = _QKV.match(key)
        if m:
            if value.shape[0] % 3:
                unknown.append(f"{key} (first dimension {value.shape[0]} is not 3 × width)")
                continue
            for name, part in zip("qkv", value.chunk(3, 0)):
                out[f"image_encoder.blocks.{m[1]}.attn.{name}.{m[2]}"] = part
            continue
        m = _NORM_N.match(key)
        if m:
            out[f"mask_decoder.layers.{m[1]}.norms.{int(m[2]) - 1}.{m[3]}"] = value
            continue
        for pattern, repl in _RENAMES:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            unknown.append(key)
    return out, unknown


def load_released_sam(model: PromptableSegmenter, checkpoint: str | os.PathLike[str] | Mapping[str, torch.Tensor],
                      *, strict: bool = True, allow_pickle: bool = False) -> dict[str, list[str]]:
    """Load a released SAM / SAM-Med2D checkpoint (e.g. ``sam-med2d_b.pth``) into ``model``.

    ``checkpoint`` is a path (read with ``torch.load(weights_only=True)``; a ``{"model": state_dict, ...}``
    wrapper, as SAM-Med2D saves, is unwrapped) or a state dict. SAM-Med2D's ``train.py`` pickles the optimizer
    *object* beside the weights; such a file is refused unless ``allow_pickle=True`` (which runs code stored in
    the file while loading: only for a file from a source you trust). Names are translated by
    :func:`translate_sam_state_dict`; shapes must match exactly (build the model with the checkpoint's
    configuration, e.g. :func:`build_sam_vit_b` at the image size it was trained at). Raises
    :class:`CheckpointMismatch` listing the keys whose shapes differ, that the model lacks (e.g. the
    checkpoint's adapters when no ``side`` modules are attached), or — with ``strict`` — that the checkpoint
    lacks. Returns ``{"loaded": [...], "missing": [...], "unexpected": [...]}`` (model names).
    """
    where = "the given state dict"
    if not isinstance(checkpoint, Mapping):
        where = os.fspath(checkpoint)
        if not os.path.isfile(where):
            raise FileNotFoundError(f"{where}: no such checkpoint file (see data_manifests/sam_med2d_weights.yaml "
                                    "for the manual download)")
        try:
            checkpoint = torch.load(where, map_location="cpu", weights_only=not allow_pickle)
        except pickle.UnpicklingError as exc:
            raise CheckpointMismatch(
                f"{where} holds pickled Python objects besides tensors (SAM-Med2D's train.py saves the optimizer "
                "object with the weights), which torch.load refuses to run with weights_only=True. If the file comes "
                "from a source you trust, load it with allow_pickle=True.") from exc
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint.get("model", None), Mapping) else checkpoint
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatch(f"{where}: not a state dict of tensors (keys {list(state)[:5]} …)")
    renamed, unknown = translate_sam_state_dict(state)
    own = model.state_dict()
    problems: list[str] = []
    adapters = sorted({k.split(".side.")[0] for k in renamed if ".side." in k and k not in own})
    if adapters:
        problems.append(f"the checkpoint has adapters in {len(adapters)} encoder blocks (e.g. "
                        f"{adapters[0]}.Adapter.*) but the model has no side modules there: attach "
                        "SAM-Med2D's adapters to model.image_encoder.blocks[i].side before loading")
    unexpected = [k for k in renamed if k not in own and ".side." not in k] + unknown
    if unexpected:
        problems.append(f"{len(unexpected)} checkpoint tensors have no place in the model: {', '.join(unexpected[:8])}"
                        + (" …" if len(unexpected) > 8 else ""))
    shapes = [f"{k}: checkpoint {tuple(v.shape)}, model {tuple(own[k].shape)}" for k, v in renamed.items()
              if k in own and own[k].shape != v.shape]
    if shapes:
        problems.append(f"{len(shapes)} shapes differ: {'; '.join(shapes[:8])}" + (" …" if len(shapes) > 8 else ""))
    missing = [k for k in own if k not in renamed]
    if strict and missing:
        problems.append(f"{len(missing)} model tensors are not in the checkpoint: {', '.join(missing[:8])}"
                        + (" …" if len(missing) > 8 else ""))
    if problems:
        raise CheckpointMismatch(f"{where} does not fit the model: " + " | ".join(problems))
    model.load_state_dict({**own, **{k: v for k, v in renamed.items() if k in own}})
    return {"loaded": [k for k in renamed if k in own], "missing": missing, "unexpected": []}


# -------------------------------------------------------------------------------- prompt simulation
def boxes_from_masks(masks: torch.Tensor, jitter: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Tight boxes (x0, y0, x1, y1) in pixels of binary masks (B, H, W), optionally shifted by ±``jitter`` px.

    As in SAM-Med2D's training data loader, the jitter moves the whole box by one random offset per
    axis (its size is kept). An empty mask gives the whole image.
    """
    b, h, w = masks.shape
    m = masks.bool()
    rows, cols = m.any(2), m.any(1)
    ar_h, ar_w = torch.arange(h, device=m.device), torch.arange(w, device=m.device)
    y0 = torch.where(rows, ar_h, h).min(1).values
    y1 = torch.where(rows, ar_h, -1).max(1).values
    x0 = torch.where(cols, ar_w, w).min(1).values
    x1 = torch.where(cols, ar_w, -1).max(1).values
    empty = ~rows.any(1)
    box = torch.stack([x0, y0, x1, y1], 1)
    box[empty] = torch.tensor([0, 0, w - 1, h - 1], device=m.device)
    if jitter > 0:
        off = torch.randint(-jitter, jitter + 1, (b, 2), generator=generator).to(m.device)
        box = box + off.repeat(1, 2)
    return box.float()


def box_channel(boxes: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Filled rectangles (B, 1, H, W) float32 of boxes (B, 4) = (x0, y0, x1, y1), inclusive pixel indices.

    The box prompt as an extra input channel of a convolutional segmenter (a box-prompted U-Net, as MedSAM-like
    baselines of small studies are built): 1 inside the box, 0 outside. ``size`` is H (= W) or (H, W).
    """
    h, w = (size, size) if isinstance(size, int) else size
    b = boxes.round().long()
    r = torch.arange(h, device=b.device)[None, :, None]
    c = torch.arange(w, device=b.device)[None, None, :]
    x0, y0, x1, y1 = (b[:, k, None, None] for k in range(4))
    return ((r >= y0) & (r <= y1) & (c >= x0) & (c <= x1)).float()[:, None]


def _sample_where(region: torch.Tensor, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pixels per image drawn uniformly (with replacement) where ``region`` (B, H, W) is true.

    Returns (x, y) coordinates (B, n, 2) and a validity flag (B,) — False where the region is empty
    (then the coordinates are (0, 0)).
    """
    b, h, w = region.shape
    flat = region.reshape(b, -1).float()
    valid = flat.sum(1) > 0
    weights = torch.where(valid[:, None], flat, torch.ones_like(flat))
    idx = torch.multinomial(weights.cpu(), n, replacement=True, generator=generator).to(region.device)
    xy = torch.stack([idx % w, idx // w], -1)
    return torch.where(valid[:, None, None], xy, torch.zeros_like(xy)), valid


def sample_points(masks: torch.Tensor, n_pos: int, n_neg: int = 0,
                  generator: torch.Generator | None = None) -> Points:
    """Random clicks: ``n_pos`` foreground and ``n_neg`` background pixels per mask (B, H, W).

    Returns ``(coords (B, n, 2) as (x, y), labels (B, n))`` with labels 1 / 0 (SAM-Med2D's test-time
    ``init_point_sampling``: one point is a foreground pixel; k points are k // 2 foreground and the rest
    background, drawn at random). Clicks that cannot be placed (empty region) get label -1.
    """
    m = masks.bool()
    coords, labels = [], []
    for region, n, lab in ((m, n_pos, 1), (~m, n_neg, 0)):
        if n:
            xy, ok = _sample_where(region, n, generator)
            coords.append(xy)
            labels.append(torch.where(ok[:, None], torch.full((len(m), n), lab, device=m.device),
                                      torch.full((len(m), n), -1, device=m.device)))
    return torch.cat(coords, 1).float(), torch.cat(labels, 1).long()


def random_error_clicks(pred: torch.Tensor, gt: torch.Tensor, n: int = 1,
                        generator: torch.Generator | None = None) -> Points:
    """``n`` clicks drawn uniformly from the error region of binary masks ``pred``, ``gt`` (B, H, W).

    Label 1 where the click falls on missed foreground (false negative), 0 on a false positive — the
    rule of SAM-Med2D's ``select_random_points``. Where prediction and truth agree everywhere the click
    is a padding point (label -1).
    """
    pred, gt = pred.bool(), gt.bool()
    xy, ok = _sample_where(pred != gt, n, generator)
    fg = gt[torch.arange(len(gt), device=gt.device)[:, None], xy[..., 1], xy[..., 0]]
    labels = torch.where(ok[:, None], fg.long(), torch.full_like(fg, -1, dtype=torch.long))
    return xy.float(), labels


def center_error_clicks(pred: np.ndarray, gt: np.ndarray) -> Points:
    """One deterministic click per mask pair: the interior point of the largest error region.

    The standard interactive-segmentation benchmark rule: find the connected components of false
    negatives and of false positives, take the largest, and click its pixel farthest from the region's
    boundary (the maximum of its Euclidean distance transform). Label 1 for a false-negative region, 0
    for a false-positive one, -1 (padding) when there is no error. Inputs are (B, H, W) arrays.
    """
    from scipy import ndimage

    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    coords = np.zeros((len(gt), 1, 2), np.float32)
    labels = np.full((len(gt), 1), -1, np.int64)
    for i in range(len(gt)):
        best = (0, None, -1)
        for region, lab in ((gt[i] & ~pred[i], 1), (pred[i] & ~gt[i], 0)):
            comp, n = ndimage.label(region)
            if n:
                sizes = np.bincount(comp.ravel())[1:]
                k = int(sizes.argmax())
                if sizes[k] > best[0]:
                    best = (int(sizes[k]), comp == k + 1, lab)
        if best[1] is not None:
            dist = ndimage.distance_transform_edt(np.pad(best[1], 1))[1:-1, 1:-1]  # image border counts as boundary
            y, x = np.unravel_index(int(dist.argmax()), dist.shape)
            coords[i, 0] = (x, y)
            labels[i, 0] = best[2]
    return torch.from_numpy(coords), torch.from_numpy(labels)


def dice_binary(pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray) -> np.ndarray:
    """Dice per mask pair of binary (B, H, W) masks; 1 where both are empty."""
    p = np.asarray(pred, bool).reshape(len(pred), -1)
    g = np.asarray(gt, bool).reshape(len(gt), -1)
    inter, total = (p & g).sum(1), p.sum(1) + g.sum(1)
    return np.where(total == 0, 1.0, 2 * inter / np.maximum(total, 1))


def count_trainable(modules: nn.Module | Sequence[nn.Module]) -> int:
    """Number of parameters with ``requires_grad`` in one module or several (shared parameters counted once)."""
    mods = [modules] if isinstance(modules, nn.Module) else list(modules)
    seen: dict[int, int] = {}
    for m in mods:
        for p in m.parameters():
            if p.requires_grad:
                seen[id(p)] = p.numel()
    return sum(seen.values())
