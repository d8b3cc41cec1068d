"""Retrieval and clustering scores of an embedding (deep metric learning's standard protocol).

Recall@K: the share of queries whose K nearest neighbours (Euclidean, the query itself excluded) hold at least
one image of the query's class. NMI: normalised mutual information between the labels and a k-means clustering
of the embedding into as many clusters as there are classes (scikit-learn's KMeans here; the official code of
Adiga et al. uses faiss).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def neighbours(emb: np.ndarray, k: int, batch: int = 1024) -> np.ndarray:
    """Indices ``(N, k)`` of each row's k nearest other rows (Euclidean; ties broken by index), brute force."""
    x = np.asarray(emb, np.float64)
    n = len(x)
    if not 1 <= k < n:
        raise ValueError(f"k must be in 1..{n - 1}, got {k}")
    sq = (x ** 2).sum(1)
    out = np.empty((n, k), np.int64)
    for s in range(0, n, batch):
        d = sq[s:s + batch, None] + sq[None, :] - 2 * x[s:s + batch] @ x.T
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf           # a query never retrieves itself
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(d, 1)[:, :k]
        order = np.lexsort((part, np.take_along_axis(d, part, 1)), axis=1)
        out[s:s + batch] = np.take_along_axis(part, order, 1)
    return out


def recall_hits(emb: np.ndarray, labels: Sequence[int], k: int = 1) -> np.ndarray:
    """Per query: 1.0 when one of its k nearest neighbours has its label, else 0.0 (mean = Recall@K)."""
    y = np.asarray(labels)
    nn_ = neighbours(emb, k)
    return (y[nn_] == y[:, None]).any(1).astype(float)


def recall_at_k(emb: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 2, 4, 8)) -> dict[int, float]:
    """Recall@K for each K in ``ks``."""
    return {int(k): float(recall_hits(emb, labels, k).mean()) for k in ks}


def kmeans_nmi(emb: np.ndarray, labels: Sequence[int], n_clusters: int | None = None, seed: int = 0,
               n_init: int = 3) -> tuple[float, np.ndarray]:
    """NMI between ``labels`` and a k-means clustering of ``emb`` (``n_clusters`` default: number of classes);
    returns (NMI, cluster assignments)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    y = np.asarray(labels)
    k = len(np.unique(y)) if n_clusters is None else n_clusters
    assign = KMeans(k, n_init=n_init, random_state=seed).fit_predict(np.asarray(emb, np.float64))
    return float(normalized_mutual_info_score(y, assign)), assign


def kway_topk(similarity: np.ndarray, truth: Sequence[int], k: int, top: int = 1) -> np.ndarray:
    """Expected k-way top-``top`` accuracy of each query (zero-shot retrieval as in EEG-to-image decoding).

    ``similarity`` ``(n_queries, n_candidates)``; ``truth[i]`` the column of query i's own candidate. The k-way
    protocol draws k − 1 distractors at random from the other candidates and asks whether the true one is among
    the ``top`` most similar of the k. This returns the exact expectation over all draws instead of one random
    draw: with ``m`` distractors more similar than the truth among the ``N − 1``,
    P = Σ_{j<top} C(m, j) C(N−1−m, k−1−j) / C(N−1, k−1). Ties count against the query (strictly-more-similar
    ``m`` plus ties counted as more similar). ``k = N`` gives the plain top-``top`` accuracy over all candidates.
    """
    from scipy.special import comb

    s = np.asarray(similarity, np.float64)
    y = np.asarray(truth, np.int64)
    n = s.shape[1]
    if not 2 <= k <= n:
        raise ValueError(f"k must lie in 2..{n} (the number of candidates), got {k}")
    if not 1 <= top <= k:
        raise ValueError(f"top must lie in 1..{k}, got {top}")
    own = s[np.arange(len(s)), y]
    m = (s >= own[:, None]).sum(1) - 1                         # distractors at least as similar as the truth
    total = comb(n - 1, k - 1, exact=False)
    p = sum(comb(m, j, exact=False) * comb(n - 1 - m, k - 1 - j, exact=False) for j in range(min(top, k)))
    return np.asarray(p / total, float)


def average_precision(similarity: np.ndarray, query_labels: Sequence[int], gallery_labels: Sequence[int]
                      ) -> np.ndarray:
    """Average precision of each query's ranking of a gallery (image–image search; mAP is its mean).

    ``similarity`` ``(n_queries, n_gallery)``, higher = closer (e.g. cosine); a gallery item is relevant when its
    label equals the query's. AP = mean over the relevant items of the precision at their rank, the definition
    of scikit-learn's ``average_precision_score`` (ties broken by gallery index here: stable sort of −similarity).
    Queries with no relevant item get NaN.
    """
    s = np.asarray(similarity, np.float64)
    q, g = np.asarray(query_labels), np.asarray(gallery_labels)
    if s.shape != (len(q), len(g)):
        raise ValueError(f"similarity {s.shape} does not match {len(q)} queries × {len(g)} gallery items")
    order = np.argsort(-s, axis=1, kind="stable")
    rel = g[order] == q[:, None]                                   # (queries, gallery) relevance by rank
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, s.shape[1] + 1)
    n_rel = rel.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, (precision * rel).sum(1) / n_rel, np.nan)
