"""Connected filtering on component trees (Max-tree / Min-tree) of integer-valued 2-D images.

The Max-tree of an image ``f`` is the inclusion tree of the connected components of its upper level sets
``[f ≥ k] = {p : f(p) ≥ k}``; the Min-tree is the same for the lower level sets ``[f ≤ k]`` (the Max-tree of
``−f``). A node is a component ``C`` at the level ``k = min_{p∈C} f(p)`` (its *proper* pixels are those with
``f(p) = k``); its parent is the smallest node that strictly contains it; the root is the whole image.
A *connected filter* removes nodes and gives each pixel the level of its nearest remaining ancestor: it can
only merge flat zones, never move a contour (Salembier & Wilkinson, IEEE SPM 2009).

:func:`sibling_filter` is the filter of Gu et al., "Dual Structure-Aware Image Filterings for Semi-supervised
Medical Image Segmentation" (arXiv:2312.07264): remove every node that has **no sibling** — a node that is the
only child of its parent is topologically equivalent to it (one component above, one below) — and rebuild
the image from the simplified tree. On the Max-tree this gives ``x_max``, on the Min-tree ``x_min``.

Algorithm (the classic union-find construction, vectorised over all pixels of one grey level and over a batch
of images): visit the levels from the top down; at level ``k`` the pixels of value ``k`` join ``[f ≥ k]``; the
components they touch (found with a union-find over nodes) and the new pixels form a small graph whose connected
components (:func:`scipy.sparse.csgraph.connected_components`) are the new nodes at level ``k``, and the older
components they absorb become their children. Then count the children of every node, keep the nodes whose parent
has two or more children (and the roots), and point every removed node at its nearest kept ancestor by pointer
jumping. The cost is linear in the pixels plus a few array operations per grey level; float images are
quantised first (:func:`quantize`).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["quantize", "component_tree", "sibling_filter", "tree_counts", "regional_extrema_count"]


def quantize(images: np.ndarray, levels: int = 64, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Map float images in ``[lo, hi]`` to integers ``0 … levels − 1`` (uniform bins, values clipped)."""
    if levels < 2:
        raise ValueError(f"levels must be at least 2, got {levels}")
    x = (np.asarray(images, dtype=np.float64) - lo) / max(hi - lo, 1e-12)
    return np.clip(np.floor(x * levels), 0, levels - 1).astype(np.int32)


