"""Splits that respect patients, label fractions, and labelled/unlabelled streams."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def group_split(groups: Sequence, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
                ) -> list[np.ndarray]:
    """Split sample indices so that every group (patient) falls in exactly one part.

    Returns one index array per fraction. Groups, not samples, are shuffled and dealt out, so the
    fractions hold in number of groups.
    """
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must sum to 1, got {fractions}")
    groups = np.asarray(groups)
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    cuts = np.round(np.cumsum(fractions)[:-1] * len(uniq)).astype(int)
    parts = np.split(uniq, cuts)
    return [np.flatnonzero(np.isin(groups, p)) for p in parts]


def label_fraction(indices: Sequence[int], fraction: float, seed: int = 0, labels: Sequence | None = None,
                   minimum: int = 1) -> np.ndarray:
    """Pick ``fraction`` of ``indices`` (at least ``minimum``), stratified by ``labels`` when given."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    indices = np.asarray(indices)
    rng = np.random.default_rng(seed)
    if labels is None:
        k = max(minimum, int(round(fraction * len(indices))))
        return np.sort(rng.choice(indices, size=min(k, len(indices)), replace=False))
    labels = np.asarray(labels)
    picked = []
    for lab in np.unique(labels):
        pool = indices[labels == lab]
        k = max(minimum, int(round(fraction * len(pool))))
        picked.append(rng.choice(pool, size=min(k, len(pool)), replace=False))
    return np.sort(np.concatenate(picked))


def two_stream(labelled: Sequence[int], unlabelled: Sequence[int], batch_labelled: int, batch_unlabelled: int,
               seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless pairs of (labelled batch, unlabelled batch) index arrays, each stream reshuffled per pass.

    The small labelled set is cycled many times while the unlabelled set is swept once — the usual
    semi-supervised sampler.
    """
    rng = np.random.default_rng(seed)
    labelled, unlabelled = np.asarray(labelled), np.asarray(unlabelled)
    if len(labelled) == 0 or len(unlabelled) == 0:
        raise ValueError("both streams need at least one sample")

    def cycle(pool: np.ndarray, k: int) -> Iterator[np.ndarray]:
        buf = np.empty(0, dtype=pool.dtype)
        while True:
            while len(buf) < k:
                buf = np.concatenate([buf, rng.permutation(pool)])
            yield buf[:k]
            buf = buf[k:]

    yield from zip(cycle(labelled, batch_labelled), cycle(unlabelled, batch_unlabelled))
