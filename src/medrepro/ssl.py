"""Self-supervised objectives and probes, written once for the representation-learning notebooks.

Objectives (each a plain function of embeddings, so a notebook can show the equation beside the call):

* :func:`info_nce` — one-directional InfoNCE, cross-entropy over a similarity matrix;
  :func:`medrepro.losses.clip_loss` is its symmetric image–text form (re-exported here).
* :func:`nt_xent` — SimCLR's normalised-temperature cross-entropy over 2N views.
* :func:`byol_loss` — BYOL's normalised regression, 2 − 2 cos(p, z).
* :func:`dino_loss` with :func:`dino_center_update` — DINO's cross-entropy between a centred, sharpened teacher
  and the student.
* :func:`random_patch_mask` and :func:`masked_reconstruction_loss` — masked image modelling (MAE/SparK): the
  loss is taken on the masked patches only, optionally on per-patch normalised targets.
* :func:`unicl_loss` — UniCL's image–text–label contrastive loss: pairs that share a label are positives too.
* :func:`convirt_loss` — ConVIRT's bidirectional image–text InfoNCE with the two directions weighted λ and 1 − λ.

Augmentation: :func:`random_affine_views` — a random crop (zoom), a small rotation and a brightness/contrast
change per image, in one vectorised resampling of the batch (the image transforms of the contrastive papers,
for grayscale radiographs, without torchvision).

Probes on frozen features: :func:`linear_probe` (re-exported from :mod:`medrepro.train`), :func:`knn_probe`
(DINO's weighted k-nearest-neighbour classifier), :func:`group_label_fraction` (a fraction of the labelled
*patients*, not samples) and :func:`probe_sweep` (a label-fraction sweep with patient-grouped draws).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .losses import clip_loss
from .nn.patches import patchify
from .train import linear_probe

__all__ = ["info_nce", "clip_loss", "nt_xent", "byol_loss", "dino_loss", "dino_center_update",
           "random_patch_mask", "masked_reconstruction_loss", "unicl_loss", "convirt_loss", "random_affine_views",
           "knn_probe", "linear_probe", "group_label_fraction", "probe_sweep"]


def info_nce(query: torch.Tensor, key: torch.Tensor, temperature: float = 0.1,
             negatives: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE: −log exp(q_i·k_i/τ) / Σ_j exp(q_i·k_j/τ), averaged over i (unit vectors).

    ``query`` and ``key`` are (N, D); row i of ``key`` is the positive of row i of ``query`` and the other rows are
    its negatives. ``negatives`` (M, D) adds further negatives (a MoCo queue). It is the cross-entropy of the
    logits S_ij = q̂_i·k̂_j / τ with targets on the diagonal.
    """
    q, k = F.normalize(query, dim=-1), F.normalize(key, dim=-1)
    logits = q @ k.T
    if negatives is not None:
        logits = torch.cat([logits, q @ F.normalize(negatives, dim=-1).T], dim=1)
    target = torch.arange(len(q), device=q.device)
    return F.cross_entropy(logits / temperature, target)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's NT-Xent over the 2N views of N images.

    ℓ(i, j) = −log exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ) with s the cosine similarity; the loss averages ℓ over all
    2N ordered positive pairs (view 1 → view 2 and back). Each view has 2N − 2 negatives.
    """
    if z1.shape != z2.shape:
        raise ValueError(f"nt_xent: the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))  # k ≠ i
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)           # i ↔ i + N
    return F.cross_entropy(sim, target)


def byol_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BYOL: ‖p̂ − ẑ‖² = 2 − 2 cos(p, z), averaged over the batch; the target gets no gradient."""
    p = F.normalize(prediction, dim=-1)
    z = F.normalize(target.detach(), dim=-1)
    return (2 - 2 * (p * z).sum(-1)).mean()


def dino_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor, *,
              student_temp: float = 0.1, teacher_temp: float = 0.04) -> torch.Tensor:
    """DINO: H(P_t, P_s) = −Σ_k P_t(k) log P_s(k), averaged over the batch.

    P_t = softmax((g_t − c)/τ_t) (centred and sharpened, no gradient), P_s = softmax(g_s/τ_s). ``student`` and
    ``teacher`` are (N, K) outputs for views of the same images (pairs of different views are the caller's
    choice); ``center`` is (K,) or (1, K).
    """
    p_t = F.softmax((teacher.detach() - center) / teacher_temp, dim=-1)
    log_p_s = F.log_softmax(student / student_temp, dim=-1)
    return -(p_t * log_p_s).sum(-1).mean()


