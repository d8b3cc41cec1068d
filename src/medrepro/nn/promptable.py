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

The prompt simulators at the end (:func:`boxes_from_masks`, :func:`sample_points`,
:func:`random_error_clicks`, :func:`center_error_clicks`) produce the boxes and clicks that interactive
training and evaluation protocols feed such a model.
"""
from __future__ import annotations

import math
from typing import Sequence

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

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        def split(t: torch.Tensor) -> torch.Tensor:  # (B, N, C) → (B, heads, N, C / heads)
            b, n, c = t.shape
            return t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

        o = F.scaled_dot_product_attention(split(self.q(q)), split(self.k(k)), split(self.v(v)))
        b, h, n, c = o.shape
        return self.out(o.transpose(1, 2).reshape(b, n, h * c))


# ------------------------------------------------------------------------------------ image encoder
class Block(nn.Module):
    """A pre-norm ViT block on (B, H, W, C) tokens with global attention.

    ``x ← x + Attn(LN₁(x))``, then ``x ← x + MLP(LN₂(x)) [+ side(LN₂(x))]``. ``side`` is ``None`` by
    default; setting it to a module (e.g. an adapter) adds a parallel branch beside the MLP.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))
        self.side: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        t = x.reshape(b, h * w, c)
        n = self.norm1(t)
        t = t + self.attn(n, n, n)
        n = self.norm2(t)
        out = t + self.mlp(n)
        if self.side is not None:
            out = out + self.side(n.reshape(b, h, w, c)).reshape(b, h * w, c)
        return out.reshape(b, h, w, c)


class ImageEncoder(nn.Module):
    """SAM's image encoder in miniature: patch embedding, absolute positions, ViT blocks, a conv neck.

    Input (B, in_chans, img_size, img_size) → embedding (B, out_dim, img_size / patch, img_size / patch).
    """

    def __init__(self, img_size: int = 48, patch: int = 4, in_chans: int = 1, dim: int = 48, depth: int = 3,
                 heads: int = 3, out_dim: int = 32, mlp_ratio: float = 4.0, stem: int = 0) -> None:
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
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
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
                 num_multimask: int = 3) -> None:
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
        self.iou_head = MLP(dim, 2 * dim, self.num_mask_tokens, 3)

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
                   stem: int = 0, seed: int | None = None) -> PromptableSegmenter:
    """A SAM-shaped model small enough for a CPU (about 0.1 M parameters with the defaults).

    SAM ViT-B for comparison: 1024 px input, patch 16, width 768, depth 12, prompt width 256.
    ``seed`` makes the initial weights (and the random positional-encoding matrix) reproducible.
    """
    if seed is not None:
        torch.manual_seed(seed)
    grid = img_size // patch
    return PromptableSegmenter(
        ImageEncoder(img_size, patch, in_chans, dim, depth, heads, prompt_dim, stem=stem),
        PromptEncoder(prompt_dim, grid, img_size, mask_chans=16),
        MaskDecoder(prompt_dim, decoder_heads, decoder_depth, mlp_dim=2 * prompt_dim))


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