def _find(cur: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Roots of the nodes ``x`` in the union-find forest ``cur`` (vectorised, with path compression)."""
    r = cur[x]
    while True:
        nr = cur[r]
        if np.array_equal(nr, r):
            break
        r = nr
    cur[x] = r
    return r


def component_tree(images: np.ndarray, connectivity: int = 4) -> dict[str, np.ndarray]:
    """The Max-tree of a batch of integer images ``(N, H, W)`` (or one ``(H, W)`` image).

    Returns a dict of arrays over the ``M`` nodes of all images (children are numbered before their
    parents): ``parent`` (−1 for a root), ``level``, ``area`` (pixels in the component), ``n_children``,
    and ``node`` — for every pixel, the node of which it is a proper pixel (shape of ``images``).
    For the Min-tree, pass ``images.max() − images``.
    """
    f = np.asarray(images)
    if not np.issubdtype(f.dtype, np.integer):
        raise TypeError(f"component trees need integer grey levels, got {f.dtype}; use quantize() first")
    single = f.ndim == 2
    if single:
        f = f[None]
    if f.ndim != 3 or f.size == 0:
        raise ValueError(f"expected non-empty (H, W) or (N, H, W) images, got shape {np.shape(images)}")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    N, H, W = f.shape
    flat = f.ravel()
    n = flat.size
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)] + ([(1, 1), (1, -1), (-1, 1), (-1, -1)] if connectivity == 8 else [])
    # Visit the pixels from the highest level down; work in that order ("rank") so that each level is a
    # contiguous block and the neighbour look-ups below are done once for all pixels.
    order = np.argsort(-flat.astype(np.int64), kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    vals = flat[order]
    rows, cols = (order // W) % H, order % W
    nbr = np.full((len(steps), n), -1, np.int64)          # rank of each neighbour (−1: outside the image)
    for i, (di, dj) in enumerate(steps):
        ok = (rows + di >= 0) & (rows + di < H) & (cols + dj >= 0) & (cols + dj < W)
        nbr[i, ok] = rank[order[ok] + di * W + dj]
    starts = np.flatnonzero(np.r_[True, vals[1:] != vals[:-1]])
    ends = np.r_[starts[1:], n]
    node_of = np.full(n, -1, np.int64)          # proper node of each processed pixel (indexed by rank)
    cur = np.arange(n, dtype=np.int64)          # union-find over node ids: node → the node that absorbed it
    parent = np.full(n, -1, np.int64)
    level = np.empty(n, flat.dtype)
    area = np.zeros(n, np.int64)
    n_children = np.zeros(n, np.int64)
    m = 0                                       # nodes created so far
    for s, e in zip(starts, ends):              # one grey level k at a time, from the top: leaves → root
        k, size = vals[s], e - s                # pixels s..e−1 (ranks) have level k and join [f ≥ k] now
        q = nbr[:, s:e]
        p = np.broadcast_to(np.arange(size), q.shape)
        new = (q >= s) & (q < e)               # neighbour of the same level (joins now too)
        old = (q >= 0) & (q < s)                # neighbour of a higher level: in an older component
        roots = _find(cur, node_of[q[old]])                                # its current component
        uroots, inv = np.unique(roots, return_inverse=True)
        nv = size + len(uroots)
        g = sparse.coo_matrix((np.ones(int(new.sum()) + len(inv), np.int8),
                               (np.r_[p[new], p[old]], np.r_[q[new] - s, size + inv])), shape=(nv, nv))
        nc, lab = csgraph.connected_components(g, directed=False)         # the components of [f ≥ k] that changed
        ids = m + lab                                                      # each one is a node at level k
        node_of[s:e] = ids[:size]
        level[m:m + nc] = k
        parent[uroots] = ids[size:]                                        # the older components become children
        cur[uroots] = ids[size:]
        n_children[m:m + nc] = np.bincount(lab[size:], minlength=nc)
        area[m:m + nc] = np.bincount(lab, weights=np.r_[np.ones(size), area[uroots]], minlength=nc)
        m += nc
    node_of = node_of[rank]
    return {"parent": parent[:m], "level": level[:m], "area": area[:m], "n_children": n_children[:m],
            "node": node_of.reshape(f.shape)[0] if single else node_of.reshape(f.shape)}


def sibling_filter(images: np.ndarray, tree: Literal["max", "min"] = "max", connectivity: int = 4) -> np.ndarray:
    """DSAIF filtering: remove every node without siblings from the Max-tree (or Min-tree) and rebuild the image.

    Args:
        images: integer grey levels, ``(H, W)`` or a batch ``(N, H, W)`` (each image has its own tree).
        tree: ``"max"`` (upper level sets; flattens bright details, ``x_max ≤ x``) or ``"min"`` (lower level
            sets; fills dark details, ``x_min ≥ x``).
        connectivity: 4 or 8 neighbours in the plane.

    Returns:
        The filtered images, same shape and dtype. Properties (tested): anti-extensive for ``"max"``
        (extensive for ``"min"``), idempotent, and the number of regional maxima (minima) is unchanged —
        only the levels at which branches of the tree end move, never how components split and merge.
    """
    f = np.asarray(images)
    if tree not in ("max", "min"):
        raise ValueError(f"tree must be 'max' or 'min', got {tree!r}")
    if tree == "min":                               # the Min-tree of f is the Max-tree of (top − f)
        top = f.max()
        return (top - sibling_filter(top - f, "max", connectivity)).astype(f.dtype)
    t = component_tree(f, connectivity)
    parent, level = t["parent"], t["level"]
    is_root = parent < 0
    n_children = t["n_children"]
    keep = is_root.copy()
    keep[~is_root] = n_children[parent[~is_root]] >= 2   # a node survives iff its parent has ≥ 2 children
    rep = np.where(keep, np.arange(len(parent)), parent)  # removed node → its parent …
    while not keep[rep].all():                            # … → the nearest kept ancestor (pointer jumping)
        rep = np.where(keep[rep], rep, rep[rep])
    return level[rep[t["node"]]].astype(f.dtype)          # each pixel takes its representative's level


def tree_counts(images: np.ndarray, tree: Literal["max", "min"] = "max",
                connectivity: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per image of a batch: the number of nodes of its Max-tree (or Min-tree) and the number of leaves.

    The leaves of the Max-tree are the regional maxima of the image (flat zones with no higher neighbour);
    the leaves of the Min-tree are its regional minima.
    """
    f = np.asarray(images)
    f = f[None] if f.ndim == 2 else f
    if tree not in ("max", "min"):
        raise ValueError(f"tree must be 'max' or 'min', got {tree!r}")
    t = component_tree(f.max() - f if tree == "min" else f, connectivity)
    image_of_node = np.empty(len(t["parent"]), np.int64)
    image_of_node[t["node"].reshape(len(f), -1)] = np.arange(len(f))[:, None]   # every node has a proper pixel
    nodes = np.bincount(image_of_node, minlength=len(f))
    leaves = np.bincount(image_of_node[t["n_children"] == 0], minlength=len(f))
    return nodes, leaves


def regional_extrema_count(images: np.ndarray, kind: Literal["max", "min"] = "max",
                           connectivity: int = 4) -> np.ndarray | int:
    """Number of regional maxima (``kind="max"``) or minima (``"min"``) of an image, or of each image of a batch."""
    counts = tree_counts(images, kind, connectivity)[1]
    return int(counts[0]) if np.ndim(images) == 2 else counts
