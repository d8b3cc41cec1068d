"""Evaluation and training helpers shared by the segmentation notebooks.

Inference (:func:`predict`), the per-slice and per-volume scores every segmentation notebook reports
(:func:`slice_scores`, :func:`volume_scores`, :func:`val_dice`), and the small pieces of training machinery
they share (:func:`augment`, :func:`make_optimizer`, :func:`random_batches`). What is specific to a paper
(its losses, mixing, views, arms) stays in its notebook.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from .metrics import dice_per_class, hd95_per_class
from .metrics.segmentation import HD95Convention


class Slices(Protocol):
    """What :func:`volume_scores` needs from a set of 2-D slices (e.g. ``acdc.load_slices``)."""

    @property
    def volume_id(self) -> np.ndarray:
        """(N,) the volume each slice belongs to; the slices of a volume in order."""

    @property
    def spacing(self) -> np.ndarray:
        """(N, 3) voxel spacing in mm: (row, column, slice)."""


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch: int = 64,
            forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> np.ndarray:
    """Label maps (N, H, W) for images ``X`` (N, C, H, W): the arg-max over the class logits, in batches.

    The model is put in evaluation mode. ``forward`` replaces ``model(x)`` where a network's prediction is
    not its plain forward pass (e.g. ``forward=model.predict``).
    """
    model.eval()
    forward = model if forward is None else forward
    return torch.cat([forward(X[i:i + batch]).argmax(1) for i in range(0, len(X), batch)]).cpu().numpy()


def slice_scores(pred: np.ndarray, gt: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Mean Dice over ``classes`` for each 2-D slice of ``pred`` and ``gt`` (N, H, W) → (N,).

    A class absent from both truth and prediction is skipped; a slice with none of the classes in either
    counts as 1 (it is correct).
    """
    d = np.stack([dice_per_class(p, t, classes) for p, t in zip(pred, gt)])    # (slices, classes), NaN: absent
    nothing = np.isnan(d).all(1, keepdims=True)
    return np.nanmean(np.where(nothing, 1.0, d), 1)


def volume_scores(pred: np.ndarray, gt: np.ndarray, slices: Slices, classes: Sequence[int], *,
                  convention: HD95Convention) -> tuple[np.ndarray, np.ndarray]:
    """3-D Dice and HD95 (mm) per volume and class: two (volumes, classes) arrays, volumes in first-seen order.

    The 2-D slices of ``pred`` and ``gt`` (N, H, W) are stacked into one volume per ``slices.volume_id``
    and scored with the spacing of the volume's first slice. ``convention`` (required) is the HD95 convention,
    ``"pooled"`` (medpy) or ``"max_directed"`` (MONAI): see :func:`medrepro.metrics.segmentation.hd95`.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    ids = slices.volume_id
    dice, hd = [], []
    for v in dict.fromkeys(ids):
        m = ids == v
        p, t = np.moveaxis(pred[m], 0, -1), np.moveaxis(gt[m], 0, -1)    # (row, column, slice)
        dice.append(dice_per_class(p, t, classes))
        hd.append(hd95_per_class(p, t, classes, spacing=tuple(slices.spacing[m][0]), convention=convention))
    return np.array(dice), np.array(hd)


def val_dice(models: nn.Module | Iterable[nn.Module], X: torch.Tensor, gt: np.ndarray,
             classes: Sequence[int]) -> float:
    """Mean per-slice Dice (:func:`slice_scores`) of one model, or the mean over several models.

    An ``nn.ModuleList`` counts as several models (e.g. the two networks of a mutual-learning pair).
    """
    if isinstance(models, nn.Module) and not isinstance(models, nn.ModuleList):
        models = [models]
    return float(np.mean([slice_scores(predict(m, X), gt, classes).mean() for m in models]))


def augment(g: torch.Generator, *ts: torch.Tensor | None,
            enabled: bool = True) -> tuple[torch.Tensor | None, ...]:
    """One random rot90 and one random flip per batch, applied alike to every tensor (images, labels, views).

    The last two axes are spatial. ``None`` passes through. With ``enabled=False`` the tensors come back
    unchanged and nothing is drawn from ``g``.
    """
    if not enabled:
        return ts
    k, flip = int(torch.randint(0, 4, (1,), generator=g)), bool(torch.randint(0, 2, (1,), generator=g))

    def transform(t):
        if t is None:
            return None
        t = torch.rot90(t, k, (-2, -1))
        return t.flip(-1) if flip else t

    return tuple(transform(t) for t in ts)


def make_optimizer(params: Iterable[torch.nn.Parameter], name: str, lr: float) -> torch.optim.Optimizer:
    """``"sgd"``: SGD with momentum 0.9 and weight decay 1e-4 (the SSL4MIS / nnU-Net-style trainers);
    ``"adam"``: Adam with its defaults."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r} (sgd or adam)")


def random_batches(n: int, batch: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of ``batch`` indices drawn uniformly (with replacement) from ``range(n)``."""
    g = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randint(0, n, (batch,), generator=g)