@torch.no_grad()
def dino_center_update(center: torch.Tensor, teacher: torch.Tensor, momentum: float = 0.9) -> torch.Tensor:
    """c ← m c + (1 − m) mean(g_t): the running centre that keeps DINO's teacher from collapsing to one class."""
    return center * momentum + teacher.detach().mean(0, keepdim=True) * (1 - momentum)


def random_patch_mask(batch: int, grid: tuple[int, int], ratio: float, *,
                      generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """A boolean (B, gh, gw) mask with exactly round(ratio · gh · gw) True (masked) patches per image."""
    gh, gw = grid
    n = gh * gw
    k = int(round(ratio * n))
    if not 0 <= k <= n:
        raise ValueError(f"mask ratio must lie in [0, 1], got {ratio}")
    noise = torch.rand(batch, n, generator=generator)
    rank = noise.argsort(dim=1).argsort(dim=1)          # a random permutation rank per patch
    return (rank < k).reshape(batch, gh, gw).to(device)


def masked_reconstruction_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, patch: int, *,
                               norm_pix: bool = True, eps: float = 1e-6) -> torch.Tensor:
    """Masked image modelling (MAE, SparK): mean squared error on the masked patches only.

    ``prediction`` and ``target`` are images (B, C, H, W); ``mask`` (B, H/patch, W/patch) is True where a patch
    was hidden from the encoder. With ``norm_pix`` each target patch is standardised by its own mean and variance
    (MAE's and SparK's default), so the loss rewards structure rather than brightness.
    """
    pred, tgt = patchify(prediction, patch), patchify(target, patch)
    if mask.shape != pred.shape[:3]:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match the patch grid {tuple(pred.shape[:3])}")
    if norm_pix:
        mu, var = tgt.mean(-1, keepdim=True), tgt.var(-1, keepdim=True, unbiased=True)
        tgt = (tgt - mu) / (var + eps).sqrt()
    per_patch = ((pred - tgt) ** 2).mean(-1)
    m = mask.to(per_patch.dtype)
    return (per_patch * m).sum() / m.sum().clamp_min(1.0)


def unicl_loss(image: torch.Tensor, text: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07
               ) -> torch.Tensor:
    """UniCL: bidirectional contrastive loss whose positives are all pairs with the same label.

    With S_ij = î_i·t̂_j/τ and P_i = {j : y_j = y_i}, the image→text term is
    −(1/N) Σ_i (1/|P_i|) Σ_{j∈P_i} log softmax_j(S_i·), and text→image the same on Sᵀ. With all labels distinct
    it reduces to CLIP's loss (:func:`clip_loss`).
    """
    i, t = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    logits = i @ t.T / temperature
    pos = (labels[:, None] == labels[None, :]).to(logits.dtype)
    pos = pos / pos.sum(1, keepdim=True)
    i2t = -(pos * F.log_softmax(logits, dim=1)).sum(1).mean()
    t2i = -(pos * F.log_softmax(logits.T, dim=1)).sum(1).mean()     # pos is symmetric
    return 0.5 * (i2t + t2i)


def convirt_loss(image: torch.Tensor, text: torch.Tensor, temperature: float = 0.1, weight: float = 0.75
                 ) -> torch.Tensor:
    """ConVIRT (Zhang et al. 2022): L = mean_i [λ ℓ_i^(v→u) + (1 − λ) ℓ_i^(u→v)].

    ``image`` (v) and ``text`` (u) are (N, D) projections of N pairs; row i of one matches row i of the other.
    With cosine similarities ⟨v_i, u_k⟩: ℓ_i^(v→u) = −log exp(⟨v_i,u_i⟩/τ) / Σ_k exp(⟨v_i,u_k⟩/τ) (an image picks
    its text among the batch's texts) and ℓ_i^(u→v) the same with the roles swapped; ``weight`` is λ. With
    λ = ½ it equals :func:`medrepro.losses.clip_loss`, which averages the two directions.
    """
    if image.shape != text.shape:
        raise ValueError(f"convirt_loss: image and text projections must have the same shape, got "
                         f"{tuple(image.shape)} and {tuple(text.shape)}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"convirt_loss: the weight λ must lie in [0, 1], got {weight}")
    return weight * info_nce(image, text, temperature) + (1.0 - weight) * info_nce(text, image, temperature)


def random_affine_views(x: torch.Tensor, generator: torch.Generator, *, scale: tuple[float, float] = (0.75, 1.0),
                        degrees: float = 10.0, brightness: float = 0.1, contrast: float = 0.2) -> torch.Tensor:
    """One random view per image of ``x`` (B, C, H, W): crop-and-resize, rotation, brightness and contrast.

    Each image gets its own zoom ``s`` ~ U(scale) (the view covers a fraction ``s`` of the side, placed at random
    inside the image), rotation ~ U(−degrees, degrees), contrast factor ~ U(1 − contrast, 1 + contrast) about
    the image's mean and brightness offset ~ U(−brightness, brightness), in the units of ``x``. One bilinear
    ``grid_sample`` over the batch (border padding). With ``scale=(1, 1)`` and the other ranges 0 it returns
    ``x`` up to interpolation round-off. Draws come from ``generator`` only, so views are reproducible.
    """
    n = len(x)

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, *shape, generator=generator)

    s = u(*scale)
    angle = u(-degrees, degrees) * (torch.pi / 180.0)
    tx, ty = (1 - s) * u(-1.0, 1.0), (1 - s) * u(-1.0, 1.0)          # the crop stays inside the image
    cos, sin = s * torch.cos(angle), s * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1).to(x)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    c = u(1 - contrast, 1 + contrast, 1, 1, 1).to(x)
    b = u(-brightness, brightness, 1, 1, 1).to(x)
    return (y - mean) * c + mean + b


