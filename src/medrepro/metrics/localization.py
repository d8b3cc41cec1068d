"""Weakly supervised localisation: class activation maps (CAM, Grad-CAM), heatmap-to-box, IoU and IoBB.

- :func:`class_activation_map` — CAM (Zhou et al. 2016), as ChestX-ray8 uses it: the class's weights of the
  prediction layer applied to the transition-layer feature maps, ``M_c = Σ_k w_ck f_k``.
- :func:`grad_cam` — Grad-CAM (Selvaraju et al. 2017): feature maps weighted by their spatially averaged
  gradients, ReLU (tested against captum's ``LayerGradCam``).
- :func:`heatmap_to_box` — ChestX-ray8's boxes from heatmaps: scale to [0, 1], threshold, keep the connected
  region around the maximum, and return its bounding box.
- :func:`box_iou` (tested against MONAI's ``box_iou``) and :func:`iobb`: intersection over the *detected*
  box's area, ChestX-ray8's measure (a large detected box cannot score well, a small one inside the truth
  scores 1).

Boxes are ``(x0, y0, x1, y1)`` in pixels with exclusive ends (a one-pixel box is ``(x, y, x + 1, y + 1)``).
"""
from __future__ import annotations

import numpy as np


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _inter(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    return w * h


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of paired boxes ``(..., 4)`` (broadcasting); 0 when both are empty."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    inter = _inter(a, b)
    union = _area(a) + _area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def iobb(detected: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Intersection over the detected box's area (ChestX-ray8's IoBB); 0 for an empty detected box."""
    d, t = np.asarray(detected, float), np.asarray(truth, float)
    area = _area(d)
    return np.where(area > 0, _inter(d, t) / np.where(area > 0, area, 1), 0.0)


def class_activation_map(features, weights):
    """CAM: ``(B, C, h, w)`` features and ``(K, C)`` prediction-layer weights → ``(B, K, h, w)`` maps."""
    import torch

    return torch.einsum("bchw,kc->bkhw", features, weights)


def grad_cam(model, layer, x, target: int):
    """Grad-CAM maps ``(B, h, w)`` of class ``target`` at ``layer`` (a module of ``model``) for inputs ``x``."""
    import torch

    store: dict = {}

    def hook(_m, _i, out):
        store["a"] = out
        out.register_hook(lambda g: store.__setitem__("g", g))

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            out = model(x)
            model.zero_grad(set_to_none=True)
            out[:, target].sum().backward()
    finally:
        handle.remove()
    a, g = store["a"].detach(), store["g"].detach()
    w = g.mean(dim=(2, 3), keepdim=True)                       # α_k = mean over pixels of ∂y_c/∂A_k
    return torch.relu((w * a).sum(1))                          # ReLU(Σ_k α_k A_k)


def upsample(maps: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of ``(..., h, w)`` heatmaps to ``size × size`` (for boxes in image pixels)."""
    import torch
    from torch.nn import functional as F

    m = np.asarray(maps, np.float32)
    lead = m.shape[:-2]
    t = torch.from_numpy(m.reshape(-1, 1, *m.shape[-2:]))
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
    return out.numpy().reshape(*lead, size, size)


def heatmap_to_box(heatmap: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The box ``(x0, y0, x1, y1)`` of the connected region around the maximum of ``heatmap`` above ``threshold``.

    The heatmap is first scaled to [0, 1] (minimum to maximum); a flat heatmap gives the whole image.
    """
    from scipy.ndimage import label

    h = np.asarray(heatmap, float)
    lo, hi = float(h.min()), float(h.max())
    if hi - lo < 1e-12:
        return np.array([0, 0, h.shape[1], h.shape[0]], float)
    s = (h - lo) / (hi - lo)
    lab, _ = label(s >= threshold)
    peak = np.unravel_index(np.argmax(s), s.shape)
    ys, xs = np.nonzero(lab == lab[peak])
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def heatmaps_to_boxes(heatmaps: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """:func:`heatmap_to_box` for every map of ``(..., H, W)``: boxes ``(..., 4)``."""
    h = np.asarray(heatmaps)
    flat = h.reshape(-1, *h.shape[-2:])
    return np.stack([heatmap_to_box(m, threshold) for m in flat]).reshape(*h.shape[:-2], 4)
