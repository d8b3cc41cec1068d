"""Shape metrics on point clouds: the Chamfer distance (brute force, in torch) and its one-sided parts.

Convention (named because several are in use): the symmetric Chamfer distance here is the **sum of the two
mean nearest-neighbour Euclidean distances**, :math:`\\mathrm{CD}(A,B) = \\tfrac1{|A|}\\sum_{a}\\min_b\\lVert a-b
\\rVert + \\tfrac1{|B|}\\sum_b\\min_a\\lVert a-b\\rVert`, in the points' units — not the squared-distance variant
common in point-cloud deep learning, and not the average of the two terms.
"""
from __future__ import annotations

import numpy as np
import torch


def nearest_distances(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """For each point of ``a`` (N, D), the Euclidean distance to its nearest point of ``b`` (M, D)."""
    a_t = torch.as_tensor(np.asarray(a, np.float64))
    b_t = torch.as_tensor(np.asarray(b, np.float64))
    if a_t.ndim != 2 or b_t.ndim != 2 or a_t.shape[1] != b_t.shape[1]:
        raise ValueError(f"point clouds must be (N, D) and (M, D) with the same D, got {tuple(a_t.shape)} and "
                         f"{tuple(b_t.shape)}")
    if len(a_t) == 0 or len(b_t) == 0:
        raise ValueError("nearest distances need two non-empty point clouds")
    out = [torch.cdist(a_t[i:i + chunk], b_t).min(1).values for i in range(0, len(a_t), chunk)]
    return torch.cat(out).numpy()


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance: mean NN distance A→B plus mean NN distance B→A (see the module docstring)."""
    return float(nearest_distances(a, b).mean() + nearest_distances(b, a).mean())