def knn_probe(train_x: np.ndarray | torch.Tensor, train_y: Sequence[int], test_x: np.ndarray | torch.Tensor, *,
              k: int = 20, temperature: float | None = 0.07, n_classes: int | None = None) -> np.ndarray:
    """Weighted k-nearest-neighbour classifier on cosine similarity (DINO's evaluation).

    Each of the k nearest training features votes for its class with weight exp(s/τ); ``temperature=None``
    gives every neighbour weight 1 (scikit-learn's ``weights="uniform"``). Returns (n_test, n_classes) class
    scores that sum to 1 per row.
    """
    xtr = F.normalize(torch.as_tensor(np.asarray(train_x), dtype=torch.float64), dim=1)
    xte = F.normalize(torch.as_tensor(np.asarray(test_x), dtype=torch.float64), dim=1)
    ytr = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    c = int(n_classes or int(ytr.max()) + 1)
    k = min(k, len(xtr))
    sim = xte @ xtr.T
    top, idx = sim.topk(k, dim=1)
    w = torch.ones_like(top) if temperature is None else (top / temperature).exp()
    votes = torch.zeros(len(xte), c, dtype=torch.float64)
    votes.scatter_add_(1, ytr[idx], w)
    return (votes / votes.sum(1, keepdim=True)).numpy()


def group_label_fraction(indices: Sequence[int], groups: Sequence, fraction: float, seed: int = 0,
                         minimum: int = 1) -> np.ndarray:
    """The samples of ``fraction`` of the patients among ``indices`` (at least ``minimum`` patients).

    A label fraction counted in patients: all of a chosen patient's samples are labelled, none of the others',
    so no patient sits on both sides of a labelled/unlabelled split.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    indices, groups = np.asarray(indices), np.asarray(groups)
    own = groups[indices]
    patients = np.unique(own)
    k = min(len(patients), max(minimum, int(round(fraction * len(patients)))))
    chosen = np.random.default_rng(seed).choice(patients, size=k, replace=False)
    return np.sort(indices[np.isin(own, chosen)])


def probe_sweep(features: np.ndarray, labels: Sequence[int], train: Sequence[int], test: Sequence[int],
                fractions: Sequence[float], *, groups: Sequence | None = None, probe: str = "linear",
                draws: int = 1, seed: int = 0, **kwargs) -> dict[float, list[np.ndarray]]:
    """Probe frozen ``features`` with a shrinking label fraction of the ``train`` indices.

    For each fraction and each of ``draws`` random draws, the labelled subset is a fraction of the training
    patients (``groups`` given, :func:`group_label_fraction`) or a stratified fraction of training samples
    (:func:`medrepro.data.splits.label_fraction`); a linear or kNN probe is fitted on it and its class scores on
    ``test`` are returned: {fraction: [scores per draw]}.
    """
    from .data.splits import label_fraction

    features, labels = np.asarray(features), np.asarray(labels)
    train, test = np.asarray(train), np.asarray(test)
    fit: Callable[..., np.ndarray]
    if probe == "linear":
        fit = lambda a, b, c: linear_probe(a, b, c, seed=seed, **kwargs)  # noqa: E731
    elif probe == "knn":
        n_classes = int(labels.max()) + 1
        fit = lambda a, b, c: knn_probe(a, b, c, n_classes=n_classes, **kwargs)  # noqa: E731
    else:
        raise ValueError(f"probe must be 'linear' or 'knn', got {probe!r}")
    out: dict[float, list[np.ndarray]] = {}
    for f in fractions:
        out[f] = []
        for d in range(draws):
            lab = (group_label_fraction(train, groups, f, seed=seed + d) if groups is not None
                   else label_fraction(train, f, seed=seed + d, labels=labels[train]))
            out[f].append(fit(features[lab], labels[lab], features[test]))
    return out
